//! Matching a URL against a set of hosts and origins.
//!
//! Owns: the match itself. Host entries are reached over HTTPS only, on the default port (or
//! any subdomain for a `*.` entry); origin entries (scheme, host and port) are exact. Anything
//! else is refused before a connection is made. What goes into the list — which hosts and
//! origins an account is granted — is decided in one place, `grant`.

use reqwest::Url;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("request to `{origin}` refused: not granted to connector `{plugin}` (a drop-in gets a host only when the operator grants it)")]
pub struct NotAllowed {
    pub plugin: String,
    /// scheme://host[:port] only: never the path or query, which may carry a secret.
    pub origin: String,
}

/// Why an operator-written origin (`*_BASE_URL`, `extra_origins`) cannot be added. Names the
/// value as written: an origin is configuration, not a secret.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OriginError {
    #[error("`{base_url}` is not a URL: {reason}")]
    NotAUrl { base_url: String, reason: String },
    #[error("`{base_url}` is not an http(s) URL")]
    NotHttp { base_url: String },
    /// Not reached for an http(s) URL (the URL parser requires a host there); kept rather
    /// than a panic.
    #[error("`{base_url}` has no host")]
    NoHost { base_url: String },
    /// Not reached for an http(s) URL (both schemes have a default port).
    #[error("`{base_url}` has no port")]
    NoPort { base_url: String },
}

#[derive(Debug, Clone, Default)]
pub struct AllowList {
    plugin: String,
    manifest_hosts: Vec<String>,
    origins: Vec<(String, String, u16)>,
}

pub(crate) fn origin_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{}://{h}:{p}", url.scheme()),
        (Some(h), None) => format!("{}://{h}", url.scheme()),
        _ => format!("{}://", url.scheme()),
    }
}

impl AllowList {
    pub fn new(plugin: &str, manifest_hosts: &[String]) -> Self {
        Self {
            plugin: plugin.to_string(),
            manifest_hosts: manifest_hosts
                .iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            origins: Vec::new(),
        }
    }

    /// Adds an operator-configured origin (the scheme, host and port of `base_url`, an
    /// `http` or `https` URL) and returns the URL it was read from.
    pub fn add_origin(&mut self, base_url: &str) -> Result<Url, OriginError> {
        let url = Url::parse(base_url).map_err(|e| OriginError::NotAUrl {
            base_url: base_url.to_string(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(OriginError::NotHttp {
                base_url: base_url.to_string(),
            });
        }
        let host = url.host_str().ok_or_else(|| OriginError::NoHost {
            base_url: base_url.to_string(),
        })?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| OriginError::NoPort {
                base_url: base_url.to_string(),
            })?;
        self.origins
            .push((url.scheme().to_string(), host.to_ascii_lowercase(), port));
        Ok(url)
    }

    /// The plugin (vendor) this list belongs to.
    pub fn plugin(&self) -> &str {
        &self.plugin
    }

    pub fn check(&self, url: &Url) -> Result<(), NotAllowed> {
        let refused = || NotAllowed {
            plugin: self.plugin.clone(),
            origin: origin_of(url),
        };
        let host = url.host_str().ok_or_else(refused)?.to_ascii_lowercase();
        let port = url.port_or_known_default().ok_or_else(refused)?;
        let by_origin = self
            .origins
            .iter()
            .any(|(s, h, p)| s == url.scheme() && *h == host && *p == port);
        let by_manifest = url.scheme() == "https"
            && port == 443
            && self
                .manifest_hosts
                .iter()
                .any(|h| match h.strip_prefix("*.") {
                    Some(domain) => host.ends_with(&format!(".{domain}")),
                    None => *h == host,
                });
        if by_origin || by_manifest {
            Ok(())
        } else {
            Err(refused())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn manifest_hosts_are_https_only() {
        let a = AllowList::new(
            "shotgun",
            &["api.shotgun.live".into(), "*.qtickets.ru".into()],
        );
        assert!(a
            .check(&url("https://api.shotgun.live/tickets?x=1"))
            .is_ok());
        assert!(a.check(&url("https://msk.qtickets.ru/api")).is_ok());
        assert!(a.check(&url("http://api.shotgun.live/tickets")).is_err());
        assert!(a.check(&url("https://api.shotgun.live:8443/")).is_err());
        assert!(a
            .check(&url("https://api.shotgun.live.evil.test/"))
            .is_err());
        assert!(a.check(&url("https://evilqtickets.ru/")).is_err());
        let e = a
            .check(&url("https://evil.test/steal?token=SECRET"))
            .unwrap_err();
        assert_eq!(e.origin, "https://evil.test");
        assert!(!e.to_string().contains("SECRET"));
    }

    #[test]
    fn operator_origins_are_exact() {
        let mut a = AllowList::new("qtickets", &[]);
        a.add_origin("http://127.0.0.1:8123/api/rest/v1").unwrap();
        assert!(a
            .check(&url("http://127.0.0.1:8123/api/rest/v1/orders"))
            .is_ok());
        assert!(a.check(&url("http://127.0.0.1:8124/")).is_err());
        assert!(a.check(&url("https://127.0.0.1:8123/")).is_err());
        assert!(a.add_origin("not a url").is_err());
    }

    #[test]
    fn unusable_origins_are_refused_by_kind_and_named() {
        let mut a = AllowList::new("qtickets", &[]);
        let e = a.add_origin("not a url").unwrap_err();
        assert!(
            matches!(&e, OriginError::NotAUrl { base_url, .. } if base_url == "not a url"),
            "{e:?}"
        );
        assert!(
            e.to_string().starts_with("`not a url` is not a URL: "),
            "{e}"
        );
        let e = a.add_origin("ftp://files.vendor.test/").unwrap_err();
        assert_eq!(
            e,
            OriginError::NotHttp {
                base_url: "ftp://files.vendor.test/".into()
            }
        );
        assert_eq!(
            e.to_string(),
            "`ftp://files.vendor.test/` is not an http(s) URL"
        );
        // Nothing refused was added.
        assert!(a.check(&url("ftp://files.vendor.test/")).is_err());
    }
}
