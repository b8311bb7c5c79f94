//! The plugin room: everything about running vendor connectors as sandboxed WebAssembly
//! components.
//!
//! - `bindings`: host bindings of every contract version in the window (`v0_2`, `v0_3`) behind
//!   one enum, and their conversions to `crate::model`.
//! - `runtime`: engine, linking, loading (via `cache`), instantiation.
//! - `contract`: what a component must import and export to be a connector of this host.
//! - `instance`: one run's instance: deadlines, fuel, output caps, trap containment.
//! - `limits`: every cap and its default; `store_limits`: the store-wide resource limiter;
//!   `shape`: a component's core instances, memories and tables, counted before it is
//!   instantiated, and the store caps derived from them under the ceiling.
//! - `host_state`: the store's data: deny-all WASI, the limiter, `log` (capped, escaped).
//! - `output`: a page's records (encoded blob or typed items) → host records under the page
//!   caps, buyers pseudonymized on the way.
//! - `pseudonym`: keyed pseudonyms of buyers' identifiers.
//! - `firewall`: what a plugin's output may contain (PII patterns, sizes, coarse region).
//! - `bundled`: the connectors compiled into this binary.
//! - `replay`: recorded responses through a plugin (`plugins test`); `fixture_path` keeps a
//!   fixture's body files inside its directory.
//! - `fold`, `region`, `countries`, `bounds`: what the firewall reads text, regions, money and
//!   time with.
//! - `outbound`: a planned request is plugin output too: screened before it is queued.
//! - `admission`: which loaded connector serves each id (drop-in collisions, SHA-256 pins).
//! - `ceilings`: the request rate and sync interval a manifest may ask for.

pub mod admission;
pub mod bindings;
pub mod bounds;
pub mod bundled;
pub mod cache;
pub mod catalog;
pub mod ceilings;
pub mod contract;
mod countries;
pub mod error;
pub mod firewall;
pub mod fixture_path;
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
pub mod shape;
pub mod store_limits;

pub use cache::CacheOutcome;
pub use error::{GuestError, PageCap, PluginError, TrapKind};
pub use firewall::{RecordFirewall, RejectReason, Rejection};
pub use instance::{InstanceStats, PluginInstance};
pub use limits::{LogCaps, PageCaps, PluginLimits, RunCaps, StoreCaps};
pub use pseudonym::Pseudonymizer;
pub use runtime::{LoadedPlugin, PluginRuntime};
