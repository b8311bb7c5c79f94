//! The QTickets simulator: REST API v1 (`/api/rest/v1/...`) in the exact shapes of
//! `shared/vendors/qtickets.md` and its example pages.
//!
//! Owns: a deterministic history of orders and baskets per seed over a few events and shows
//! (seated and general admission), seat maps whose quantities follow the orders, changes over
//! simulated time (new orders, payments, refunds, cancels, scans, batch touches), the API's
//! quirks (filters only from a JSON body even on GET, query string ignored, `payed_at` filters
//! answering 503, HTML 404 for unknown routes), auth, paging, fault injection (also answers
//! without their optional fields and a failing seats route, [`optional`]), and the ground
//! truth tests compare with (definitions in [`truth`]). Memory is one compact struct per order
//! and per basket plus one byte per seated place; responses are serialized per request and
//! never kept.

mod breakdown;
mod daily_truth;
mod http;
mod model;
pub mod optional;
mod truth;
pub mod webhooks;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

pub use daily_truth::{DailyTruth, DailyTruthSet, DashboardTruth, DimensionTruth, UtmDailyTruth};
pub use model::ChangeError;
pub use truth::{category, EventTruth, SalesTruth, ShowInventoryTruth};
pub use webhooks::{EventType, WebhookConfig, WebhookStats, Webhooks};

/// How the simulation is sized and how fast it changes.
#[derive(Debug, Clone)]
pub struct QticketsConfig {
    pub seed: u64,
    pub token: String,
    /// Live (not deleted) events; one extra deleted event is always served besides these.
    pub events: u32,
    /// Each event has `1..=shows_per_event` shows.
    pub shows_per_event: u32,
    /// Orders created before start (spread over the 30 days before `start_ms`).
    pub orders: u64,
    pub start_ms: i64,
    /// New orders per simulated minute while advancing.
    pub orders_per_minute: f64,
    /// Changes to existing orders per simulated minute while advancing (pay a pending order,
    /// refund one basket, cancel an order, scan a basket, now and then a batch touch).
    pub changes_per_minute: f64,
    /// Every Nth `GET /orders` (list) request answers 503 `UNKNOWN_ERROR` (through
    /// [`crate::faults`]).
    pub fault_every: Option<u32>,
    /// Random vendor faults on every route ([`crate::faults`]; None: none).
    pub faults: Option<crate::faults::FaultConfig>,
    /// Optional fields of orders, baskets, events, shows and seat nodes: served, absent or null
    /// (see [`optional`]; the truth does not change).
    pub optional_fields: OptionalFields,
    /// How `/shows/{id}/seats` fails, if it does.
    pub seats_fault: Option<SeatsFault>,
}

pub use crate::optional_fields::OptionalFields;

/// A failing seats route (the inventory is an auxiliary request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatsFault {
    /// 500 `UNKNOWN_ERROR` every time.
    ServerError,
    /// 200 with a body cut off mid-document.
    Garbage,
}

impl Default for QticketsConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            token: "sim-qtickets-token".into(),
            events: 4,
            shows_per_event: 2,
            orders: 2_000,
            // 2026-03-01T00:00:00Z
            start_ms: 1_772_323_200_000,
            orders_per_minute: 3.0,
            changes_per_minute: 2.0,
            fault_every: None,
            faults: None,
            optional_fields: OptionalFields::Served,
            seats_fault: None,
        }
    }
}

/// Requests served, by (route, HTTP status). Routes are the patterns (`/orders`,
/// `/orders/{id}`, `/events`, `/events/{id}`, `/shows/{id}/seats`, `POST /orders`, `404`).
#[derive(Debug, Clone, Default)]
pub struct SimStats {
    pub by_route_status: BTreeMap<(String, u16), u64>,
}

pub(crate) struct State {
    cfg: QticketsConfig,
    rng: model::Rng,
    /// Simulated now, unix seconds.
    now_s: i64,
    events: Vec<model::Event>,
    /// Every show of every event; `Event::shows` indexes into it.
    shows: Vec<model::Show>,
    /// Index = order id − [`model::FIRST_ORDER_ID`]; creation time grows with the index.
    orders: Vec<model::Order>,
    /// Index = basket id − [`model::FIRST_BASKET_ID`]; an order's baskets are contiguous.
    baskets: Vec<model::Basket>,
    /// Orders that were unpaid when last looked at (lazily pruned).
    pending: Vec<u32>,
    stats: SimStats,
    /// Outbound webhooks, once enabled ([`webhooks`]).
    hooks: Option<webhooks::Hooks>,
}

/// A running simulation; cheap to clone (clones share state).
#[derive(Clone)]
pub struct QticketsSim(Arc<Mutex<State>>, crate::faults::Faults);

impl QticketsSim {
    pub fn new(cfg: QticketsConfig) -> Self {
        let faults = crate::faults::Faults::new(
            http::FAULT_SHAPE,
            cfg.faults.clone(),
            cfg.fault_every.map(|n| (n, "/orders")),
        );
        Self(Arc::new(Mutex::new(model::generate(cfg))), faults)
    }

