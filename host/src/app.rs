//! Wiring: from a `Config` to the opened state, sink, metrics, plugins and accounts that every
//! command (sync, run, demo) works with.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use crate::config::settings::{self, Resolved};
use crate::config::{AccountConfig, Config};
use crate::http::{
    EgressGrant, HttpExecutor, OperatorGrants, Provenance, RequestBudget, RetryPolicy, Secrets,
};
use crate::metrics::Metrics;
use crate::plugin::admission::{admit, Candidate, Origin, PluginRefusal};
use crate::plugin::catalog::default_cache_dir;
use crate::plugin::ceilings::{request_rate, RequestRate, MAX_REQUESTS_PER_MINUTE};
use crate::plugin::{bundled, LoadedPlugin, PluginLimits, PluginRuntime};
use crate::sink::{ClickhouseWarehouse, Sink, SqliteWarehouse};
use crate::state::{StateOptions, StateStore};
use crate::sync::{Account, SyncDeps};

pub struct App {
    pub config: Config,
    pub deps: SyncDeps,
    /// The registry `/metrics` serves; `deps.metrics` is the same, seen as the runs' observer.
    pub metrics: Arc<Metrics>,
    pub plugins: BTreeMap<String, LoadedPlugin>,
    /// Where each admitted connector came from (decides whether its hosts ship granted).
    pub provenance: BTreeMap<String, Provenance>,
    /// Connectors refused an id (collisions, SHA-256 pins), each logged at start.
    pub refused: Vec<PluginRefusal>,
    /// Each connector's request rate and who set it (see `plugin::ceilings`).
    pub rates: BTreeMap<String, RequestRate>,
    budgets: BTreeMap<String, RequestBudget>,
}

/// The installation's pseudonym key: 32 random bytes created once, readable by the owner only.
pub fn pseudonym_key(state_dir: &Path) -> anyhow::Result<[u8; 32]> {
    let path = state_dir.join("pseudonym.key");
    if let Ok(bytes) = std::fs::read(&path) {
        return bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("{} is not a 32-byte key; restore it from backup or delete it (pseudonyms will change)", path.display()));
    }
    std::fs::create_dir_all(state_dir)
        .with_context(|| format!("creating {}", state_dir.display()))?;
    let key: [u8; 32] = rand::random();
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(&key)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, &path)?;
    Ok(key)
}

/// The state database's file in the state directory.
pub const STATE_FILE: &str = "state.sqlite";

/// The separate SQLite warehouse file of earlier versions, taken over once (`open_state`).
pub const LEGACY_WAREHOUSE_FILE: &str = "warehouse.sqlite";

/// The state database of `config`; with the SQLite warehouse (no ClickHouse configured) it is
/// the warehouse too, keeps the inventory history, and takes over a legacy `warehouse.sqlite`
/// beside it (inventory history and plans copied, the file renamed `….taken-over`).
pub fn open_state(config: &Config) -> anyhow::Result<Arc<StateStore>> {
    let embedded = config.clickhouse.is_none();
    let state = StateStore::open_with(
        &config.state_dir.join(STATE_FILE),
        StateOptions {
            zones: config.zones(),
            warehouse: embedded,
        },
    )?;
    if embedded {
        let legacy = config.state_dir.join(LEGACY_WAREHOUSE_FILE);
        if let Some(t) = state.take_over_legacy_warehouse(&legacy)? {
            tracing::info!(
                "took over the legacy SQLite warehouse {}: {} inventory snapshots and {} plan rows \
                 copied into {}; the file is now {}",
                legacy.display(),
                t.inventory_snapshots,
                t.plan_rows,
                state.path().display(),
                t.moved_to.display()
            );
        }
    }
    Ok(Arc::new(state))
}

/// The configured warehouse: ClickHouse (migrated at start-up) or the SQLite warehouse inside
/// the state database (open that first: [`open_state`]).
pub async fn open_sink(config: &Config) -> anyhow::Result<Arc<dyn Sink>> {
    Ok(match &config.clickhouse {
        Some(ch) => {
            let cluster = config.clickhouse_cluster.as_deref();
            let (w, report) = ClickhouseWarehouse::open_on(ch.clone(), cluster, config.zones())
                .await
                .with_context(|| {
                    format!(
                        "opening the ClickHouse warehouse {}/{}",
                        ch.url, ch.database
                    )
                })?;
            if !report.applied.is_empty() {
                tracing::info!(
                    "ClickHouse {}: applied migrations {}",
                    ch.database,
                    report.applied.join(", ")
                );
            }
            Arc::new(w)
        }
        None => Arc::new(SqliteWarehouse::open(&config.state_dir.join(STATE_FILE))?),
    })
}

