//! What a plugin instance's store holds: a deny-all WASI context, the memory limiter, and the
//! host side of the `host` interface (log), and the pseudonymizer the instance decodes pages
//! with.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::boxoffice::connector::host::{Host, Level};
use super::firewall::redact;
use super::pseudonym::Pseudonymizer;

/// Log lines kept per instance; a plugin that logs more is cut off (and told so once).
const MAX_LOG_LINES: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginLog {
    pub level: &'static str,
    pub message: String,
}

pub struct HostState {
    pub(crate) plugin: String,
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: StoreLimits,
    pub(crate) pseudonyms: Arc<Pseudonymizer>,
    pub(crate) logs: Vec<PluginLog>,
    dropped_logs: u64,
}

impl HostState {
    pub fn new(plugin: &str, memory_bytes: usize, pseudonyms: Arc<Pseudonymizer>) -> Self {
        // Nothing granted: no preopened directories, no environment, no arguments, no sockets,
        // no name lookups. Stdout/stderr go nowhere.
        let wasi = WasiCtx::builder()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        Self {
            plugin: plugin.to_string(),
            wasi,
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(memory_bytes)
                .instances(4)
                .trap_on_grow_failure(true)
                .build(),
            pseudonyms,
            logs: Vec::new(),
            dropped_logs: 0,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl Host for HostState {
    fn log(&mut self, level: Level, message: String) {
        if self.logs.len() >= MAX_LOG_LINES {
            self.dropped_logs += 1;
            return;
        }
        let message: String = redact(&message).chars().take(2000).collect();
        let plugin = self.plugin.as_str();
        let level = match level {
            Level::Debug => {
                tracing::debug!(target: "plugin", plugin, "{message}");
                "debug"
            }
            Level::Info => {
                tracing::info!(target: "plugin", plugin, "{message}");
                "info"
            }
            Level::Warn => {
                tracing::warn!(target: "plugin", plugin, "{message}");
                "warn"
            }
            Level::Error => {
                tracing::error!(target: "plugin", plugin, "{message}");
                "error"
            }
        };
        self.logs.push(PluginLog { level, message });
    }
}

/// The `types` interface declares no functions; its host trait is empty.
impl super::bindings::boxoffice::connector::types::Host for HostState {}
