//! Inbound vendor webhooks: the listener on its own port, signature verification over the raw
//! body, body-size and rate caps, and the seam ([`handler`]) to what a delivery becomes.
//! Owns transport only; it never parses a body and never stores anything itself.

pub mod handler;

pub use handler::{DeliveryError, DeliveryHandler, DeliveryOutcome, VerifiedDelivery};
