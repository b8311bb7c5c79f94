//! The config room: turning environment variables (and env files) into accounts, paths and
//! ports, with the old tools' variable names accepted unchanged.
//!
//! Precedence: process environment over `--envfile` values over defaults. Every error names the
//! variable and the fix; no error ever prints a secret's value.

pub mod envfile;
pub mod file;
pub mod plugins;
pub mod settings;
pub mod shard;
pub mod webhook_accounts;
pub mod webhooks;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use thiserror::Error;

use crate::sink::ClickhouseConfig;
use crate::zone::{AccountZones, Zone};
pub use plugins::{PluginPin, PluginPins};
pub use settings::AccountOrigin;
pub use webhooks::{AccountWebhook, WebhookConfig};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{key}: {problem}; {fix}")]
    Invalid {
        key: String,
        problem: String,
        fix: String,
    },
    #[error("{path}: {problem}")]
    EnvFile { path: String, problem: String },
}

pub(crate) fn invalid(
    key: &str,
    problem: impl Into<String>,
    fix: impl Into<String>,
) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// Refuses an account secret too short to be scrubbed from responses safely: the error names
/// the key and the rule, never the value.
pub(crate) fn check_secret(key: &str, value: &str) -> Result<(), ConfigError> {
    let min = crate::http::secrets::MIN_SECRET_CHARS;
    if value.chars().count() < min {
        return Err(invalid(
            key,
            format!("the secret is shorter than {min} characters, too short to keep out of what connectors see"),
            "use the full token the vendor issued",
        ));
    }
    Ok(())
}

/// One vendor account to sync.
#[derive(Clone, PartialEq, Eq)]
pub struct AccountConfig {
    pub vendor: String,
    pub name: String,
    pub settings: Vec<(String, String)>,
    /// Secret name → value. Never printed (see the Debug impl).
    pub secrets: BTreeMap<String, String>,
    pub interval_secs: Option<u32>,
    /// Origins the operator wrote out (`*_BASE_URL`, `extra_origins`): used exactly as written.
    pub extra_origins: Vec<String>,
    /// Host names the operator grants the account (HTTPS on 443, public addresses only).
    pub grant_hosts: Vec<String>,
    /// The zone of this account's sales days; `None` takes the installation's `TZ`.
    pub tz: Option<Zone>,
    /// Where it was defined (names the file or variable in settings errors).
    pub origin: AccountOrigin,
}

impl std::fmt::Debug for AccountConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountConfig")
            .field("vendor", &self.vendor)
            .field("name", &self.name)
            .field("settings", &self.settings)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("interval_secs", &self.interval_secs)
            .field("extra_origins", &self.extra_origins)
            .field("grant_hosts", &self.grant_hosts)
            .field("tz", &self.tz)
            .field("origin", &self.origin)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub state_dir: PathBuf,
    pub listen: SocketAddr,
    pub accounts: Vec<AccountConfig>,
    /// Serve the old Shotgun exporter's metric names too.
    pub compat_shotgun_metrics: bool,
    /// The reporting time zone (sales days) of accounts without their own `tz`.
    pub tz: Zone,
    /// Overrides every vendor's request budget (0 = unlimited; for simulators and tests).
    pub max_requests_per_minute: Option<u32>,
    /// The ClickHouse warehouse; `None` writes the embedded SQLite warehouse.
    pub clickhouse: Option<ClickhouseConfig>,
    /// Extra connector `.wasm` files loaded at start (drop-in vendors).
    pub plugin_dir: Option<PathBuf>,
    /// Per-connector files, SHA-256 pins and lower request rates.
    pub plugins: PluginPins,
    /// Cap on one vendor response body (`BOXOFFICE_MAX_RESPONSE_BYTES`); None: the default.
    pub max_response_bytes: Option<usize>,
    /// The inbound webhook listener and the accounts' webhook secrets (`webhooks`).
    pub webhooks: WebhookConfig,
    /// `CLICKHOUSE_CLUSTER` / `[clickhouse] cluster`: the `remote_servers` cluster whose
    /// sharded, replicated schema the warehouse uses (`sink::clickhouse::cluster`).
    pub clickhouse_cluster: Option<String>,
    /// `BOXOFFICE_SHARD` / `shard = "I/N"` (or `run --shard`): the accounts this daemon syncs.
    pub shard: Option<shard::Shard>,
}

