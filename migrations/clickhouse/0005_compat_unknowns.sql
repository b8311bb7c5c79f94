-- The old QTickets loader's views meet two states it never had. A `degraded` run (core data
-- stored, an auxiliary request skipped) is 'error' in meta_job_runs: the old contract knows
-- ok/error only, and a run that skipped something is not a clean one (the message JSON
-- keeps the run's own status). Unknown inventory (a
-- snapshot with NULL figures, the vendor omitted them) is 0 in fact_qtickets_inventory_latest,
-- whose old columns were plain UInt32; an event's known shows still add up, unknown ones count
-- 0. Neutral views keep NULL (unknown is not 0 there).
-- 18.16 has neither CREATE OR REPLACE VIEW nor DROP VIEW: DROP TABLE IF EXISTS drops a view on
-- every release, and the pair re-runs cleanly.

DROP TABLE IF EXISTS meta_job_runs;

CREATE VIEW IF NOT EXISTS meta_job_runs AS
SELECT
    concat(vendor, '_api') AS job,
    run_id,
    toDateTime(intDiv(started_at_ms, 1000), 'Europe/Moscow') AS started_at,
    toDateTime(intDiv(finished_at_ms, 1000), 'Europe/Moscow') AS finished_at,
    multiIf(status = 'ok', 'ok', 'error') AS status,
    records AS rows_processed,
    message,
    concat('{"kind":"', kind, '","pages":', toString(pages), ',"records":', toString(records),
           ',"rejected":', toString(rejected), ',"requests":', toString(requests), '}') AS metrics
FROM job_runs;

DROP TABLE IF EXISTS fact_qtickets_inventory_latest;

CREATE VIEW IF NOT EXISTS fact_qtickets_inventory_latest AS
SELECT snapshot_ts, event_id, event_name, city, tickets_total, tickets_left, _ver
FROM (
    SELECT account, event_id,
        toDateTime(intDiv(max(captured_at_ms), 1000), 'Europe/Moscow') AS snapshot_ts,
        toUInt32(ifNull(sum(capacity), 0)) AS tickets_total,
        toUInt32(ifNull(sum(available), 0)) AS tickets_left,
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
