-- The embedded warehouse: the analyst-facing tables, mirroring the ClickHouse schema.
CREATE TABLE IF NOT EXISTS tickets (
    vendor TEXT NOT NULL, account TEXT NOT NULL, ticket_id TEXT NOT NULL,
    order_id TEXT NOT NULL, event_id TEXT NOT NULL, show_id TEXT,
    category TEXT NOT NULL, channel TEXT NOT NULL, status TEXT NOT NULL,
    price_minor INTEGER NOT NULL, service_fee_minor INTEGER NOT NULL,
    buyer_fee_minor INTEGER NOT NULL, producer_cost_minor INTEGER NOT NULL,
    refunded_minor INTEGER NOT NULL,
    kept_minor INTEGER NOT NULL,            -- revenue kept from this ticket (model::Ticket::kept_minor)
    currency TEXT NOT NULL,
    ordered_at_ms INTEGER NOT NULL,
    sales_date TEXT NOT NULL,               -- local date of ordered_at in the reporting time zone
    updated_at_ms INTEGER NOT NULL,
    scanned_at_ms INTEGER, refunded_at_ms INTEGER,
    buyer TEXT, region TEXT, utm_source TEXT, utm_medium TEXT, utm_campaign TEXT,
    payment_method TEXT,
    PRIMARY KEY (vendor, account, ticket_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS events (
    vendor TEXT NOT NULL, account TEXT NOT NULL, event_id TEXT NOT NULL,
    name TEXT NOT NULL, city TEXT, venue TEXT,
    starts_at_ms INTEGER, ends_at_ms INTEGER, canceled_at_ms INTEGER,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (vendor, account, event_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS inventory_snapshots (
    vendor TEXT NOT NULL, account TEXT NOT NULL, event_id TEXT NOT NULL, show_id TEXT NOT NULL,
    captured_at_ms INTEGER NOT NULL, capacity INTEGER, available INTEGER, sold INTEGER,
    PRIMARY KEY (vendor, account, event_id, show_id, captured_at_ms)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS job_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    vendor TEXT NOT NULL, account TEXT NOT NULL,
    started_at_ms INTEGER NOT NULL, finished_at_ms INTEGER NOT NULL,
    status TEXT NOT NULL, records INTEGER NOT NULL, message TEXT NOT NULL
);

-- Sales per local day, event and category: current ticket state, so refunds lower past days.
CREATE VIEW IF NOT EXISTS sales_daily AS
SELECT vendor, account, sales_date, event_id, category, currency,
       SUM(status = 'valid') AS tickets_sold,
       SUM(status = 'refunded') AS tickets_refunded,
       SUM(kept_minor) AS revenue_minor
FROM tickets
GROUP BY vendor, account, sales_date, event_id, category, currency;

CREATE VIEW IF NOT EXISTS inventory_latest AS
SELECT s.* FROM inventory_snapshots s
WHERE s.captured_at_ms = (SELECT MAX(captured_at_ms) FROM inventory_snapshots l
                          WHERE l.vendor = s.vendor AND l.account = s.account
                            AND l.event_id = s.event_id AND l.show_id = s.show_id);