/// A source of variables: the process environment layered over env files.
pub struct Vars {
    vars: BTreeMap<String, String>,
    /// Accounts from the TOML config file (the environment defines at most one per vendor).
    file_accounts: Vec<AccountConfig>,
    /// `[plugins.<id>]` sections of the TOML config file.
    file_plugins: BTreeMap<String, plugins::PluginSection>,
    /// `webhook = { secret = … }` of the file's accounts.
    file_webhooks: Vec<AccountWebhook>,
}

impl Vars {
    pub fn from_process(envfiles: &[PathBuf]) -> Result<Self, ConfigError> {
        Self::load(None, envfiles)
    }

    /// The config file (`config`, else `$BOXOFFICE_CONFIG`), then env files, then the process
    /// environment, each overriding the one before.
    pub fn load(
        config: Option<&std::path::Path>,
        envfiles: &[PathBuf],
    ) -> Result<Self, ConfigError> {
        let mut layered = BTreeMap::new();
        for f in envfiles {
            layered.extend(envfile::read(f)?);
        }
        layered.extend(std::env::vars());
        let config = config.map(PathBuf::from).or_else(|| {
            layered
                .get("BOXOFFICE_CONFIG")
                .filter(|v| !v.trim().is_empty())
                .map(PathBuf::from)
        });
        let mut vars = BTreeMap::new();
        let mut file_accounts = Vec::new();
        let mut file_plugins = BTreeMap::new();
        let mut file_webhooks = Vec::new();
        if let Some(path) = config {
            let f = file::read(&path)?;
            vars.extend(f.as_vars(&layered)?);
            file_accounts = f.accounts(&path, &layered)?;
            file_plugins = f.plugins.clone();
            vars.extend(f.webhook_vars(&path)?);
            file_webhooks = f.webhook_secrets(&path, &layered)?;
        }
        vars.extend(layered);
        Ok(Self {
            vars,
            file_accounts,
            file_plugins,
            file_webhooks,
        })
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            file_accounts: Vec::new(),
            file_plugins: BTreeMap::new(),
            file_webhooks: Vec::new(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.vars
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }

    /// A secret: `KEY`, or the contents of the file named by `KEY_FILE`, or systemd's
    /// `$CREDENTIALS_DIRECTORY/<key in lower case>`.
    pub fn secret(&self, key: &str) -> Result<Option<String>, ConfigError> {
        if let Some(v) = self.get(key) {
            return Ok(Some(v.trim().to_string()));
        }
        let file_key = format!("{key}_FILE");
        if let Some(path) = self.get(&file_key) {
            return std::fs::read_to_string(path)
                .map(|s| Some(s.trim().to_string()))
                .map_err(|e| {
                    invalid(
                        &file_key,
                        format!("cannot read {path}: {e}"),
                        "point it at a readable file holding the secret",
                    )
                });
        }
        if let Some(dir) = self.get("CREDENTIALS_DIRECTORY") {
            let p = PathBuf::from(dir).join(key.to_ascii_lowercase());
            if let Ok(s) = std::fs::read_to_string(&p) {
                return Ok(Some(s.trim().to_string()));
            }
        }
        Ok(None)
    }

    fn bool(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key).map(|v| v.trim().to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if matches!(v.as_str(), "1" | "true" | "yes" | "on") => Ok(true),
            Some(v) if matches!(v.as_str(), "0" | "false" | "no" | "off") => Ok(false),
            Some(v) => Err(invalid(
                key,
                format!("`{v}` is not a boolean"),
                "use true or false",
            )),
        }
    }

    fn number<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, ConfigError> {
        self.get(key)
            .map(|v| {
                v.trim().parse::<T>().map_err(|_| {
                    invalid(
                        key,
                        format!("`{v}` is not a valid number"),
                        "use a whole number",
                    )
                })
            })
            .transpose()
    }
}

