//! A whole pipeline in one test process: a vendor simulator on loopback, the bundled plugin in
//! the real runtime, a SQLite state and warehouse in a temp dir, and metrics.
#![allow(dead_code)]

pub mod tickets;

use std::path::PathBuf;
use std::sync::Arc;

use boxoffice::http::{
    EgressGrant, HttpExecutor, OperatorGrants, Provenance, RequestBudget, RetryPolicy, Secrets,
};
use boxoffice::metrics::Metrics;
use boxoffice::plugin::{bundled, PluginLimits, PluginRuntime};
use boxoffice::sink::{ClickhouseConfig, ClickhouseWarehouse, Sink, SqliteWarehouse};
use boxoffice::state::{StateOptions, StateStore};
use boxoffice::sync::{sync_account, Account, RunOptions, SyncDeps};
use boxoffice::zone::Zone;
use boxoffice_sim::shotgun::ShotgunSim;
use boxoffice_sim::SimServer;
use boxoffice_testkit::clickhouse::ClickhouseEndpoint;

pub struct Pipeline {
    pub dir: tempfile::TempDir,
    pub deps: SyncDeps,
    pub state: Arc<StateStore>,
    pub metrics: Arc<Metrics>,
}

impl Pipeline {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        // The SQLite warehouse lives in the state database, as the daemon has it.
        let state = StateStore::open_with(
            &dir.path().join("state.sqlite"),
            StateOptions {
                zones: Zone::default().into(),
                warehouse: true,
            },
        )
        .unwrap();
        let sink = Arc::new(SqliteWarehouse::open(state.path()).unwrap());
        Self::with_state(dir, Arc::new(state), sink)
    }

    /// A pipeline writing to ClickHouse `database` (created and migrated here), TZ Moscow.
    pub async fn clickhouse(endpoint: &ClickhouseEndpoint, database: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (sink, _) = ClickhouseWarehouse::open(ch_config(endpoint, database), Zone::default())
            .await
            .unwrap();
        Self::with_sink(dir, Arc::new(sink))
    }

    pub fn with_sink(dir: tempfile::TempDir, sink: Arc<dyn Sink>) -> Self {
        let state = Arc::new(StateStore::open(&dir.path().join("state.sqlite")).unwrap());
        Self::with_state(dir, state, sink)
    }

    pub fn with_state(dir: tempfile::TempDir, state: Arc<StateStore>, sink: Arc<dyn Sink>) -> Self {
        let metrics = Metrics::new(state.clone(), true);
        let policy = RetryPolicy {
            base_delay: std::time::Duration::from_millis(20),
            ..Default::default()
        };
        let deps = SyncDeps {
            state: state.clone(),
            sink,
            http: HttpExecutor::new(policy)
                .unwrap()
                .with_observer(metrics.clone()),
            pseudonym_key: [7; 32],
            metrics: metrics.clone(),
        };
        Self {
            dir,
            deps,
            state,
            metrics,
        }
    }

    pub fn files(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect()
    }
}

pub fn ch_config(e: &ClickhouseEndpoint, database: &str) -> ClickhouseConfig {
    ClickhouseConfig {
        url: e.url.clone(),
        user: e.user.clone(),
        password: e.password.clone(),
        database: database.to_string(),
        encoding: Default::default(),
        timeout: boxoffice::sink::clickhouse::client::REQUEST_TIMEOUT,
    }
}

pub async fn runtime() -> PluginRuntime {
    let cache = std::env::temp_dir().join("boxoffice-test-plugin-cache");
    PluginRuntime::new(PluginLimits::default(), Some(cache)).unwrap()
}

pub async fn shotgun_account(sim: &ShotgunSim, srv: &SimServer, token: &str) -> Account {
    let rt = runtime().await;
    let plugin = rt.load("shotgun", bundled::SHOTGUN.wasm).await.unwrap();
    let mut secrets = Secrets::new();
    secrets.insert("token", token);
    let base = srv.base_url();
    Account {
        name: "main".into(),
        settings: vec![
            ("organizer_id".into(), sim.organizer_id().to_string()),
            ("base_url".into(), base.clone()),
            ("events_base_url".into(), base.clone()),
        ],
        secrets,
        egress: bundled_egress(&plugin, &base),
        plugin,
        budget: RequestBudget::per_minute(0),
    }
}

/// A QTickets account against a simulator served at `srv` (base `/api/rest/v1`).
pub async fn qtickets_account(srv: &SimServer, token: &str, settings: &[(&str, &str)]) -> Account {
    let rt = runtime().await;
    let plugin = rt.load("qtickets", bundled::QTICKETS.wasm).await.unwrap();
    let mut secrets = Secrets::new();
    secrets.insert("token", token);
    let base = format!("{}/api/rest/v1", srv.base_url());
    let mut all = vec![("base_url".to_string(), base.clone())];
    all.extend(settings.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Account {
        name: "main".into(),
        settings: all,
        secrets,
        egress: bundled_egress(&plugin, &base),
        plugin,
        budget: RequestBudget::per_minute(0),
    }
}

/// A bundled connector's grant plus the simulator's origin, as `App::account` builds it.
pub fn bundled_egress(plugin: &boxoffice::plugin::LoadedPlugin, base: &str) -> EgressGrant {
    let grants = OperatorGrants {
        origins: vec![base.to_string()],
        hosts: vec![],
    };
    EgressGrant::new(&plugin.manifest, Provenance::Bundled, &grants).unwrap()
}

/// One run of `account` at the simulator's `now_ms`, which must succeed.
pub async fn sync_ok(deps: &SyncDeps, account: &Account, now_ms: i64) {
    let s = sync_account(
        deps,
        account,
        &RunOptions {
            now_ms: Some(now_ms),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(s.ok(), "sync failed: {s:?}");
}

/// A log sink for a test's tracing subscriber: everything written, kept in memory.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
