-- Parity with the old QTickets loader's dashboard objects, plans and vendor-neutral breakdowns
-- (the columns they read: 0002_parity_columns.sql in a legacy file, 0009 in the state database).

-- ---------------------------------------------------------------------------------------
-- Vendor-neutral views (same names and columns as in ClickHouse, 0004_parity.sql)

-- Tickets, revenue and fees per day, event and one value of one dimension: channel,
-- payment_method, utm_source, utm_medium, utm_campaign, and visibility (one row per element
-- of the JSON array). Missing values are ''.
CREATE VIEW IF NOT EXISTS sales_by_dimension_daily AS
WITH held AS (
    SELECT * FROM tickets WHERE status IN ('valid', 'refunded')
), dims AS (
    SELECT h.*, 'channel' AS dimension, h.channel AS value FROM held h
    UNION ALL SELECT h.*, 'payment_method', COALESCE(h.payment_method, '') FROM held h
    UNION ALL SELECT h.*, 'utm_source', COALESCE(h.utm_source, '') FROM held h
    UNION ALL SELECT h.*, 'utm_medium', COALESCE(h.utm_medium, '') FROM held h
    UNION ALL SELECT h.*, 'utm_campaign', COALESCE(h.utm_campaign, '') FROM held h
    UNION ALL SELECT h.*, 'visibility', j.value FROM held h, json_each(h.visibility) j
)
SELECT vendor, account, sales_date, event_id, currency, dimension, value,
    SUM(status = 'valid') AS tickets_sold,
    SUM(status = 'refunded') AS tickets_refunded,
    SUM(kept_minor) AS revenue_minor,
    SUM(CASE WHEN status = 'valid' THEN service_fee_minor ELSE 0 END) AS service_fee_minor,
    SUM(CASE WHEN status = 'valid' THEN buyer_fee_minor ELSE 0 END) AS buyer_fee_minor,
    SUM(CASE WHEN status = 'valid' THEN producer_cost_minor ELSE 0 END) AS producer_cost_minor
FROM dims
GROUP BY vendor, account, sales_date, event_id, currency, dimension, value;

-- Fees of held (valid) tickets by type.
CREATE VIEW IF NOT EXISTS fees_by_type_daily AS
WITH fees AS (
    SELECT vendor, account, sales_date, event_id, currency, 'service_fee' AS fee_type,
        service_fee_minor AS amount FROM tickets WHERE status = 'valid'
    UNION ALL SELECT vendor, account, sales_date, event_id, currency, 'buyer_fee',
        buyer_fee_minor FROM tickets WHERE status = 'valid'
    UNION ALL SELECT vendor, account, sales_date, event_id, currency, 'producer_cost',
        producer_cost_minor FROM tickets WHERE status = 'valid'
)
SELECT vendor, account, sales_date, event_id, currency, fee_type,
    COUNT(*) AS tickets, SUM(amount) AS amount_minor
FROM fees
GROUP BY vendor, account, sales_date, event_id, currency, fee_type;

-- One row per event: sales in the last 24 hours and 14 days (by order time), all-time sales,
-- seats from the latest inventory of its shows.
CREATE VIEW IF NOT EXISTS sales_dashboard AS
WITH now AS (SELECT CAST(strftime('%s', 'now') AS INTEGER) * 1000 AS ms),
sales AS (
    SELECT vendor, account, event_id, MAX(currency) AS currency,
        SUM(status = 'valid' AND ordered_at_ms >= (SELECT ms FROM now) - 86400000) AS tickets_sold_24h,
        SUM(CASE WHEN ordered_at_ms >= (SELECT ms FROM now) - 86400000 THEN kept_minor ELSE 0 END) AS revenue_24h_minor,
        SUM(status = 'valid' AND ordered_at_ms >= (SELECT ms FROM now) - 1209600000) AS tickets_sold_14d,
        SUM(CASE WHEN ordered_at_ms >= (SELECT ms FROM now) - 1209600000 THEN kept_minor ELSE 0 END) AS revenue_14d_minor,
        SUM(status = 'valid') AS tickets_sold,
        SUM(kept_minor) AS revenue_minor
    FROM tickets
    WHERE status IN ('valid', 'refunded')
    GROUP BY vendor, account, event_id
),
inv AS (
    SELECT vendor, account, event_id, SUM(capacity) AS tickets_total,
        SUM(available) AS tickets_left, MAX(captured_at_ms) AS inventory_captured_at_ms
    FROM inventory_latest
    GROUP BY vendor, account, event_id
)
SELECT e.vendor, e.account, e.event_id, e.name AS event_name, COALESCE(e.city, '') AS city,
    COALESCE(s.currency, '') AS currency,
    COALESCE(s.tickets_sold_24h, 0) AS tickets_sold_24h,
    COALESCE(s.revenue_24h_minor, 0) AS revenue_24h_minor,
    COALESCE(s.tickets_sold_14d, 0) AS tickets_sold_14d,
    COALESCE(s.revenue_14d_minor, 0) AS revenue_14d_minor,
    COALESCE(s.tickets_sold, 0) AS tickets_sold,
    COALESCE(s.revenue_minor, 0) AS revenue_minor,
    i.tickets_total, i.tickets_left, i.inventory_captured_at_ms,
    e.starts_at_ms, e.ends_at_ms, e.canceled_at_ms
