//! The http room: every byte a plugin sends or receives goes through here.
//!
//! - `grant`: where an account's requests may go (operator-granted egress), built once per
//!   account; `host_rules`: which host names may be requested or granted at all.
//! - `allow`: matching a URL against granted hosts and origins.
//! - `address`, `resolver`: internal addresses, refused on the address actually connected.
//! - `secrets`: secret values by name; injection and scrubbing.
//! - `budget`: per-vendor request budgets.
//! - `request_rules`: the headers, bodies and auth schemes a planned request may have (the
//!   executor's and `plugin::outbound`'s).
//! - `executor`: performing planned requests with retries and backoff, bodies read up to a cap.

pub mod address;
pub mod allow;
pub mod budget;
pub mod executor;
pub mod grant;
pub mod host_rules;
pub mod request_rules;
pub mod resolver;
pub mod secrets;

pub use allow::{AllowList, NotAllowed};
pub use budget::RequestBudget;
pub use executor::{
    Fetched, HttpError, HttpExecutor, RequestScope, RetryPolicy, DEFAULT_MAX_RESPONSE_BYTES,
};
pub use grant::{EgressGrant, OperatorGrants, Provenance};
pub use secrets::Secrets;
