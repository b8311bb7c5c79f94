//! Typed errors of the plugin runtime. Every variant names the plugin; messages that come from
//! the guest pass through the PII redactor before they reach a log or an error.

use thiserror::Error;

/// An error a guest returned on purpose (`plugin-error` in the WIT).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GuestError {
    #[error("vendor response not understood: {0}")]
    BadResponse(String),
    #[error("vendor refused the credentials: {0}")]
    Unauthorized(String),
    #[error("vendor asked to retry after {0} s")]
    RetryLater(u32),
    #[error("{0}")]
    Fatal(String),
}

/// Why a guest trapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrapKind {
    /// Ran past the per-call deadline.
    Deadline,
    /// Tried to grow memory past the cap, or to create more memories than allowed.
    Memory,
    /// Tried to grow tables past the cap, or to create more tables than allowed.
    Table,
    /// Tried to create more (core) instances than allowed.
    Instances,
    /// Ran out of fuel.
    Fuel,
    /// Panicked / hit `unreachable`.
    Panic,
    Other,
}

impl TrapKind {
    /// Every kind, so metrics can show each at 0 before the first trap.
    pub const ALL: [Self; 7] = [
        Self::Deadline,
        Self::Memory,
        Self::Table,
        Self::Instances,
        Self::Fuel,
        Self::Panic,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deadline => "deadline",
            Self::Memory => "memory",
            Self::Table => "table",
            Self::Instances => "instances",
            Self::Fuel => "fuel",
            Self::Panic => "panic",
            Self::Other => "other",
        }
    }
}

/// Which cap on one page's output a plugin ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageCap {
    Items,
    DecodedBytes,
    StringBytes,
    ListLength,
    PlannedRequests,
}

impl PageCap {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Items => "records per page",
            Self::DecodedBytes => "decoded bytes per page",
            Self::StringBytes => "bytes per string field",
            Self::ListLength => "entries per list field",
            Self::PlannedRequests => "planned requests per call",
        }
    }
}

#[derive(Debug, Error)]
pub enum PluginError {
    #[error("plugin `{plugin}` trapped in `{call}` ({}): {detail}", kind.as_str())]
    Trap {
        plugin: String,
        call: &'static str,
        kind: TrapKind,
        detail: String,
    },
    #[error("plugin `{plugin}` returned {bytes} bytes from `{call}`, over the {cap}-byte cap")]
    OutputTooLarge {
        plugin: String,
        call: &'static str,
        bytes: usize,
        cap: usize,
    },
    #[error("plugin `{plugin}` went past the cap of {cap} {} in `{call}`{}", what.as_str(), record.map(|r| format!(" (record {r})")).unwrap_or_default())]
    OverCap {
        plugin: String,
        call: &'static str,
        what: PageCap,
        cap: usize,
        /// The record (0-based) that crossed it, for caps counted while decoding.
        record: Option<usize>,
    },
    #[error("plugin `{plugin}` returned records from `{call}` that cannot be read: {detail}")]
    BadOutput {
        plugin: String,
        call: &'static str,
        detail: String,
    },
    #[error("plugin `{plugin}` failed in `{call}`: {error}")]
    Guest {
        plugin: String,
        call: &'static str,
        error: GuestError,
    },
    /// A planned request failed the outbound screen (`outbound`): refused before any
    /// connection.
    #[error("plugin `{plugin}` planned a request in `{call}` that the host refused: {refusal}")]
    RequestRefused {
        plugin: String,
        call: &'static str,
        refusal: super::outbound::Refusal,
    },
    #[error("plugin `{plugin}` trapped earlier in this run; its instance is not reused")]
    Poisoned { plugin: String },
    #[error("plugin `{plugin}` could not be loaded: {detail}")]
    Load { plugin: String, detail: String },
    #[error(
        "`{plugin}` is not a connector this host can run: {found}; this host runs {supported}"
    )]
    NotAConnector {
        plugin: String,
        /// What the component is: its contract imports and exports, or what is missing.
        found: String,
        supported: String,
    },
    /// Refused for what instantiating it would create (`shape`), before instantiation.
    #[error("`{plugin}` is refused before instantiation: {problem}")]
    Shape {
        plugin: String,
        problem: super::shape::ShapeError,
    },
    #[error("plugin `{plugin}` targets WIT {found}, outside this host's window: it supports {expected} (boxoffice:connector)")]
    IncompatibleWit {
        plugin: String,
        found: String,
        expected: String,
    },
}

impl PluginError {
    pub fn trap_kind(&self) -> Option<TrapKind> {
        match self {
            Self::Trap { kind, .. } => Some(*kind),
            _ => None,
        }
    }
}
