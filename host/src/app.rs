//! Wiring: from a `Config` to the opened state, sink, metrics, plugins and accounts that every
//! command (sync, run, demo) works with.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use crate::config::{AccountConfig, Config};
use crate::http::{HttpExecutor, RequestBudget, RetryPolicy, Secrets};
use crate::metrics::Metrics;
use crate::plugin::catalog::default_cache_dir;
use crate::plugin::{bundled, LoadedPlugin, PluginLimits, PluginRuntime};
use crate::sink::{ClickhouseWarehouse, Sink, SqliteWarehouse};
use crate::state::StateStore;
use crate::sync::{Account, SyncDeps};

pub struct App {
    pub config: Config,
    pub deps: SyncDeps,
    pub plugins: BTreeMap<String, LoadedPlugin>,
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

/// The configured warehouse: ClickHouse (migrated at start-up) or the SQLite file.
pub async fn open_sink(config: &Config) -> anyhow::Result<Arc<dyn Sink>> {
    Ok(match &config.clickhouse {
        Some(ch) => {
            let (w, report) = ClickhouseWarehouse::open(ch.clone(), config.zones())
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
        None => Arc::new(SqliteWarehouse::open(
            &config.state_dir.join("warehouse.sqlite"),
            config.zones(),
        )?),
    })
}

/// The `.wasm` files of a drop-in plugin directory, by file name, in name order.
fn drop_in_plugins(dir: &Path) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading the plugin directory {}", dir.display()))?;
    let mut out = Vec::new();
    for e in entries {
        let path = e?.path();
        if path.extension().is_some_and(|x| x == "wasm") {
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            out.push((path.display().to_string(), bytes));
        }
    }
    out.sort();
    Ok(out)
}

impl App {
    pub async fn open(config: Config) -> anyhow::Result<Self> {
        let dir = &config.state_dir;
        let state = Arc::new(StateStore::open(&dir.join("state.sqlite"))?);
        let sink = open_sink(&config).await?;
        let metrics = Metrics::new(state.clone(), config.compat_shotgun_metrics);
        let cache = default_cache_dir().or_else(|| Some(dir.join("plugin-cache")));
        let runtime = PluginRuntime::new(PluginLimits::default(), cache)?;
        let mut plugins = BTreeMap::new();
        let mut budgets = BTreeMap::new();
        let mut sources: Vec<(String, Vec<u8>)> = bundled::ALL
            .iter()
            .map(|b| (b.name.to_string(), b.wasm.to_vec()))
            .collect();
        if let Some(dir) = &config.plugin_dir {
            sources.extend(drop_in_plugins(dir)?);
        }
        for (name, wasm) in sources {
            match runtime.load(&name, &wasm).await {
                Ok(p) => {
                    budgets.insert(
                        p.manifest.id.clone(),
                        RequestBudget::per_minute(
                            config
                                .max_requests_per_minute
                                .unwrap_or(p.manifest.max_requests_per_minute),
                        ),
                    );
                    if plugins.contains_key(&p.manifest.id) {
                        tracing::warn!(
                            "plugin {name} replaces the bundled `{}` connector",
                            p.manifest.id
                        );
                    }
                    plugins.insert(p.manifest.id.clone(), p);
                }
                Err(e) => tracing::error!("plugin {name} refused: {e}"),
            }
        }
        let deps = SyncDeps {
            state,
            sink,
            http: HttpExecutor::new(RetryPolicy::default())?.with_observer(metrics.clone()),
            pseudonym_key: pseudonym_key(dir)?,
            metrics,
        };
        Ok(Self {
            config,
            deps,
            plugins,
            budgets,
        })
    }

    pub fn account(&self, a: &AccountConfig) -> anyhow::Result<Account> {
        let plugin = self
            .plugins
            .get(&a.vendor)
            .with_context(|| {
                format!(
                    "unknown vendor `{}` (plugins: {})",
                    a.vendor,
                    self.plugins.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            })?
            .clone();
        let mut secrets = Secrets::new();
        for (k, v) in &a.secrets {
            secrets.insert(k, v);
        }
        Ok(Account {
            budget: self
                .budgets
                .get(&a.vendor)
                .cloned()
                .unwrap_or_else(|| RequestBudget::per_minute(0)),
            plugin,
            name: a.name.clone(),
            settings: a.settings.clone(),
            secrets,
            extra_origins: a.extra_origins.clone(),
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
