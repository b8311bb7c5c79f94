-- Parity with the old QTickets loader beyond the basics (its UTM fact, dashboard, event
-- dimension, inventory staging, sales plans) and the same figures vendor-neutrally.
-- All views read the current state (FINAL), so a refund lowers the day it was sold. Legacy
-- names keep the old columns (String where it had LowCardinality); Moscow time as there.
-- 18.16 allows one JOIN per SELECT, hence the nesting; current releases want every joined
-- subquery aliased.

-- Shotgun deal visibilities per ticket (empty for vendors without them). Not re-runnable SQL
-- on 18.16 (no ADD COLUMN IF NOT EXISTS): the migrator skips it when the column exists.
ALTER TABLE tickets ADD COLUMN visibility Array(String);

-- ---------------------------------------------------------------------------------------
-- Vendor-neutral

-- Tickets, revenue and fees per day, event and one value of one dimension: channel,
-- payment_method, utm_source, utm_medium, utm_campaign, and visibility (one row per element,
-- so a ticket visible to several audiences counts in each). Missing values are ''.
CREATE VIEW IF NOT EXISTS sales_by_dimension_daily AS
SELECT
    vendor, account, sales_date, event_id, currency,
    tupleElement(dim, 1) AS dimension,
    tupleElement(dim, 2) AS value,
    sum(status = 'valid') AS tickets_sold,
    sum(status = 'refunded') AS tickets_refunded,
    sum(kept_minor) AS revenue_minor,
    sumIf(service_fee_minor, status = 'valid') AS service_fee_minor,
    sumIf(buyer_fee_minor, status = 'valid') AS buyer_fee_minor,
    sumIf(producer_cost_minor, status = 'valid') AS producer_cost_minor
FROM tickets FINAL
ARRAY JOIN arrayConcat(
    [('channel', channel), ('payment_method', payment_method), ('utm_source', utm_source),
     ('utm_medium', utm_medium), ('utm_campaign', utm_campaign)],
    arrayMap(v -> ('visibility', v), visibility)) AS dim
WHERE status IN ('valid', 'refunded')
GROUP BY vendor, account, sales_date, event_id, currency, dimension, value;

