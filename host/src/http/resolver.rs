//! The DNS resolver of the HTTP client: the address a connector's request connects to is
//! checked *after* resolution, on the very addresses the connection uses, so a granted name
//! cannot be pointed at loopback, the LAN or a metadata service (DNS rebinding included).
//!
//! Owns: resolving a name (the system resolver, or fixed answers a test injects — a hosts file
//! that still passes the guard) and refusing an answer that holds an internal address (see
//! `address`). IP literals never reach a resolver: `executor` checks those itself. Which
//! origins may skip the guard (those the operator wrote) is decided by `grant`; `executor`
//! picks the guarded or the plain resolver per request accordingly.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use thiserror::Error;

use super::address::{internal_class, InternalAddress};

/// A name resolved to an internal address on a path where only public ones are allowed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("`{host}` resolves to {class} ({ip}): a connector may only reach public addresses unless the operator writes the origin explicitly")]
pub struct ForbiddenAddress {
    pub host: String,
    pub ip: IpAddr,
    pub class: InternalAddress,
}

/// Fixed answers by host name (lower case), consulted before the system resolver. A non-zero
/// port in an answer is used when the URL names no port (as with reqwest's own overrides).
pub type DnsOverrides = Arc<BTreeMap<String, Vec<SocketAddr>>>;

/// Checks every address of an answer; the first internal one refuses the whole answer (a
/// mixed answer is a rebinding attempt, not a choice to make for the attacker).
pub fn screen_answer(host: &str, addrs: &[SocketAddr]) -> Result<(), ForbiddenAddress> {
    match addrs
        .iter()
        .find_map(|a| internal_class(a.ip()).map(|class| (a.ip(), class)))
    {
        Some((ip, class)) => Err(ForbiddenAddress {
            host: host.to_string(),
            ip,
            class,
        }),
        None => Ok(()),
    }
}

/// A `reqwest` resolver; `guarded` refuses answers holding an internal address.
#[derive(Clone)]
pub struct CheckedResolver {
    overrides: DnsOverrides,
    guarded: bool,
}

impl CheckedResolver {
    pub fn guarded(overrides: DnsOverrides) -> Self {
        Self {
            overrides,
            guarded: true,
        }
    }

    /// For origins the operator wrote explicitly (simulators, a vendor on the LAN).
    pub fn unguarded(overrides: DnsOverrides) -> Self {
        Self {
            overrides,
            guarded: false,
        }
    }
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
        let fixed = self.overrides.get(&host).cloned();
        let guarded = self.guarded;
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = match fixed {
                Some(a) => a,
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
            };
            if guarded {
                screen_answer(&host, &addrs)?;
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How a test resolution failed: the guard's refusal (typed), or anything else the
    /// resolver returned (a failed system lookup), as its text.
    #[derive(Debug)]
    enum Failed {
        Forbidden(ForbiddenAddress),
        Lookup(String),
    }

    impl Failed {
        fn forbidden(self) -> ForbiddenAddress {
            match self {
                Failed::Forbidden(f) => f,
                Failed::Lookup(e) => panic!("expected a refused address, the lookup failed: {e}"),
            }
        }
    }

    fn resolve(r: &CheckedResolver, host: &str) -> Result<Vec<SocketAddr>, Failed> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let name: Name = host.parse().unwrap();
            r.resolve(name).await.map(|a| a.collect()).map_err(|e| {
                match e.downcast::<ForbiddenAddress>() {
                    Ok(f) => Failed::Forbidden(*f),
                    Err(e) => Failed::Lookup(e.to_string()),
                }
            })
        })
    }

    fn overrides(pairs: &[(&str, &str)]) -> DnsOverrides {
        let mut m: BTreeMap<String, Vec<SocketAddr>> = BTreeMap::new();
        for (h, a) in pairs {
            m.entry(h.to_string()).or_default().push(a.parse().unwrap());
        }
        Arc::new(m)
    }

    #[test]
    fn a_name_resolving_to_loopback_is_refused_on_the_guarded_path() {
        let r = CheckedResolver::guarded(overrides(&[("api.vendor.test", "127.0.0.1:0")]));
        let e = resolve(&r, "api.vendor.test").unwrap_err().forbidden();
        assert_eq!(e.class, InternalAddress::Loopback);
        assert_eq!(e.host, "api.vendor.test");
        assert!(e.to_string().contains("a loopback address"), "{e}");
        // The system resolver's answer for `localhost` is checked the same way.
        let e = resolve(&r, "localhost").unwrap_err().forbidden();
        assert_eq!(e.class, InternalAddress::Loopback);
        assert!(e.to_string().contains("loopback"), "{e}");
    }

    #[test]
    fn a_mixed_answer_is_refused_whole() {
        let r = CheckedResolver::guarded(overrides(&[
            ("rebind.test", "93.184.216.34:0"),
            ("rebind.test", "[::ffff:169.254.169.254]:0"),
        ]));
        let e = resolve(&r, "rebind.test").unwrap_err().forbidden();
        assert_eq!(e.class, InternalAddress::Metadata);
        assert!(e.to_string().contains("cloud metadata"), "{e}");
    }

    #[test]
    fn public_answers_and_the_unguarded_path_pass() {
        let o = overrides(&[
            ("api.vendor.test", "93.184.216.34:0"),
            ("sim.test", "127.0.0.1:8"),
        ]);
        let g = CheckedResolver::guarded(o.clone());
        assert_eq!(
            resolve(&g, "API.Vendor.Test.").unwrap(),
            vec!["93.184.216.34:0".parse::<SocketAddr>().unwrap()]
        );
        let u = CheckedResolver::unguarded(o);
        assert_eq!(
            resolve(&u, "sim.test").unwrap(),
            vec!["127.0.0.1:8".parse::<SocketAddr>().unwrap()]
        );
    }
}
