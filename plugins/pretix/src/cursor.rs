//! The committed cursor: per event, its catalogue (currency, product names — the order pages
//! name products by id only), where the incremental `last_modified` stream stands, and the
//! state of the periodic full re-read. Compact JSON, committed with every page.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(default)]
    pub events: BTreeMap<String, EventState>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventState {
    /// The event's currency (ISO 4217), from the events listing of this run.
    #[serde(default)]
    pub cur: String,
    /// Product names by item id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub items: BTreeMap<u64, String>,
    /// Variation names by variation id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<u64, String>,
    /// `last_modified` (µs) of the newest order stored from the incremental stream (or the
    /// start of the last full scan): the next `modified_since`, less the overlap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lm: Option<i64>,
    /// Codes of the orders already stored whose `last_modified` is exactly `lm`
    /// (`modified_since` is inclusive: they come back on the next page).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<String>,
    /// When (host ms) the last completed full scan started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_at: Option<i64>,
    /// A full scan under way (kept across runs: a failed run resumes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan: Option<Scan>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scan {
    /// Host ms when it started.
    pub at: i64,
    /// pretix's clock (µs, `X-Page-Generated`) when its first page was made: the incremental
    /// pass after the scan starts here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    /// The next page to read.
    pub page: u32,
}

impl Cursor {
    /// The committed cursor; an unreadable one starts over (a full scan: idempotent).
    pub fn parse(raw: Option<&str>) -> Self {
        raw.and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default()
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
