//! The typed parts of a run record that `sync`, `state` and `sink` share: how a run ended
//! ([`RunStatus`], stored in `job_runs.status` and shown in metrics and `/healthz`), what kind
//! of run it was ([`RunKind`], `job_runs.kind`) and its figures ([`RunFigures`]), which the
//! three records (`sync::RunSummary`, `state`'s `finish_run`, `sink::RunRecord`) hold.
//!
//! A leaf at the crate root so that `sink` can name these without importing `sync` or `state`.
//! Stored text stays what it always was (`as_str`); nothing here does I/O.

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

/// What kind of run: stored as text in `job_runs.kind` (`as_str`). A dry run stores nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RunKind {
    #[default]
    Sync,
    Backfill,
    /// Fetch and transform, count, write nothing, move no cursor.
    DryRun,
}

impl RunKind {
    pub const ALL: [Self; 3] = [Self::Sync, Self::Backfill, Self::DryRun];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sync => "sync",
            Self::Backfill => "backfill",
            Self::DryRun => "dry-run",
        }
    }

    /// The stored text back; `None` for text this build does not know.
    pub fn from_stored(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for RunKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a run ended and what it counted: the part every run record shares (the run's summary,
/// the state database's `job_runs` row, the warehouse's `job_runs` row).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunFigures {
    pub status: RunStatus,
    pub pages: u64,
    pub records: u64,
    pub rejected: u64,
    pub requests: u64,
    /// One line saying what the run did (or why it stopped).
    pub message: String,
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

    #[test]
    fn stored_texts_are_the_ones_always_stored() {
        let status: Vec<&str> = RunStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            status,
            ["ok", "degraded", "failed", "rate_limited", "interrupted"]
        );
        let kinds: Vec<&str> = RunKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(kinds, ["sync", "backfill", "dry-run"]);
        for k in RunKind::ALL {
            assert_eq!(RunKind::from_stored(k.as_str()), Some(k));
        }
        assert_eq!(RunKind::from_stored("Sync"), None);
    }
}
