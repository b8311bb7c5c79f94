//! The TOML config file (`--config F` or `BOXOFFICE_CONFIG`): several accounts per vendor, the
//! sink, limits and the plugin directory.
//!
//! Precedence, highest first: process environment, `--envfile` files, this file, defaults. The
//! file's global keys are mapped onto the same variable names the environment uses, so one
//! validator checks both; its accounts are added to those the environment defines. Secrets are
//! never written in the file: each names a file, an environment variable or a systemd
//! credential holding the value.
//!
//! ```toml
//! state_dir = "/var/lib/boxoffice"
//! listen_port = 9400
//! tz = "Europe/Moscow"
//! plugin_dir = "/etc/boxoffice/plugins"
//! shard = "0/2"                    # this daemon's accounts (docs/scaling.md); default: all
//!
//! [clickhouse]
//! host = "127.0.0.1"
//! user = "etl_writer"
//! password = { file = "/etc/boxoffice/credentials/clickhouse_password" }
//! database = "boxoffice"
//! cluster = "boxoffice"            # a sharded, replicated warehouse (docs/scaling.md)
//! timeout_secs = 60                # one request's time limit
//!
//! [[account]]
//! vendor = "shotgun"
//! name = "paris"
//! tz = "Europe/Paris"              # this account's sales days; default: the global tz
//! interval_secs = 300
//! settings = { organizer_id = "123456" }
//! secrets = { token = { credential = "shotgun_paris_token" } }
//!
//! [[account]]                      # a drop-in connector: reaches only what is granted
//! vendor = "acme"
//! name = "main"
//! grant_hosts = ["api.acme.example"]
//! secrets = { token = { env = "ACME_TOKEN" } }
//!
//! [plugins.acme]                   # see `plugins`: file, sha256, max_requests_per_minute
//! sha256 = "…"
//!
//! [webhooks]                       # see `webhooks`: the inbound listener
//! bind = "127.0.0.1:9401"
//!
//! [[account]]                      # takes signed webhooks (docs/webhooks.md)
//! vendor = "qtickets"
//! name = "main"
//! secrets = { token = { credential = "qtickets_main_token" } }
//! webhook = { secret = { credential = "qtickets_main_webhook" } }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{invalid, AccountConfig, ConfigError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub state_dir: Option<PathBuf>,
    pub listen_host: Option<String>,
    pub listen_port: Option<u16>,
    pub tz: Option<String>,
    pub plugin_dir: Option<PathBuf>,
    pub max_requests_per_minute: Option<u32>,
    pub shotgun_compat_metrics: Option<bool>,
    pub clickhouse: Option<ClickhouseSection>,
    #[serde(default, rename = "account")]
    pub accounts: Vec<AccountSection>,
    /// `[plugins.<id>]`: the file serving an id, its SHA-256 pin, a lower request rate.
    #[serde(default)]
    pub plugins: BTreeMap<String, super::plugins::PluginSection>,
    /// `[webhooks]`: the inbound webhook listener (`config::webhooks`).
    pub webhooks: Option<super::webhooks::WebhooksSection>,
    /// `I/N`: this daemon's shard of the accounts (`BOXOFFICE_SHARD`).
    pub shard: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClickhouseSection {
    pub host: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub password: Option<SecretRef>,
    pub database: Option<String>,
    /// The `remote_servers` cluster of a sharded, replicated warehouse (`CLICKHOUSE_CLUSTER`).
    pub cluster: Option<String>,
    /// One request's time limit in seconds (`CLICKHOUSE_TIMEOUT_SECS`; default 60).
    pub timeout_secs: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSection {
    pub vendor: String,
    pub name: String,
    pub interval_secs: Option<u32>,
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretRef>,
    /// Origins the operator grants, used exactly as written (its own `base_url` settings are
    /// added): the only way to reach loopback or the LAN.
    #[serde(default)]
    pub extra_origins: Vec<String>,
    /// Host names the operator grants (HTTPS on 443, public addresses only). A drop-in
    /// connector reaches nothing else; a bundled one also reaches its manifest's hosts.
    #[serde(default)]
    pub grant_hosts: Vec<String>,
    /// The zone of this account's sales days (IANA name or `+HH:MM`); default: `tz`/`TZ`.
    pub tz: Option<String>,
    /// `webhook = { secret = … }`: this account takes signed webhooks (`config::webhooks`).
    pub webhook: Option<super::webhooks::AccountWebhookSection>,
}

/// Where a secret's value lives.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum SecretRef {
    File(PathBuf),
    Env(String),
    /// `$CREDENTIALS_DIRECTORY/<name>` (systemd `LoadCredential=`).
    Credential(String),
}

impl SecretRef {
    pub(super) fn resolve(
        &self,
        key: &str,
        env: &BTreeMap<String, String>,
    ) -> Result<String, ConfigError> {
        let read = |p: &Path| {
            std::fs::read_to_string(p)
                .map(|s| s.trim().to_string())
                .map_err(|e| {
                    invalid(
                        key,
                        format!("cannot read {}: {e}", p.display()),
                        "point it at a readable file holding the secret",
                    )
                })
        };
        match self {
            Self::File(p) => read(p),
            Self::Env(var) => env
                .get(var)
                .filter(|v| !v.trim().is_empty())
                .map(|v| v.trim().to_string())
                .ok_or_else(|| {
                    invalid(key, format!("${var} is not set"), "export it or use a file")
                }),
            Self::Credential(name) => {
                let dir = env.get("CREDENTIALS_DIRECTORY").ok_or_else(|| {
                    invalid(
                        key,
                        "CREDENTIALS_DIRECTORY is not set",
                        "run under systemd with LoadCredential=, or use { file = ... }",
                    )
                })?;
                read(&Path::new(dir).join(name))
            }
        }
    }
}

