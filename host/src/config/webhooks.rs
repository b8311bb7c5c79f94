//! The webhook listener's configuration: the `[webhooks]` section of the TOML file (`bind`,
//! `max_body_bytes`, `max_per_second`, `burst`) and its environment twins
//! (`BOXOFFICE_WEBHOOK_BIND`, `BOXOFFICE_WEBHOOK_MAX_BODY_BYTES`,
//! `BOXOFFICE_WEBHOOK_MAX_PER_SECOND`, `BOXOFFICE_WEBHOOK_BURST`), and each account's webhook
//! secret: `webhook = { secret = { credential = "…" } }` in an `[[account]]`, or
//! `<VENDOR>_WEBHOOK_SECRET` (also `_FILE`, or the systemd credential of that name in lower case)
//! for the account the environment defines (`QTICKETS_WEBHOOK_SECRET`).
//!
//! The secret is kept apart from the account's request secrets (`AccountConfig::secrets`, what
//! `http::Secrets` is built from): a connector can never ask for it to be injected. Errors name
//! the file or variable and the key, never the value.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use serde::Deserialize;

use super::file::{ConfigFile, SecretRef};
use super::{invalid, AccountConfig, AccountOrigin, ConfigError, Vars};
use crate::webhook::{ListenerConfig, WebhookSecret};

/// Shortest webhook secret accepted (a shorter HMAC key is guessable).
pub const MIN_WEBHOOK_SECRET_CHARS: usize = 8;
/// Largest body cap accepted: a delivery is one order, not a bulk upload.
pub const MAX_BODY_BYTES_LIMIT: u64 = 64 * 1024 * 1024;

/// `[webhooks]`: the listener (all optional; defaults in `webhook::server`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksSection {
    pub bind: Option<String>,
    pub max_body_bytes: Option<u64>,
    pub max_per_second: Option<u32>,
    pub burst: Option<u32>,
}

/// `webhook = { secret = … }` in an `[[account]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountWebhookSection {
    pub secret: Option<SecretRef>,
}

/// One account's webhook secret, with where it was configured (for errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountWebhook {
    pub vendor: String,
    pub account: String,
    pub secret: WebhookSecret,
    /// The file key or variable it came from.
    pub source: String,
}

/// The listener's settings and the accounts that take webhooks. The listener runs only when
/// at least one account has a secret.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WebhookConfig {
    pub listener: ListenerConfig,
    pub accounts: Vec<AccountWebhook>,
}

pub const BIND_VAR: &str = "BOXOFFICE_WEBHOOK_BIND";
pub const MAX_BODY_VAR: &str = "BOXOFFICE_WEBHOOK_MAX_BODY_BYTES";
pub const RATE_VAR: &str = "BOXOFFICE_WEBHOOK_MAX_PER_SECOND";
pub const BURST_VAR: &str = "BOXOFFICE_WEBHOOK_BURST";

fn bind(key: &str, value: &str) -> Result<SocketAddr, ConfigError> {
    value.trim().parse().map_err(|_| {
        invalid(
            key,
            format!("`{}` is not an IP address and port", value.trim()),
            "use e.g. 127.0.0.1:9401 (keep it on loopback behind a TLS proxy) or [::1]:9401",
        )
    })
}

fn positive(key: &str, value: u64, max: u64) -> Result<u64, ConfigError> {
    if value == 0 {
        return Err(invalid(
            key,
            "0 would refuse every delivery",
            "use a whole number of at least 1, or leave it out for the default",
        ));
    }
    if value > max {
        return Err(invalid(
            key,
            format!("{value} is above the limit of {max}"),
            format!("use at most {max}"),
        ));
    }
    Ok(value)
}

fn number(key: &str, value: &str) -> Result<u64, ConfigError> {
    value.trim().parse::<u64>().map_err(|_| {
        invalid(
            key,
            format!("`{}` is not a whole number", value.trim()),
            "use a whole number of at least 1",
        )
    })
}

fn secret(key: &str, value: String) -> Result<WebhookSecret, ConfigError> {
    if value.chars().count() < MIN_WEBHOOK_SECRET_CHARS {
        return Err(invalid(
            key,
            format!(
                "the webhook secret is shorter than {MIN_WEBHOOK_SECRET_CHARS} characters, too easy to guess"
            ),
            "set the same long random secret here and in the vendor's webhook settings",
        ));
    }
    Ok(WebhookSecret::new(value))
}

