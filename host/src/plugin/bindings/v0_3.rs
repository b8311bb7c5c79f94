//! Host bindings of contract 0.3 (`wit/since_v0.3.0`, world `plugin`: the entry points in the
//! exported interface `boxoffice:connector/connector@0.3.0`, a page's records typed or
//! encoded, `authorization-header` auth), and its conversions into the host's model
//! (`crate::model`) and the version-neutral [`GuestPage`].
//!
//! Owns only the 0.3 shapes; what typed records become is `plugin::output`'s.

use super::{GuestPage, GuestRecords};
use crate::model;
use crate::plugin::error::GuestError;

wasmtime::component::bindgen!({
    path: "../wit/since_v0.3.0",
    world: "plugin",
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
            wit::Auth::AuthorizationHeader((scheme, secret)) => {
                Self::AuthorizationHeader { scheme, secret }
            }
        }
    }
}

impl From<model::RequestAuth> for wit::Auth {
    fn from(a: model::RequestAuth) -> Self {
        match a {
            model::RequestAuth::None => Self::None,
            model::RequestAuth::BearerHeader { secret } => Self::BearerHeader(secret),
            model::RequestAuth::QueryParam { param, secret } => Self::QueryParam((param, secret)),
            model::RequestAuth::AuthorizationHeader { scheme, secret } => {
                Self::AuthorizationHeader((scheme, secret))
            }
        }
    }
}

impl From<wit::Page> for GuestPage {
    fn from(p: wit::Page) -> Self {
        Self {
            records: match p.records {
                wit::PageRecords::Typed(items) => GuestRecords::Typed(items),
                wit::PageRecords::Encoded(blob) => GuestRecords::Encoded(blob),
            },
            next: p.next.into_iter().map(Into::into).collect(),
            cursor: p.cursor,
        }
    }
}