/// The `.wasm` files of a drop-in plugin directory, canonical paths in name order.
fn drop_in_plugins(dir: &Path) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading the plugin directory {}", dir.display()))?;
    let mut out = Vec::new();
    for e in entries {
        let path = e?.path();
        if path.extension().is_some_and(|x| x == "wasm") {
            out.push(std::fs::canonicalize(&path).unwrap_or(path));
        }
    }
    out.sort();
    Ok(out)
}

/// Every connector this configuration offers: the bundled ones, the plugin directory's, and
/// the files the config names for an id. Files are named by canonical path, so a configured
/// file in the plugin directory is the same candidate.
fn plugin_sources(config: &Config) -> anyhow::Result<Vec<(Origin, Vec<u8>)>> {
    let mut sources: Vec<(Origin, Vec<u8>)> = bundled::ALL
        .iter()
        .map(|b| (Origin::Bundled(b.name.to_string()), b.wasm.to_vec()))
        .collect();
    let mut files = match &config.plugin_dir {
        Some(dir) => drop_in_plugins(dir)?,
        None => Vec::new(),
    };
    for pin in config.plugins.iter() {
        if let Some(f) = &pin.file {
            let f = std::fs::canonicalize(f).unwrap_or_else(|_| f.clone());
            if !files.contains(&f) {
                files.push(f);
            }
        }
    }
    for path in files {
        match std::fs::read(&path) {
            Ok(bytes) => sources.push((Origin::File(path), bytes)),
            // A configured file that cannot be read: its id is refused by admission.
            Err(e) => tracing::error!("plugin {} unreadable: {e}", path.display()),
        }
    }
    Ok(sources)
}

impl App {
    pub async fn open(mut config: Config) -> anyhow::Result<Self> {
        if let Some(shard) = config.shard {
            // A sharded daemon knows only its accounts: schedule, checks and metrics alike.
            let before = config.accounts.len();
            config.accounts.retain(|a| shard.owns(&a.vendor, &a.name));
            tracing::info!(
                "shard {shard}: {} of {before} configured accounts",
                config.accounts.len()
            );
        }
        let dir = &config.state_dir;
        let state = open_state(&config)?;
        let sink = open_sink(&config).await?;
        let metrics = Metrics::new(state.clone(), config.compat_shotgun_metrics);
        metrics.set_shard(config.shard);
        let cache = default_cache_dir().or_else(|| Some(dir.join("plugin-cache")));
        let runtime = PluginRuntime::new(PluginLimits::default(), cache)?;
        let mut loaded: Vec<(Origin, LoadedPlugin)> = Vec::new();
        for (origin, wasm) in plugin_sources(&config)? {
            let name = match &origin {
                Origin::Bundled(n) => n.clone(),
                Origin::File(p) => p.display().to_string(),
            };
            match runtime.load(&name, &wasm).await {
                Ok(p) => loaded.push((origin, p)),
                Err(e) => tracing::error!("plugin {name} refused: {e}"),
            }
        }
        let candidates: Vec<Candidate> = loaded
            .iter()
            .map(|(origin, p)| Candidate {
                origin: origin.clone(),
                id: p.manifest.id.clone(),
                sha256: p.sha256.clone(),
            })
            .collect();
        let admission = admit(&candidates, &config.plugins);
        for r in &admission.refused {
            tracing::error!("plugin refused: {r}");
        }
        let mut plugins = BTreeMap::new();
        let mut provenance = BTreeMap::new();
        let mut budgets = BTreeMap::new();
        let mut rates = BTreeMap::new();
        for (id, i) in &admission.admitted {
            let (origin, p) = &loaded[*i];
            let rate = request_rate(
                p.manifest.max_requests_per_minute,
                config
                    .plugins
                    .get(id)
                    .and_then(|pin| pin.max_requests_per_minute),
                config.max_requests_per_minute,
            );
            budgets.insert(id.clone(), RequestBudget::per_minute(rate.per_minute));
            rates.insert(id.clone(), rate);
            let from = match origin {
                Origin::Bundled(_) => Provenance::Bundled,
                Origin::File(path) => {
                    tracing::info!("plugin {} serves `{id}` (drop-in)", path.display());
                    Provenance::DropIn
                }
            };
            provenance.insert(id.clone(), from);
            plugins.insert(id.clone(), p.clone());
        }
        let deps = SyncDeps {
            state,
            sink,
            http: HttpExecutor::new(RetryPolicy::default())?
                .with_observer(metrics.clone())
                .with_max_response_bytes(
                    config
                        .max_response_bytes
                        .unwrap_or(crate::http::DEFAULT_MAX_RESPONSE_BYTES),
                ),
            pseudonym_key: pseudonym_key(dir)?,
            metrics: metrics.clone(),
        };
        Ok(Self {
            config,
            deps,
            metrics,
            plugins,
            provenance,
            refused: admission.refused,
            rates,
            budgets,
        })
    }

