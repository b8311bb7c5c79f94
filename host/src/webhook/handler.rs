//! The seam between the inbound webhook listener (this room: transport, signature, caps) and
//! what a verified delivery becomes (`sync::webhook`: the connector's webhook entry point,
//! dedupe, the write, the ledger commit). The listener calls a [`DeliveryHandler`] only after
//! the signature over the raw body has been verified; the handler never sees the secret.

use std::future::Future;
use std::pin::Pin;

/// One delivery whose signature the listener has verified.
#[derive(Debug, Clone)]
pub struct VerifiedDelivery {
    pub vendor: String,
    pub account: String,
    /// Request headers, names lower-cased, the signature header removed.
    pub headers: Vec<(String, String)>,
    /// The raw body, exactly as signed.
    pub body: Vec<u8>,
    /// When the listener received it (ms since the epoch).
    pub received_ms: i64,
}

/// What became of a verified delivery; the listener answers 200 for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// Its records are durably stored (warehouse written, ledger committed).
    Stored { records: u64 },
    /// Its natural key was stored before: nothing written again.
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// The connector could not understand it (answered 400: a retry would not help).
    #[error("delivery not understood: {0}")]
    Rejected(String),
    /// Storing failed (answered 503, so the vendor's retry covers it).
    #[error("delivery not stored: {0}")]
    Unavailable(String),
    /// No account of that vendor and name takes webhooks (answered 404).
    #[error("no webhook account {0}")]
    UnknownAccount(String),
}

pub type DeliveryFuture<'a> =
    Pin<Box<dyn Future<Output = Result<DeliveryOutcome, DeliveryError>> + Send + 'a>>;

/// Turns one verified delivery into stored records. Returns only once they are durable.
pub trait DeliveryHandler: Send + Sync + 'static {
    fn deliver(&self, delivery: VerifiedDelivery) -> DeliveryFuture<'_>;
}
