//! The plugin runtime: one engine, loading (through the precompile cache) and instantiating
//! connector components under limits.
//!
//! Owns: the wasmtime `Engine` (async, epoch interruption, optional fuel), the epoch ticker
//! thread, linking (deny-all WASI + the `host` interface), refusing what is not a connector
//! (`contract`), and making a fresh [`PluginInstance`] per run under the store-wide limiter. It does not own what plugin output may contain (see
//! `firewall`) or any I/O on the plugin's behalf (see `http`, `sync`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wasmtime::component::Linker;
use wasmtime::{Config, Engine, Store};

use super::bindings::{self, BindingsPre, Contract};
use super::cache::{sha256_hex, CacheOutcome, ComponentCache};
use super::error::{PluginError, TrapKind};
use super::host_state::HostState;
use super::instance::{classify, PluginInstance};
use super::limits::{PluginLimits, StoreCaps, EPOCH_TICK};
use super::pseudonym::Pseudonymizer;
use super::store_limits::HostMemoryBudget;
use crate::model::{Manifest, RunContext, WebhookDelivery, WebhookOutcome};

pub use super::contract::{compatible, wit_version_of};

/// Compiles and runs connector components. Cheap to clone; clones share the engine.
#[derive(Clone)]
pub struct PluginRuntime {
    engine: Engine,
    linker: Arc<Linker<HostState>>,
    cache: ComponentCache,
    limits: PluginLimits,
    /// Shared by every store this runtime makes (`PluginLimits::host_memory_bytes`).
    host_memory: Arc<HostMemoryBudget>,
}

/// A compiled component, ready to instantiate many times.
#[derive(Clone)]
pub struct LoadedPlugin {
    pub manifest: Manifest,
    /// The contract version the component was built against (from its imports and exports).
    pub wit_version: Option<String>,
    /// Which of the window's contracts it runs as (older ones adapted).
    pub contract: Contract,
    /// What instantiating it creates (core instances, memories, tables).
    pub shape: super::shape::Shape,
    /// The store caps its instances run under: its shape, within `PluginLimits::store`.
    pub store_caps: StoreCaps,
    pub sha256: String,
    pub size_bytes: usize,
    pub cache: CacheOutcome,
    /// Time to compile or deserialize the component.
    pub load_time: Duration,
    pub imports: Vec<String>,
    pub exports: Vec<String>,
    pre: BindingsPre,
    runtime: PluginRuntime,
}

impl PluginRuntime {
    /// `cache_dir`: where precompiled components are kept (None: compile in memory each time).
    pub fn new(limits: PluginLimits, cache_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.consume_fuel(limits.fuel_per_call.is_some());
        config.wasm_component_model(true);
        // `BOXOFFICE_WASM_PERFMAP=1` writes /tmp/perf-<pid>.map so `perf report` names guest
        // functions (docs/performance.md); off by default, it costs a file write per compile.
        if std::env::var_os("BOXOFFICE_WASM_PERFMAP").is_some_and(|v| v == "1") {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).map_err(anyhow::Error::from)?;
        spawn_epoch_ticker(&engine);
        let mut linker = Linker::<HostState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(anyhow::Error::from)?;
        bindings::add_to_linker(&mut linker).map_err(anyhow::Error::from)?;
        Ok(Self {
            engine,
            linker: Arc::new(linker),
            cache: ComponentCache::new(cache_dir),
            host_memory: HostMemoryBudget::new(limits.host_memory_bytes),
            limits,
        })
    }

