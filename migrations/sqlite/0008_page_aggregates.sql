-- The ledger's aggregates (`ledger_kpis`, `ledger_combos`, migration 0006) are now kept per
-- page by the writer (`host/src/state/aggregates.rs`): it sums each written ticket's old row
-- out of its groups and its new row into them in Rust and applies every group's delta once,
-- in the page's transaction. The per-row insert and update triggers did the same for every
-- row and made a page's commit 3-5x slower; they go. The delete trigger stays: boxoffice never
-- deletes a ticket, and an operator's DELETE still leaves the figures right.
DROP TRIGGER ledger_aggregates_insert;
DROP TRIGGER ledger_aggregates_update;
