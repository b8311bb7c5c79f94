//! A simulation from its configuration: the catalogue (events of four kinds, their shows and
//! seat maps sized for the orders), then the orders of the 30 days before start and a share of
//! them changed over the last 15 (the history a first sync finds).

use super::catalogue::Layout;
use super::history::{change_one, new_order};
use super::{
    Event, Rng, Show, Zone, CITIES, DAY, FIRST_EVENT_ID, FIRST_SHOW_ID, FRONT_ROWS, MSK_OFFSET,
    UNPAID_SHARE,
};
use crate::qtickets::{QticketsConfig, SimStats, State};

/// Largest seated show: bigger simulations sell seated shows out and spill into the others.
const MAX_SEATED_CAPACITY: u64 = 4_000;
/// Orders general admission is sized for beyond the initial ones (room to advance).
const GA_HEADROOM_ORDERS: u64 = 4_000;

struct Kind {
    name: &'static str,
    layout: Layout,
    city: usize,
    currency: &'static str,
    place: (&'static str, &'static str),
    age: &'static str,
    event_type_id: u64,
    /// (code, name, base price, front price, share of capacity)
    zones: [(&'static str, &'static str, u32, u32, u64); 2],
}

const KINDS: [Kind; 4] = [
    Kind {
        name: "Симфонический вечер",
        layout: Layout::Seated,
        city: 0,
        currency: "RUB",
        place: ("Зал Сим", "ул. Примерная, 1"),
        age: "6+",
        event_type_id: 3,
        zones: [
            ("PARTERRE", "Партер", 2500, 3500, 75),
            ("BALCONY", "Балкон", 1500, 1800, 25),
        ],
    },
    Kind {
        name: "Ночь танцпола",
        layout: Layout::General,
        city: 1,
        currency: "RUB",
        place: ("Клуб Сим", "пр. Примерный, 2"),
        age: "18+",
        event_type_id: 11,
        zones: [
            ("DANCEFLOOR", "Танцпол", 1800, 1800, 90),
            ("VIP", "VIP-зона", 4500, 4500, 10),
        ],
    },
    Kind {
        name: "Euro Chamber Night",
        layout: Layout::Seated,
        city: 2,
        currency: "EUR",
        place: ("Sim Hall", "Example street, 3"),
        age: "12+",
        event_type_id: 3,
        zones: [
            ("PARTERRE", "Parterre", 45, 60, 70),
            ("BALCONY", "Balcony", 30, 35, 30),
        ],
    },
    Kind {
        name: "Невский open air",
        layout: Layout::General,
        city: 3,
        currency: "RUB",
        place: ("Площадка Сим", "наб. Примерная, 4"),
        age: "16+",
        event_type_id: 11,
        zones: [
            ("DANCEFLOOR", "Танцпол", 1200, 1200, 85),
            ("VIP", "VIP-зона", 3000, 3000, 15),
        ],
    },
];

