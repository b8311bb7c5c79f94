-- State database: cursors, job runs and the ticket ledger (current state per ticket, no PII).
CREATE TABLE IF NOT EXISTS cursors (
    vendor      TEXT NOT NULL,
    account     TEXT NOT NULL,
    cursor      TEXT NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (vendor, account)
);

CREATE TABLE IF NOT EXISTS job_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    vendor      TEXT NOT NULL,
    account     TEXT NOT NULL,
    kind        TEXT NOT NULL,          -- sync | backfill | dry-run
    started_at  INTEGER NOT NULL,       -- UTC ms
    finished_at INTEGER,
    status      TEXT NOT NULL,          -- running | ok | partial | failed | rate_limited
    pages       INTEGER NOT NULL DEFAULT 0,
    records     INTEGER NOT NULL DEFAULT 0,
    rejected    INTEGER NOT NULL DEFAULT 0,
    requests    INTEGER NOT NULL DEFAULT 0,
    message     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS job_runs_by_account ON job_runs (vendor, account, started_at);

CREATE TABLE IF NOT EXISTS tickets (
    vendor              TEXT NOT NULL,
    account             TEXT NOT NULL,
    ticket_id           TEXT NOT NULL,
    order_id            TEXT NOT NULL,
    event_id            TEXT NOT NULL,
    show_id             TEXT,
    category            TEXT NOT NULL,
    channel             TEXT NOT NULL,
    status              TEXT NOT NULL,
    price_minor         INTEGER NOT NULL,
    service_fee_minor   INTEGER NOT NULL,
    buyer_fee_minor     INTEGER NOT NULL,
    producer_cost_minor INTEGER NOT NULL,
    refunded_minor      INTEGER NOT NULL,
    currency            TEXT NOT NULL,
    ordered_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL,
    scanned_at_ms       INTEGER,
    refunded_at_ms      INTEGER,
    buyer               TEXT,            -- stable pseudonym, never a raw identifier
    region              TEXT,
    utm_source          TEXT,
    utm_medium          TEXT,
    utm_campaign        TEXT,
    payment_method      TEXT,
    visibility          TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (vendor, account, ticket_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tickets_by_event ON tickets (vendor, account, event_id, category);

CREATE TABLE IF NOT EXISTS events (
    vendor          TEXT NOT NULL,
    account         TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    name            TEXT NOT NULL,
    city            TEXT,
    venue           TEXT,
    starts_at_ms    INTEGER,
    ends_at_ms      INTEGER,
    canceled_at_ms  INTEGER,
    updated_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (vendor, account, event_id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS inventory_latest (
    vendor          TEXT NOT NULL,
    account         TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    show_id         TEXT NOT NULL,
    captured_at_ms  INTEGER NOT NULL,
    capacity        INTEGER,
    available       INTEGER,
    sold            INTEGER,
    PRIMARY KEY (vendor, account, event_id, show_id)
) WITHOUT ROWID;
