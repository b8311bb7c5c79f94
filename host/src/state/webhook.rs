//! Webhook deliveries in the state database: which natural keys are stored, and the one
//! transaction that applies a delivery's records to the ledger and records its key.
//!
//! Owns the dedupe rule's durable half: a key is recorded only together with its ledger
//! changes, so a crash before the commit leaves neither (the vendor's redelivery is stored
//! then), and a key recorded means its records are in the ledger (and, written before the
//! commit, in the warehouse).

use rusqlite::{params, OptionalExtension};

use super::ledger::{apply_records, PageCommit};
use super::StateStore;
use crate::model::Record;

/// What committing a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookCommit {
    /// The ledger changes and the key are committed.
    Stored(PageCommit),
    /// The key was recorded already (a concurrent delivery of the same key won): nothing
    /// was applied.
    AlreadyStored,
}

impl StateStore {
    /// Whether a delivery with this key was stored for the account.
    pub fn webhook_stored(&self, vendor: &str, account: &str, key: &str) -> anyhow::Result<bool> {
        Ok(self
            .conn()
            .query_row(
                "SELECT 1 FROM webhook_deliveries WHERE vendor = ?1 AND account = ?2 AND key = ?3",
                params![vendor, account, key],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Applies a delivery's records to the ledger and records its key, in one transaction.
    /// A key recorded before commits nothing ([`WebhookCommit::AlreadyStored`]).
    pub fn commit_webhook(
        &self,
        vendor: &str,
        account: &str,
        key: &str,
        records: &[Record],
        now_ms: i64,
    ) -> anyhow::Result<WebhookCommit> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let fresh = tx.execute(
            "INSERT INTO webhook_deliveries (vendor, account, key, records, stored_at)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            params![vendor, account, key, records.len() as i64, now_ms],
        )?;
        if fresh == 0 {
            // Dropping the transaction rolls it back.
            return Ok(WebhookCommit::AlreadyStored);
        }
        let out = apply_records(&tx, self.options(), vendor, account, records)?;
        crate::crash_point::reached(crate::crash_point::CrashPhase::Ledger);
        tx.commit()?;
        Ok(WebhookCommit::Stored(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_recorded_once_and_only_with_its_commit() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateStore::open(&dir.path().join("state.db")).unwrap();
        assert!(!state
            .webhook_stored("qtickets", "main", "1:payed:5")
            .unwrap());
        let first = state
            .commit_webhook("qtickets", "main", "1:payed:5", &[], 10)
            .unwrap();
        assert!(matches!(first, WebhookCommit::Stored(_)), "{first:?}");
        assert!(state
            .webhook_stored("qtickets", "main", "1:payed:5")
            .unwrap());
        assert!(!state
            .webhook_stored("qtickets", "other", "1:payed:5")
            .unwrap());
        let again = state
            .commit_webhook("qtickets", "main", "1:payed:5", &[], 11)
            .unwrap();
        assert_eq!(again, WebhookCommit::AlreadyStored);
    }
}
