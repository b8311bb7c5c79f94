//! Egress is granted by the operator, not declared by the connector: the one rule for where an
//! account's requests (and so its secrets) may go.
//!
//! Owns: turning what a manifest *requests* (`allowed_hosts`), where the connector came from
//! ([`Provenance`]) and what the operator *granted* the account ([`OperatorGrants`]) into an
//! [`EgressGrant`], built once per account and used by sync, probe and bench alike:
//! - a bundled connector's requested hosts are granted by shipping it (we reviewed them);
//! - a drop-in's requested hosts are granted only when the operator grants them;
//! - the operator grants host names (`grant_hosts`, HTTPS on 443, public addresses only) and
//!   whole origins (`*_BASE_URL`, `extra_origins`: used exactly as written, internal addresses
//!   allowed — that is how simulators and tests on loopback are reached);
//! - a requested or granted host name must pass `host_rules` (no IP literal, no `localhost`, no
//!   wildcard wider than one registrable domain); a requested host that fails is refused and
//!   never granted, whoever shipped it.
//!
//! Secrets are bound to the grant: `executor` injects an account's secret only into a request
//! this grant allows. It does not own matching a URL against hosts and origins (`allow`) or
//! checking where a granted name resolves (`resolver`).

use std::fmt;

use reqwest::Url;
use thiserror::Error;

use super::allow::{AllowList, NotAllowed, OriginError};
use super::host_rules::{check_host_name, HostRefusal};
use crate::model::Manifest;

/// Where a connector's code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provenance {
    /// Compiled into this binary: its manifest's hosts were reviewed with it.
    Bundled,
    /// Loaded from the plugin directory or a configured file: trusted with nothing.
    DropIn,
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Bundled => "bundled",
            Self::DropIn => "drop-in",
        })
    }
}

/// What the operator's configuration grants one account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatorGrants {
    /// Whole origins (`scheme://host[:port]`; a path is ignored), used exactly as written.
    pub origins: Vec<String>,
    /// Host names (`api.vendor.example`, `*.vendor.example`) reached over HTTPS on 443.
    pub hosts: Vec<String>,
}

/// What became of one host a manifest requested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostVerdict {
    /// Granted because the connector is bundled.
    GrantedByShipping,
    /// Granted by the operator's `grant_hosts`.
    GrantedByOperator,
    /// A drop-in's request the operator has not granted.
    NotGranted,
    /// Breaks the host rules: never granted.
    Refused(HostRefusal),
}

/// One `allowed_hosts` entry of a manifest and its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestedHost {
    pub host: String,
    pub verdict: HostVerdict,
}

/// An operator grant that is not usable. Names the entry (hosts and origins are not secrets).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GrantError {
    #[error("granted host for `{plugin}`: {refusal}")]
    Host {
        plugin: String,
        refusal: HostRefusal,
    },
    #[error("granted origin for `{plugin}`: {refusal}")]
    Origin {
        plugin: String,
        refusal: OriginError,
    },
}

/// Where one account's requests may go.
#[derive(Debug, Clone)]
pub struct EgressGrant {
    allow: AllowList,
    requested: Vec<RequestedHost>,
    granted_hosts: Vec<String>,
    operator_origins: AllowList,
    operator_origin_list: Vec<String>,
}

impl EgressGrant {
    pub fn new(
        manifest: &Manifest,
        provenance: Provenance,
        operator: &OperatorGrants,
    ) -> Result<Self, GrantError> {
        let plugin = manifest.id.as_str();
        let mut granted_hosts: Vec<String> = Vec::new();
        for h in &operator.hosts {
            let name = check_host_name(h).map_err(|refusal| GrantError::Host {
                plugin: plugin.to_string(),
                refusal,
            })?;
            granted_hosts.push(name.to_string());
        }
        let by_operator = granted_hosts.clone();
        let mut requested = Vec::new();
        for h in &manifest.allowed_hosts {
            let verdict = match check_host_name(h) {
                Err(refusal) => HostVerdict::Refused(refusal),
                Ok(name) if by_operator.iter().any(|g| g == name.as_str()) => {
                    HostVerdict::GrantedByOperator
                }
                Ok(name) => match provenance {
                    Provenance::Bundled => {
                        granted_hosts.push(name.to_string());
                        HostVerdict::GrantedByShipping
                    }
                    Provenance::DropIn => HostVerdict::NotGranted,
                },
            };
            requested.push(RequestedHost {
                host: h.clone(),
                verdict,
            });
        }
        let mut allow = AllowList::new(plugin, &granted_hosts);
        let mut operator_origins = AllowList::new(plugin, &[]);
        let mut operator_origin_list = Vec::new();
        for o in &operator.origins {
            let origin_err = |refusal: OriginError| GrantError::Origin {
                plugin: plugin.to_string(),
                refusal,
            };
            let url = allow.add_origin(o).map_err(origin_err)?;
            operator_origins.add_origin(o).map_err(origin_err)?;
            operator_origin_list.push(super::allow::origin_of(&url));
        }
        Ok(Self {
            allow,
            requested,
            granted_hosts,
            operator_origins,
            operator_origin_list,
        })
    }

    /// The connector (vendor) this grant belongs to.
    pub fn plugin(&self) -> &str {
        self.allow.plugin()
    }

    /// `Ok` when `url` may be requested — and so may carry the account's secrets.
    pub fn check(&self, url: &Url) -> Result<(), NotAllowed> {
        self.allow.check(url)
    }

    /// Whether `url`'s origin is one the operator wrote out: the only requests that may
    /// connect to internal addresses.
    pub fn is_operator_origin(&self, url: &Url) -> bool {
        self.operator_origins.check(url).is_ok()
    }

