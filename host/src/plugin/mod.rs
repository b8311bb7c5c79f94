//! The plugin room: everything about running vendor connectors as sandboxed WebAssembly
//! components.
//!
//! - `bindings`: host bindings of `wit/connector.wit` and conversions to `crate::model`.
//! - `runtime`: engine, linking, loading (via `cache`), WIT version checks, instantiation.
//! - `instance`: one run's instance: deadlines, fuel, output cap, trap containment.
//! - `host_state`: the store's data: deny-all WASI, memory limiter, `log`.
//! - `output`: a page's records blob → host records, buyers pseudonymized on the way.
//! - `pseudonym`: keyed pseudonyms of buyers' identifiers.
//! - `firewall`: what a plugin's output may contain (PII patterns, sizes, coarse region).
//! - `bundled`: the connectors compiled into this binary.
//! - `admission`: which loaded connector serves each id (drop-in collisions, SHA-256 pins).
//! - `ceilings`: the request rate and sync interval a manifest may ask for.

pub mod admission;
pub mod bindings;
pub mod bundled;
pub mod cache;
pub mod catalog;
pub mod ceilings;
pub mod error;
pub mod firewall;
pub mod host_state;
pub mod instance;
pub mod limits;
pub mod output;
pub mod pseudonym;
pub mod replay;
pub mod runtime;

pub use cache::CacheOutcome;
pub use error::{GuestError, PluginError, TrapKind};
pub use firewall::{RecordFirewall, RejectReason, Rejection};
pub use instance::{InstanceStats, PluginInstance};
pub use limits::PluginLimits;
pub use pseudonym::Pseudonymizer;
pub use runtime::{LoadedPlugin, PluginRuntime};
