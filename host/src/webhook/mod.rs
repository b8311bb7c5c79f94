//! Inbound vendor webhooks: the listener on its own port, signature verification over the raw
//! body, body-size and rate caps, and the seam ([`handler`]) to what a delivery becomes.
//! Owns transport only; it never parses a body and never stores anything itself.
//!
//! [`server`] is the listener ([`serve`]), [`verify`] the signature check and the secret's
//! in-memory form, [`rate`] the per-account token bucket, [`observer`] what it reports
//! (implemented by `metrics::Metrics`), `config::webhook_accounts` the accounts from configuration. See `docs/webhooks.md`.

pub mod handler;
pub mod observer;
pub mod rate;
pub mod server;
pub mod verify;

pub use handler::{DeliveryError, DeliveryHandler, DeliveryOutcome, VerifiedDelivery};
pub use observer::{DeliveryObserver, NoObserver, Outcome};
pub use server::{serve, ListenerConfig, WebhookAccount, WebhookServer};
pub use verify::WebhookSecret;
