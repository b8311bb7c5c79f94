-- The embedded warehouse moves into the state database (issue 18 item 7): the ledger's
-- `tickets` and `events` ARE the warehouse's tables, so a page's tickets are written once, in
-- the transaction that also moves the aggregates and the cursor. What the warehouse's tables
-- had beyond the ledger's is added here; the warehouse's own objects follow as migrations 10
-- and 11 (`warehouse/0001_warehouse.sql`, whose `CREATE TABLE IF NOT EXISTS tickets / events /
-- job_runs` and `CREATE VIEW IF NOT EXISTS inventory_latest` find the ledger's objects and do
-- nothing, and `warehouse/0003_parity_views.sql`).

-- Revenue kept from the ticket (`model::Ticket::kept_minor`), written with each version.
-- Existing rows are filled by the host after this migration (from `KEPT_MINOR_SQL`).
ALTER TABLE tickets ADD COLUMN kept_minor INTEGER;
-- The local date of `ordered_at_ms` in the account's zone (`zone::AccountZones`), written with
-- each version; existing rows are filled by the host after this migration.
ALTER TABLE tickets ADD COLUMN sales_date TEXT;
-- The city lower-cased by the writer (SQLite's lower() folds ASCII only), as the old QTickets
-- loader stored cities.
ALTER TABLE events ADD COLUMN city_lower TEXT;
-- Rows stored before this migration are filled by the host (`state::embedded`), in one
-- transaction that also deletes this marker: a process that stops between this migration and
-- that fill fills them at its next start.
CREATE TABLE embedded_fill_pending (since_migration INTEGER NOT NULL);
INSERT INTO embedded_fill_pending VALUES (9);
-- The warehouse's names for the run's times (its `job_runs` had `*_ms` columns).
ALTER TABLE job_runs ADD COLUMN started_at_ms INTEGER GENERATED ALWAYS AS (started_at) VIRTUAL;
ALTER TABLE job_runs ADD COLUMN finished_at_ms INTEGER GENERATED ALWAYS AS (finished_at) VIRTUAL;