fn shotgun_account(v: &Vars) -> Result<Option<AccountConfig>, ConfigError> {
    // SHOTGUN_TOKEN is the current name; the old exporter read SHOTGUN_API_KEY.
    let token = match v.secret("SHOTGUN_TOKEN")? {
        Some(t) => Some(("SHOTGUN_TOKEN", t)),
        None => v.secret("SHOTGUN_API_KEY")?.map(|t| ("SHOTGUN_API_KEY", t)),
    };
    let token = match token {
        Some((key, t)) => {
            check_secret(key, &t)?;
            Some(t)
        }
        None => None,
    };
    let organizer = v.get("SHOTGUN_ORGANIZER_ID");
    let (token, organizer) = match (token, organizer) {
        (None, None) => return Ok(None),
        (None, Some(_)) => {
            return Err(invalid(
                "SHOTGUN_TOKEN",
                "missing while SHOTGUN_ORGANIZER_ID is set",
                "set SHOTGUN_TOKEN (or SHOTGUN_API_KEY, or SHOTGUN_TOKEN_FILE) to the organizer's API token",
            ))
        }
        (Some(_), None) => {
            return Err(invalid(
                "SHOTGUN_ORGANIZER_ID",
                "missing while a Shotgun token is set",
                "set it to the organizer id shown next to the token in Smartboard",
            ))
        }
        (Some(t), Some(o)) => (t, o.trim().to_string()),
    };
    if !organizer.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            "SHOTGUN_ORGANIZER_ID",
            format!("`{organizer}` is not a number"),
            "use the numeric organizer id",
        ));
    }
    let mut settings = vec![("organizer_id".to_string(), organizer)];
    let mut vars = BTreeMap::from([(
        "organizer_id".to_string(),
        "SHOTGUN_ORGANIZER_ID".to_string(),
    )]);
    // Only when set: the default is the connector manifest's (filled in by the host).
    if v.get("INCLUDE_COHOSTED_EVENTS").is_some() {
        let cohosted = v.bool("INCLUDE_COHOSTED_EVENTS", true)?;
        settings.push(("include_cohosted_events".into(), cohosted.to_string()));
        vars.insert(
            "include_cohosted_events".into(),
            "INCLUDE_COHOSTED_EVENTS".into(),
        );
    }
    let mut extra_origins = vec![];
    for (key, setting) in [
        ("SHOTGUN_BASE_URL", "base_url"),
        ("SHOTGUN_EVENTS_BASE_URL", "events_base_url"),
    ] {
        if let Some(u) = v.get(key) {
            if reqwest::Url::parse(u).is_err() {
                return Err(invalid(
                    key,
                    format!("`{u}` is not a URL"),
                    "use e.g. https://api.shotgun.live",
                ));
            }
            settings.push((setting.into(), u.trim_end_matches('/').to_string()));
            vars.insert(setting.into(), key.into());
            extra_origins.push(u.to_string());
        }
    }
    let mut secrets = BTreeMap::new();
    secrets.insert("token".to_string(), token);
    Ok(Some(AccountConfig {
        vendor: "shotgun".into(),
        name: account_name(v, &["SHOTGUN_ACCOUNT"])?,
        settings,
        secrets,
        interval_secs: v.number("SCRAPE_INTERVAL")?,
        extra_origins,
        grant_hosts: Vec::new(),
        tz: None,
        origin: AccountOrigin::Env { vars },
    }))
}

fn qtickets_account(v: &Vars) -> Result<Option<AccountConfig>, ConfigError> {
    // QTICKETS_TOKEN / QTICKETS_BASE_URL are current; the old loader read the _API_ names.
    let token = match v.secret("QTICKETS_TOKEN")? {
        Some(t) => Some(("QTICKETS_TOKEN", t)),
        None => v
            .secret("QTICKETS_API_TOKEN")?
            .map(|t| ("QTICKETS_API_TOKEN", t)),
    };
    let token = match token {
        Some((key, t)) => {
            check_secret(key, &t)?;
            Some(t)
        }
        None => None,
    };
    let (base_key, base) = match v.get("QTICKETS_BASE_URL") {
        Some(b) => ("QTICKETS_BASE_URL", Some(b)),
        None => ("QTICKETS_API_BASE_URL", v.get("QTICKETS_API_BASE_URL")),
    };
    let token = match (token, base) {
        (None, None) => return Ok(None),
        (None, Some(_)) => {
            return Err(invalid(
                "QTICKETS_TOKEN",
                format!("missing while {base_key} is set"),
                "set QTICKETS_TOKEN (or QTICKETS_API_TOKEN, or QTICKETS_TOKEN_FILE) to the token from the QTickets cabinet (Settings → Main)",
            ))
        }
        (Some(t), _) => t,
    };
    let mut settings = Vec::new();
    let mut vars = BTreeMap::new();
    let mut extra_origins = Vec::new();
    if let Some(u) = base {
        let parsed = reqwest::Url::parse(u).map_err(|_| {
            invalid(
                base_key,
                format!("`{u}` is not a URL"),
                "use e.g. https://qtickets.ru/api/rest/v1",
            )
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid(
                base_key,
                format!("`{u}` is not an http(s) URL"),
                "use e.g. https://qtickets.ru/api/rest/v1",
            ));
        }
        settings.push(("base_url".to_string(), u.trim_end_matches('/').to_string()));
        vars.insert("base_url".to_string(), base_key.to_string());
        extra_origins.push(u.to_string());
    }
    for (key, setting) in [
        ("QTICKETS_LOOKBACK_HOURS", "lookback_hours"),
        ("QTICKETS_RECONCILE_EVERY_HOURS", "reconcile_every_hours"),
    ] {
        if let Some(n) = v.number::<u32>(key)? {
            settings.push((setting.to_string(), n.to_string()));
            vars.insert(setting.to_string(), key.to_string());
        }
    }
    let mut secrets = BTreeMap::new();
    secrets.insert("token".to_string(), token);
    Ok(Some(AccountConfig {
        vendor: "qtickets".into(),
        // The old loader's ORG_NAME named the organiser; it is the account's name here.
        name: account_name(v, &["QTICKETS_ACCOUNT", "ORG_NAME"])?,
        settings,
        secrets,
        interval_secs: v.number("QTICKETS_INTERVAL_SECS")?,
        extra_origins,
        grant_hosts: Vec::new(),
        tz: None,
        origin: AccountOrigin::Env { vars },
    }))
}