fn build_catalogue(cfg: &QticketsConfig, rng: &mut Rng) -> (Vec<Event>, Vec<Show>) {
    let start_s = cfg.start_ms.div_euclid(1000);
    let midnight = (start_s + MSK_OFFSET).div_euclid(DAY) * DAY - MSK_OFFSET;
    let n_live = cfg.events.max(1) as usize;
    let spe = cfg.shows_per_event.max(1) as u64;
    let show_counts: Vec<u64> = (0..n_live).map(|_| 1 + rng.below(spe)).collect();
    let ga_shows: u64 = (0..n_live)
        .filter(|i| KINDS[i % 4].layout == Layout::General)
        .map(|i| show_counts[i])
        .sum::<u64>()
        .max(1);
    let mut events = Vec::new();
    let mut shows: Vec<Show> = Vec::new();
    // The live events, then one deleted event (small, seated, never sold).
    for i in 0..=n_live {
        let deleted = i == n_live;
        let kind = &KINDS[if deleted { 0 } else { i % 4 }];
        let id = FIRST_EVENT_ID + i as u64;
        let name = match (deleted, i / 4) {
            (true, _) => "Отменённый концерт".to_string(),
            (false, 0) => kind.name.to_string(),
            (false, n) => format!("{} {}", kind.name, n + 1),
        };
        let created_s = start_s - 60 * DAY + i as i64 * 3_637;
        let n_shows = if deleted { 1 } else { show_counts[i] };
        let mut idx = Vec::new();
        for j in 0..n_shows {
            // Tickets this show should expect over the initial orders (2.5 per order).
            let expect = cfg.orders * 5 / 2 / n_live as u64 / n_shows;
            let zones: Vec<Zone> = match (deleted, kind.layout) {
                (true, _) => vec![
                    Zone::seated("PARTERRE", "Партер", 5, 10, (1000, 1000), rng),
                    Zone::seated("BALCONY", "Балкон", 2, 10, (800, 800), rng),
                ],
                (false, Layout::Seated) => {
                    let cap = (expect * 3 / 2 + 200).min(MAX_SEATED_CAPACITY);
                    kind.zones
                        .iter()
                        .map(|&(code, zname, p, fp, share)| {
                            let per_row = if share >= 50 { 20 } else { 16 };
                            let rows = (cap * share / 100)
                                .div_ceil(per_row)
                                .max(FRONT_ROWS as u64 + 2);
                            Zone::seated(code, zname, rows as u32, per_row as u32, (p, fp), rng)
                        })
                        .collect()
                }
                (false, Layout::General) => {
                    // Room for every ticket of every order even if all went to general admission.
                    let cap = (cfg.orders + GA_HEADROOM_ORDERS) * 5 / 2 / ga_shows + 300;
                    kind.zones
                        .iter()
                        .map(|&(code, zname, p, _, share)| {
                            Zone::general(code, zname, (cap * share / 100).max(50) as u32, p)
                        })
                        .collect()
                }
            };
            let show_idx = shows.len();
            let sid = FIRST_SHOW_ID + i as u64 * 100 + j;
            let mut zones = zones;
            for (z, zone) in zones.iter_mut().enumerate() {
                zone.price_id = 700_000 + sid % 10_000 * 10 + 2 * z as u64;
                zone.front_price_id = if zone.is_seated() {
                    zone.price_id + 1
                } else {
                    zone.price_id
                };
            }
            let day = if deleted {
                10
            } else {
                i as i64 * 5 + j as i64 * 2
            };
            shows.push(Show {
                id: sid,
                event: i,
                name: if j == 1 && kind.layout == Layout::General {
                    "Второй день"
                } else {
                    ""
                },
                start_s: midnight + day * DAY + 19 * 3_600,
                duration_s: if kind.layout == Layout::General {
                    6 * 3_600
                } else {
                    2 * 3_600
                },
                sale_start_s: (j % 2 == 1).then_some(start_s - 20 * DAY),
                created_s: created_s + 300 + j as i64 * 60,
                updated_s: created_s + DAY + j as i64 * 60,
                zones,
            });
            idx.push(show_idx);
        }
        let city = &CITIES[kind.city];
        events.push(Event {
            id,
            slug: format!("sim-event-{}-{}", i + 1, city.host),
            name,
            city: kind.city,
            currency: kind.currency,
            place_name: kind.place.0,
            place_address: kind.place.1,
            age: kind.age,
            event_type_id: kind.event_type_id,
            with_payments: i % 2 == 0,
            shows: idx,
            created_s,
            updated_s: created_s + 2 * DAY,
            deleted_s: deleted.then_some(start_s - 40 * DAY),
        });
    }
    (events, shows)
}

pub fn generate(cfg: QticketsConfig) -> State {
    let mut rng = Rng::new(cfg.seed);
    let (events, shows) = build_catalogue(&cfg, &mut rng);
    let start_s = cfg.start_ms.div_euclid(1000);
    let mut s = State {
        rng: Rng::new(rng.next()),
        now_s: start_s,
        events,
        shows,
        orders: Vec::with_capacity(cfg.orders as usize),
        baskets: Vec::with_capacity(cfg.orders as usize * 5 / 2),
        pending: Vec::new(),
        stats: SimStats::default(),
        hooks: None,
        cfg,
    };
    let span = 30 * DAY;
    let n = s.cfg.orders.max(1) as i64;
    for i in 0..s.cfg.orders as i64 {
        // Spread over the month before start, never decreasing with the id.
        let at = start_s - span + i * span / n;
        let delay = 20 + s.rng.below(280) as i64;
        let paid = !s.rng.chance(UNPAID_SHARE);
        new_order(&mut s, at, paid.then(|| (at + delay).min(start_s - 1)));
    }
    // History: a share of the orders already changed before the start (payments of pending
    // orders, refunds, cancels, scans), in time order over the last 15 days.
    let changes = s.cfg.orders / 8;
    let from = start_s - 15 * DAY;
    for k in 0..changes as i64 {
        let at = from + k * (15 * DAY - 60) / changes.max(1) as i64;
        change_one(&mut s, at);
    }
    s
}
