//! Guest-side SDK for boxoffice connectors.
//!
//! Owns: the generated bindings of the contract (`wit/since_v0.4.0`, world `plugin`;
//! re-exported so every connector uses the same types), the [`Connector`] trait and
//! [`export_connector!`] that make a component of it
//! ([`connector`]), the manifest builder and typed settings reader ([`manifest`]), the
//! canonical records and their [`RecordWriter`] (from `boxoffice-records`, shared with the
//! host), and the small helpers every connector needs: bounded vendor-error excerpts
//! ([`error`]), UTC time parsing, exact currency-aware money in minor units ([`money`]), URL
//! query handling for paging, the auxiliary-request convention and list errors naming the
//! record ([`wire`]), and a [`HostApi`] seam so transform code can be tested natively without
//! the host. It does not own any vendor knowledge.
//!
//! A connector is a unit struct implementing [`Connector`], registered with
//! `boxoffice_plugin_sdk::export_connector!(MyConnector);` at its crate root; see the trait's
//! example.

pub mod arena;
pub mod connector;
pub mod error;
pub mod host;
pub mod manifest;
pub mod money;
pub mod time;
pub mod typed;
pub mod url;
pub mod wire;

/// Bindings generated from `wit/since_v0.4.0` (world `plugin`). Connectors do not implement
/// [`bindings::Guest`] themselves: [`export_connector!`] does, over their [`Connector`].
#[allow(clippy::all, missing_docs)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "../../wit/since_v0.4.0",
        world: "plugin",
        pub_export_macro: true,
        export_macro_name: "export_guest",
        default_bindings_module: "boxoffice_plugin_sdk::bindings",
    });

    /// The entry points a connector implements (`boxoffice:connector/connector@0.4.0`).
    pub use self::exports::boxoffice::connector::connector::Guest;
}

pub use bindings::boxoffice::connector::types::{
    Auth, HttpRequest, HttpResponse, Manifest, Page, PageRecords, PluginError, RunContext, Setting,
    WebhookDelivery, WebhookOutcome, WebhookSignature, WebhookSpec,
};

/// A [`RecordWriter`]'s blob is a page's `encoded` records: `records: writer.finish().into()`.
impl From<Vec<u8>> for PageRecords {
    fn from(blob: Vec<u8>) -> Self {
        Self::Encoded(blob)
    }
}

impl PageRecords {
    /// The encoded blob, for tests and tools reading what a Rust connector wrote.
    ///
    /// # Panics
    ///
    /// On `typed` records, which have no blob (the Rust connectors here write `encoded`).
    pub fn blob(&self) -> &[u8] {
        match self {
            Self::Encoded(blob) => blob,
            Self::Typed(_) => panic!("typed page records have no encoded blob"),
        }
    }

    /// [`PageRecords::blob`], owned.
    ///
    /// # Panics
    ///
    /// On `typed` records.
    pub fn into_blob(self) -> Vec<u8> {
        match self {
            Self::Encoded(blob) => blob,
            Self::Typed(_) => panic!("typed page records have no encoded blob"),
        }
    }
}

/// Registers a connector's [`bindings::Guest`] impl as the component's exports:
/// `boxoffice_plugin_sdk::export!(MyConnector);`. Expands to nothing off wasm32: the export
/// names (`boxoffice:connector/connector@0.4.0#begin`) are no valid native symbols, and a
/// connector's native build (its tests, the host's benchmarks) exports nothing.
#[macro_export]
macro_rules! export {
    ($ty:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::bindings::export_guest!($ty);
    };
}

pub use boxoffice_records::currency;
pub use boxoffice_records::{
    decode as decode_records, Event, Inventory, Item, PersonalId, RecordWriter, Ticket,
    TicketStatus,
};
pub use connector::Connector;
pub use error::{bad_response, status_error};
pub use host::{HostApi, Level, WasmHost};
pub use manifest::{ManifestBuilder, Settings};

/// Builds a GET request with no body.
pub fn get(id: &str, url: &str, query: Vec<(String, String)>) -> HttpRequest {
    HttpRequest {
        id: id.to_string(),
        method: "GET".to_string(),
        url: url.to_string(),
        query,
        headers: vec![("Accept".to_string(), "application/json".to_string())],
        body: None,
        auth: Auth::None,
    }
}

/// A header value from a webhook delivery (names arrive lower-cased; matched
/// case-insensitively all the same).
pub fn delivery_header<'a>(delivery: &'a WebhookDelivery, name: &str) -> Option<&'a str> {
    delivery
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Looks a setting up in the run context.
pub fn setting<'a>(ctx: &'a RunContext, name: &str) -> Option<&'a str> {
    ctx.settings
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A header value from a response, matched case-insensitively.
pub fn header<'a>(resp: &'a HttpResponse, name: &str) -> Option<&'a str> {
    resp.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Parses a JSON body, naming the request in the error.
pub fn parse_json<'a, T: serde::Deserialize<'a>>(
    req: &HttpRequest,
    resp: &'a HttpResponse,
) -> Result<T, PluginError> {
    serde_json::from_slice(&resp.body).map_err(|e| {
        PluginError::BadResponse(format!("{} {}: invalid JSON: {e}", req.method, req.url))
    })
}
