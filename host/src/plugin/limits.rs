//! The resource limits every plugin instance runs under.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PluginLimits {
    /// Linear memory cap per instance; growing past it traps the guest.
    pub memory_bytes: usize,
    /// Wall-clock budget of one guest call (epoch interruption); past it the guest traps.
    pub call_deadline: Duration,
    /// Cap on what one call may return (records, requests and cursor, lifted into the host).
    pub max_output_bytes: usize,
    /// Fuel per call, when set: a deterministic cost figure (reported as a metric) at a
    /// measurable speed cost, so it is off by default.
    pub fuel_per_call: Option<u64>,
}

impl Default for PluginLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 128 << 20,
            call_deadline: Duration::from_secs(5),
            max_output_bytes: 16 << 20,
            fuel_per_call: None,
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
