//! The plugin room: everything about running vendor connectors as sandboxed WebAssembly
//! components.
//!
//! - `bindings`: host bindings of `wit/connector.wit` and conversions to `crate::model`.
//! - `runtime`: engine, linking, loading (via `cache`), instantiation.
//! - `contract`: what a component must import and export to be a connector of this host.
//! - `instance`: one run's instance: deadlines, fuel, output caps, trap containment.
//! - `limits`: every cap and its default; `store_limits`: the store-wide resource limiter.
//! - `host_state`: the store's data: deny-all WASI, the limiter, `log` (capped, escaped).
//! - `output`: a page's records blob → host records under the page caps, buyers pseudonymized
//!   on the way.
//! - `pseudonym`: keyed pseudonyms of buyers' identifiers.
//! - `firewall`: what a plugin's output may contain (PII patterns, sizes, coarse region).
//! - `bundled`: the connectors compiled into this binary.

pub mod bindings;
pub mod bundled;
pub mod cache;
pub mod catalog;
pub mod contract;
pub mod error;
pub mod firewall;
pub mod host_state;
pub mod instance;
pub mod limits;
pub mod output;
pub mod pseudonym;
pub mod replay;
pub mod runtime;
pub mod store_limits;

pub use cache::CacheOutcome;
pub use error::{GuestError, PageCap, PluginError, TrapKind};
pub use firewall::{RecordFirewall, RejectReason, Rejection};
pub use instance::{InstanceStats, PluginInstance};
pub use limits::{LogCaps, PageCaps, PluginLimits, RunCaps, StoreCaps};
pub use pseudonym::Pseudonymizer;
pub use runtime::{LoadedPlugin, PluginRuntime};