    /// What the manifest asked for, host by host.
    pub fn requested(&self) -> &[RequestedHost] {
        &self.requested
    }

    /// Host names reachable over HTTPS on 443 (shipped and operator-granted).
    pub fn granted_hosts(&self) -> &[String] {
        &self.granted_hosts
    }

    /// Origins the operator wrote, as `scheme://host[:port]`.
    pub fn operator_origins(&self) -> &[String] {
        &self.operator_origin_list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(id: &str, hosts: &[&str]) -> Manifest {
        Manifest {
            id: id.into(),
            vendor: id.into(),
            version: "1".into(),
            allowed_hosts: hosts.iter().map(|h| h.to_string()).collect(),
            secrets: vec!["token".into()],
            settings: vec![],
            default_interval_secs: 300,
            max_requests_per_minute: 60,
            webhook: None,
        }
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn a_bundled_connector_gets_its_requested_hosts() {
        let g = EgressGrant::new(
            &manifest("shotgun", &["api.shotgun.live", "*.shotgun.live"]),
            Provenance::Bundled,
            &OperatorGrants::default(),
        )
        .unwrap();
        assert!(g.check(&url("https://api.shotgun.live/tickets")).is_ok());
        assert!(g
            .check(&url("https://smartboard-api.shotgun.live/x"))
            .is_ok());
        assert!(g.check(&url("http://api.shotgun.live/tickets")).is_err());
        assert_eq!(g.requested()[0].verdict, HostVerdict::GrantedByShipping);
    }

    #[test]
    fn a_drop_in_gets_nothing_until_the_operator_grants_it() {
        let m = manifest("rogue", &["evil.test", "api.vendor.example"]);
        let g = EgressGrant::new(&m, Provenance::DropIn, &OperatorGrants::default()).unwrap();
        let e = g.check(&url("https://evil.test/steal")).unwrap_err();
        assert_eq!(e.origin, "https://evil.test");
        assert!(g.check(&url("https://api.vendor.example/")).is_err());
        assert_eq!(g.requested()[0].verdict, HostVerdict::NotGranted);

        let granted = OperatorGrants {
            hosts: vec!["api.vendor.example".into()],
            origins: vec!["http://127.0.0.1:8123/api".into()],
        };
        let g = EgressGrant::new(&m, Provenance::DropIn, &granted).unwrap();
        assert!(g.check(&url("https://api.vendor.example/orders")).is_ok());
        assert!(g.check(&url("https://evil.test/steal")).is_err());
        assert!(g.check(&url("http://127.0.0.1:8123/api/orders")).is_ok());
        assert_eq!(g.requested()[1].verdict, HostVerdict::GrantedByOperator);
        assert!(g.is_operator_origin(&url("http://127.0.0.1:8123/x")));
        assert!(!g.is_operator_origin(&url("https://api.vendor.example/x")));
        assert_eq!(g.operator_origins(), ["http://127.0.0.1:8123"]);
    }

    #[test]
    fn requested_hosts_breaking_the_rules_are_refused_even_when_bundled() {
        let m = manifest(
            "odd",
            &["localhost", "169.254.169.254", "*.com", "api.fine.example"],
        );
        let g = EgressGrant::new(&m, Provenance::Bundled, &OperatorGrants::default()).unwrap();
        let verdicts: Vec<_> = g.requested().iter().map(|r| &r.verdict).collect();
        assert!(matches!(
            verdicts[0],
            HostVerdict::Refused(HostRefusal::Localhost(_))
        ));
        assert!(matches!(
            verdicts[1],
            HostVerdict::Refused(HostRefusal::IpLiteral(_))
        ));
        assert!(matches!(
            verdicts[2],
            HostVerdict::Refused(HostRefusal::WideWildcard(_))
        ));
        assert_eq!(verdicts[3], &HostVerdict::GrantedByShipping);
        for u in [
            "https://localhost/",
            "https://169.254.169.254/latest/meta-data/",
            "https://anything.com/",
        ] {
            assert!(g.check(&url(u)).is_err(), "{u}");
        }
        assert_eq!(g.granted_hosts(), ["api.fine.example"]);
    }

    #[test]
    fn operator_grants_follow_the_same_host_rules_but_origins_are_taken_as_written() {
        let m = manifest("rogue", &[]);
        for bad in ["localhost", "10.0.0.1", "*.co.uk"] {
            let g = OperatorGrants {
                hosts: vec![bad.into()],
                ..Default::default()
            };
            let e = EgressGrant::new(&m, Provenance::DropIn, &g).unwrap_err();
            assert!(e.to_string().contains(bad), "{e}");
        }
        let g = OperatorGrants {
            origins: vec!["http://localhost:9999".into()],
            ..Default::default()
        };
        let g = EgressGrant::new(&m, Provenance::DropIn, &g).unwrap();
        assert!(g.check(&url("http://localhost:9999/x")).is_ok());
        assert!(g.check(&url("https://localhost/x")).is_err());
        let bad = OperatorGrants {
            origins: vec!["file:///etc/passwd".into()],
            ..Default::default()
        };
        assert!(EgressGrant::new(&m, Provenance::DropIn, &bad).is_err());
        let e = EgressGrant::new(&m, Provenance::DropIn, &bad).unwrap_err();
        assert!(
            matches!(
                &e,
                GrantError::Origin {
                    refusal: OriginError::NotHttp { .. },
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(
            e.to_string()
                .ends_with(": `file:///etc/passwd` is not an http(s) URL"),
            "{e}"
        );
    }
}