/// The account name from the first of `keys` that is set (else `default`), checked by
/// [`crate::names::account_name`]; the error names that key.
fn account_name(v: &Vars, keys: &[&str]) -> Result<String, ConfigError> {
    let Some((key, name)) = keys.iter().find_map(|k| Some((*k, v.get(k)?.trim()))) else {
        return Ok("default".into());
    };
    crate::names::account_name(name).map_err(|e| {
        invalid(
            key,
            format!("the account name {e}"),
            format!(
                "an account name is 1 to {} printable characters",
                crate::names::ACCOUNT_NAME_MAX
            ),
        )
    })?;
    Ok(name.to_string())
}

/// `CLICKHOUSE_CLUSTER`: a plain name, and only with a ClickHouse to run it on.
fn clickhouse_cluster(v: &Vars) -> Result<Option<String>, ConfigError> {
    let Some(name) = v.get("CLICKHOUSE_CLUSTER").map(str::trim) else {
        return Ok(None);
    };
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(invalid(
            "CLICKHOUSE_CLUSTER",
            format!("`{name}` is not a plain cluster name"),
            "use the name of a cluster in the servers' remote_servers (letters, digits, underscores)",
        ));
    }
    if v.get("CLICKHOUSE_HOST").is_none() {
        return Err(invalid(
            "CLICKHOUSE_CLUSTER",
            format!("cluster `{name}` is set but CLICKHOUSE_HOST is not"),
            "set CLICKHOUSE_HOST (or [clickhouse] host) to one server of the cluster",
        ));
    }
    Ok(Some(name.to_string()))
}

/// ClickHouse from the old loader's variables; `None` (SQLite warehouse) without a host.
fn clickhouse(v: &Vars) -> Result<Option<ClickhouseConfig>, ConfigError> {
    let Some(host) = v.get("CLICKHOUSE_HOST").map(str::trim) else {
        return Ok(None);
    };
    let port: u16 = v.number("CLICKHOUSE_PORT")?.unwrap_or(8123);
    if matches!(port, 9000 | 9440) {
        return Err(invalid(
            "CLICKHOUSE_PORT",
            format!("{port} is ClickHouse's native-protocol port"),
            "boxoffice talks to ClickHouse over HTTP: use its http_port (8123 by default, 8443 with TLS)",
        ));
    }
    let url = if host.starts_with("http://") || host.starts_with("https://") {
        let u = reqwest::Url::parse(host).map_err(|_| {
            invalid(
                "CLICKHOUSE_HOST",
                format!("`{host}` is not a URL"),
                "use a host name, an IP, or http(s)://host",
            )
        })?;
        format!(
            "{}://{}:{}",
            u.scheme(),
            u.host_str().unwrap_or_default(),
            u.port().unwrap_or(port)
        )
    } else {
        format!("http://{host}:{port}")
    };
    if reqwest::Url::parse(&url).is_err() {
        return Err(invalid(
            "CLICKHOUSE_HOST",
            format!("`{host}` is not a host name"),
            "use a host name, an IP, or http(s)://host",
        ));
    }
    let database = v.get("CLICKHOUSE_DATABASE").unwrap_or("boxoffice").trim();
    if database.is_empty()
        || !database
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(invalid(
            "CLICKHOUSE_DATABASE",
            format!("`{database}` is not a plain database name"),
            "use letters, digits and underscores",
        ));
    }
    let timeout_secs: u32 = v
        .number("CLICKHOUSE_TIMEOUT_SECS")?
        .unwrap_or(crate::sink::clickhouse::client::REQUEST_TIMEOUT.as_secs() as u32);
    if !(1..=3600).contains(&timeout_secs) {
        return Err(invalid(
            "CLICKHOUSE_TIMEOUT_SECS",
            format!("{timeout_secs} s is outside 1 to 3600"),
            "give ClickHouse's request time limit in whole seconds, e.g. 60",
        ));
    }
    Ok(Some(ClickhouseConfig {
        url,
        user: v
            .get("CLICKHOUSE_USER")
            .unwrap_or("default")
            .trim()
            .to_string(),
        password: v.secret("CLICKHOUSE_PASSWORD")?.unwrap_or_default(),
        database: database.to_string(),
        encoding: Default::default(),
        timeout: std::time::Duration::from_secs(timeout_secs.into()),
    }))
}

