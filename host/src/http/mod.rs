//! The http room: every byte a plugin sends or receives goes through here.
//!
//! - `allow`: which origins a plugin may address.
//! - `secrets`: secret values by name; injection and scrubbing.
//! - `budget`: per-vendor request budgets.
//! - `executor`: performing planned requests with retries and backoff, bodies read up to a cap.

pub mod allow;
pub mod budget;
pub mod executor;
pub mod secrets;

pub use allow::{AllowList, NotAllowed};
pub use budget::RequestBudget;
pub use executor::{
    Fetched, HttpError, HttpExecutor, RequestScope, RetryPolicy, DEFAULT_MAX_RESPONSE_BYTES,
};
pub use secrets::Secrets;
