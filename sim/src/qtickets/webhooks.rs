//! The QTickets simulator's outbound webhooks (`qtickets.md` §4): every change the model makes
//! (new order, paid, updated, cancelled, refunded, scanned) becomes a delivery POSTed to the URL
//! configured for its type, signed with hex HMAC-SHA1 of the raw body.
//!
//! Owns: rendering a delivery at the moment of the change (the order as it is then, canary
//! personal data included, since the receiver must strip it), the vendor's headers, the retry
//! schedule (attempt n + 1 follows a failed attempt n after n³ seconds, at most
//! [`MAX_ATTEMPTS`] attempts, one vendor second lasting [`WebhookConfig::second`]), and seeded
//! mischief: a fraction of deliveries lost (never sent), duplicated (sent twice), reordered
//! (held back until a later one went out), delayed, and forged (an extra copy with a tampered
//! body signed with the wrong secret). Decisions are drawn from the webhooks' own seed at the
//! change, so the model's history and truth are the same with webhooks on or off, and the same
//! seed makes the same decisions. It counts everything ([`WebhookStats`]) and logs every
//! attempt ([`Attempt`]).
//!
//! Deliveries go out from one dispatcher task in the order the changes happened (apart from
//! the reordered ones); a failed delivery's retries run in a task of their own so they hold up
//! nothing else.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use sha1::Sha1;
use tokio::sync::mpsc;

use super::model::{fmt_msk, Rng, FIRST_ORDER_ID};
use super::{QticketsSim, State};

/// The vendor gives up after this many attempts.
pub const MAX_ATTEMPTS: u32 = 10;
/// `User-Agent` of every delivery.
pub const USER_AGENT: &str = "Qtickets-Webhooks/2.0";

/// The webhook types of the cabinet, by their `X-Event-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventType {
    /// A new order.
    Created,
    /// An order changed otherwise (here: a batch touch of `updated_at`).
    Updated,
    /// An order was paid.
    Payed,
    /// An order was cancelled.
    Deleted,
    /// A basket was refunded (`refunded_baskets`).
    Refunded,
    /// A basket was scanned (`checked_basket`).
    Checked,
}

impl EventType {
    pub const ALL: [EventType; 6] = [
        Self::Created,
        Self::Updated,
        Self::Payed,
        Self::Deleted,
        Self::Refunded,
        Self::Checked,
    ];

    /// The `X-Event-Type` header value.
    pub fn header(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Payed => "payed",
            Self::Deleted => "deleted",
            Self::Refunded => "refunded",
            Self::Checked => "checked",
        }
    }
}

/// Where one webhook type is delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    /// The type's secret; none: deliveries carry no `X-Signature` (the cabinet's secret is
    /// optional).
    pub secret: Option<String>,
}

/// How webhooks are delivered and how they misbehave. Rates are fractions in 0..=1 of the
/// changes of configured types.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Per type; a type without an endpoint is not delivered (not configured in the cabinet).
    pub endpoints: BTreeMap<EventType, Endpoint>,
    /// Seeds the loss / duplicate / reorder / forge draws.
    pub seed: u64,
    /// Never sent at all.
    pub lose: f64,
    /// Sent twice (the copy right after the original, each with its own retries).
    pub duplicate: f64,
    /// Held back and sent after `1..=reorder_depth` later deliveries (or when nothing else
    /// is waiting).
    pub reorder: f64,
    pub reorder_depth: u32,
    /// Besides the genuine delivery, a forged one: body tampered (the order claimed cancelled)
    /// and signed with `forged_secret`; sent once, never retried.
    pub forge: f64,
    pub forged_secret: String,
    /// Every delivery's first attempt waits this long after its change.
    pub delay: Duration,
    /// How long one second of the vendor's retry schedule lasts (e.g. 10 ms).
    pub second: Duration,
    /// Per attempt.
    pub timeout: Duration,
}

impl WebhookConfig {
    /// Every type to `url`, signed with `secret`; nothing lost, duplicated, reordered, delayed
    /// or forged; one vendor second = 10 ms.
    pub fn all(url: &str, secret: &str) -> Self {
        Self {
            endpoints: EventType::ALL
                .iter()
                .map(|t| {
                    (
                        *t,
                        Endpoint {
                            url: url.to_string(),
                            secret: Some(secret.to_string()),
                        },
                    )
                })
                .collect(),
            seed: 7,
            lose: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            reorder_depth: 3,
            forge: 0.0,
            forged_secret: "canary-forged-secret".into(),
            delay: Duration::ZERO,
            second: Duration::from_millis(10),
            timeout: Duration::from_secs(5),
        }
    }

