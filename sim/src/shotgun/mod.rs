//! The Shotgun simulator: `GET /tickets` and the legacy events listing, in the exact shapes of
//! `shared/vendors/shotgun.md` and its example page.
//!
//! Owns: a deterministic ticket history per seed, changes over simulated time (sales, refunds,
//! cancels, resales, scans) that bump `ticket_updated_at` so tickets re-appear past a cursor,
//! auth, paging, rate limiting and fault injection, and the ground truth tests compare with.
//! Memory is one compact struct per ticket plus an ordered index (about 100 bytes per ticket);
//! responses are serialized per request and never kept.

mod http;
mod model;
pub mod optional;
pub(crate) mod truth;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub use model::{SimEvent, SimTicket, Status};
pub use truth::{
    BreakdownTruth, BreakdownTruthRow, EventLeftTruth, FeeTruthRow, InventoryTruth, ShowLeftTruth,
    TruthRow,
};

/// Requests allowed per window before 429.
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub requests: u32,
    pub window_ms: u64,
    pub retry_after_secs: u32,
}

#[derive(Debug, Clone)]
pub struct ShotgunConfig {
    pub seed: u64,
    pub organizer_id: u64,
    pub token: String,
    pub events: u32,
    pub cohosted_events: u32,
    /// Tickets sold before the simulation starts (spread over the 30 days before `start_ms`).
    pub tickets: u64,
    pub start_ms: i64,
    pub sales_per_minute: f64,
    pub changes_per_minute: f64,
    pub rate_limit: Option<RateLimit>,
    /// Every Nth `/tickets` request answers 503 (through [`crate::faults`]).
    pub fault_every: Option<u32>,
    /// Random vendor faults on every route ([`crate::faults`]; None: none).
    pub faults: Option<crate::faults::FaultConfig>,
    /// Base written into `pagination.next` (the real host, as the real API does).
    pub public_base: String,
    /// Optional fields of tickets and events: served, absent or null ([`optional`]; the truth
    /// does not change).
    pub optional_fields: optional::OptionalFields,
}

impl Default for ShotgunConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            organizer_id: 100_001,
            token: "sim-shotgun-token".into(),
            events: 6,
            cohosted_events: 1,
            tickets: 5_000,
            // 2026-03-01T00:00:00Z
            start_ms: 1_772_323_200_000,
            sales_per_minute: 5.0,
            changes_per_minute: 3.0,
            rate_limit: None,
            fault_every: None,
            faults: None,
            public_base: "https://api.shotgun.live".into(),
            optional_fields: optional::OptionalFields::Served,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct SimStats {
    pub by_route_status: BTreeMap<(String, u16), u64>,
}

pub(crate) struct State {
    cfg: ShotgunConfig,
    rng: model::Rng,
    now_ms: i64,
    events: Vec<SimEvent>,
    /// Index = ticket_id − FIRST_TICKET_ID.
    tickets: Vec<SimTicket>,
    /// (updated_at_ms, ticket_id): the API's order.
    order: BTreeSet<(i64, u64)>,
    stats: SimStats,
    recent: VecDeque<Instant>,
}

/// A running simulation; cheap to clone (clones share state).
#[derive(Clone)]
pub struct ShotgunSim(pub(crate) Arc<Mutex<State>>, crate::faults::Faults);

impl ShotgunSim {
    pub fn new(cfg: ShotgunConfig) -> Self {
        let faults = crate::faults::Faults::new(
            http::FAULT_SHAPE,
            cfg.faults.clone(),
            cfg.fault_every.map(|n| (n, "/tickets")),
        );
        let state = model::generate(cfg);
        Self(Arc::new(Mutex::new(state)), faults)
    }

    /// The fault injector: its counts per kind, and [`crate::faults::Faults::set`] to change
    /// or stop the faults mid-test.
    pub fn faults(&self) -> &crate::faults::Faults {
        &self.1
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn router(&self) -> axum::Router {
        self.1.layer(http::router(self.clone()))
    }

    pub async fn spawn(&self) -> anyhow::Result<crate::SimServer> {
        crate::SimServer::start(self.router(), 0).await
    }

    pub fn now_ms(&self) -> i64 {
        self.lock().now_ms
    }

    pub fn token(&self) -> String {
        self.lock().cfg.token.clone()
    }

    pub fn organizer_id(&self) -> u64 {
        self.lock().cfg.organizer_id
    }

    /// Moves simulated time forward: new sales and changes to existing tickets.
    pub fn advance(&self, minutes: u32) {
        model::advance(&mut self.lock(), minutes);
    }

    pub fn truth(&self) -> Vec<TruthRow> {
        truth::sales(&self.lock())
    }

    pub fn inventory_truth(&self) -> Vec<InventoryTruth> {
        truth::inventory(&self.lock())
    }

    /// Held tickets and revenue per event and breakdown value, fees, tickets left; see
    /// [`truth::breakdown`].
    pub fn breakdown_truth(&self) -> BreakdownTruth {
        truth::breakdown(&self.lock())
    }

    pub fn for_each_ticket(&self, mut f: impl FnMut(&SimTicket)) {
        for t in &self.lock().tickets {
            f(t);
        }
    }

    pub fn events(&self) -> Vec<SimEvent> {
        self.lock().events.clone()
    }

    /// The 14-digit scan code served for a ticket.
    pub fn scan_code(ticket_id: u64) -> String {
        format!("1{:013}", ticket_id.wrapping_mul(7919) % 10_000_000_000_000)
    }

    pub fn stats(&self) -> SimStats {
        self.lock().stats.clone()
    }

    pub fn ticket_count(&self) -> u64 {
        self.lock().tickets.len() as u64
    }
}

#[cfg(test)]
mod tests;
