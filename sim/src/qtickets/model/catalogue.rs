//! What is on sale: cities, events, their shows, and each show's seat map of zones (seated,
//! one state per place, or general admission, one counter), whose quantities follow the
//! orders (take → held, pay → paid, refund or cancel → free).

use super::{Rng, FRONT_ROWS};

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
    pub(super) fn seated(
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

    pub(super) fn general(
        code: &'static str,
        name: &'static str,
        capacity: u32,
        price: u32,
    ) -> Self {
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
    pub(super) fn take(&mut self, rng: &mut Rng) -> Option<u32> {
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

    pub(super) fn pay(&mut self, place: u32) {
        if self.is_seated() {
            debug_assert_eq!(self.places[place as usize], HELD);
            self.places[place as usize] = PAID;
        }
        self.held -= 1;
        self.paid += 1;
    }

    pub(super) fn release(&mut self, place: u32, paid: bool) {
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
