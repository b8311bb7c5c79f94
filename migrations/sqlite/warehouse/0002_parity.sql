-- Parity with the old QTickets loader's dashboard objects, plans and vendor-neutral breakdowns.
-- Shotgun deal visibility per ticket, as a JSON array of strings (read with json_each()).
ALTER TABLE tickets ADD COLUMN visibility TEXT NOT NULL DEFAULT '[]';
