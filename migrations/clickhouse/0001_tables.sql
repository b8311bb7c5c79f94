-- The warehouse tables. Written for both Debian's ClickHouse 18.16 and current releases:
-- no DateTime64, no LowCardinality, no ADD COLUMN IF NOT EXISTS; instants are UTC epoch ms in
-- Int64 columns (views derive DateTime), dates are host-computed in the configured TZ.
-- Nothing personal: buyers are keyed pseudonyms, regions are coarse.

-- Current state per ticket: one row per business key after merges (read with FINAL).
-- _version = the vendor's updated_at in ms, so an older re-read never replaces a newer state.
CREATE TABLE IF NOT EXISTS tickets (
    vendor String,
    account String,
    ticket_id String,
    order_id String,
    event_id String,
    show_id String,
    category String,
    channel String,
    status String,
    price_minor Int64,
    service_fee_minor Int64,
    buyer_fee_minor Int64,
    producer_cost_minor Int64,
    refunded_minor Int64,
    kept_minor Int64,
    currency String,
    ordered_at_ms Int64,
    sales_date Date,
    updated_at_ms Int64,
    scanned_at_ms Nullable(Int64),
    refunded_at_ms Nullable(Int64),
    buyer String,
    region String,
    utm_source String,
    utm_medium String,
    utm_campaign String,
    payment_method String,
    _version UInt64
) ENGINE = ReplacingMergeTree(_version)
ORDER BY (vendor, account, ticket_id);

-- Events; _version ranks full rows (from an events listing, with city or venue) above the
-- sparse ones a tickets page carries, then by updated_at (see sink::clickhouse::rows).
CREATE TABLE IF NOT EXISTS events (
    vendor String,
    account String,
    event_id String,
    name String,
    city String,
    venue String,
    starts_at_ms Nullable(Int64),
    ends_at_ms Nullable(Int64),
    canceled_at_ms Nullable(Int64),
    updated_at_ms Int64,
    _version UInt64
) ENGINE = ReplacingMergeTree(_version)
ORDER BY (vendor, account, event_id);

-- Seats per show at a moment; the same snapshot written twice collapses to one row.
CREATE TABLE IF NOT EXISTS inventory_snapshots (
    vendor String,
    account String,
    event_id String,
    show_id String,
    captured_at_ms Int64,
    capacity Nullable(UInt32),
    available Nullable(UInt32),
    sold Nullable(UInt32)
) ENGINE = ReplacingMergeTree()
ORDER BY (vendor, account, event_id, show_id, captured_at_ms);

CREATE TABLE IF NOT EXISTS job_runs (
    run_id String,
    vendor String,
    account String,
    kind String,
    started_at_ms Int64,
    finished_at_ms Int64,
    status String,
    pages UInt64,
    records UInt64,
    rejected UInt64,
    requests UInt64,
    message String
) ENGINE = MergeTree()
ORDER BY (vendor, account, started_at_ms);
