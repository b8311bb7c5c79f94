//! Simulated events and tickets, generated deterministically and changed over simulated time.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::{ShotgunConfig, SimStats, State};

pub const FIRST_TICKET_ID: u64 = 900_000_000;
const FIRST_EVENT_ID: u64 = 200_000;
const MINUTE_MS: i64 = 60_000;

/// splitmix64: small, fast, and the same on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    /// A Poisson-ish count with mean `m` (integer part plus a coin for the fraction).
    pub fn count(&mut self, m: f64) -> u64 {
        let base = m.floor();
        base as u64 + self.chance(m - base) as u64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Valid,
    Refunded,
    Canceled,
    Resold,
    PaymentPlanPending,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Refunded => "refunded",
            Self::Canceled => "canceled",
            Self::Resold => "resold",
            Self::PaymentPlanPending => "payment_plan_pending",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Deal {
    pub id: u64,
    pub title: &'static str,
    pub sub_category: Option<&'static str>,
    pub price: i64,
    pub channel: &'static str,
    pub visibilities: &'static [&'static str],
    pub quantity: u64,
}

#[derive(Debug, Clone)]
pub struct SimEvent {
    pub id: u64,
    pub name: String,
    pub currency: &'static str,
    pub cohosted: bool,
    pub start_ms: i64,
    pub end_ms: i64,
    pub created_ms: i64,
    pub canceled_ms: Option<i64>,
    pub city: &'static str,
    pub deals: Vec<Deal>,
}

#[derive(Debug, Clone)]
pub struct SimTicket {
    pub ticket_id: u64,
    pub order_id: u64,
    pub event_idx: u32,
    pub deal_idx: u8,
    pub status: Status,
    pub ordered_at_ms: i64,
    /// Sub-millisecond part of `ordered_at` (the API prints microseconds).
    pub ordered_us: u16,
    pub updated_at_ms: i64,
    pub scanned_at_ms: Option<i64>,
    pub canceled_at_ms: Option<i64>,
    pub user_id: u64,
    pub payment: u8,
    pub utm: u8,
    pub geo: u8,
}

pub const PAYMENTS: [Option<&str>; 3] = [Some("card"), Some("card"), None];
pub const UTMS: [(Option<&str>, Option<&str>); 4] = [
    (Some("shotgun"), Some("app")),
    (Some("instagram"), Some("social")),
    (Some("newsletter"), Some("email")),
    (None, None),
];
pub const GEOS: [(&str, &str, &str); 4] = [
    ("France", "69007", "Lyon"),
    ("France", "13001", "Marseille"),
    ("France", "75011", "Paris"),
    ("Belgique", "1000", "Bruxelles"),
];
const CITIES: [&str; 4] = ["Lyon", "Paris", "Marseille", "Nantes"];

fn deals(event_id: u64) -> Vec<Deal> {
    let d = |n: u64, title, sub, price, channel, vis, quantity| Deal {
        id: 3_000_000 + event_id % 1000 * 10 + n,
        title,
        sub_category: sub,
        price,
        channel,
        visibilities: vis,
        quantity,
    };
    const PUB: &[&str] = &["promoters", "public", "xpress_door"];
    vec![
        d(
            1,
            "EARLY BIRD",
            Some("GENERAL ACCESS - 2 DAY PASS"),
            3500,
            "online",
            PUB,
            4000,
        ),
        d(
            2,
            "PHASE 1",
            Some("GENERAL ACCESS - 2 DAY PASS"),
            4500,
            "online",
            PUB,
            6000,
        ),
        d(3, "PHASE 2", None, 5500, "onsite", &["public"], 4000),
        d(
            4,
            "VIP",
            Some("VIP"),
            12000,
            "distributor",
            &["promoters"],
            1000,
        ),
        d(5, "INVITATION", None, 0, "invitation", &["promoters"], 1000),
    ]
}

impl SimTicket {
    pub(crate) fn event<'a>(&self, s: &'a State) -> &'a SimEvent {
        &s.events[self.event_idx as usize]
    }
    pub(crate) fn deal<'a>(&self, s: &'a State) -> &'a Deal {
        &self.event(s).deals[self.deal_idx as usize]
    }
}

fn new_ticket(s: &mut State, at_ms: i64) -> u64 {
    let id = FIRST_TICKET_ID + s.tickets.len() as u64;
    let rng = &mut s.rng;
    let event_idx = rng.below(s.events.len() as u64) as u32;
    let r = rng.below(100);
    // Most sales in the cheaper tiers; a few invitations and VIP.
    let deal_idx = match r {
        0..=29 => 0,
        30..=69 => 1,
        70..=84 => 2,
        85..=91 => 3,
        _ => 4,
    };
    let status = if rng.chance(0.02) {
        Status::PaymentPlanPending
    } else {
        Status::Valid
    };
    let t = SimTicket {
        ticket_id: id,
        order_id: 50_000_000 + id - FIRST_TICKET_ID,
        event_idx,
        deal_idx,
        status,
        ordered_at_ms: at_ms,
        ordered_us: rng.below(1000) as u16,
        updated_at_ms: at_ms,
        scanned_at_ms: None,
        canceled_at_ms: None,
        user_id: 7_000_000 + rng.below(5_000_000),
        payment: rng.below(PAYMENTS.len() as u64) as u8,
        utm: rng.below(UTMS.len() as u64) as u8,
        geo: rng.below(GEOS.len() as u64) as u8,
    };
    s.order.insert((at_ms, id));
    s.tickets.push(t);
    id
}

