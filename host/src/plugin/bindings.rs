//! Host-side bindings generated from `wit/connector.wit`, and conversions to and from the
//! host's own model (`crate::model`).

use crate::model;

wasmtime::component::bindgen!({
    path: "../wit/since_v0.2.0",
    world: "connector",
    exports: { default: async },
});

pub use self::boxoffice::connector::types as wit;

/// The WIT package the host implements; components must import exactly this major.minor.
pub const WIT_PACKAGE: &str = "boxoffice:connector";
/// The contract version (a test holds it to the WIT file's package line).
pub const WIT_VERSION: &str = "0.2.0";

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
    fn from(a: model::RequestAuth) -> Self {
        match a {
            model::RequestAuth::None => Self::None,
            model::RequestAuth::BearerHeader { secret } => Self::BearerHeader(secret),
            model::RequestAuth::QueryParam { param, secret } => Self::QueryParam((param, secret)),
        }
    }
}

impl From<wit::HttpRequest> for model::PlannedRequest {
    fn from(r: wit::HttpRequest) -> Self {
        Self {
            id: r.id,
            method: r.method,
            url: r.url,
            query: r.query,
            headers: r.headers,
            body: r.body,
            auth: r.auth.into(),
        }
    }
}

impl From<model::PlannedRequest> for wit::HttpRequest {
    fn from(r: model::PlannedRequest) -> Self {
        Self {
            id: r.id,
            method: r.method,
            url: r.url,
            query: r.query,
            headers: r.headers,
            body: r.body,
            auth: r.auth.into(),
        }
    }
}

impl From<model::VendorResponse> for wit::HttpResponse {
    fn from(r: model::VendorResponse) -> Self {
        Self {
            status: r.status,
            headers: r.headers,
            body: r.body,
        }
    }
}

impl From<model::RunContext> for wit::RunContext {
    fn from(c: model::RunContext) -> Self {
        Self {
            account: c.account,
            settings: c.settings,
            cursor: c.cursor,
            since_ms: c.since_ms,
            until_ms: c.until_ms,
            now_ms: c.now_ms,
        }
    }
}

impl From<wit::Manifest> for model::Manifest {
    fn from(m: wit::Manifest) -> Self {
        Self {
            id: m.id,
            vendor: m.vendor,
            version: m.version,
            allowed_hosts: m.allowed_hosts,
            secrets: m.secrets,
            settings: m
                .settings
                .into_iter()
                .map(|s| model::SettingSpec {
                    name: s.name,
                    description: s.description,
                    required: s.required,
                    default_value: s.default_value,
                })
                .collect(),
            default_interval_secs: m.default_interval_secs,
            max_requests_per_minute: m.max_requests_per_minute,
        }
    }
}

/// Bytes of a page once lifted into the host (the records blob, requests and cursor), used for
/// the per-call output cap.
pub fn page_size(p: &wit::Page) -> usize {
    p.records.len()
        + p.next.iter().map(request_size).sum::<usize>()
        + p.cursor.as_ref().map_or(0, String::len)
}

pub fn request_size(r: &wit::HttpRequest) -> usize {
    let pairs = |v: &Vec<(String, String)>| v.iter().map(|(a, b)| a.len() + b.len()).sum::<usize>();
    r.id.len()
        + r.method.len()
        + r.url.len()
        + pairs(&r.query)
        + pairs(&r.headers)
        + r.body.as_ref().map_or(0, Vec::len)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_version_constant_is_the_wit_files() {
        let wit = include_str!("../../../wit/since_v0.2.0/connector.wit");
        let declared = format!("package {}@{};", super::WIT_PACKAGE, super::WIT_VERSION);
        assert!(
            wit.lines().any(|l| l.trim() == declared),
            "wit/connector.wit does not declare `{declared}`"
        );
    }
}
