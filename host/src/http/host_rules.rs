//! Which host *names* a connector may ask for, and an operator may grant by name.
//!
//! Owns: the rules on one `allowed_hosts` / `grant_hosts` entry — a DNS name (optionally
//! `*.` + a name), lower-cased and in its ASCII (punycode) form; never an IP literal, never
//! `localhost` (or a `*.localhost` name), never a wildcard wider than one registrable domain
//! (`*.com`, `*.co.uk`, `*.github.io`: the public-suffix list decides). Origins the operator
//! writes out in full (`https://host:port`, e.g. a local simulator) are not host names and do
//! not pass here. Where a name *resolves* is checked at connect time (see `resolver`).

use reqwest::Url;
use thiserror::Error;

/// Why a host entry is refused. Messages name the entry (a host name is not a secret).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HostRefusal {
    #[error("`{0}` is an IP address: only an origin the operator writes explicitly may be one")]
    IpLiteral(String),
    #[error("`{0}` is a loopback name: only an origin the operator writes explicitly may be one")]
    Localhost(String),
    #[error("`{0}` is wider than one registrable domain")]
    WideWildcard(String),
    #[error("`{0}` is not a host name")]
    NotAHostName(String),
}

/// A host entry that passed the rules: `host` is exact, `*.domain` any subdomain of `domain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostName(String);

impl HostName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for HostName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks one entry and returns its normal form.
pub fn check_host_name(entry: &str) -> Result<HostName, HostRefusal> {
    let trimmed = entry.trim();
    let (wildcard, name) = match trimmed.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let not_a_name = || HostRefusal::NotAHostName(trimmed.to_string());
    // Only what a host name can hold: no scheme, port, path, user or query sneaks in.
    if name.is_empty()
        || name.chars().any(|c| {
            matches!(c, ':' | '/' | '@' | '?' | '#' | '\\' | '*' | '%') || c.is_whitespace()
        })
    {
        // `[::1]` and `::1` are IP literals, not malformed names.
        let bare = name.trim_start_matches('[').trim_end_matches(']');
        if bare.parse::<std::net::Ipv6Addr>().is_ok() {
            return Err(HostRefusal::IpLiteral(trimmed.to_string()));
        }
        return Err(not_a_name());
    }
    // The URL parser gives the form a request URL's host will have: lower case, punycode,
    // and IPv4 in any spelling (`0x7f.1`, `2130706433`) recognised as an address.
    let url = Url::parse(&format!("https://{name}/")).map_err(|_| not_a_name())?;
    let host = url.host_str().ok_or_else(not_a_name)?;
    // The parser writes every IPv4 spelling as dotted quads and IPv6 in brackets.
    if host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(HostRefusal::IpLiteral(trimmed.to_string()));
    }
    let host = host.trim_end_matches('.').to_string();
    if host.is_empty() {
        return Err(not_a_name());
    }
    if host == "localhost" || host.ends_with(".localhost") || host == "localhost.localdomain" {
        return Err(HostRefusal::Localhost(trimmed.to_string()));
    }
    if wildcard && psl::domain_str(&host).is_none() {
        // `host` is itself a public suffix (or has no registrable part): `*.host` would span
        // many owners.
        return Err(HostRefusal::WideWildcard(trimmed.to_string()));
    }
    Ok(HostName(if wildcard { format!("*.{host}") } else { host }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(entry: &str) -> String {
        check_host_name(entry).unwrap().to_string()
    }

    #[test]
    fn names_and_narrow_wildcards_pass_in_normal_form() {
        assert_eq!(ok("api.shotgun.live"), "api.shotgun.live");
        assert_eq!(ok("API.Vendor.Example"), "api.vendor.example");
        assert_eq!(ok("*.qtickets.ru"), "*.qtickets.ru");
        assert_eq!(ok("*.vendor.co.uk"), "*.vendor.co.uk");
        assert_eq!(ok("*.api.vendor.example"), "*.api.vendor.example");
        assert_eq!(ok("bücher.example"), "xn--bcher-kva.example");
        assert_eq!(ok("evil.test"), "evil.test");
    }

    #[test]
    fn ip_literals_in_any_spelling_are_refused() {
        for e in [
            "127.0.0.1",
            "169.254.169.254",
            "2130706433",
            "0x7f.1",
            "10.1",
            "[::1]",
            "::1",
            "[fd00:ec2::254]",
            "*.127.0.0.1",
        ] {
            assert!(
                matches!(check_host_name(e), Err(HostRefusal::IpLiteral(_))),
                "{e}: {:?}",
                check_host_name(e)
            );
        }
    }

    #[test]
    fn loopback_names_are_refused() {
        for e in [
            "localhost",
            "LOCALHOST",
            "localhost.",
            "api.localhost",
            "*.localhost",
        ] {
            assert!(
                matches!(check_host_name(e), Err(HostRefusal::Localhost(_))),
                "{e}"
            );
        }
    }

    #[test]
    fn wildcards_wider_than_one_registrable_domain_are_refused() {
        for e in ["*.com", "*.co.uk", "*.github.io", "*.test", "*.ru"] {
            assert_eq!(
                check_host_name(e),
                Err(HostRefusal::WideWildcard(e.into())),
                "{e}"
            );
        }
    }

    #[test]
    fn anything_that_is_not_a_bare_name_is_refused() {
        for e in [
            "",
            "*",
            "*.",
            "https://api.vendor.example",
            "api.vendor.example:8443",
            "api.vendor.example/path",
            "user@api.vendor.example",
            "a b.example",
            "*.*.example.com",
        ] {
            assert!(
                matches!(check_host_name(e), Err(HostRefusal::NotAHostName(_))),
                "{e}: {:?}",
                check_host_name(e)
            );
        }
    }
}
