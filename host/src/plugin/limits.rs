//! The resource limits every plugin instance runs under: what one store may hold, what one call
//! may return, what one run may ask for, and what the `log` import takes.
//!
//! Owns the numbers and their defaults only; each cap is enforced where the resource is spent
//! (`store_limits` for wasm memories, tables and instances; `instance` and `output` for pages;
//! `sync::run` for runs; `host_state` for logs).

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginLimits {
    /// All linear memories of one instance together (a store); growing past it traps the guest.
    pub memory_bytes: usize,
    /// All linear memories of every live instance of the runtime together: several runs at
    /// once (the daemon runs up to four) must not add up past what the host can hold. Larger
    /// than `memory_bytes`, so one runaway instance leaves room for the others.
    pub host_memory_bytes: usize,
    /// Wall-clock budget of one guest call (epoch interruption); past it the guest traps.
    pub call_deadline: Duration,
    /// Cap on what one call may return (records, requests and cursor, lifted into the host).
    pub max_output_bytes: usize,
    /// Fuel per call, when set: a deterministic cost figure (reported as a metric) at a
    /// measurable speed cost, so it is off by default.
    pub fuel_per_call: Option<u64>,
    /// Counts of what one store may create.
    pub store: StoreCaps,
    /// What one page (one `begin` or `handle`) may decode into.
    pub page: PageCaps,
    /// What one sync run may ask for.
    pub run: RunCaps,
    /// What the `log` import takes.
    pub log: LogCaps,
}

/// Counts per store (one plugin instance): the CEILING. Each component's store gets the counts
/// of its own shape (`plugin::shape`, counted when it loads), refused before instantiation
/// past these. A Rust connector is a few core instances, a componentize-py one a dozen or so,
/// so the ceiling is generous and the memory cap (total, [`PluginLimits::memory_bytes`]) is
/// what bounds them together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreCaps {
    pub max_instances: usize,
    pub max_memories: usize,
    pub max_tables: usize,
    /// Elements of all tables together (each takes a pointer or two of host memory).
    pub max_table_elements: usize,
}

/// Caps on one page's records, checked while the blob decodes (before the host allocates
/// them), and on the requests it plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCaps {
    pub max_items: usize,
    /// Host memory the decoded records take (their structs, strings and list entries).
    pub max_decoded_bytes: usize,
    /// Longest string field of a record.
    pub max_string_bytes: usize,
    /// Requests one `begin` or `handle` may plan.
    pub max_planned_requests: usize,
}

/// Caps on one sync run; past any of them the run fails with a message naming the cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunCaps {
    /// Requests planned over the whole run (`begin` and every page): bounds the queue.
    pub max_planned_requests: usize,
    /// Pages (handled responses) per run: endless paging stops here.
    pub max_pages: u64,
    /// Wall time of the whole run, waits for the vendor's budget included.
    pub max_duration: Duration,
}

/// Caps on the `log` import; lines past them are dropped (and said so once).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogCaps {
    /// Bytes kept of one message (after escaping); the rest is cut.
    pub max_line_bytes: usize,
    /// Lines per run (per instance).
    pub max_lines: usize,
    /// Bytes per run (per instance), all lines together.
    pub max_bytes: usize,
}

impl Default for PluginLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 96 << 20,
            host_memory_bytes: 128 << 20,
            call_deadline: Duration::from_secs(5),
            max_output_bytes: 16 << 20,
            fuel_per_call: None,
            store: StoreCaps::default(),
            page: PageCaps::default(),
            run: RunCaps::default(),
            log: LogCaps::default(),
        }
    }
}

impl Default for StoreCaps {
    fn default() -> Self {
        Self {
            max_instances: 32,
            max_memories: 8,
            max_tables: 32,
            max_table_elements: 1 << 20,
        }
    }
}

impl Default for PageCaps {
    fn default() -> Self {
        Self {
            // Real pages hold 100–10,000 records.
            max_items: 50_000,
            max_decoded_bytes: 16 << 20,
            max_string_bytes: 64 << 10,
            max_planned_requests: 5_000,
        }
    }
}

impl Default for RunCaps {
    fn default() -> Self {
        Self {
            // A 10M-ticket backfill at 100 tickets a page fits; endless paging does not.
            max_planned_requests: 200_000,
            max_pages: 100_000,
            max_duration: Duration::from_secs(6 * 3600),
        }
    }
}

impl Default for LogCaps {
    fn default() -> Self {
        Self {
            max_line_bytes: 4 << 10,
            max_lines: 1_000,
            max_bytes: 256 << 10,
        }
    }
}

/// How often the engine's epoch advances; the deadline is counted in these ticks.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

impl PluginLimits {
    pub fn deadline_ticks(&self) -> u64 {
        (self.call_deadline.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
    }
}
