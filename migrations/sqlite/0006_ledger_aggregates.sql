-- Aggregates of the ticket ledger that `/metrics` reads instead of scanning `tickets`
-- (`StateStore::kpis`, the breakdowns' combinations). Triggers on `tickets` keep them in step:
-- each ledger write moves the ticket's old row out of its groups and its new row into them,
-- inside the statement that wrote it, so the same transaction commits or rolls back both. An
-- older version re-delivered changes no row (the upsert's WHERE), so no trigger fires.
-- Rebuilt from the ledger once, here. A group whose `tickets` fell to 0 holds no ticket any
-- more: readers skip it, as a scan of `tickets` would not see it.

-- Per vendor/account/event/category/currency: the figures of `KpiRow`.
CREATE TABLE ledger_kpis (
    vendor        TEXT NOT NULL,
    account       TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    category      TEXT NOT NULL,
    currency      TEXT NOT NULL,
    tickets       INTEGER NOT NULL,   -- rows of `tickets` in the group, any status
    sold          INTEGER NOT NULL,   -- status 'valid'
    refunded      INTEGER NOT NULL,
    canceled      INTEGER NOT NULL,
    resold        INTEGER NOT NULL,
    pending       INTEGER NOT NULL,
    scanned       INTEGER NOT NULL,   -- valid and scanned
    revenue_minor INTEGER NOT NULL,   -- kept money (`Ticket::kept_minor`)
    PRIMARY KEY (vendor, account, event_id, category, currency)
) WITHOUT ROWID;

-- Per distinct combination of the breakdown columns. A missing payment method or UTM tag is
-- stored as '' (a key column cannot be NULL); the breakdowns treat NULL, '' and blanks alike.
CREATE TABLE ledger_combos (
    vendor              TEXT NOT NULL,
    account             TEXT NOT NULL,
    event_id            TEXT NOT NULL,
    currency            TEXT NOT NULL,
    channel             TEXT NOT NULL,
    payment_method      TEXT NOT NULL,
    utm_source          TEXT NOT NULL,
    utm_medium          TEXT NOT NULL,
    utm_campaign        TEXT NOT NULL,
    visibility          TEXT NOT NULL,
    tickets             INTEGER NOT NULL,   -- rows, any status
    held                INTEGER NOT NULL,   -- status 'valid'
    kept_minor          INTEGER NOT NULL,
    service_fee_minor   INTEGER NOT NULL,   -- fees of held tickets
    buyer_fee_minor     INTEGER NOT NULL,
    producer_cost_minor INTEGER NOT NULL,
    scanned             INTEGER NOT NULL,   -- scanned, any status
    PRIMARY KEY (vendor, account, event_id, currency, channel, payment_method, utm_source,
                 utm_medium, utm_campaign, visibility)
) WITHOUT ROWID;

INSERT INTO ledger_kpis
SELECT vendor, account, event_id, category, currency, count(*),
       SUM(status = 'valid'), SUM(status = 'refunded'), SUM(status = 'canceled'),
       SUM(status = 'resold'), SUM(status = 'pending'),
       SUM(status = 'valid' AND scanned_at_ms IS NOT NULL),
       SUM(CASE status WHEN 'valid' THEN price_minor
                       WHEN 'refunded' THEN MAX(price_minor - refunded_minor, 0) ELSE 0 END)
FROM tickets GROUP BY vendor, account, event_id, category, currency;

INSERT INTO ledger_combos
SELECT vendor, account, event_id, currency, channel, COALESCE(payment_method, ''),
       COALESCE(utm_source, ''), COALESCE(utm_medium, ''), COALESCE(utm_campaign, ''),
       visibility, count(*), SUM(status = 'valid'),
       SUM(CASE status WHEN 'valid' THEN price_minor
                       WHEN 'refunded' THEN MAX(price_minor - refunded_minor, 0) ELSE 0 END),
       SUM(CASE WHEN status = 'valid' THEN service_fee_minor ELSE 0 END),
       SUM(CASE WHEN status = 'valid' THEN buyer_fee_minor ELSE 0 END),
       SUM(CASE WHEN status = 'valid' THEN producer_cost_minor ELSE 0 END),
       SUM(scanned_at_ms IS NOT NULL)
FROM tickets
GROUP BY vendor, account, event_id, currency, channel, COALESCE(payment_method, ''),
         COALESCE(utm_source, ''), COALESCE(utm_medium, ''), COALESCE(utm_campaign, ''),
         visibility;

CREATE TRIGGER ledger_aggregates_insert AFTER INSERT ON tickets BEGIN
    INSERT INTO ledger_kpis VALUES (
        new.vendor, new.account, new.event_id, new.category, new.currency, 1,
        new.status = 'valid', new.status = 'refunded', new.status = 'canceled',
        new.status = 'resold', new.status = 'pending',
        new.status = 'valid' AND new.scanned_at_ms IS NOT NULL,
        CASE new.status WHEN 'valid' THEN new.price_minor
            WHEN 'refunded' THEN MAX(new.price_minor - new.refunded_minor, 0) ELSE 0 END)
    ON CONFLICT (vendor, account, event_id, category, currency) DO UPDATE SET
        tickets = tickets + excluded.tickets, sold = sold + excluded.sold,
        refunded = refunded + excluded.refunded, canceled = canceled + excluded.canceled,
        resold = resold + excluded.resold, pending = pending + excluded.pending,
        scanned = scanned + excluded.scanned,
        revenue_minor = revenue_minor + excluded.revenue_minor;
    INSERT INTO ledger_combos VALUES (
        new.vendor, new.account, new.event_id, new.currency, new.channel,
        COALESCE(new.payment_method, ''), COALESCE(new.utm_source, ''),
        COALESCE(new.utm_medium, ''), COALESCE(new.utm_campaign, ''), new.visibility, 1,
        new.status = 'valid',
        CASE new.status WHEN 'valid' THEN new.price_minor
            WHEN 'refunded' THEN MAX(new.price_minor - new.refunded_minor, 0) ELSE 0 END,
        CASE WHEN new.status = 'valid' THEN new.service_fee_minor ELSE 0 END,
        CASE WHEN new.status = 'valid' THEN new.buyer_fee_minor ELSE 0 END,
        CASE WHEN new.status = 'valid' THEN new.producer_cost_minor ELSE 0 END,
        new.scanned_at_ms IS NOT NULL)
    ON CONFLICT (vendor, account, event_id, currency, channel, payment_method, utm_source,
                 utm_medium, utm_campaign, visibility) DO UPDATE SET
        tickets = tickets + excluded.tickets, held = held + excluded.held,
        kept_minor = kept_minor + excluded.kept_minor,
        service_fee_minor = service_fee_minor + excluded.service_fee_minor,
        buyer_fee_minor = buyer_fee_minor + excluded.buyer_fee_minor,
        producer_cost_minor = producer_cost_minor + excluded.producer_cost_minor,
        scanned = scanned + excluded.scanned;
END;

-- The old row leaves its groups (negative deltas), then the new row enters its own.
CREATE TRIGGER ledger_aggregates_update AFTER UPDATE ON tickets BEGIN
    INSERT INTO ledger_kpis VALUES (
        old.vendor, old.account, old.event_id, old.category, old.currency, -1,
        -(old.status = 'valid'), -(old.status = 'refunded'), -(old.status = 'canceled'),
        -(old.status = 'resold'), -(old.status = 'pending'),
        -(old.status = 'valid' AND old.scanned_at_ms IS NOT NULL),
        -(CASE old.status WHEN 'valid' THEN old.price_minor
              WHEN 'refunded' THEN MAX(old.price_minor - old.refunded_minor, 0) ELSE 0 END))
    ON CONFLICT (vendor, account, event_id, category, currency) DO UPDATE SET
        tickets = tickets + excluded.tickets, sold = sold + excluded.sold,
        refunded = refunded + excluded.refunded, canceled = canceled + excluded.canceled,
        resold = resold + excluded.resold, pending = pending + excluded.pending,
        scanned = scanned + excluded.scanned,
        revenue_minor = revenue_minor + excluded.revenue_minor;
    INSERT INTO ledger_combos VALUES (
        old.vendor, old.account, old.event_id, old.currency, old.channel,
        COALESCE(old.payment_method, ''), COALESCE(old.utm_source, ''),
        COALESCE(old.utm_medium, ''), COALESCE(old.utm_campaign, ''), old.visibility, -1,
        -(old.status = 'valid'),
        -(CASE old.status WHEN 'valid' THEN old.price_minor
              WHEN 'refunded' THEN MAX(old.price_minor - old.refunded_minor, 0) ELSE 0 END),
        -(CASE WHEN old.status = 'valid' THEN old.service_fee_minor ELSE 0 END),
        -(CASE WHEN old.status = 'valid' THEN old.buyer_fee_minor ELSE 0 END),
        -(CASE WHEN old.status = 'valid' THEN old.producer_cost_minor ELSE 0 END),
        -(old.scanned_at_ms IS NOT NULL))
    ON CONFLICT (vendor, account, event_id, currency, channel, payment_method, utm_source,
                 utm_medium, utm_campaign, visibility) DO UPDATE SET
        tickets = tickets + excluded.tickets, held = held + excluded.held,
        kept_minor = kept_minor + excluded.kept_minor,
        service_fee_minor = service_fee_minor + excluded.service_fee_minor,
        buyer_fee_minor = buyer_fee_minor + excluded.buyer_fee_minor,
        producer_cost_minor = producer_cost_minor + excluded.producer_cost_minor,
        scanned = scanned + excluded.scanned;
    INSERT INTO ledger_kpis VALUES (
        new.vendor, new.account, new.event_id, new.category, new.currency, 1,
        new.status = 'valid', new.status = 'refunded', new.status = 'canceled',
        new.status = 'resold', new.status = 'pending',
        new.status = 'valid' AND new.scanned_at_ms IS NOT NULL,
        CASE new.status WHEN 'valid' THEN new.price_minor
            WHEN 'refunded' THEN MAX(new.price_minor - new.refunded_minor, 0) ELSE 0 END)
    ON CONFLICT (vendor, account, event_id, category, currency) DO UPDATE SET
        tickets = tickets + excluded.tickets, sold = sold + excluded.sold,
        refunded = refunded + excluded.refunded, canceled = canceled + excluded.canceled,
        resold = resold + excluded.resold, pending = pending + excluded.pending,
        scanned = scanned + excluded.scanned,
        revenue_minor = revenue_minor + excluded.revenue_minor;
    INSERT INTO ledger_combos VALUES (
        new.vendor, new.account, new.event_id, new.currency, new.channel,
        COALESCE(new.payment_method, ''), COALESCE(new.utm_source, ''),
        COALESCE(new.utm_medium, ''), COALESCE(new.utm_campaign, ''), new.visibility, 1,
        new.status = 'valid',
        CASE new.status WHEN 'valid' THEN new.price_minor
            WHEN 'refunded' THEN MAX(new.price_minor - new.refunded_minor, 0) ELSE 0 END,
        CASE WHEN new.status = 'valid' THEN new.service_fee_minor ELSE 0 END,
        CASE WHEN new.status = 'valid' THEN new.buyer_fee_minor ELSE 0 END,
        CASE WHEN new.status = 'valid' THEN new.producer_cost_minor ELSE 0 END,
        new.scanned_at_ms IS NOT NULL)
    ON CONFLICT (vendor, account, event_id, currency, channel, payment_method, utm_source,
                 utm_medium, utm_campaign, visibility) DO UPDATE SET
        tickets = tickets + excluded.tickets, held = held + excluded.held,
        kept_minor = kept_minor + excluded.kept_minor,
        service_fee_minor = service_fee_minor + excluded.service_fee_minor,
        buyer_fee_minor = buyer_fee_minor + excluded.buyer_fee_minor,
        producer_cost_minor = producer_cost_minor + excluded.producer_cost_minor,
        scanned = scanned + excluded.scanned;
END;

-- boxoffice never deletes a ticket; an operator's DELETE still leaves the figures right.
CREATE TRIGGER ledger_aggregates_delete AFTER DELETE ON tickets BEGIN
    INSERT INTO ledger_kpis VALUES (
        old.vendor, old.account, old.event_id, old.category, old.currency, -1,
        -(old.status = 'valid'), -(old.status = 'refunded'), -(old.status = 'canceled'),
        -(old.status = 'resold'), -(old.status = 'pending'),
        -(old.status = 'valid' AND old.scanned_at_ms IS NOT NULL),
        -(CASE old.status WHEN 'valid' THEN old.price_minor
              WHEN 'refunded' THEN MAX(old.price_minor - old.refunded_minor, 0) ELSE 0 END))
    ON CONFLICT (vendor, account, event_id, category, currency) DO UPDATE SET
        tickets = tickets + excluded.tickets, sold = sold + excluded.sold,
        refunded = refunded + excluded.refunded, canceled = canceled + excluded.canceled,
        resold = resold + excluded.resold, pending = pending + excluded.pending,
        scanned = scanned + excluded.scanned,
        revenue_minor = revenue_minor + excluded.revenue_minor;
    INSERT INTO ledger_combos VALUES (
        old.vendor, old.account, old.event_id, old.currency, old.channel,
        COALESCE(old.payment_method, ''), COALESCE(old.utm_source, ''),
        COALESCE(old.utm_medium, ''), COALESCE(old.utm_campaign, ''), old.visibility, -1,
        -(old.status = 'valid'),
        -(CASE old.status WHEN 'valid' THEN old.price_minor
              WHEN 'refunded' THEN MAX(old.price_minor - old.refunded_minor, 0) ELSE 0 END),
        -(CASE WHEN old.status = 'valid' THEN old.service_fee_minor ELSE 0 END),
        -(CASE WHEN old.status = 'valid' THEN old.buyer_fee_minor ELSE 0 END),
        -(CASE WHEN old.status = 'valid' THEN old.producer_cost_minor ELSE 0 END),
        -(old.scanned_at_ms IS NOT NULL))
    ON CONFLICT (vendor, account, event_id, currency, channel, payment_method, utm_source,
                 utm_medium, utm_campaign, visibility) DO UPDATE SET
        tickets = tickets + excluded.tickets, held = held + excluded.held,
        kept_minor = kept_minor + excluded.kept_minor,
        service_fee_minor = service_fee_minor + excluded.service_fee_minor,
        buyer_fee_minor = buyer_fee_minor + excluded.buyer_fee_minor,
        producer_cost_minor = producer_cost_minor + excluded.producer_cost_minor,
        scanned = scanned + excluded.scanned;
END;