FROM events e
LEFT JOIN sales s ON s.vendor = e.vendor AND s.account = e.account AND s.event_id = e.event_id
LEFT JOIN inv i ON i.vendor = e.vendor AND i.account = e.account AND i.event_id = e.event_id;

-- Sales plans, loaded by `boxoffice plan import FILE`; a re-import upserts on the key.
CREATE TABLE IF NOT EXISTS plan_sales (
    vendor TEXT NOT NULL,
    sales_date TEXT NOT NULL,
    event_id TEXT NOT NULL,
    city TEXT NOT NULL,                     -- lower case, as facts report it
    plan_tickets INTEGER NOT NULL,
    plan_revenue REAL NOT NULL,             -- major units
    _ver INTEGER NOT NULL,                  -- import time, ms
    _loaded_at TEXT NOT NULL,               -- import time, Moscow, 'YYYY-MM-DD HH:MM:SS'
    PRIMARY KEY (vendor, sales_date, city, event_id)
) WITHOUT ROWID;

-- Plan against fact per vendor, day, event and city; zeros on a missing side; the *_pct
-- columns are ratios, NULL when the plan is zero.
CREATE VIEW IF NOT EXISTS plan_vs_fact AS
WITH both_sides AS (
    SELECT vendor, sales_date, event_id, city, plan_tickets AS pt, plan_revenue AS pr,
        0 AS ft, 0.0 AS fr
    FROM plan_sales
    UNION ALL
    SELECT t.vendor, t.sales_date, t.event_id, COALESCE(e.city_lower, ''), 0, 0.0,
        SUM(t.status = 'valid'), SUM(t.kept_minor) / 100.0
    FROM tickets t
    LEFT JOIN events e ON e.vendor = t.vendor AND e.account = t.account AND e.event_id = t.event_id
    WHERE t.status IN ('valid', 'refunded')
    GROUP BY t.vendor, t.account, t.event_id, t.sales_date
), merged AS (
    SELECT vendor, sales_date, event_id, city, SUM(pt) AS plan_tickets,
        SUM(pr) AS plan_revenue, SUM(ft) AS fact_tickets, SUM(fr) AS fact_revenue
    FROM both_sides
    GROUP BY vendor, sales_date, event_id, city
)
SELECT vendor, sales_date, event_id, city, plan_tickets, plan_revenue, fact_tickets,
    fact_revenue,
    fact_tickets - plan_tickets AS diff_tickets,
    fact_revenue - plan_revenue AS diff_revenue,
    CASE WHEN plan_revenue = 0 THEN NULL
         ELSE (fact_revenue - plan_revenue) / plan_revenue END AS diff_revenue_pct,
    CASE WHEN plan_tickets = 0 THEN NULL
         ELSE (fact_tickets - plan_tickets) * 1.0 / plan_tickets END AS diff_tickets_pct
FROM merged;

-- ---------------------------------------------------------------------------------------
-- The old QTickets loader's names (QTickets rows only; Moscow is UTC+3 all year)

CREATE VIEW IF NOT EXISTS fact_qtickets_sales_daily AS
SELECT t.sales_date, t.event_id, COALESCE(e.city_lower, '') AS city,
    SUM(t.status = 'valid') AS tickets_sold,
    SUM(t.kept_minor) / 100.0 AS revenue,
    MAX(t.updated_at_ms) AS _ver
FROM tickets t
LEFT JOIN events e ON e.vendor = t.vendor AND e.account = t.account AND e.event_id = t.event_id
WHERE t.vendor = 'qtickets'
GROUP BY t.account, t.event_id, t.sales_date;