/// The installation's zone from `TZ`: any IANA name or a fixed `+HH:MM` (default
/// Europe/Moscow, the old tools' zone).
fn tz(v: &Vars) -> Result<Zone, ConfigError> {
    match v.get("TZ") {
        None => Ok(Zone::default()),
        Some(s) => zone_setting("TZ", s),
    }
}

/// A zone setting under `key`; the error names the key and the value.
pub(crate) fn zone_setting(key: &str, value: &str) -> Result<Zone, ConfigError> {
    Zone::parse(value).map_err(|e| {
        invalid(
            key,
            e.to_string(),
            "use an IANA zone such as Europe/Paris, Europe/Moscow or UTC, or a fixed offset like +03:00",
        )
    })
}

impl Config {
    pub fn from_vars(v: &Vars) -> Result<Self, ConfigError> {
        let state_dir = v
            .get("BOXOFFICE_STATE_DIR")
            .or(v.get("STATE_DIRECTORY"))
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("boxoffice-data"));
        let port: u16 = match v.get("EXPORTER_PORT") {
            None => 9400,
            Some(p) => p.trim().parse().ok().filter(|p| *p > 0).ok_or_else(|| {
                invalid(
                    "EXPORTER_PORT",
                    format!("`{p}` is not a port"),
                    "use a number from 1 to 65535",
                )
            })?,
        };
        let host = v.get("BOXOFFICE_LISTEN_HOST").unwrap_or("127.0.0.1");
        let listen: SocketAddr = format!("{host}:{port}").parse().map_err(|_| {
            invalid(
                "BOXOFFICE_LISTEN_HOST",
                format!("`{host}` is not an IP address"),
                "use e.g. 127.0.0.1 or 0.0.0.0",
            )
        })?;
        let mut accounts = Vec::new();
        accounts.extend(shotgun_account(v)?);
        accounts.extend(qtickets_account(v)?);
        accounts.extend(v.file_accounts.iter().cloned());
        for (i, a) in accounts.iter().enumerate() {
            if accounts[..i]
                .iter()
                .any(|b| b.vendor == a.vendor && b.name == a.name)
            {
                return Err(invalid(
                    &format!("account {}/{}", a.vendor, a.name),
                    "defined twice (environment and config file, or twice in the file)",
                    "give each account of a vendor its own name",
                ));
            }
        }
        Ok(Self {
            state_dir,
            listen,
            compat_shotgun_metrics: v.bool("BOXOFFICE_SHOTGUN_COMPAT_METRICS", false)?,
            tz: tz(v)?,
            max_requests_per_minute: v.number("BOXOFFICE_MAX_REQUESTS_PER_MINUTE")?,
            clickhouse: clickhouse(v)?,
            plugin_dir: v.get("BOXOFFICE_PLUGIN_DIR").map(PathBuf::from),
            plugins: PluginPins::load(&v.file_plugins, &v.vars)?,
            max_response_bytes: v.number("BOXOFFICE_MAX_RESPONSE_BYTES")?,
            webhooks: webhooks::from_vars(v, &accounts, &v.file_webhooks)?,
            accounts,
            clickhouse_cluster: clickhouse_cluster(v)?,
            shard: v
                .get("BOXOFFICE_SHARD")
                .map(|s| shard::Shard::parse("BOXOFFICE_SHARD", s))
                .transpose()?,
        })
    }

    /// The zone of each account's sales days (its own `tz`, else `TZ`).
    pub fn zones(&self) -> AccountZones {
        self.accounts
            .iter()
            .fold(AccountZones::new(self.tz.clone()), |z, a| match &a.tz {
                Some(tz) => z.with(&a.vendor, &a.name, tz.clone()),
                None => z,
            })
    }

    /// The zone of `account`'s sales days.
    pub fn zone_of<'a>(&'a self, account: &'a AccountConfig) -> &'a Zone {
        account.tz.as_ref().unwrap_or(&self.tz)
    }
}

#[cfg(test)]
mod tests;