/// Reads and parses the file; errors name the file and the TOML problem.
pub fn read(path: &Path) -> Result<ConfigFile, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::EnvFile {
        path: path.display().to_string(),
        problem: format!("cannot read the config file: {e}"),
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::EnvFile {
        path: path.display().to_string(),
        problem: e.to_string().trim().replace('\n', " "),
    })
}

impl ConfigFile {
    /// The global keys as the variables the environment would set (lowest precedence).
    pub fn as_vars(
        &self,
        env: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, ConfigError> {
        let mut v = BTreeMap::new();
        let mut put = |k: &str, val: Option<String>| {
            if let Some(val) = val {
                v.insert(k.to_string(), val);
            }
        };
        put(
            "BOXOFFICE_STATE_DIR",
            self.state_dir.as_ref().map(|p| p.display().to_string()),
        );
        put("BOXOFFICE_LISTEN_HOST", self.listen_host.clone());
        put("EXPORTER_PORT", self.listen_port.map(|p| p.to_string()));
        if let Some(tz) = &self.tz {
            // Named as the file spells it (the environment's TZ, if set, overrides it later).
            super::zone_setting("tz", tz)?;
        }
        put("TZ", self.tz.clone());
        put(
            "BOXOFFICE_PLUGIN_DIR",
            self.plugin_dir.as_ref().map(|p| p.display().to_string()),
        );
        put(
            "BOXOFFICE_MAX_REQUESTS_PER_MINUTE",
            self.max_requests_per_minute.map(|n| n.to_string()),
        );
        put(
            "BOXOFFICE_SHOTGUN_COMPAT_METRICS",
            self.shotgun_compat_metrics.map(|b| b.to_string()),
        );
        put("BOXOFFICE_SHARD", self.shard.clone());
        if let Some(ch) = &self.clickhouse {
            put("CLICKHOUSE_HOST", Some(ch.host.clone()));
            put("CLICKHOUSE_PORT", ch.port.map(|p| p.to_string()));
            put("CLICKHOUSE_USER", ch.user.clone());
            put("CLICKHOUSE_DATABASE", ch.database.clone());
            put("CLICKHOUSE_CLUSTER", ch.cluster.clone());
            put(
                "CLICKHOUSE_TIMEOUT_SECS",
                ch.timeout_secs.map(|t| t.to_string()),
            );
            if let Some(p) = &ch.password {
                put(
                    "CLICKHOUSE_PASSWORD",
                    Some(p.resolve("clickhouse.password", env)?),
                );
            }
        }
        Ok(v)
    }

    /// The `[[account]]` sections of the file at `path`.
    pub fn accounts(
        &self,
        path: &Path,
        env: &BTreeMap<String, String>,
    ) -> Result<Vec<AccountConfig>, ConfigError> {
        let mut out = Vec::new();
        for (i, a) in self.accounts.iter().enumerate() {
            let at = |field: &str| format!("account[{i}] ({}/{}).{field}", a.vendor, a.name);
            if a.vendor.trim().is_empty() || a.name.trim().is_empty() {
                return Err(invalid(
                    &format!("account[{i}]"),
                    "vendor and name are required",
                    "add vendor = \"…\" and name = \"…\"",
                ));
            }
            // Checked before `at` puts them in a message (crate::names has the rules).
            crate::names::connector_id(a.vendor.trim()).map_err(|e| {
                invalid(
                    &format!("account[{i}].vendor"),
                    format!("the connector id {e}"),
                    "use the id of a bundled or drop-in connector, e.g. shotgun",
                )
            })?;
            crate::names::account_name(a.name.trim()).map_err(|e| {
                invalid(
                    &format!("account[{i}].name"),
                    format!("the account name {e}"),
                    format!(
                        "an account name is 1 to {} printable characters",
                        crate::names::ACCOUNT_NAME_MAX
                    ),
                )
            })?;
            let mut secrets = BTreeMap::new();
            for (k, r) in &a.secrets {
                let key = at(&format!("secrets.{k}"));
                let value = r.resolve(&key, env)?;
                super::check_secret(&key, &value)?;
                secrets.insert(k.clone(), value);
            }
            let mut extra_origins = a.extra_origins.clone();
            for (k, val) in &a.settings {
                if k.ends_with("base_url") {
                    if reqwest::Url::parse(val).is_err() {
                        return Err(invalid(
                            &at(&format!("settings.{k}")),
                            format!("`{val}` is not a URL"),
                            "use an absolute http(s) URL",
                        ));
                    }
                    extra_origins.push(val.clone());
                }
            }
            let mut grant_hosts = Vec::new();
            for h in &a.grant_hosts {
                let name = crate::http::host_rules::check_host_name(h).map_err(|e| {
                    invalid(
                        &at("grant_hosts"),
                        e.to_string(),
                        "grant a public host name (`api.vendor.example`, `*.vendor.example`); write a local or IP origin out in full in extra_origins",
                    )
                })?;
                grant_hosts.push(name.to_string());
            }
            out.push(AccountConfig {
                vendor: a.vendor.trim().to_string(),
                name: a.name.trim().to_string(),
                settings: a
                    .settings
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                secrets,
                interval_secs: a.interval_secs,
                extra_origins,
                grant_hosts,
                tz: a
                    .tz
                    .as_deref()
                    .map(|z| super::zone_setting(&at("tz"), z))
                    .transpose()?,
                origin: super::AccountOrigin::File {
                    path: path.to_path_buf(),
                    index: i,
                },
            });
        }
        Ok(out)
    }
}
