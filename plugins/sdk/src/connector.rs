//! The [`Connector`] trait a vendor connector implements, and [`export_connector!`](crate::export_connector), which
//! turns it into the component's exports.
//!
//! Owns the glue every connector used to repeat: the bindings' `Guest` impl that only
//! forwards, the [`WasmHost`](crate::WasmHost) passed in, the page arena allocator and the
//! `export!` call. Everything that depends on the shape of the generated bindings (the `Guest`
//! trait's path, the `export!` macro) lives in the hidden `__export_guest!` only, so a change of WIT version changes one place. Connectors' own code and tests only
//! see the trait, over any [`HostApi`] (natively: [`FakeHost`](crate::host::FakeHost)).

use crate::{
    HostApi, HttpRequest, HttpResponse, Manifest, Page, PluginError, RunContext, WebhookDelivery,
    WebhookOutcome,
};

/// What [`Connector::webhook`]'s default answers: the connector takes no webhooks.
pub const WEBHOOKS_NOT_SUPPORTED: &str = "webhooks not supported by this connector";

/// A vendor connector: what it is, the first requests of a run, and one response to one page.
///
/// Implement it on a unit struct and register it with [`export_connector!`](crate::export_connector). Native tests call
/// the methods directly with a fake host.
///
/// ```
/// use boxoffice_plugin_sdk::{
///     get, host::FakeHost, status_error, Connector, HostApi, HttpRequest, HttpResponse,
///     Manifest, Page, PluginError, RecordWriter, RunContext, Setting,
/// };
///
/// pub struct Example;
///
/// impl Connector for Example {
///     fn manifest() -> Manifest {
///         Manifest::builder("example", "Example")
///             .version("0.1.0")
///             .allowed_host("api.example.invalid")
///             .setting(Setting::optional("base_url", "API base", "https://api.example.invalid"))
///             .build()
///     }
///
///     fn begin(_host: &mut impl HostApi, ctx: &RunContext) -> Result<Vec<HttpRequest>, PluginError> {
///         let m = Self::manifest();
///         let base = Self::settings(ctx, &m).require("base_url")?;
///         Ok(vec![get("orders", &format!("{base}/orders"), vec![])])
///     }
///
///     fn handle(
///         _host: &mut impl HostApi,
///         _ctx: &RunContext,
///         _request: &HttpRequest,
///         response: &HttpResponse,
///     ) -> Result<Page, PluginError> {
///         if response.status != 200 {
///             return Err(status_error(response));
///         }
///         Ok(Page { records: RecordWriter::with_capacity(0).finish().into(), next: vec![], cursor: None })
///     }
/// }
///
/// // In the connector crate: boxoffice_plugin_sdk::export_connector!(Example);
///
/// let ctx = RunContext {
///     account: "demo".into(), settings: vec![], cursor: None,
///     since_ms: None, until_ms: None, now_ms: 0,
/// };
/// let requests = Example::begin(&mut FakeHost::default(), &ctx).unwrap();
/// assert_eq!(requests[0].url, "https://api.example.invalid/orders");
/// ```
pub trait Connector {
    /// What the connector is: id, hosts, secrets, settings (see [`Manifest::builder`]).
    fn manifest() -> Manifest;

    /// The first requests of a run.
    fn begin(host: &mut impl HostApi, ctx: &RunContext) -> Result<Vec<HttpRequest>, PluginError>;

