-- The legacy two-file warehouse's second step, part one (before issue 18 item 7 the SQLite
-- warehouse was a file of its own, `warehouse.sqlite`): the columns the parity views read.
-- The state database has these columns already (`visibility` since 0001, `city_lower` from
-- 0009), so only a legacy file applies this (`sink::sqlite::LEGACY_MIGRATIONS`).
-- Shotgun deal visibility per ticket, as a JSON array of strings (read with json_each()).
ALTER TABLE tickets ADD COLUMN visibility TEXT NOT NULL DEFAULT '[]';
-- The city lower-cased by the writer (SQLite's lower() folds ASCII only), as the old loader
-- stored cities.
ALTER TABLE events ADD COLUMN city_lower TEXT;