    /// `a`'s settings checked against the manifest of the connector serving its vendor:
    /// required ones present, defaults filled in, unknown keys refused (a
    /// [`SettingsError`](crate::config::settings::SettingsError) naming the file or variable,
    /// the account and each key).
    pub fn settings(&self, a: &AccountConfig) -> anyhow::Result<Resolved> {
        let plugin = self.plugin_for(a)?;
        Ok(settings::resolve(
            plugin.id(),
            &plugin.manifest.settings,
            &a.vendor,
            &a.name,
            &a.origin,
            &a.settings,
        )?)
    }

    /// The connector serving `a`'s vendor; the error says why there is none.
    fn plugin_for(&self, a: &AccountConfig) -> anyhow::Result<&LoadedPlugin> {
        self.plugins.get(&a.vendor).with_context(|| {
            let refused: Vec<String> = self
                .refused
                .iter()
                .filter(|r| r.id == a.vendor)
                .map(|r| r.to_string())
                .collect();
            if refused.is_empty() {
                format!(
                    "unknown vendor `{}` (plugins: {})",
                    a.vendor,
                    self.plugins.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            } else {
                format!("vendor `{}`: {}", a.vendor, refused.join("; "))
            }
        })
    }

    /// The account as a run needs it: its connector, complete settings, secrets and grants.
    pub fn account(&self, a: &AccountConfig) -> anyhow::Result<Account> {
        let plugin = self.plugin_for(a)?.clone();
        let resolved = self.settings(a)?;
        if !resolved.undeclared.is_empty() {
            tracing::warn!(
                "{}/{}: connector `{}` declares no settings; passing {} through unchecked (a connector should declare them in its manifest)",
                a.vendor,
                a.name,
                plugin.id(),
                resolved.undeclared.join(", ")
            );
        }
        let provenance = self
            .provenance
            .get(&a.vendor)
            .copied()
            .unwrap_or(Provenance::DropIn);
        let grants = OperatorGrants {
            origins: a.extra_origins.clone(),
            hosts: a.grant_hosts.clone(),
        };
        let egress = EgressGrant::new(&plugin.manifest, provenance, &grants)
            .with_context(|| format!("account {}/{}", a.vendor, a.name))?;
        for r in egress.requested() {
            if let crate::http::grant::HostVerdict::Refused(why) = &r.verdict {
                tracing::warn!("{}/{}: requested host refused: {why}", a.vendor, a.name);
            }
        }
        let mut secrets = Secrets::new();
        for (k, v) in &a.secrets {
            secrets.insert(k, v);
        }
        Ok(Account {
            budget: self
                .budgets
                .get(&a.vendor)
                .cloned()
                .unwrap_or_else(|| RequestBudget::per_minute(MAX_REQUESTS_PER_MINUTE)),
            plugin,
            name: a.name.clone(),
            settings: resolved.settings,
            secrets,
            egress,
        })
    }

    pub fn accounts(&self) -> anyhow::Result<Vec<Account>> {
        self.config
            .accounts
            .iter()
            .map(|a| self.account(a))
            .collect()
    }
}
