//! How a run ended, as stored in `job_runs.status` and shown in metrics and `/healthz`.

use std::fmt;

/// The outcome of one run. Stored as text (`as_str`); a stored value this build does not know
/// reads as `Failed` (never as a success).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RunStatus {
    /// Every request answered and every page was stored.
    #[default]
    Ok,
    /// The core requests (orders, tickets) were stored and their cursor committed, but one or
    /// more auxiliary requests (events, inventory) failed and were skipped.
    Degraded,
    Failed,
    RateLimited,
    /// Stopped on request (shutdown, Ctrl-C) after the pages already stored.
    Interrupted,
}

impl RunStatus {
    pub const ALL: [Self; 5] = [
        Self::Ok,
        Self::Degraded,
        Self::Failed,
        Self::RateLimited,
        Self::Interrupted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Degraded => "degraded",
            Self::Failed => "failed",
            Self::RateLimited => "rate_limited",
            Self::Interrupted => "interrupted",
        }
    }

    /// The stored text back; unknown text is `Failed`.
    pub fn from_stored(s: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .unwrap_or(Self::Failed)
    }

    /// The core data of the run is stored and its cursor committed (`Ok` or `Degraded`).
    pub fn succeeded(self) -> bool {
        matches!(self, Self::Ok | Self::Degraded)
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stored text (see [`RunStatus::from_stored`]).
impl From<&str> for RunStatus {
    fn from(s: &str) -> Self {
        Self::from_stored(s)
    }
}

impl PartialEq<&str> for RunStatus {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_text_round_trips_and_unknown_is_failed() {
        for st in RunStatus::ALL {
            assert_eq!(RunStatus::from_stored(st.as_str()), st);
        }
        assert_eq!(RunStatus::from_stored("partial"), RunStatus::Failed);
        assert!(RunStatus::Degraded.succeeded() && RunStatus::Ok.succeeded());
        assert!(!RunStatus::Failed.succeeded() && !RunStatus::Interrupted.succeeded());
    }
}