    pub fn limits(&self) -> PluginLimits {
        self.limits
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Compiles (or loads from cache) a component and reads its manifest. `name` is used in
    /// errors until the manifest gives the plugin's id.
    pub async fn load(&self, name: &str, bytes: &[u8]) -> Result<LoadedPlugin, PluginError> {
        let load_err = |detail: String| PluginError::Load {
            plugin: name.to_string(),
            detail,
        };
        let started = Instant::now();
        let (component, outcome) = self
            .cache
            .load(&self.engine, bytes)
            .map_err(|e| load_err(format!("{e:#}")))?;
        let load_time = started.elapsed();
        let ty = component.component_type();
        let imports: Vec<String> = ty
            .imports(&self.engine)
            .map(|(n, _)| n.to_string())
            .collect();
        let exports: Vec<String> = ty
            .exports(&self.engine)
            .map(|(n, _)| n.to_string())
            .collect();
        // What it exports and imports, before linking: a component that is not a connector of
        // a supported version is refused with what it is.
        let (contract, version) = super::contract::check(name, &self.engine, &ty)?;
        // What instantiating it creates, counted from its binary: its store may create that
        // much and no more, and past the ceiling it is refused here, before instantiation.
        let shape_err = |problem| PluginError::Shape {
            plugin: name.to_string(),
            problem,
        };
        let shape = super::shape::count(bytes).map_err(shape_err)?;
        let store_caps = super::shape::caps_for(shape, self.limits.store).map_err(shape_err)?;
        let pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(|e| load_err(format!("cannot link: {e:#}")))?;
        let pre = BindingsPre::new(contract, pre)
            .map_err(|e| load_err(format!("not a connector of contract {version}: {e:#}")))?;
        let mut loaded = LoadedPlugin {
            manifest: Manifest {
                id: name.to_string(),
                vendor: String::new(),
                version: String::new(),
                allowed_hosts: vec![],
                secrets: vec![],
                settings: vec![],
                default_interval_secs: 0,
                max_requests_per_minute: 0,
                webhook: None,
            },
            wit_version: Some(version),
            contract,
            shape,
            store_caps,
            sha256: sha256_hex(bytes),
            size_bytes: bytes.len(),
            cache: outcome,
            load_time,
            imports,
            exports,
            pre,
            runtime: self.clone(),
        };
        // The manifest comes from a throwaway instance: cheap, and the per-run instance starts
        // clean. The pseudonymizer key is irrelevant here (manifest() returns no records).
        let mut probe = loaded
            .instantiate(Arc::new(Pseudonymizer::new(rand::random())))
            .await?;
        loaded.manifest = probe.manifest().await?;
        // The id names the connector in metrics, logs and the state database: checked here,
        // against the rules in `crate::names`, before anything uses it.
        crate::names::connector_id(&loaded.manifest.id)
            .map_err(|e| load_err(format!("its manifest id {e}")))?;
        Ok(loaded)
    }

    fn new_store(
        &self,
        plugin: &str,
        store_caps: StoreCaps,
        pseudonyms: Arc<Pseudonymizer>,
    ) -> Store<HostState> {
        let limits = PluginLimits {
            store: store_caps,
            ..self.limits
        };
        let mut store = Store::new(
            &self.engine,
            HostState::new(plugin, &limits, self.host_memory.clone(), pseudonyms),
        );
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_trap();
        store
    }
}

impl LoadedPlugin {
    pub fn id(&self) -> &str {
        &self.manifest.id
    }

    /// The limits its instances run under (the run caps among them).
    pub fn limits(&self) -> PluginLimits {
        self.runtime.limits
    }

    /// One verified webhook delivery through a fresh instance (contract 0.4 on): its key and
    /// page under the same deadline, fuel and output caps, pseudonyms and request screening
    /// as `handle` ([`PluginInstance::webhook`]); the records still go through the caller's
    /// firewall, as a run's do. To run the outcome's follow-up requests through `handle` on the
    /// same instance, instantiate and call [`PluginInstance::webhook`] instead.
    pub async fn webhook(
        &self,
        pseudonyms: Arc<Pseudonymizer>,
        ctx: &RunContext,
        delivery: &WebhookDelivery,
    ) -> Result<WebhookOutcome, PluginError> {
        self.instantiate(pseudonyms)
            .await?
            .webhook(ctx, delivery)
            .await
    }

    /// A fresh instance in a fresh store, for one run.
    pub async fn instantiate(
        &self,
        pseudonyms: Arc<Pseudonymizer>,
    ) -> Result<PluginInstance, PluginError> {
        let id = if self.manifest.id.is_empty() {
            "plugin"
        } else {
            &self.manifest.id
        };
        let mut store = self.runtime.new_store(id, self.store_caps, pseudonyms);
        store.set_epoch_deadline(self.runtime.limits.deadline_ticks());
        // A start function runs here, under the deadline and the store's caps: a refusal is a
        // trap of its kind, anything else a load error.
        let bindings =
            self.pre
                .instantiate_async(&mut store)
                .await
                .map_err(|e| match classify(&e) {
                    (TrapKind::Other, _) => PluginError::Load {
                        plugin: id.to_string(),
                        detail: format!("instantiation failed: {e:#}"),
                    },
                    (kind, detail) => PluginError::Trap {
                        plugin: id.to_string(),
                        call: "instantiate",
                        kind,
                        detail,
                    },
                })?;
        Ok(PluginInstance::new(
            id.to_string(),
            store,
            bindings,
            self.runtime.limits,
        ))
    }
}

/// Advances the engine's epoch every [`EPOCH_TICK`] for as long as the engine lives.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("plugin-epoch".into())
        .spawn(move || loop {
            std::thread::sleep(EPOCH_TICK);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => break,
            }
        })
        .expect("spawning the epoch ticker thread");
}
