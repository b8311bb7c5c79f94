-- Compatibility views for users of the old QTickets -> ClickHouse loader: the names and
-- columns its dashboards and smoke checks read (see docs/clickhouse.md), computed from the
-- current ticket state, so refunds never double count. No personal data: payload_json carries
-- only the order id and ticket count. Timestamps are Moscow time, as the old contract's
-- naive DateTime columns were; sales_date is the writer's TZ date (default Europe/Moscow).
-- Cities are lower-cased, as the old loader stored them.

CREATE VIEW IF NOT EXISTS fact_qtickets_sales_daily AS
SELECT sales_date, event_id, city, tickets_sold, revenue, _ver
FROM (
    SELECT account, event_id, sales_date,
        toUInt32(sum(status = 'valid')) AS tickets_sold,
        sum(kept_minor) / 100 AS revenue,
        max(_version) AS _ver
    FROM tickets FINAL
    WHERE vendor = 'qtickets'
    GROUP BY account, event_id, sales_date
) AS facts
ANY LEFT JOIN (
    SELECT account, event_id, lowerUTF8(city) AS city
    FROM events FINAL
    WHERE vendor = 'qtickets'
) AS ev USING (account, event_id);

CREATE VIEW IF NOT EXISTS fact_qtickets_inventory_latest AS
SELECT snapshot_ts, event_id, event_name, city, tickets_total, tickets_left, _ver
FROM (
    SELECT account, event_id,
        toDateTime(intDiv(max(captured_at_ms), 1000), 'Europe/Moscow') AS snapshot_ts,
        toUInt32OrNull(toString(sum(capacity))) AS tickets_total,
        toUInt32OrNull(toString(sum(available))) AS tickets_left,
        toUInt64(max(captured_at_ms)) AS _ver
    FROM inventory_latest
    WHERE vendor = 'qtickets'
    GROUP BY account, event_id
) AS facts
ANY LEFT JOIN (
    SELECT account, event_id, name AS event_name, lowerUTF8(city) AS city
    FROM events FINAL
    WHERE vendor = 'qtickets'
) AS ev USING (account, event_id);

CREATE VIEW IF NOT EXISTS meta_job_runs AS
SELECT
    concat(vendor, '_api') AS job,
    run_id,
    toDateTime(intDiv(started_at_ms, 1000), 'Europe/Moscow') AS started_at,
    toDateTime(intDiv(finished_at_ms, 1000), 'Europe/Moscow') AS finished_at,
    if(status = 'ok', 'ok', 'error') AS status,
    records AS rows_processed,
    message,
    concat('{"kind":"', kind, '","pages":', toString(pages), ',"records":', toString(records),
           ',"rejected":', toString(rejected), ',"requests":', toString(requests), '}') AS metrics
FROM job_runs;

CREATE VIEW IF NOT EXISTS stg_qtickets_api_orders_raw AS
SELECT order_id, event_id, city, utm_source, utm_medium, utm_campaign,
    '' AS utm_content, '' AS utm_term, sale_ts, tickets_sold, revenue, currency,
    concat('{"order_id":"', order_id, '","tickets":', toString(tickets), '}') AS payload_json,
    _ver, _dedup_key
FROM (
    SELECT account, order_id, event_id,
        any(utm_source) AS utm_source, any(utm_medium) AS utm_medium,
        any(utm_campaign) AS utm_campaign,
        toDateTime(intDiv(min(ordered_at_ms), 1000), 'Europe/Moscow') AS sale_ts,
        toUInt32(sum(status = 'valid')) AS tickets_sold,
        sum(kept_minor) / 100 AS revenue,
        any(currency) AS currency,
        count() AS tickets,
        max(_version) AS _ver,
        hex(MD5(concat(account, ':', order_id))) AS _dedup_key
    FROM tickets FINAL
    WHERE vendor = 'qtickets' AND status IN ('valid', 'refunded')
    GROUP BY account, order_id, event_id
) AS facts
ANY LEFT JOIN (
    SELECT account, event_id, lowerUTF8(city) AS city
    FROM events FINAL
    WHERE vendor = 'qtickets'
) AS ev USING (account, event_id);
