//! Host bindings of the frozen contract 0.2 (`wit/since_v0.2.0`, world `connector`: top-level
//! `manifest`/`begin`/`handle` exports, a page's records as one encoded blob), and its
//! adapter into the host's model (`crate::model`) and the version-neutral [`GuestPage`].
//!
//! Owns only the 0.2 shapes. The file is frozen with its WIT: 0.2 leaves this host by deleting
//! this module (docs/wit-versioning.md).

use super::{GuestPage, GuestRecords};
use crate::model;
use crate::plugin::error::GuestError;

wasmtime::component::bindgen!({
    path: "../wit/since_v0.2.0",
    world: "connector",
    exports: { default: async },
});

pub use self::boxoffice::connector::types as wit;

super::common_conversions!(wit);

/// No webhooks before contract 0.4.
fn webhook_of(_: &wit::Manifest) -> Option<model::WebhookSpec> {
    None
}

impl From<wit::Auth> for model::RequestAuth {
    fn from(a: wit::Auth) -> Self {
        match a {
            wit::Auth::None => Self::None,
            wit::Auth::BearerHeader(secret) => Self::BearerHeader { secret },
            wit::Auth::QueryParam((param, secret)) => Self::QueryParam { param, secret },
        }
    }
}

impl From<model::RequestAuth> for wit::Auth {
    /// The request handed back to `handle` is one the connector planned: a 0.2 connector cannot
    /// plan an `authorization-header` (0.3), so that case never reaches it.
    fn from(a: model::RequestAuth) -> Self {
        match a {
            model::RequestAuth::None | model::RequestAuth::AuthorizationHeader { .. } => Self::None,
            model::RequestAuth::BearerHeader { secret } => Self::BearerHeader(secret),
            model::RequestAuth::QueryParam { param, secret } => Self::QueryParam((param, secret)),
        }
    }
}

impl From<wit::Page> for GuestPage {
    fn from(p: wit::Page) -> Self {
        Self {
            records: GuestRecords::Encoded(p.records),
            next: p.next.into_iter().map(Into::into).collect(),
            cursor: p.cursor,
        }
    }
}
