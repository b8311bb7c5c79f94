//! Simulated events, shows, seat maps, orders and baskets: generated deterministically from
//! the seed and changed over simulated time. All times are unix seconds; the wire renders them
//! as Moscow time (`+03:00`).
//!
//! Seat quantities are kept in step with the orders: taking a seat for an unpaid order holds
//! it, paying turns the hold into a sale, and a refund or cancel frees it again.

use super::webhooks::EventType;
use super::{QticketsConfig, SimStats, State};

pub const FIRST_ORDER_ID: u64 = 2_000_101;
pub const FIRST_BASKET_ID: u64 = 31_000_001;
pub const FIRST_EVENT_ID: u64 = 90_001;
pub const FIRST_SHOW_ID: u64 = 95_001;
pub const FIRST_CLIENT_ID: u64 = 500_000;
pub const DAY: i64 = 86_400;
/// Moscow's fixed offset (no DST since 2014).
pub const MSK_OFFSET: i64 = 3 * 3_600;
/// Rows of a seated zone that carry the higher price.
pub const FRONT_ROWS: u32 = 3;
/// Prefix of the tariff copies of row 1 of every seated zone (`full_PARTERRE-1;6`).
pub const TARIFF_PREFIX: &str = "full_";
/// Largest seated show: bigger simulations sell seated shows out and spill into the others.
const MAX_SEATED_CAPACITY: u64 = 4_000;
/// Orders general admission is sized for beyond the initial ones (room to advance).
const GA_HEADROOM_ORDERS: u64 = 4_000;
/// Share of orders left unpaid when created.
const UNPAID_SHARE: f64 = 0.2;
/// Refund deduction withheld, in percent of the basket price (rounded half up).
pub const REFUND_DEDUCTION_PCT: u32 = 10;

/// splitmix64: small, fast, and the same on every platform.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    /// A Poisson-ish count with mean `m` (integer part plus a coin for the fraction).
    pub fn count(&mut self, m: f64) -> u64 {
        let m = m.max(0.0);
        let base = m.floor();
        base as u64 + self.chance(m - base) as u64
    }
}

/// The splitmix64 finaliser, also used to derive stable tokens from ids.
pub fn mix(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

// ---------------------------------------------------------------------------------------------
// Time

/// `2025-11-03T14:05:12+03:00`
pub fn fmt_msk(s: i64) -> String {
    let l = s + MSK_OFFSET;
    let (y, m, d) = civil(l.div_euclid(DAY));
    let r = l.rem_euclid(DAY);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+03:00",
        r / 3_600,
        r / 60 % 60,
        r % 60
    )
}