impl ConfigFile {
    /// `[webhooks]` of the file at `path` as the variables above (checked here, so an error
    /// names the file and the key).
    pub fn webhook_vars(&self, path: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
        let mut out = BTreeMap::new();
        let Some(w) = &self.webhooks else {
            return Ok(out);
        };
        let at = |k: &str| format!("{}: webhooks.{k}", path.display());
        if let Some(b) = &w.bind {
            bind(&at("bind"), b)?;
            out.insert(BIND_VAR.to_string(), b.trim().to_string());
        }
        for (k, var, value, max) in [
            (
                "max_body_bytes",
                MAX_BODY_VAR,
                w.max_body_bytes,
                MAX_BODY_BYTES_LIMIT,
            ),
            (
                "max_per_second",
                RATE_VAR,
                w.max_per_second.map(u64::from),
                u64::from(u32::MAX),
            ),
            (
                "burst",
                BURST_VAR,
                w.burst.map(u64::from),
                u64::from(u32::MAX),
            ),
        ] {
            if let Some(n) = value {
                positive(&at(k), n, max)?;
                out.insert(var.to_string(), n.to_string());
            }
        }
        Ok(out)
    }

    /// The `webhook` secrets of the file's `[[account]]`s (resolved, checked).
    pub fn webhook_secrets(
        &self,
        path: &Path,
        env: &BTreeMap<String, String>,
    ) -> Result<Vec<AccountWebhook>, ConfigError> {
        let mut out = Vec::new();
        for (i, a) in self.accounts.iter().enumerate() {
            let Some(w) = &a.webhook else { continue };
            let key = format!(
                "{}: account[{i}] ({}/{}).webhook.secret",
                path.display(),
                a.vendor.trim(),
                a.name.trim()
            );
            let Some(r) = &w.secret else {
                return Err(invalid(
                    &key,
                    "missing",
                    "write webhook = { secret = { credential = \"…\" } } (or { file = … } / { env = … })",
                ));
            };
            let value = r.resolve(&key, env)?;
            out.push(AccountWebhook {
                vendor: a.vendor.trim().to_string(),
                account: a.name.trim().to_string(),
                secret: secret(&key, value)?,
                source: key,
            });
        }
        Ok(out)
    }
}

/// The webhook configuration from the variables (file values already mapped onto them) and
/// the accounts: the file's secrets plus `<VENDOR>_WEBHOOK_SECRET` for the environment's.
pub(crate) fn from_vars(
    v: &Vars,
    accounts: &[AccountConfig],
    file_secrets: &[AccountWebhook],
) -> Result<WebhookConfig, ConfigError> {
    let mut listener = ListenerConfig::default();
    if let Some(b) = v.get(BIND_VAR) {
        listener.bind = bind(BIND_VAR, b)?;
    }
    if let Some(n) = v.get(MAX_BODY_VAR) {
        listener.max_body_bytes =
            positive(MAX_BODY_VAR, number(MAX_BODY_VAR, n)?, MAX_BODY_BYTES_LIMIT)? as usize;
    }
    let max32 = u64::from(u32::MAX);
    if let Some(n) = v.get(RATE_VAR) {
        listener.max_per_second = positive(RATE_VAR, number(RATE_VAR, n)?, max32)? as u32;
    }
    if let Some(n) = v.get(BURST_VAR) {
        listener.burst = positive(BURST_VAR, number(BURST_VAR, n)?, max32)? as u32;
    }
    let mut out = file_secrets.to_vec();
    for vendor in ["shotgun", "qtickets"] {
        let var = format!("{}_WEBHOOK_SECRET", vendor.to_ascii_uppercase());
        let explicit = v.get(&var).is_some() || v.get(&format!("{var}_FILE")).is_some();
        let env_account = accounts
            .iter()
            .find(|a| a.vendor == vendor && matches!(a.origin, AccountOrigin::Env { .. }));
        match env_account {
            Some(a) => {
                if let Some(value) = v.secret(&var)? {
                    out.push(AccountWebhook {
                        vendor: a.vendor.clone(),
                        account: a.name.clone(),
                        secret: secret(&var, value)?,
                        source: var.clone(),
                    });
                }
            }
            None if explicit => {
                return Err(invalid(
                    &var,
                    format!("set, but the environment defines no {vendor} account"),
                    "define the account in the environment too, or give a file account webhook = { secret = … }",
                ))
            }
            None => {}
        }
    }
    Ok(WebhookConfig {
        listener,
        accounts: out,
    })
}