    /// `url` per type as the cabinet has it: `{base}/{type}` (e.g.
    /// `http://127.0.0.1:9/webhooks/qtickets/main/payed`).
    pub fn per_type(base: &str, secret: &str) -> Self {
        let mut c = Self::all(base, secret);
        for (t, e) in c.endpoints.iter_mut() {
            e.url = format!("{}/{}", base.trim_end_matches('/'), t.header());
        }
        c
    }

    fn check(&self) -> Result<(), String> {
        for (name, v) in [
            ("lose", self.lose),
            ("duplicate", self.duplicate),
            ("reorder", self.reorder),
            ("forge", self.forge),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!(
                    "webhook config: `{name}` must be a fraction in 0..=1, got {v}"
                ));
            }
        }
        for (t, e) in &self.endpoints {
            if !(e.url.starts_with("http://") || e.url.starts_with("https://")) {
                return Err(format!(
                    "webhook config: the `{}` endpoint must be an http(s) URL, got `{}`",
                    t.header(),
                    e.url
                ));
            }
        }
        Ok(())
    }
}

/// Counts since webhooks were enabled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebhookStats {
    /// Changes of a configured type (each should become one delivery).
    pub changes: u64,
    /// Genuine deliveries whose first attempt went out (= changes − lost).
    pub sent: u64,
    /// Never sent.
    pub lost: u64,
    /// Extra genuine copies sent.
    pub duplicated: u64,
    /// Sent after a delivery of a later change.
    pub reordered: u64,
    /// Forged copies sent.
    pub forged: u64,
    /// Attempts after a failed one (genuine deliveries and their copies).
    pub retried: u64,
    /// Genuine deliveries (copies included) answered 200 at some attempt.
    pub delivered: u64,
    /// Genuine deliveries (copies included) that failed all [`MAX_ATTEMPTS`] attempts.
    pub gave_up: u64,
    /// Every POST made.
    pub attempts: u64,
}

/// Which copy of a change a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Genuine,
    Duplicate,
    Forged,
}

/// One POST, as logged.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// Sequence number of the change (0-based, in the order changes happened).
    pub seq: u64,
    pub order_id: u64,
    pub kind: EventType,
    pub copy: Role,
    /// 1-based.
    pub attempt: u32,
    /// Since webhooks were enabled.
    pub at: Duration,
    /// The receiver's status; none when the request failed (refused, timed out).
    pub status: Option<u16>,
}

#[derive(Default)]
struct Counters {
    changes: AtomicU64,
    sent: AtomicU64,
    lost: AtomicU64,
    duplicated: AtomicU64,
    reordered: AtomicU64,
    forged: AtomicU64,
    retried: AtomicU64,
    delivered: AtomicU64,
    gave_up: AtomicU64,
    attempts: AtomicU64,
    /// Deliveries queued or being attempted (retries included).
    in_flight: AtomicU64,
}