/// The Moscow calendar date of an instant, `YYYY-MM-DD`.
pub fn msk_date(s: i64) -> String {
    let (y, m, d) = civil((s + MSK_OFFSET).div_euclid(DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_from_civil(y: i64, mo: i64, d: i64) -> i64 {
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = if yy >= 0 { yy } else { yy - 399 } / 400;
    let yoe = yy - era * 400;
    let doy = (153 * (if mo > 2 { mo - 3 } else { mo + 9 }) + 2) / 5 + d - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

/// Parses a filter timestamp into unix milliseconds: `YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]]`
/// followed by `Z`, `±HH:MM`, `±HHMM` or nothing (then Moscow time, as the API's own clock).
pub fn parse_ts(text: &str) -> Option<i64> {
    let t = text.trim();
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = t.get(r)?;
        if s.bytes().all(|c| c.is_ascii_digit()) && !s.is_empty() {
            s.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let (mut h, mut mi, mut se, mut ms) = (0, 0, 0, 0);
    let mut i = 10;
    if b.len() > 10 {
        if b[10] != b'T' && b[10] != b' ' {
            return None;
        }
        h = num(11..13)?;
        if b.get(13) != Some(&b':') {
            return None;
        }
        mi = num(14..16)?;
        i = 16;
        if b.get(16) == Some(&b':') {
            se = num(17..19)?;
            i = 19;
            if b.get(19) == Some(&b'.') {
                let mut j = 20;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                let frac = t.get(20..j)?;
                let f3: String = frac.chars().chain("000".chars()).take(3).collect();
                ms = f3.parse().ok()?;
                i = j;
            }
        }
    }
    let offset_s = match &t[i..] {
        "" => MSK_OFFSET,
        "Z" | "z" => 0,
        rest => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = rest[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let oh: i64 = digits[..2].parse().ok()?;
            let om: i64 = digits[2..].parse().ok()?;
            sign * (oh * 3_600 + om * 60)
        }
    };
    if h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let local = days_from_civil(y, mo, d) * DAY + h * 3_600 + mi * 60 + se;
    Some((local - offset_s) * 1000 + ms)
}

// ---------------------------------------------------------------------------------------------
// Catalogue

pub struct City {
    pub id: u64,
    pub name: &'static str,
    pub timezone: &'static str,
    pub host: &'static str,
    pub coords: (f64, f64),
}

pub const CITIES: [City; 4] = [
    City {
        id: 1,
        name: "Москва",
        timezone: "Europe/Moscow",
        host: "msk",
        coords: (55.7512, 37.6184),
    },
    City {
        id: 4,
        name: "Новосибирск",
        timezone: "Asia/Novosibirsk",
        host: "nsk",
        coords: (55.0302, 82.9204),
    },
    City {
        id: 7,
        name: "Калининград",
        timezone: "Europe/Kaliningrad",
        host: "kgd",
        coords: (54.7104, 20.4522),
    },
    City {
        id: 2,
        name: "Санкт-Петербург",
        timezone: "Europe/Moscow",
        host: "spb",
        coords: (59.9386, 30.3141),
    },
];

/// Place states of a seated zone.
pub const FREE: u8 = 0;
pub const HELD: u8 = 1;
pub const PAID: u8 = 2;
pub const DISABLED: u8 = 3;

/// A zone of a show's seat map: seated (`rows > 0`, one node per place) or general admission
/// (one node for the whole zone, `capacity` tickets).
pub struct Zone {
    pub code: &'static str,
    pub name: &'static str,
    pub price: u32,
    pub front_price: u32,
    pub rows: u32,
    pub per_row: u32,
    pub capacity: u32,
    /// Seated: one state per place (row-major).
    pub places: Vec<u8>,
    /// Seated: the free places, in no particular order.
    free: Vec<u32>,
    /// Tickets held by unpaid orders / sold, over the zone.
    pub held: u32,
    pub paid: u32,
    pub price_id: u64,
    pub front_price_id: u64,
}

/// Quantities of one seat-map node.
pub struct Qty {
    pub max: u32,
    pub free: u32,
    pub held: u32,
    pub paid: u32,
    pub disabled: bool,
}

impl Zone {
    fn seated(
        code: &'static str,
        name: &'static str,
        rows: u32,
        per_row: u32,
        prices: (u32, u32),
        rng: &mut Rng,
    ) -> Self {
        let n = rows * per_row;
        let mut places = vec![FREE; n as usize];
        for (i, p) in places.iter_mut().enumerate() {
            // A few broken seats, always the last place of the last row.
            if rng.chance(0.02) || i as u32 == n - 1 {
                *p = DISABLED;
            }
        }
        // Free list in reverse so early sales fill the front when the draws are low.
        let free = (0..n)
            .rev()
            .filter(|&i| places[i as usize] == FREE)
            .collect();
        Self {
            code,
            name,
            price: prices.0,
            front_price: prices.1,
            rows,
            per_row,
            capacity: 0,
            places,
            free,
            held: 0,
            paid: 0,
            price_id: 0,
            front_price_id: 0,
        }
    }

    fn general(code: &'static str, name: &'static str, capacity: u32, price: u32) -> Self {
        Self {
            code,
            name,
            price,
            front_price: price,
            rows: 0,
            per_row: 0,
            capacity,
            places: Vec::new(),
            free: Vec::new(),
            held: 0,
            paid: 0,
            price_id: 0,
            front_price_id: 0,
        }
    }

    pub fn is_seated(&self) -> bool {
        self.rows > 0
    }

    /// (row, place), 1-based; general admission is `1;1`.
    pub fn row_place(&self, place: u32) -> (u32, u32) {
        if self.is_seated() {
            (place / self.per_row + 1, place % self.per_row + 1)
        } else {
            (1, 1)
        }
    }

    /// The basket `seat_id` / seat node id: `PARTERRE-3;7`.
    pub fn seat_id(&self, place: u32) -> String {
        let (r, p) = self.row_place(place);
        format!("{}-{r};{p}", self.code)
    }

    pub fn seat_name(&self, place: u32) -> String {
        if self.is_seated() {
            let (r, p) = self.row_place(place);
            format!("{}: ряд {r}, место {p}", self.name)
        } else {
            self.name.to_string()
        }
    }

    pub fn price_of(&self, place: u32) -> u32 {
        if self.row_place(place).0 <= FRONT_ROWS {
            self.front_price
        } else {
            self.price
        }
    }

    /// Places with a tariff copy node: row 1 of seated zones.
    pub fn has_tariff_copy(&self, place: u32) -> bool {
        self.is_seated() && place < self.per_row
    }

    pub fn qty(&self, place: u32) -> Qty {
        if self.is_seated() {
            let st = self.places[place as usize];
            Qty {
                max: 1,
                free: (st == FREE) as u32,
                held: (st == HELD) as u32,
                paid: (st == PAID) as u32,
                disabled: st == DISABLED,
            }
        } else {
            Qty {
                max: self.capacity,
                free: self.capacity - self.held - self.paid,
                held: self.held,
                paid: self.paid,
                disabled: false,
            }
        }
    }

    pub fn left(&self) -> u32 {
        if self.is_seated() {
            self.free.len() as u32
        } else {
            self.capacity - self.held - self.paid
        }
    }

    /// Holds one ticket for an unpaid basket; `None` when sold out.
    fn take(&mut self, rng: &mut Rng) -> Option<u32> {
        if self.is_seated() {
            if self.free.is_empty() {
                return None;
            }
            // Mostly the next seat in line (neighbours in one order), sometimes anywhere.
            let i = if rng.chance(0.7) {
                self.free.len() - 1
            } else {
                rng.below(self.free.len() as u64) as usize
            };
            let place = self.free.swap_remove(i);
            self.places[place as usize] = HELD;
            self.held += 1;
            Some(place)
        } else if self.held + self.paid < self.capacity {
            self.held += 1;
            Some(0)
        } else {
            None
        }
    }

    fn pay(&mut self, place: u32) {
        if self.is_seated() {
            debug_assert_eq!(self.places[place as usize], HELD);
            self.places[place as usize] = PAID;
        }
        self.held -= 1;
        self.paid += 1;
    }

    fn release(&mut self, place: u32, paid: bool) {
        if self.is_seated() {
            debug_assert_eq!(self.places[place as usize], if paid { PAID } else { HELD });
            self.places[place as usize] = FREE;
            self.free.push(place);
        }
        if paid {
            self.paid -= 1;
        } else {
            self.held -= 1;
        }
    }
}

pub struct Show {
    pub id: u64,
    pub event: usize,
    pub name: &'static str,
    pub start_s: i64,
    pub duration_s: i64,
    pub sale_start_s: Option<i64>,
    pub created_s: i64,
    pub updated_s: i64,
    pub zones: Vec<Zone>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Seated,
    General,
}

pub struct Event {
    pub id: u64,
    pub name: String,
    pub slug: String,
    pub city: usize,
    pub currency: &'static str,
    pub place_name: &'static str,
    pub place_address: &'static str,
    pub age: &'static str,
    pub event_type_id: u64,
    pub with_payments: bool,
    /// Indexes into `State::shows`.
    pub shows: Vec<usize>,
    pub created_s: i64,
    pub updated_s: i64,
    pub deleted_s: Option<i64>,
}

/// Order variant bits (which optional parts an order carries).
pub mod variant {
    /// Organisation fields on baskets and `fields` = company/INN/KPP.
    pub const CORPORATE: u8 = 1;
    /// `utm` is an object.
    pub const UTM: u8 = 2;
    /// `custom` = `{"comment": ...}`.
    pub const CUSTOM: u8 = 4;
    /// `integrations` = roistat.
    pub const ROISTAT: u8 = 8;
    /// A promo code took 10% off every basket.
    pub const DISCOUNT: u8 = 16;
    /// The client gave a middle name.
    pub const MIDDLENAME: u8 = 32;
    /// Bits 6–7: the payment type (index into `PAYMENT_TYPES`).
    pub const PAYMENT_SHIFT: u8 = 6;
}

pub const PAYMENT_TYPES: [&str; 4] = ["card", "card", "bankcard", "5"];

pub struct Order {
    pub event: u16,
    pub variant: u8,
    pub n_baskets: u8,
    pub first_basket: u32,
    pub client: u32,
    pub created_s: i64,
    pub updated_s: i64,
    pub payed_s: Option<i64>,
    pub deleted_s: Option<i64>,
}

impl Order {
    pub fn baskets(&self) -> std::ops::Range<usize> {
        let f = self.first_basket as usize;
        f..f + self.n_baskets as usize
    }
    pub fn is_pending(&self) -> bool {
        self.payed_s.is_none() && self.deleted_s.is_none()
    }
    pub fn payment_type(&self) -> &'static str {
        PAYMENT_TYPES[(self.variant >> variant::PAYMENT_SHIFT) as usize & 3]
    }
}

/// One ticket line. Quantity is always 1 (the only value seen live).
pub struct Basket {
    pub order: u32,
    pub show: u16,
    pub zone: u8,
    pub place: u32,
    pub original_price: u32,
    pub price: u32,
    pub created_s: i64,
    pub updated_s: i64,
    pub checked_s: Option<i64>,
    pub deleted_s: Option<i64>,
    pub refunded_s: Option<i64>,
    /// `None` = null; a cancel sets `Some(0)`.
    pub refunded_amount: Option<u32>,
    pub deduction: Option<u32>,
}

impl Basket {
    /// Holds its seat (not refunded, not deleted).
    fn holds_seat(&self) -> bool {
        self.deleted_s.is_none() && self.refunded_s.is_none()
    }
}

/// 12 digits, unique per basket id (a bijection modulo 10^10 behind a fixed prefix).
pub fn barcode(basket_id: u64) -> String {
    let n = (basket_id as u128 * 3_141_592_653u128) % 10_000_000_000u128;
    format!("87{n:010}")
}

/// The order's 10-character `uniqid` (inside its pay, cancel and ticket URLs).
pub fn uniqid(order_id: u64) -> String {
    const ABC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut x = mix(order_id ^ 0x005E_ED0F_0DE5);
    (0..10)
        .map(|_| {
            let c = ABC[(x % 62) as usize] as char;
            x /= 62;
            c
        })
        .collect()
}

/// A 32-hex token derived from an id (cancel and ticket URLs).
pub fn token32(id: u64, salt: u64) -> String {
    format!("{:016x}{:016x}", mix(id ^ salt), mix(id.wrapping_add(salt)))
}

// ---------------------------------------------------------------------------------------------
// Generation

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

/// Creates an order at `at` (paid at `payed` if given); `None` when everything is sold out.
fn new_order(s: &mut State, at: i64, payed: Option<i64>) -> Option<u32> {
    let n_live = s.events.iter().filter(|e| e.deleted_s.is_none()).count();
    let r = s.rng.below(100);
    let want = match r {
        0..=39 => 1,
        40..=74 => 2,
        75..=89 => 3,
        _ => 4,
    };
    let e0 = s.rng.below(n_live as u64) as usize;
    let zone_pick = s.rng.below(100);
    let order_idx = s.orders.len() as u32;
    let first_basket = s.baskets.len() as u32;
    // The chosen event's shows first (a random one first), then the other events in turn.
    let mut taken: Vec<(usize, usize, u32)> = Vec::new();
    'outer: for de in 0..n_live {
        let ev = (e0 + de) % n_live;
        let shows = s.events[ev].shows.clone();
        let sh0 = s.rng.below(shows.len() as u64) as usize;
        for ds in 0..shows.len() {
            let sh = shows[(sh0 + ds) % shows.len()];
            let nz = s.shows[sh].zones.len();
            let z0 = if zone_pick < 70 { 0 } else { 1 % nz };
            for dz in 0..nz {
                let z = (z0 + dz) % nz;
                while taken.len() < want {
                    let rng = &mut s.rng;
                    match s.shows[sh].zones[z].take(rng) {
                        Some(p) => taken.push((sh, z, p)),
                        None => break,
                    }
                }
                if taken.len() == want {
                    break 'outer;
                }
            }
            if !taken.is_empty() {
                break 'outer;
            }
        }
    }
    if taken.is_empty() {
        return None;
    }
    let event = s.shows[taken[0].0].event;
    let mut v = (s.rng.below(4) as u8) << variant::PAYMENT_SHIFT;
    for (bit, p) in [
        (variant::CORPORATE, 0.12),
        (variant::UTM, 0.4),
        (variant::CUSTOM, 0.15),
        (variant::ROISTAT, 0.2),
        (variant::DISCOUNT, 0.1),
        (variant::MIDDLENAME, 0.3),
    ] {
        if s.rng.chance(p) {
            v |= bit;
        }
    }
    let client = s.rng.below((s.cfg.orders / 2).max(50) + order_idx as u64) as u32 + 1;
    let n = taken.len() as i64;
    for (k, &(sh, z, place)) in taken.iter().enumerate() {
        let original = s.shows[sh].zones[z].price_of(place);
        let price = if v & variant::DISCOUNT != 0 {
            original - original / 10
        } else {
            original
        };
        let created = at - (n - k as i64) * (3 + s.rng.below(40) as i64);
        s.baskets.push(Basket {
            order: order_idx,
            show: sh as u16,
            zone: z as u8,
            place,
            original_price: original,
            price,
            created_s: created,
            updated_s: created,
            checked_s: None,
            deleted_s: None,
            refunded_s: None,
            refunded_amount: None,
            deduction: None,
        });
    }
    s.orders.push(Order {
        event: event as u16,
        variant: v,
        n_baskets: taken.len() as u8,
        first_basket,
        client,
        created_s: at,
        updated_s: at,
        payed_s: None,
        deleted_s: None,
    });
    super::webhooks::note(s, EventType::Created, order_idx as usize, None);
    match payed {
        Some(p) => pay(s, order_idx as usize, p),
        None => s.pending.push(order_idx),
    }
    Some(order_idx)
}

fn bump_order(o: &mut Order, at: i64) {
    o.updated_s = o.updated_s.max(at);
}

fn pay(s: &mut State, oi: usize, at: i64) {
    let o = &mut s.orders[oi];
    o.payed_s = Some(at);
    bump_order(o, at);
    for b in o.baskets() {
        let bk = &mut s.baskets[b];
        bk.updated_s = bk.updated_s.max(at);
        s.shows[bk.show as usize].zones[bk.zone as usize].pay(bk.place);
    }
    super::webhooks::note(s, EventType::Payed, oi, None);
}

fn refund(s: &mut State, bi: usize, at: i64) {
    let bk = &mut s.baskets[bi];
    // Rounded half up.
    let deduction = (bk.price * REFUND_DEDUCTION_PCT + 50) / 100;
    bk.refunded_s = Some(at);
    bk.refunded_amount = Some(bk.price - deduction);
    bk.deduction = Some(deduction);
    bk.updated_s = bk.updated_s.max(at);
    s.shows[bk.show as usize].zones[bk.zone as usize].release(bk.place, true);
    let oi = bk.order as usize;
    bump_order(&mut s.orders[oi], at);
    super::webhooks::note(s, EventType::Refunded, oi, Some(bi));
}

fn cancel(s: &mut State, oi: usize, at: i64) {
    let paid = s.orders[oi].payed_s.is_some();
    let o = &mut s.orders[oi];
    o.deleted_s = Some(at);
    bump_order(o, at);
    for b in o.baskets() {
        let bk = &mut s.baskets[b];
        if bk.holds_seat() {
            s.shows[bk.show as usize].zones[bk.zone as usize].release(bk.place, paid);
        }
        bk.deleted_s = Some(at);
        bk.updated_s = bk.updated_s.max(at);
        // Observed on cancelled orders: amount 0, no refund time, whatever happened before.
        bk.refunded_amount = Some(0);
        bk.refunded_s = None;
        bk.deduction = None;
    }
    super::webhooks::note(s, EventType::Deleted, oi, None);
}

/// Scans a basket once (a second scan changes nothing).
fn scan(s: &mut State, b: usize, at: i64) {
    let bk = &mut s.baskets[b];
    if bk.checked_s.is_none() {
        // A scan bumps the basket, not the order.
        bk.checked_s = Some(at);
        bk.updated_s = bk.updated_s.max(at);
        let oi = bk.order as usize;
        super::webhooks::note(s, EventType::Checked, oi, Some(b));
    }
}

/// First order created at or after `t` (creation time grows with the index).
fn first_created_at(s: &State, t: i64) -> usize {
    s.orders.partition_point(|o| o.created_s < t)
}

/// A random order created before `at`: with probability `p_recent` among those of the last
/// `recent_days`, else among all.
fn pick_order(s: &mut State, at: i64, recent_days: i64, p_recent: f64) -> Option<usize> {
    let end = first_created_at(s, at);
    if end == 0 {
        return None;
    }
    let lo = if s.rng.chance(p_recent) {
        first_created_at(s, at - recent_days * DAY).min(end - 1)
    } else {
        0
    };
    Some(lo + s.rng.below((end - lo) as u64) as usize)
}

/// A pending order created before `at`, pruning orders no longer pending.
fn pick_pending(s: &mut State, at: i64) -> Option<usize> {
    for _ in 0..8 {
        if s.pending.is_empty() {
            return None;
        }
        let k = s.rng.below(s.pending.len() as u64) as usize;
        let oi = s.pending[k] as usize;
        if !s.orders[oi].is_pending() {
            s.pending.swap_remove(k);
            continue;
        }
        if s.orders[oi].created_s < at {
            s.pending.swap_remove(k);
            return Some(oi);
        }
    }
    None
}

/// A random basket of a paid, live order (created before `at`) that still holds its seat.
fn pick_sold_basket(s: &mut State, at: i64, recent_days: i64, p_recent: f64) -> Option<usize> {
    for _ in 0..8 {
        let oi = pick_order(s, at, recent_days, p_recent)?;
        let o = &s.orders[oi];
        if o.deleted_s.is_some() || o.payed_s.is_none_or(|p| p > at) {
            continue;
        }
        let live: Vec<usize> = o.baskets().filter(|&b| s.baskets[b].holds_seat()).collect();
        if live.is_empty() {
            continue;
        }
        return Some(live[s.rng.below(live.len() as u64) as usize]);
    }
    None
}

/// Applies one random change at `at`: a pending order paid, a basket refunded, an order
/// cancelled, a basket scanned, or a batch of orders touched with one identical `updated_at`.
fn change_one(s: &mut State, at: i64) {
    match s.rng.below(100) {
        0..=24 => {
            if let Some(oi) = pick_pending(s, at) {
                pay(s, oi, at);
            }
        }
        25..=49 => {
            // Refunds hit orders of any age, mostly recent ones.
            if let Some(b) = pick_sold_basket(s, at, 3, 0.8) {
                refund(s, b, at);
            }
        }
        50..=61 => {
            let target = if s.rng.chance(0.7) {
                // Mostly an unpaid reservation that expired.
                pick_pending(s, at)
            } else {
                pick_order(s, at, 3, 0.8).filter(|&oi| {
                    let o = &s.orders[oi];
                    o.deleted_s.is_none() && o.payed_s.is_some_and(|p| p <= at)
                })
            };
            if let Some(oi) = target {
                cancel(s, oi, at);
            }
        }
        62..=94 => {
            if let Some(b) = pick_sold_basket(s, at, 10, 0.7) {
                scan(s, b, at);
            }
        }
        _ => {
            let k = 3 + s.rng.below(4);
            for _ in 0..k {
                if let Some(oi) = pick_order(s, at, 5, 0.5) {
                    let o = &mut s.orders[oi];
                    if o.deleted_s.is_none() {
                        bump_order(o, at);
                        super::webhooks::note(s, EventType::Updated, oi, None);
                    }
                }
            }
        }
    }
}

pub fn advance(s: &mut State, minutes: u32) {
    for _ in 0..minutes {
        let start = s.now_s;
        let new = s.rng.count(s.cfg.orders_per_minute);
        let changes = s.rng.count(s.cfg.changes_per_minute);
        let total = (new + changes).max(1) as i64;
        for k in 0..(new + changes) {
            let at = start + 1 + (k as i64) * 57 / total;
            if k < new {
                let paid = !s.rng.chance(UNPAID_SHARE);
                let payed = (at + 2 + s.rng.below(20) as i64).min(start + 59);
                new_order(s, at, paid.then_some(payed));
            } else {
                change_one(s, at);
            }
        }
        s.now_s = start + 60;
    }
}

// ---------------------------------------------------------------------------------------------
// Changes a test asks for (at simulated now; each moves now on by one second so two changes
// never share an `updated_at`).

/// Why a change a test asked for could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeError {
    UnknownOrder(u64),
    /// The order is cancelled, unpaid or has no basket left that holds its seat.
    NothingToChange(u64, &'static str),
    SoldOut,
}

impl std::fmt::Display for ChangeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnknownOrder(id) => write!(f, "order {id} does not exist in the simulation"),
            Self::NothingToChange(id, what) => write!(f, "order {id}: {what}"),
            Self::SoldOut => write!(f, "every show is sold out"),
        }
    }
}