    /// One response in, one page of records (and any follow-up requests) out.
    fn handle(
        host: &mut impl HostApi,
        ctx: &RunContext,
        request: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<Page, PluginError>;

    /// One verified webhook delivery (contract 0.4): the vendor's natural dedupe key and a
    /// page of records, whose `next` are follow-up requests the host hands to
    /// [`handle`](Self::handle) as in a run; the page's `cursor` must be `None`. Declare the
    /// signature with [`ManifestBuilder::webhook`](crate::ManifestBuilder::webhook). The
    /// default answers [`WEBHOOKS_NOT_SUPPORTED`] (a `fatal` error), so connectors without
    /// webhooks need not implement it.
    fn webhook(
        host: &mut impl HostApi,
        ctx: &RunContext,
        delivery: &WebhookDelivery,
    ) -> Result<WebhookOutcome, PluginError> {
        let _ = (host, ctx, delivery);
        Err(PluginError::Fatal(WEBHOOKS_NOT_SUPPORTED.into()))
    }

    /// The run's settings read against `manifest` (normally `Self::manifest()`), defaults
    /// filled from it: see [`Settings`](crate::Settings).
    fn settings<'a>(ctx: &'a RunContext, manifest: &'a Manifest) -> crate::Settings<'a> {
        crate::Settings::new(ctx, manifest)
    }
}

/// Exports a [`Connector`] as the component's entry points.
///
/// `export_connector!(MyConnector)` writes the bindings' `Guest` impl over the real host and
/// calls their `export!`; on wasm32 it also installs the SDK's page arena as the global
/// allocator ([`arena`](crate::arena); the native build keeps the platform's). Use
/// `export_connector!(MyConnector, allocator = system)` to keep the system allocator (e.g.
/// when the connector keeps large caches across calls, or installs its own).
///
/// The type must be a plain identifier in scope (the bindings' `export!` asks for one). Call
/// it once, at the crate root of the connector (`crate-type = ["cdylib", "rlib"]`).
///
/// ```
/// # use boxoffice_plugin_sdk::*;
/// pub struct Nothing;
/// impl Connector for Nothing {
///     fn manifest() -> Manifest { Manifest::builder("nothing", "Nothing").build() }
///     fn begin(_: &mut impl HostApi, _: &RunContext) -> Result<Vec<HttpRequest>, PluginError> {
///         Ok(vec![])
///     }
///     fn handle(_: &mut impl HostApi, _: &RunContext, _: &HttpRequest, r: &HttpResponse)
///         -> Result<Page, PluginError> {
///         Err(status_error(r))
///     }
/// }
/// boxoffice_plugin_sdk::export_connector!(Nothing, allocator = system);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! export_connector {
    ($ty:ident) => {
        $crate::export_connector!($ty, allocator = arena);
    };
    ($ty:ident, allocator = arena) => {
        /// The component's allocator: page-scoped bump allocation (the SDK's `arena`).
        #[cfg(target_arch = "wasm32")]
        #[global_allocator]
        static __BOXOFFICE_PAGE_ARENA: $crate::arena::PageArena = $crate::arena::PageArena::new();
        $crate::__export_guest!($ty);
    };
    ($ty:ident, allocator = system) => {
        $crate::__export_guest!($ty);
    };
}

/// The part of [`export_connector!`] that depends on the generated bindings (contract 0.4: the
/// exported `connector` interface's `Guest`, re-exported as `bindings::Guest`). Not for direct use.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_guest {
    ($ty:ident) => {
        impl $crate::bindings::Guest for $ty {
            fn manifest() -> $crate::Manifest {
                <$ty as $crate::Connector>::manifest()
            }
            fn begin(
                ctx: $crate::RunContext,
            ) -> ::core::result::Result<::std::vec::Vec<$crate::HttpRequest>, $crate::PluginError>
            {
                <$ty as $crate::Connector>::begin(&mut $crate::WasmHost, &ctx)
            }
            fn handle(
                ctx: $crate::RunContext,
                request: $crate::HttpRequest,
                response: $crate::HttpResponse,
            ) -> ::core::result::Result<$crate::Page, $crate::PluginError> {
                <$ty as $crate::Connector>::handle(&mut $crate::WasmHost, &ctx, &request, &response)
            }
            fn webhook(
                ctx: $crate::RunContext,
                delivery: $crate::WebhookDelivery,
            ) -> ::core::result::Result<$crate::WebhookOutcome, $crate::PluginError> {
                <$ty as $crate::Connector>::webhook(&mut $crate::WasmHost, &ctx, &delivery)
            }
        }
        $crate::export!($ty);
    };
}
