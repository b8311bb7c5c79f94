-- Analyst views over the current state. Views, not materialised views: a materialised view
-- that sums inserts would count every upsert of a ticket again.

-- Sales per local day (TZ of the writer, in tickets.sales_date), event and category.
-- Refunds lower the day the ticket was sold; revenue is what was kept (kept_minor).
CREATE VIEW IF NOT EXISTS sales_daily AS
SELECT
    vendor, account, sales_date, event_id, category, currency,
    sum(status = 'valid') AS tickets_sold,
    sum(status = 'refunded') AS tickets_refunded,
    sum(kept_minor) AS revenue_minor
FROM tickets FINAL
GROUP BY vendor, account, sales_date, event_id, category, currency;

-- The latest snapshot per show (FINAL: a snapshot written twice is one row).
CREATE VIEW IF NOT EXISTS inventory_latest AS
SELECT vendor, account, event_id, show_id, captured_at_ms, capacity, available, sold
FROM inventory_snapshots FINAL
WHERE (vendor, account, event_id, show_id, captured_at_ms) IN (
    SELECT vendor, account, event_id, show_id, max(captured_at_ms)
    FROM inventory_snapshots
    GROUP BY vendor, account, event_id, show_id
);