impl std::error::Error for ChangeError {}

fn order_index(s: &State, order_id: u64) -> Result<usize, ChangeError> {
    order_id
        .checked_sub(FIRST_ORDER_ID)
        .map(|i| i as usize)
        .filter(|&i| i < s.orders.len())
        .ok_or(ChangeError::UnknownOrder(order_id))
}

fn tick(s: &mut State) -> i64 {
    let at = s.now_s;
    s.now_s += 1;
    at
}

/// A paid live basket of the order, the first one holding its seat.
fn live_basket(s: &State, oi: usize, order_id: u64) -> Result<usize, ChangeError> {
    let o = &s.orders[oi];
    if o.deleted_s.is_some() {
        return Err(ChangeError::NothingToChange(order_id, "it is cancelled"));
    }
    if o.payed_s.is_none() {
        return Err(ChangeError::NothingToChange(order_id, "it is not paid"));
    }
    o.baskets()
        .find(|&b| s.baskets[b].holds_seat())
        .ok_or(ChangeError::NothingToChange(
            order_id,
            "no basket holds a seat",
        ))
}

/// A new order, paid at once (`paid`) or left pending; its id.
pub fn sell_now(s: &mut State, paid: bool) -> Result<u64, ChangeError> {
    let at = tick(s);
    let oi = new_order(s, at, paid.then_some(at)).ok_or(ChangeError::SoldOut)?;
    Ok(FIRST_ORDER_ID + oi as u64)
}