CREATE VIEW IF NOT EXISTS fact_qtickets_sales_utm_daily AS
SELECT t.sales_date, t.event_id, COALESCE(e.city_lower, '') AS city,
    COALESCE(t.utm_source, '') AS utm_source, COALESCE(t.utm_medium, '') AS utm_medium,
    COALESCE(t.utm_campaign, '') AS utm_campaign, '' AS utm_content, '' AS utm_term,
    SUM(t.status = 'valid') AS tickets_sold,
    SUM(t.kept_minor) / 100.0 AS revenue,
    MAX(t.updated_at_ms) AS _ver
FROM tickets t
LEFT JOIN events e ON e.vendor = t.vendor AND e.account = t.account AND e.event_id = t.event_id
WHERE t.vendor = 'qtickets' AND t.status IN ('valid', 'refunded')
GROUP BY t.account, t.event_id, t.sales_date, COALESCE(t.utm_source, ''),
    COALESCE(t.utm_medium, ''), COALESCE(t.utm_campaign, '');

CREATE VIEW IF NOT EXISTS dim_events AS
SELECT e.event_id, e.name AS event_name, COALESCE(e.city_lower, '') AS city,
    date(e.starts_at_ms / 1000 + 10800, 'unixepoch') AS start_date,
    date(e.ends_at_ms / 1000 + 10800, 'unixepoch') AS end_date,
    COALESCE(i.tickets_total, 0) AS tickets_total,
    COALESCE(i.tickets_left, 0) AS tickets_left,
    e.updated_at_ms AS _ver
FROM events e
LEFT JOIN (
    SELECT account, event_id, SUM(capacity) AS tickets_total, SUM(available) AS tickets_left
    FROM inventory_latest WHERE vendor = 'qtickets' GROUP BY account, event_id
) i ON i.account = e.account AND i.event_id = e.event_id
WHERE e.vendor = 'qtickets' AND e.canceled_at_ms IS NULL;

CREATE VIEW IF NOT EXISTS v_qtickets_sales_dashboard AS
WITH today AS (SELECT date('now', '+3 hours') AS d),
sales AS (
    SELECT account, event_id,
        SUM(status = 'valid' AND sales_date = (SELECT d FROM today)) AS tickets_sold_today,
        SUM(CASE WHEN sales_date = (SELECT d FROM today) THEN kept_minor ELSE 0 END) / 100.0 AS revenue_today,
        SUM(status = 'valid') AS tickets_sold_14d,
        SUM(kept_minor) / 100.0 AS revenue_14d
    FROM tickets
    WHERE vendor = 'qtickets' AND status IN ('valid', 'refunded')
        AND sales_date >= date((SELECT d FROM today), '-14 days')
    GROUP BY account, event_id
),
inv AS (
    SELECT account, event_id, SUM(capacity) AS tickets_total, SUM(available) AS tickets_left,
        datetime(MAX(captured_at_ms) / 1000 + 10800, 'unixepoch') AS inventory_updated_at
    FROM inventory_latest WHERE vendor = 'qtickets' GROUP BY account, event_id
)
SELECT e.event_id, e.name AS event_name, COALESCE(e.city_lower, '') AS city,
    COALESCE(s.tickets_sold_today, 0) AS tickets_sold_today,
    COALESCE(s.revenue_today, 0.0) AS revenue_today,
    COALESCE(s.tickets_sold_14d, 0) AS tickets_sold_14d,
    COALESCE(s.revenue_14d, 0.0) AS revenue_14d,
    i.tickets_total, i.tickets_left, i.inventory_updated_at,
    date(e.starts_at_ms / 1000 + 10800, 'unixepoch') AS start_date,
    date(e.ends_at_ms / 1000 + 10800, 'unixepoch') AS end_date
FROM events e
LEFT JOIN sales s ON s.account = e.account AND s.event_id = e.event_id
LEFT JOIN inv i ON i.account = e.account AND i.event_id = e.event_id
WHERE e.vendor = 'qtickets' AND e.canceled_at_ms IS NULL
ORDER BY revenue_today DESC, revenue_14d DESC;

CREATE VIEW IF NOT EXISTS v_plan_vs_fact AS
SELECT sales_date, event_id, city, plan_tickets, plan_revenue, fact_tickets, fact_revenue,
    diff_tickets, diff_revenue, diff_revenue_pct, diff_tickets_pct
FROM plan_vs_fact
WHERE vendor = 'qtickets';
