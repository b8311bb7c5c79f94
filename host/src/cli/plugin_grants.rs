//! The "asks for / granted" part of `boxoffice plugins inspect`: what a connector's manifest
//! requests (hosts, secrets, pace) and what the current configuration grants it, account by
//! account. Prints nothing secret: secret *names* and whether each is configured.

use crate::config::Config;
use crate::http::grant::{EgressGrant, HostVerdict, OperatorGrants, Provenance};
use crate::model::Manifest;
use crate::plugin::ceilings::{request_rate, sync_interval, RateSource};

/// Prints the report; `config` is `Err` when the configuration could not be loaded (shown
/// with its causes, as `{:#}` prints them).
pub fn print(m: &Manifest, provenance: Provenance, sha256: &str, config: &anyhow::Result<Config>) {
    println!("source       {provenance}");
    println!(
        "asks for     hosts {}; secrets {}; {} requests/min; every {} s",
        list(&m.allowed_hosts),
        list(&m.secrets),
        m.max_requests_per_minute,
        m.default_interval_secs
    );
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            println!("granted      unknown: the configuration did not load ({e:#})");
            return;
        }
    };
    let pin = config.plugins.get(&m.id);
    let rate = request_rate(
        m.max_requests_per_minute,
        pin.and_then(|p| p.max_requests_per_minute),
        config.max_requests_per_minute,
    );
    let why = match rate.source {
        RateSource::Manifest => "the manifest's ceiling",
        RateSource::ManifestClamped => "clamped: a manifest may not ask for more (or unlimited)",
        RateSource::Operator => "lowered by the operator",
        RateSource::GlobalOverride => "the operator's global override (0 = unlimited)",
    };
    println!("budget       {} requests/min ({why})", rate.per_minute);
    println!(
        "interval     {} s unless an account sets interval_secs",
        sync_interval(m.default_interval_secs, None).as_secs()
    );
    match pin.and_then(|p| p.sha256.as_ref().map(|h| (h, &p.configured_in))) {
        Some((h, at)) if h.eq_ignore_ascii_case(sha256) => {
            println!("sha256 pin   matches ({at})")
        }
        Some((h, at)) => println!(
            "sha256 pin   MISMATCH: {at} pins {}…, this is {}…: it would be refused",
            &h[..12],
            &sha256[..sha256.len().min(12)]
        ),
        None => println!("sha256 pin   none"),
    }
    if let Some(file) = pin.and_then(|p| p.file.as_ref()) {
        println!("served from  {} (configured)", file.display());
    }
    let accounts: Vec<_> = config
        .accounts
        .iter()
        .filter(|a| a.vendor == m.id)
        .collect();
    if accounts.is_empty() {
        // What it would get with no operator grant at all.
        report_grant(m, provenance, "no account", &OperatorGrants::default());
    }
    for a in accounts {
        let grants = OperatorGrants {
            origins: a.extra_origins.clone(),
            hosts: a.grant_hosts.clone(),
        };
        report_grant(m, provenance, &format!("account {}", a.name), &grants);
        for s in &m.secrets {
            let state = if a.secrets.contains_key(s) {
                "configured, sent only to the granted hosts and origins above"
            } else {
                "not configured"
            };
            println!("  secret     {s}: {state}");
        }
    }
}

fn report_grant(m: &Manifest, provenance: Provenance, who: &str, grants: &OperatorGrants) {
    let g = match EgressGrant::new(m, provenance, grants) {
        Ok(g) => g,
        Err(e) => {
            println!("{who:<12} grant unusable: {e}");
            return;
        }
    };
    println!(
        "{who:<12} granted hosts {}; origins {}",
        list(g.granted_hosts()),
        list(g.operator_origins())
    );
    for r in g.requested() {
        let verdict = match &r.verdict {
            HostVerdict::GrantedByShipping => "granted (bundled)".to_string(),
            HostVerdict::GrantedByOperator => "granted (grant_hosts)".to_string(),
            HostVerdict::NotGranted => "NOT granted (a drop-in needs grant_hosts)".to_string(),
            HostVerdict::Refused(why) => format!("REFUSED: {why}"),
        };
        println!("  host       {}: {verdict}", r.host);
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}