-- Fees of held (valid) tickets by type: service_fee (the vendor's, charged to the organiser),
-- buyer_fee (paid by the buyer on top of the price), producer_cost.
CREATE VIEW IF NOT EXISTS fees_by_type_daily AS
SELECT
    vendor, account, sales_date, event_id, currency,
    tupleElement(fee, 1) AS fee_type,
    count() AS tickets,
    sum(tupleElement(fee, 2)) AS amount_minor
FROM tickets FINAL
ARRAY JOIN [('service_fee', service_fee_minor), ('buyer_fee', buyer_fee_minor),
            ('producer_cost', producer_cost_minor)] AS fee
WHERE status = 'valid'
GROUP BY vendor, account, sales_date, event_id, currency, fee_type;

-- One row per event: sales in the last 24 hours and 14 days before now() (by order time, so no
-- time zone is involved), all-time sales, seats from the latest inventory of its shows.
CREATE VIEW IF NOT EXISTS sales_dashboard AS
SELECT
    vendor, account, event_id, event_name, city, currency,
    tickets_sold_24h, revenue_24h_minor, tickets_sold_14d, revenue_14d_minor,
    tickets_sold, revenue_minor, tickets_total, tickets_left, inventory_captured_at_ms,
    starts_at_ms, ends_at_ms, canceled_at_ms
FROM (
    SELECT
        vendor, account, event_id, event_name, city, starts_at_ms, ends_at_ms, canceled_at_ms,
        currency, tickets_sold_24h, revenue_24h_minor, tickets_sold_14d, revenue_14d_minor,
        tickets_sold, revenue_minor
    FROM (
        SELECT vendor, account, event_id, name AS event_name, city,
            starts_at_ms, ends_at_ms, canceled_at_ms
        FROM events FINAL
    ) AS ev
    ANY LEFT JOIN (
        SELECT vendor, account, event_id,
            any(currency) AS currency,
            sumIf(status = 'valid', ordered_at_ms >= toInt64(toUInt32(now())) * 1000 - 86400000) AS tickets_sold_24h,
            sumIf(kept_minor, ordered_at_ms >= toInt64(toUInt32(now())) * 1000 - 86400000) AS revenue_24h_minor,
            sumIf(status = 'valid', ordered_at_ms >= toInt64(toUInt32(now())) * 1000 - 1209600000) AS tickets_sold_14d,
            sumIf(kept_minor, ordered_at_ms >= toInt64(toUInt32(now())) * 1000 - 1209600000) AS revenue_14d_minor,
            sum(status = 'valid') AS tickets_sold,
            sum(kept_minor) AS revenue_minor
        FROM tickets FINAL
        WHERE status IN ('valid', 'refunded')
        GROUP BY vendor, account, event_id
    ) AS sales USING (vendor, account, event_id)
) AS es
ANY LEFT JOIN (
    SELECT vendor, account, event_id,
        sum(capacity) AS tickets_total,
        sum(available) AS tickets_left,
        toNullable(max(captured_at_ms)) AS inventory_captured_at_ms
    FROM inventory_latest
    GROUP BY vendor, account, event_id
) AS inv USING (vendor, account, event_id);

-- Sales plans, loaded by `boxoffice plan import FILE` (the old loader's plan_sales columns,
-- plus the vendor). One row per key after FINAL; a re-import replaces (newest _ver wins).
CREATE TABLE IF NOT EXISTS plan_sales (
    sales_date Date,
    event_id String,
    city String,
    plan_tickets UInt32,
    plan_revenue Float64,
    _ver UInt64,
    _loaded_at DateTime('Europe/Moscow'),
    vendor String
) ENGINE = ReplacingMergeTree(_ver)
ORDER BY (vendor, sales_date, city, event_id);

-- Plan against fact per vendor, day, event and city (lower case, as plans are stored). Both
-- sides appear: a day with a plan and no sales, or sales and no plan, has zeros on the missing
-- side. The *_pct columns are ratios ((fact - plan) / plan, as the old view) and NULL when
-- the plan is zero. Fact = valid tickets and kept revenue in major units, summed over accounts.
CREATE VIEW IF NOT EXISTS plan_vs_fact AS
SELECT
    vendor, sales_date, event_id, city,
    plan_tickets, plan_revenue, fact_tickets, fact_revenue,
    toInt64(fact_tickets) - toInt64(plan_tickets) AS diff_tickets,
    fact_revenue - plan_revenue AS diff_revenue,
    if(plan_revenue = 0, NULL, (fact_revenue - plan_revenue) / plan_revenue) AS diff_revenue_pct,
    if(plan_tickets = 0, NULL, (toInt64(fact_tickets) - toInt64(plan_tickets)) / plan_tickets) AS diff_tickets_pct
FROM (
    SELECT vendor, sales_date, event_id, city,
        toUInt32(sum(p_tickets)) AS plan_tickets,
        sum(p_revenue) AS plan_revenue,
        toUInt32(sum(f_tickets)) AS fact_tickets,
        sum(f_revenue) AS fact_revenue
    FROM (
        SELECT vendor, sales_date, event_id, city,
            toUInt64(plan_tickets) AS p_tickets, plan_revenue AS p_revenue,
            toUInt64(0) AS f_tickets, toFloat64(0) AS f_revenue
        FROM plan_sales FINAL
        UNION ALL
        SELECT vendor, sales_date, event_id, city,
            toUInt64(0) AS p_tickets, toFloat64(0) AS p_revenue,
            f_tickets, f_revenue
        FROM (
            SELECT vendor, account, event_id, sales_date,
                toUInt64(sum(status = 'valid')) AS f_tickets,
                sum(kept_minor) / 100 AS f_revenue
            FROM tickets FINAL
            WHERE status IN ('valid', 'refunded')
            GROUP BY vendor, account, event_id, sales_date
        ) AS facts
        ANY LEFT JOIN (
            SELECT vendor, account, event_id, lowerUTF8(city) AS city
            FROM events FINAL
        ) AS ev USING (vendor, account, event_id)
    ) AS both_sides
    GROUP BY vendor, sales_date, event_id, city
) AS merged;

-- ---------------------------------------------------------------------------------------
-- The old QTickets loader's names (QTickets rows only)

-- Sales per day, event, city and UTM tag. utm_content/utm_term are empty: the connector
-- contract carries source, medium and campaign.
CREATE VIEW IF NOT EXISTS fact_qtickets_sales_utm_daily AS
SELECT sales_date, event_id, city, utm_source, utm_medium, utm_campaign,
    '' AS utm_content, '' AS utm_term, tickets_sold, revenue, _ver
FROM (
    SELECT account, event_id, sales_date, utm_source, utm_medium, utm_campaign,
        toUInt32(sum(status = 'valid')) AS tickets_sold,
        sum(kept_minor) / 100 AS revenue,
        max(_version) AS _ver
    FROM tickets FINAL
    WHERE vendor = 'qtickets' AND status IN ('valid', 'refunded')
    GROUP BY account, event_id, sales_date, utm_source, utm_medium, utm_campaign
) AS facts
ANY LEFT JOIN (
    SELECT account, event_id, lowerUTF8(city) AS city
    FROM events FINAL
    WHERE vendor = 'qtickets'
) AS ev USING (account, event_id);

-- Every live event with its Moscow start and end dates and the seats of its latest inventory
-- (0 when none was taken, as the old table's defaults).
CREATE VIEW IF NOT EXISTS dim_events AS
SELECT event_id, event_name, city, start_date, end_date,
    toUInt32(tickets_total) AS tickets_total, toUInt32(tickets_left) AS tickets_left, _ver
FROM (
    SELECT account, event_id, name AS event_name, lowerUTF8(city) AS city,
        toDate(toDateTime(intDiv(starts_at_ms, 1000), 'Europe/Moscow')) AS start_date,
        toDate(toDateTime(intDiv(ends_at_ms, 1000), 'Europe/Moscow')) AS end_date,
        toUInt64(updated_at_ms) AS _ver
    FROM events FINAL
    WHERE vendor = 'qtickets' AND canceled_at_ms IS NULL
) AS ev
ANY LEFT JOIN (
    SELECT account, event_id,
        sum(ifNull(capacity, 0)) AS tickets_total,
        sum(ifNull(available, 0)) AS tickets_left
    FROM inventory_latest
    WHERE vendor = 'qtickets'
    GROUP BY account, event_id
) AS inv USING (account, event_id);

-- One row per inventory run and event (its shows summed), as the old staging table held.
CREATE VIEW IF NOT EXISTS stg_qtickets_api_inventory_raw AS
SELECT snapshot_ts, event_id, event_name, city, tickets_total, tickets_left, _ver, _dedup_key
FROM (
    SELECT account, event_id,
        toDateTime(intDiv(captured_at_ms, 1000), 'Europe/Moscow') AS snapshot_ts,
        toUInt32OrNull(toString(sum(capacity))) AS tickets_total,
        toUInt32OrNull(toString(sum(available))) AS tickets_left,
        toUInt64(captured_at_ms) AS _ver,
        hex(MD5(concat(account, ':', event_id, ':', toString(captured_at_ms)))) AS _dedup_key
    FROM inventory_snapshots FINAL
    WHERE vendor = 'qtickets'
    GROUP BY account, event_id, captured_at_ms
) AS snaps
ANY LEFT JOIN (
    SELECT account, event_id, name AS event_name, lowerUTF8(city) AS city
    FROM events FINAL
    WHERE vendor = 'qtickets'
) AS ev USING (account, event_id);

-- Per live event: sales today (the Moscow date of now()) and over today and the 14 days
-- before it (the old view's window), seats from the latest inventory, Moscow start/end dates.
CREATE VIEW IF NOT EXISTS v_qtickets_sales_dashboard AS
SELECT event_id, event_name, city,
    tickets_sold_today, revenue_today, tickets_sold_14d, revenue_14d,
    tickets_total, tickets_left, inventory_updated_at, start_date, end_date
FROM (
    SELECT account, event_id, event_name, city, start_date, end_date,
        tickets_sold_today, revenue_today, tickets_sold_14d, revenue_14d
    FROM (
        SELECT account, event_id, name AS event_name, lowerUTF8(city) AS city,
            toDate(toDateTime(intDiv(starts_at_ms, 1000), 'Europe/Moscow')) AS start_date,
            toDate(toDateTime(intDiv(ends_at_ms, 1000), 'Europe/Moscow')) AS end_date
        FROM events FINAL
        WHERE vendor = 'qtickets' AND canceled_at_ms IS NULL
    ) AS ev
    ANY LEFT JOIN (
        SELECT account, event_id,
            sumIf(status = 'valid', sales_date = toDate(toDateTime(now(), 'Europe/Moscow'))) AS tickets_sold_today,
            sumIf(kept_minor, sales_date = toDate(toDateTime(now(), 'Europe/Moscow'))) / 100 AS revenue_today,
            sum(status = 'valid') AS tickets_sold_14d,
            sum(kept_minor) / 100 AS revenue_14d
        FROM tickets FINAL
        WHERE vendor = 'qtickets' AND status IN ('valid', 'refunded')
            AND sales_date >= toDate(toDateTime(now(), 'Europe/Moscow')) - 14
        GROUP BY account, event_id
    ) AS sales USING (account, event_id)
) AS es
ANY LEFT JOIN (
    SELECT account, event_id,
        toUInt32OrNull(toString(sum(capacity))) AS tickets_total,
        toUInt32OrNull(toString(sum(available))) AS tickets_left,
        toNullable(toDateTime(intDiv(max(captured_at_ms), 1000), 'Europe/Moscow')) AS inventory_updated_at
    FROM inventory_latest
    WHERE vendor = 'qtickets'
    GROUP BY account, event_id
) AS inv USING (account, event_id)
ORDER BY revenue_today DESC, revenue_14d DESC;

-- Plan against fact for QTickets, the old view's columns.
CREATE VIEW IF NOT EXISTS v_plan_vs_fact AS
SELECT sales_date, event_id, city, plan_tickets, plan_revenue, fact_tickets, fact_revenue,
    diff_tickets, diff_revenue, diff_revenue_pct, diff_tickets_pct
FROM plan_vs_fact
WHERE vendor = 'qtickets';