    /// The fault injector: its counts per kind, and [`crate::faults::Faults::set`] to change
    /// or stop the faults mid-test.
    pub fn faults(&self) -> &crate::faults::Faults {
        &self.1
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Routes under `/api/rest/v1`.
    pub fn router(&self) -> axum::Router {
        self.1.layer(http::router(self.clone()))
    }

    /// Serves on a free loopback port; the plugin's base is
    /// `format!("{}/api/rest/v1", server.base_url())`.
    pub async fn spawn(&self) -> anyhow::Result<crate::SimServer> {
        crate::SimServer::start(self.router(), 0).await
    }

    /// Changes whether optional fields are served from the next request on.
    pub fn set_optional_fields(&self, how: OptionalFields) {
        self.lock().cfg.optional_fields = how;
    }

    /// Makes the seats route fail (or not) from the next request on.
    pub fn set_seats_fault(&self, fault: Option<SeatsFault>) {
        self.lock().cfg.seats_fault = fault;
    }

    pub fn now_ms(&self) -> i64 {
        self.lock().now_s * 1000
    }

    pub fn token(&self) -> String {
        self.lock().cfg.token.clone()
    }

    /// Moves simulated time forward: new orders and changes to existing ones.
    pub fn advance(&self, minutes: u32) {
        model::advance(&mut self.lock(), minutes);
    }

    /// Turns outbound webhooks on from the next change (needs a tokio runtime; see
    /// [`webhooks`]). Changes made before, and the generated history, send nothing.
    pub fn enable_webhooks(&self, cfg: WebhookConfig) -> anyhow::Result<Webhooks> {
        webhooks::enable(self, cfg)
    }

    /// Runs `f` with webhooks muted: its changes are real (the API and the truth show them)
    /// but no webhook reports them — the lost-webhook case a reconcile must catch.
    pub fn unreported<R>(&self, f: impl FnOnce(&Self) -> R) -> R {
        let set = |on: bool| {
            if let Some(h) = self.lock().hooks.as_mut() {
                h.muted = on;
            }
        };
        set(true);
        let r = f(self);
        set(false);
        r
    }

    /// Live mode: every `tick` of wall time, simulated time moves `minutes` on (new orders,
    /// payments, refunds, cancels, scans — and their webhooks) until the handle is stopped or
    /// dropped. Needs a tokio runtime.
    pub fn drive(&self, tick: std::time::Duration, minutes: u32) -> Driver {
        let sim = self.clone();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut every = tokio::time::interval(tick);
            every.tick().await;
            let mut ticks = 0u64;
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = every.tick() => {
                        sim.advance(minutes);
                        ticks += 1;
                    }
                }
            }
            ticks
        });
        Driver {
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// A new order at simulated now, paid at once or left pending; its id.
    pub fn sell(&self, paid: bool) -> Result<u64, ChangeError> {
        model::sell_now(&mut self.lock(), paid)
    }

    /// Pays a pending order at simulated now.
    pub fn pay(&self, order_id: u64) -> Result<(), ChangeError> {
        model::pay_now(&mut self.lock(), order_id)
    }

    /// Refunds the order's first basket that holds its seat; the basket's id.
    pub fn refund(&self, order_id: u64) -> Result<u64, ChangeError> {
        model::refund_now(&mut self.lock(), order_id)
    }

    /// Scans the order's first unscanned basket that holds its seat; the basket's id.
    pub fn scan(&self, order_id: u64) -> Result<u64, ChangeError> {
        model::scan_now(&mut self.lock(), order_id)
    }

    /// Cancels the order at simulated now.
    pub fn cancel(&self, order_id: u64) -> Result<(), ChangeError> {
        model::cancel_now(&mut self.lock(), order_id)
    }

    /// The newest paid, live order created before `before_ms` with a basket still holding its
    /// seat (something to refund or scan late).
    pub fn paid_order_before(&self, before_ms: i64) -> Option<u64> {
        model::paid_order_before(&self.lock(), before_ms.div_euclid(1000))
    }

    /// Sales per (Moscow payment date, event, category, currency); see [`truth`].
    pub fn truth(&self) -> Vec<SalesTruth> {
        truth::sales(&self.lock())
    }

    /// Seats per show of every live (not deleted) event; see [`truth`].
    pub fn inventory_truth(&self) -> Vec<ShowInventoryTruth> {
        truth::inventory(&self.lock())
    }

    /// Sales per day (also by UTM tag and breakdown value) and the dashboard as of `now_ms`;
    /// see [`daily_truth`].
    pub fn daily_truth(&self, now_ms: i64) -> DailyTruthSet {
        daily_truth::compute(&self.lock(), now_ms)
    }

    /// Held tickets and revenue per event and breakdown value, fees, tickets left per show and
    /// event; see [`breakdown`].
    pub fn breakdown_truth(&self) -> crate::shotgun::BreakdownTruth {
        breakdown::compute(&self.lock())
    }

    /// Name and city of every live (not deleted) event.
    pub fn event_truth(&self) -> Vec<EventTruth> {
        truth::events(&self.lock())
    }

    pub fn order_count(&self) -> u64 {
        self.lock().orders.len() as u64
    }

    pub fn basket_count(&self) -> u64 {
        self.lock().baskets.len() as u64
    }

    pub fn stats(&self) -> SimStats {
        self.lock().stats.clone()
    }

    /// Every barcode ever issued (also those later nulled by a cancel), for leak sweeps.
    pub fn barcodes(&self) -> Vec<String> {
        let s = self.lock();
        (0..s.baskets.len())
            .map(|i| model::barcode(model::FIRST_BASKET_ID + i as u64))
            .collect()
    }
}

/// A running [`QticketsSim::drive`]; dropping it stops the driving too.
pub struct Driver {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<u64>>,
}

impl Driver {
    /// Stops driving; the number of ticks made.
    pub async fn stop(mut self) -> u64 {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.task.take() {
            Some(t) => t.await.unwrap_or(0),
            None => 0,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

#[cfg(test)]
mod tests;
