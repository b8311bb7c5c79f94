//! A whole pipeline in one test process: a vendor simulator on loopback, the bundled plugin in
//! the real runtime, a SQLite state and warehouse in a temp dir, and metrics.
#![allow(dead_code)]

pub mod sweep;
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

/// Set in a child started by [`own_process`]: the name of the one test it runs.
const OWN_PROCESS: &str = "BOXOFFICE_TEST_OWN_PROCESS";

/// For a test that needs the process environment without `unset` (the tests of this binary
/// share one process, so none may change its environment): when one of `unset` is set here,
/// runs `test` (`concat!(module_path!(), "::name")`; the crate's name is dropped) alone in a child of this test binary
/// with them removed, asserts it passed and returns `true` (the caller returns). Returns `false`
/// when the test can go on in this process: none of them is set, or this is that child.
pub fn own_process(test: &str, unset: &[&str]) -> bool {
    let test = test.split_once("::").map_or(test, |(_, t)| t);
    if std::env::var(OWN_PROCESS).as_deref() == Ok(test) {
        assert!(
            unset.iter().all(|v| std::env::var_os(v).is_none()),
            "{test}: the child still has one of {unset:?}"
        );
        return false;
    }
    if unset.iter().all(|v| std::env::var_os(v).is_none()) {
        return false;
    }
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([test, "--exact", "--test-threads=1", "--nocapture"])
        .env(OWN_PROCESS, test);
    for v in unset {
        cmd.env_remove(v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{test} in its own process:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    true
}

/// A scenario built once per test binary for the several tests that check it, each its own
/// `#[test]` named for what it checks: the first caller runs `build` on a runtime of its own
/// (current-thread as `#[tokio::test]`'s, or multi-thread), in a thread of its own so that it
/// may be called from inside a test's runtime; the others wait for it. What it returns is kept
/// for the process and only read: a test must not change a shared scenario. A `build` that
/// panics fails every test of the scenario with its message (it is not run again).
pub fn scenario<T, F>(
    cell: &'static std::sync::OnceLock<Result<T, String>>,
    multi_thread: bool,
    build: impl FnOnce() -> F + Send,
) -> &'static T
where
    T: Send + Sync,
    F: std::future::Future<Output = T>,
{
    let built = cell.get_or_init(|| {
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut rt = if multi_thread {
                    tokio::runtime::Builder::new_multi_thread()
                } else {
                    tokio::runtime::Builder::new_current_thread()
                };
                rt.enable_all().build().unwrap().block_on(build())
            })
            .join()
            .map_err(|panic| {
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "a panic without a message".into())
            })
        })
    });
    match built {
        Ok(t) => t,
        Err(msg) => panic!("the shared scenario failed: {msg}"),
    }
}