/// Refunds the first basket of the order that holds its seat; the basket's id.
pub fn refund_now(s: &mut State, order_id: u64) -> Result<u64, ChangeError> {
    let oi = order_index(s, order_id)?;
    let b = live_basket(s, oi, order_id)?;
    let at = tick(s);
    refund(s, b, at);
    Ok(FIRST_BASKET_ID + b as u64)
}

/// Scans the first unscanned basket of the order that holds its seat; the basket's id.
pub fn scan_now(s: &mut State, order_id: u64) -> Result<u64, ChangeError> {
    let oi = order_index(s, order_id)?;
    live_basket(s, oi, order_id)?;
    let b = s.orders[oi]
        .baskets()
        .find(|&b| s.baskets[b].holds_seat() && s.baskets[b].checked_s.is_none())
        .ok_or(ChangeError::NothingToChange(
            order_id,
            "every basket is scanned",
        ))?;
    let at = tick(s);
    scan(s, b, at);
    Ok(FIRST_BASKET_ID + b as u64)
}

/// Pays a pending order.
pub fn pay_now(s: &mut State, order_id: u64) -> Result<(), ChangeError> {
    let oi = order_index(s, order_id)?;
    if !s.orders[oi].is_pending() {
        return Err(ChangeError::NothingToChange(order_id, "it is not pending"));
    }
    let at = tick(s);
    pay(s, oi, at);
    Ok(())
}

/// Cancels a live order.
pub fn cancel_now(s: &mut State, order_id: u64) -> Result<(), ChangeError> {
    let oi = order_index(s, order_id)?;
    if s.orders[oi].deleted_s.is_some() {
        return Err(ChangeError::NothingToChange(
            order_id,
            "it is already cancelled",
        ));
    }
    let at = tick(s);
    cancel(s, oi, at);
    Ok(())
}

/// The newest paid, live order created before `before_s` that still has a basket holding its
/// seat.
pub fn paid_order_before(s: &State, before_s: i64) -> Option<u64> {
    let end = first_created_at(s, before_s);
    (0..end)
        .rev()
        .find(|&oi| live_basket(s, oi, 0).is_ok())
        .map(|oi| FIRST_ORDER_ID + oi as u64)
}
