-- Parity with the old QTickets loader's dashboard objects, plans and vendor-neutral breakdowns.
-- Shotgun deal visibility per ticket, as a JSON array of strings (read with json_each()).
ALTER TABLE tickets ADD COLUMN visibility TEXT NOT NULL DEFAULT '[]';
-- The city lower-cased by the writer (SQLite's lower() folds ASCII only), as the old loader
-- stored cities.
ALTER TABLE events ADD COLUMN city_lower TEXT;
