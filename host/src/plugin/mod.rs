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
//! - `fold`, `region`, `countries`, `bounds`: what the firewall reads text, regions, money and
//!   time with.
//! - `outbound`: a planned request is plugin output too: screened before it is queued.

pub mod bindings;
pub mod bounds;
pub mod bundled;
pub mod cache;
pub mod catalog;
mod countries;
pub mod error;
pub mod firewall;
pub mod fold;
pub mod host_state;
pub mod instance;
pub mod limits;
pub mod outbound;
pub mod output;
pub mod pseudonym;
pub mod region;
pub mod replay;
pub mod runtime;

pub use cache::CacheOutcome;
pub use error::{GuestError, PluginError, TrapKind};
pub use firewall::{RecordFirewall, RejectReason, Rejection};
pub use instance::{InstanceStats, PluginInstance};
pub use limits::PluginLimits;
pub use pseudonym::Pseudonymizer;
pub use runtime::{LoadedPlugin, PluginRuntime};