pub fn generate(cfg: ShotgunConfig) -> State {
    let mut rng = Rng::new(cfg.seed);
    let n_events = cfg.events + cfg.cohosted_events;
    let events = (0..n_events)
        .map(|i| {
            let id = FIRST_EVENT_ID + i as u64 + 1;
            // One event is in the past, the others upcoming; one upcoming event is canceled.
            let start = cfg.start_ms + (i as i64 - 1) * 20 * 86_400_000 + 16 * 3_600_000;
            SimEvent {
                id,
                name: format!("Simulated Festival {}", i + 1),
                currency: if i == 2 { "usd" } else { "eur" },
                cohosted: i >= cfg.events,
                start_ms: start,
                end_ms: start + 34 * 3_600_000,
                created_ms: cfg.start_ms - 60 * 86_400_000,
                canceled_ms: (i == 3).then_some(cfg.start_ms - 86_400_000),
                city: CITIES[i as usize % CITIES.len()],
                deals: deals(id),
            }
        })
        .collect();
    let mut s = State {
        rng: Rng::new(rng.next()),
        now_ms: cfg.start_ms,
        events,
        tickets: Vec::with_capacity(cfg.tickets as usize),
        order: BTreeSet::new(),
        stats: SimStats::default(),
        recent: VecDeque::new(),
        cfg,
    };
    let span = 30 * 86_400_000i64;
    let n = s.cfg.tickets.max(1) as i64;
    for i in 0..s.cfg.tickets as i64 {
        // Spread over the month before start, strictly increasing with the id.
        let at = s.cfg.start_ms - span + i * span / n + 1;
        new_ticket(&mut s, at);
    }
    // History: a share of the old tickets already changed before the start.
    let changes = s.cfg.tickets / 10;
    for k in 0..changes {
        let at = s.cfg.start_ms - span / 2 + (k as i64) * (span / 2) / (changes.max(1) as i64);
        change_one(&mut s, at);
    }
    s
}

fn touch(s: &mut State, idx: usize, at_ms: i64) {
    let t = &mut s.tickets[idx];
    let at = at_ms.max(t.updated_at_ms + 1);
    s.order.remove(&(t.updated_at_ms, t.ticket_id));
    t.updated_at_ms = at;
    s.order.insert((at, t.ticket_id));
}

/// Applies one random change at `at_ms`: refund, cancel, resale, scan or a payment completing.
fn change_one(s: &mut State, at_ms: i64) {
    if s.tickets.is_empty() {
        return;
    }
    let idx = s.rng.below(s.tickets.len() as u64) as usize;
    let kind = s.rng.below(100);
    let t = s.tickets[idx].clone();
    match (t.status, kind) {
        (Status::PaymentPlanPending, _) => s.tickets[idx].status = Status::Valid,
        (Status::Valid, 0..=24) => {
            s.tickets[idx].status = Status::Refunded;
            s.tickets[idx].canceled_at_ms = Some(at_ms - 30);
        }
        (Status::Valid, 25..=34) => {
            s.tickets[idx].status = Status::Canceled;
            s.tickets[idx].canceled_at_ms = Some(at_ms - 30);
        }
        (Status::Valid, 35..=49) => {
            s.tickets[idx].status = Status::Resold;
            // The new holder gets a ticket of their own, same deal and price, same delta.
            let new_id = new_ticket(s, at_ms);
            let n = (new_id - FIRST_TICKET_ID) as usize;
            s.tickets[n].event_idx = t.event_idx;
            s.tickets[n].deal_idx = t.deal_idx;
            s.tickets[n].status = Status::Valid;
        }
        (Status::Valid, _) if t.scanned_at_ms.is_none() => {
            s.tickets[idx].scanned_at_ms = Some(at_ms);
        }
        _ => return,
    }
    touch(s, idx, at_ms);
}

pub fn advance(s: &mut State, minutes: u32) {
    for _ in 0..minutes {
        let start = s.now_ms;
        let sales = s.rng.count(s.cfg.sales_per_minute);
        let changes = s.rng.count(s.cfg.changes_per_minute);
        let total = (sales + changes).max(1) as i64;
        for k in 0..(sales + changes) {
            let at = start + 1 + (k as i64) * (MINUTE_MS - 2) / total;
            if k < sales {
                new_ticket(s, at);
            } else {
                change_one(s, at);
            }
        }
        s.now_ms = start + MINUTE_MS;
    }
}

/// Tickets currently valid per event index.
pub fn valid_per_event(s: &State) -> BTreeMap<u32, u64> {
    let mut m = BTreeMap::new();
    for t in &s.tickets {
        if t.status == Status::Valid {
            *m.entry(t.event_idx).or_default() += 1;
        }
    }
    m
}