fn add(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

struct Shared {
    started: Instant,
    counters: Counters,
    log: Mutex<Vec<Attempt>>,
}

/// A handle on the running webhooks: stats, the attempt log, waiting for quiet.
#[derive(Clone)]
pub struct Webhooks(Arc<Shared>);

impl Webhooks {
    pub fn stats(&self) -> WebhookStats {
        let c = &self.0.counters;
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        WebhookStats {
            changes: g(&c.changes),
            sent: g(&c.sent),
            lost: g(&c.lost),
            duplicated: g(&c.duplicated),
            reordered: g(&c.reordered),
            forged: g(&c.forged),
            retried: g(&c.retried),
            delivered: g(&c.delivered),
            gave_up: g(&c.gave_up),
            attempts: g(&c.attempts),
        }
    }

    /// Every attempt so far, in the order they were made.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.0.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits until no delivery is queued, held or being retried; false on `timeout`.
    pub async fn settle(&self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if self.0.counters.in_flight.load(Ordering::SeqCst) == 0 {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
}

/// One delivery waiting for the dispatcher.
struct Job {
    seq: u64,
    order_id: u64,
    kind: EventType,
    copy: Role,
    url: String,
    body: Arc<Vec<u8>>,
    signature: Option<String>,
    due: Instant,
    /// Later deliveries to let pass first (0: none).
    hold: u32,
    overtaken: bool,
}

/// What the model holds while webhooks are on (inside the simulation's lock).
pub(crate) struct Hooks {
    cfg: WebhookConfig,
    rng: Rng,
    seq: u64,
    tx: mpsc::UnboundedSender<Job>,
    shared: Arc<Shared>,
    /// Changes made while muted are not delivered (and not counted).
    pub(crate) muted: bool,
}

/// hex HMAC-SHA1 of `body` with `secret` — the vendor's `X-Signature`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `signature` (hex) is `body`'s with `secret`, compared in constant time.
pub fn verify(secret: &str, body: &[u8], signature: &str) -> bool {
    let Ok(raw) = hex::decode(signature.trim()) else {
        return false;
    };
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    mac.verify_slice(&raw).is_ok()
}

/// Starts the dispatcher (needs a tokio runtime) and arms the model.
pub(crate) fn enable(sim: &QticketsSim, cfg: WebhookConfig) -> anyhow::Result<Webhooks> {
    cfg.check().map_err(anyhow::Error::msg)?;
    let client = reqwest::Client::builder()
        .timeout(cfg.timeout)
        .no_proxy()
        .build()?;
    let shared = Arc::new(Shared {
        started: Instant::now(),
        counters: Counters::default(),
        log: Mutex::new(Vec::new()),
    });
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(dispatch(rx, client, shared.clone(), cfg.second));
    let hooks = Hooks {
        rng: Rng::new(cfg.seed ^ 0x5EB0_0C5E),
        cfg,
        seq: 0,
        tx,
        shared: shared.clone(),
        muted: false,
    };
    sim.lock().hooks = Some(hooks);
    Ok(Webhooks(shared))
}

/// Called by the model right after a change to order index `oi` (`basket`: the basket a
/// refund or scan hit): renders the delivery now and queues it with its mischief.
pub(crate) fn note(s: &mut State, kind: EventType, oi: usize, basket: Option<usize>) {
    let Some(h) = s.hooks.as_ref() else { return };
    if h.muted {
        return;
    }
    let Some(endpoint) = h.cfg.endpoints.get(&kind).cloned() else {
        return;
    };
    let (refunded, checked) = match kind {
        EventType::Refunded => (basket, None),
        EventType::Checked => (None, basket),
        _ => (None, None),
    };
    let body = super::http::webhook_body(s, oi, refunded, checked);
    let now_s = s.now_s;
    let h = s.hooks.as_mut().expect("checked above");
    let seq = h.seq;
    h.seq += 1;
    let c = &h.shared.counters;
    add(&c.changes);
    // Always four draws per change, so one rate does not shift another's decisions.
    let lost = h.rng.chance(h.cfg.lose);
    let dup = h.rng.chance(h.cfg.duplicate);
    let reorder = h.rng.chance(h.cfg.reorder);
    let forge = h.rng.chance(h.cfg.forge);
    let hold = if reorder {
        1 + h.rng.below(h.cfg.reorder_depth.max(1) as u64) as u32
    } else {
        0
    };
    if lost {
        add(&c.lost);
        return;
    }
    let order_id = FIRST_ORDER_ID + oi as u64;
    let due = Instant::now() + h.cfg.delay;
    let body = Arc::new(body);
    let signature = endpoint.secret.as_deref().map(|k| sign(k, &body));
    let job = |copy: Role, body: Arc<Vec<u8>>, signature: Option<String>, hold: u32| Job {
        seq,
        order_id,
        kind,
        copy,
        url: endpoint.url.clone(),
        body,
        signature,
        due,
        hold,
        overtaken: false,
    };
    let mut jobs = vec![job(Role::Genuine, body.clone(), signature.clone(), hold)];
    if dup {
        jobs.push(job(Role::Duplicate, body.clone(), signature, hold));
    }
    if forge {
        let tampered = Arc::new(tamper(&body, now_s));
        let sig = Some(sign(&h.cfg.forged_secret, &tampered));
        jobs.push(job(Role::Forged, tampered, sig, 0));
    }
    for j in jobs {
        c.in_flight.fetch_add(1, Ordering::SeqCst);
        if h.tx.send(j).is_err() {
            // The dispatcher is gone (its runtime ended): nothing will be sent.
            c.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// The forged body: the same order claimed cancelled now.
fn tamper(body: &[u8], now_s: i64) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(body).expect("our own body parses");
    if let Some(m) = v.as_object_mut() {
        m.insert("deleted_at".into(), fmt_msk(now_s).into());
        m.insert("payed".into(), false.into());
    }
    serde_json::to_vec(&v).expect("serializes")
}

async fn dispatch(
    mut rx: mpsc::UnboundedReceiver<Job>,
    client: reqwest::Client,
    shared: Arc<Shared>,
    second: Duration,
) {
    let mut held: Vec<Job> = Vec::new();
    loop {
        let job = match rx.try_recv() {
            Ok(j) => j,
            Err(mpsc::error::TryRecvError::Empty) => {
                // Nothing else waiting: what is held goes now.
                for j in held.drain(..) {
                    release(j, &client, &shared, second).await;
                }
                match rx.recv().await {
                    Some(j) => j,
                    None => break,
                }
            }
            Err(mpsc::error::TryRecvError::Disconnected) => break,
        };
        if job.hold > 0 {
            held.push(job);
            continue;
        }
        let seq = job.seq;
        first_attempt(job, &client, &shared, second).await;
        let mut k = 0;
        while k < held.len() {
            held[k].overtaken |= seq > held[k].seq;
            held[k].hold -= 1;
            if held[k].hold == 0 {
                let j = held.remove(k);
                release(j, &client, &shared, second).await;
            } else {
                k += 1;
            }
        }
    }
    for j in held {
        release(j, &client, &shared, second).await;
    }
}

async fn release(j: Job, client: &reqwest::Client, shared: &Arc<Shared>, second: Duration) {
    if j.overtaken && j.copy == Role::Genuine {
        add(&shared.counters.reordered);
    }
    first_attempt(j, client, shared, second).await;
}

/// The first attempt in line; on failure the retries go on in a task of their own.
async fn first_attempt(j: Job, client: &reqwest::Client, shared: &Arc<Shared>, second: Duration) {
    tokio::time::sleep_until(j.due.into()).await;
    let c = &shared.counters;
    match j.copy {
        Role::Genuine => add(&c.sent),
        Role::Duplicate => add(&c.duplicated),
        Role::Forged => add(&c.forged),
    }
    if post(&j, 1, client, shared).await {
        finish(shared, &j, true);
        return;
    }
    if j.copy == Role::Forged {
        // A forger does not retry.
        finish(shared, &j, false);
        return;
    }
    let client = client.clone();
    let shared = shared.clone();
    tokio::spawn(async move {
        for n in 1..MAX_ATTEMPTS {
            tokio::time::sleep(second * n.pow(3)).await;
            add(&shared.counters.retried);
            if post(&j, n + 1, &client, &shared).await {
                finish(&shared, &j, true);
                return;
            }
        }
        finish(&shared, &j, false);
    });
}

fn finish(shared: &Shared, j: &Job, ok: bool) {
    let c = &shared.counters;
    if j.copy != Role::Forged {
        add(if ok { &c.delivered } else { &c.gave_up });
    }
    c.in_flight.fetch_sub(1, Ordering::SeqCst);
}

/// One POST; true on 200.
async fn post(j: &Job, attempt: u32, client: &reqwest::Client, shared: &Shared) -> bool {
    add(&shared.counters.attempts);
    let mut req = client
        .post(&j.url)
        .header("Content-Type", "application/json")
        .header("X-Event-Type", j.kind.header())
        .header("X-Model-Name", "Order")
        .header("User-Agent", USER_AGENT)
        .body(j.body.as_ref().clone());
    if let Some(sig) = &j.signature {
        req = req.header("X-Signature", sig);
    }
    let at = shared.started.elapsed();
    let status = req.send().await.ok().map(|r| r.status().as_u16());
    shared
        .log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(Attempt {
            seq: j.seq,
            order_id: j.order_id,
            kind: j.kind,
            copy: j.copy,
            attempt,
            at,
            status,
        });
    status == Some(200)
}

#[cfg(test)]
#[path = "webhook_tests.rs"]
mod tests;
