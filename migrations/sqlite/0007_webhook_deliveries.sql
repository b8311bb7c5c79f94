-- Webhook deliveries already stored, by the vendor's natural dedupe key (issue 16): a delivery
-- whose key is here is a duplicate and writes nothing. The key is recorded in the same
-- transaction as the delivery's ledger changes, so a crash before that commit leaves it
-- unrecorded and the vendor's redelivery is stored. No personal data: the connector's key is
-- screened like a cursor before it gets here.
CREATE TABLE webhook_deliveries (
    vendor TEXT NOT NULL,
    account TEXT NOT NULL,
    key TEXT NOT NULL,
    records INTEGER NOT NULL,
    stored_at INTEGER NOT NULL,
    PRIMARY KEY (vendor, account, key)
) WITHOUT ROWID;
