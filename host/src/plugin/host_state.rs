//! What a plugin instance's store holds: a deny-all WASI context, the store-wide resource
//! limiter, the host side of the `host` interface (log, capped and escaped), and the
//! pseudonymizer the instance decodes pages with.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::v0_2::boxoffice::connector::host::{Host, Level};
use super::bindings::v0_3::boxoffice::connector::host as host_v0_3;
use super::bindings::v0_4::boxoffice::connector::host as host_v0_4;
use super::firewall::redact;
use super::limits::{LogCaps, PluginLimits};
use super::pseudonym::Pseudonymizer;
use super::store_limits::{HostMemoryBudget, StoreLimiter};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginLog {
    pub level: &'static str,
    pub message: String,
}

pub struct HostState {
    pub(crate) plugin: String,
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: StoreLimiter,
    pub(crate) pseudonyms: Arc<Pseudonymizer>,
    pub(crate) logs: Vec<PluginLog>,
    log_caps: LogCaps,
    /// Lines and bytes the `log` import took this run (drained lines included).
    logged_lines: usize,
    logged_bytes: usize,
    dropped_logs: u64,
}

impl HostState {
    pub fn new(
        plugin: &str,
        limits: &PluginLimits,
        host_memory: Arc<HostMemoryBudget>,
        pseudonyms: Arc<Pseudonymizer>,
    ) -> Self {
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
            limits: StoreLimiter::new(limits.memory_bytes, limits.store, host_memory),
            pseudonyms,
            logs: Vec::new(),
            log_caps: limits.log,
            logged_lines: 0,
            logged_bytes: 0,
            dropped_logs: 0,
        }
    }

    /// Lines the `log` import dropped this run (past the per-run caps).
    pub fn dropped_logs(&self) -> u64 {
        self.dropped_logs
    }

    /// The line to keep of `message`, counted against this run's caps; None once they are spent
    /// (the first dropped line leaves a notice saying so).
    fn admit_log(&mut self, message: &str) -> Option<String> {
        let caps = self.log_caps;
        let room = caps.max_bytes.saturating_sub(self.logged_bytes);
        if self.logged_lines >= caps.max_lines || room == 0 {
            if self.dropped_logs == 0 {
                let notice = format!(
                    "log cap reached ({} lines, {} bytes per run): further lines are dropped",
                    caps.max_lines, caps.max_bytes
                );
                tracing::warn!(target: "plugin", plugin = self.plugin.as_str(), "{notice}");
                self.logs.push(PluginLog {
                    level: "warn",
                    message: notice,
                });
            }
            self.dropped_logs += 1;
            return None;
        }
        // Redact a bounded prefix (twice the line cap: redaction may shorten it), then escape,
        // then cut to what this line and the run may still take.
        let raw = cut(message, caps.max_line_bytes.saturating_mul(2));
        let line = cut(&redact(raw), caps.max_line_bytes.min(room)).to_string();
        self.logged_lines += 1;
        self.logged_bytes += line.len();
        Some(line)
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
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
        let Some(message) = self.admit_log(&message) else {
            return;
        };
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

/// 0.3's `log` is 0.2's: the same caps, escaping and PII filter.
impl host_v0_3::Host for HostState {
    fn log(&mut self, level: host_v0_3::Level, message: String) {
        let level = match level {
            host_v0_3::Level::Debug => Level::Debug,
            host_v0_3::Level::Info => Level::Info,
            host_v0_3::Level::Warn => Level::Warn,
            host_v0_3::Level::Error => Level::Error,
        };
        Host::log(self, level, message)
    }
}

/// 0.4's `log` is 0.2's too.
impl host_v0_4::Host for HostState {
    fn log(&mut self, level: host_v0_4::Level, message: String) {
        let level = match level {
            host_v0_4::Level::Debug => Level::Debug,
            host_v0_4::Level::Info => Level::Info,
            host_v0_4::Level::Warn => Level::Warn,
            host_v0_4::Level::Error => Level::Error,
        };
        Host::log(self, level, message)
    }
}

/// The `types` interfaces declare no functions; their host traits are empty.
impl super::bindings::v0_2::boxoffice::connector::types::Host for HostState {}
impl super::bindings::v0_3::boxoffice::connector::types::Host for HostState {}
impl super::bindings::v0_4::boxoffice::connector::types::Host for HostState {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::firewall::escape_control;
    use std::borrow::Cow;

    fn state(log: LogCaps) -> HostState {
        let limits = PluginLimits {
            log,
            ..PluginLimits::default()
        };
        HostState::new(
            "testbed",
            &limits,
            HostMemoryBudget::new(usize::MAX),
            Arc::new(Pseudonymizer::new([1; 32])),
        )
    }

    #[test]
    fn control_characters_and_separators_are_written_out() {
        assert_eq!(
            escape_control("a\nINFO forged\r\tb\u{1b}[31m\u{2028}\u{202e}c\\n"),
            "a\\nINFO forged\\r\\tb\\u{1b}[31m\\u{2028}\\u{202e}c\\\\n"
        );
        assert!(matches!(escape_control("plain line é"), Cow::Borrowed(_)));
    }

    #[test]
    fn log_lines_are_capped_per_call_and_per_run_and_the_cut_is_said_once() {
        let mut s = state(LogCaps {
            max_line_bytes: 10,
            max_lines: 3,
            max_bytes: 25,
        });
        for _ in 0..5 {
            s.log(Level::Info, "abcdefghijklmnop\n".into());
        }
        let lines: Vec<&str> = s.logs.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(lines[..3], ["abcdefghij", "abcdefghij", "abcde"]);
        assert!(lines[3].starts_with("log cap reached"), "{lines:?}");
        assert_eq!(lines.len(), 4);
        assert_eq!(s.dropped_logs(), 2);
    }

    #[test]
    fn a_cut_never_splits_a_character() {
        assert_eq!(cut("ééé", 3), "é");
        assert_eq!(cut("ab", 5), "ab");
    }
}
