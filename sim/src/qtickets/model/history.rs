//! Changes over simulated time: new orders taking seats, payments, refunds, cancels, scans and
//! batch touches, drawn at random per simulated minute (`advance`) and noted for the webhooks.

use super::{variant, Basket, Order, DAY, REFUND_DEDUCTION_PCT, UNPAID_SHARE};
use crate::qtickets::webhooks::{self, EventType};
use crate::qtickets::State;

/// Creates an order at `at` (paid at `payed` if given); `None` when everything is sold out.
pub(super) fn new_order(s: &mut State, at: i64, payed: Option<i64>) -> Option<u32> {
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
    webhooks::note(s, EventType::Created, order_idx as usize, None);
    match payed {
        Some(p) => pay(s, order_idx as usize, p),
        None => s.pending.push(order_idx),
    }
    Some(order_idx)
}

fn bump_order(o: &mut Order, at: i64) {
    o.updated_s = o.updated_s.max(at);
}

pub(super) fn pay(s: &mut State, oi: usize, at: i64) {
    let o = &mut s.orders[oi];
    o.payed_s = Some(at);
    bump_order(o, at);
    for b in o.baskets() {
        let bk = &mut s.baskets[b];
        bk.updated_s = bk.updated_s.max(at);
        s.shows[bk.show as usize].zones[bk.zone as usize].pay(bk.place);
    }
    webhooks::note(s, EventType::Payed, oi, None);
}

pub(super) fn refund(s: &mut State, bi: usize, at: i64) {
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
    webhooks::note(s, EventType::Refunded, oi, Some(bi));
}

pub(super) fn cancel(s: &mut State, oi: usize, at: i64) {
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
    webhooks::note(s, EventType::Deleted, oi, None);
}

/// Scans a basket once (a second scan changes nothing).
pub(super) fn scan(s: &mut State, b: usize, at: i64) {
    let bk = &mut s.baskets[b];
    if bk.checked_s.is_none() {
        // A scan bumps the basket, not the order.
        bk.checked_s = Some(at);
        bk.updated_s = bk.updated_s.max(at);
        let oi = bk.order as usize;
        webhooks::note(s, EventType::Checked, oi, Some(b));
    }
}

/// First order created at or after `t` (creation time grows with the index).
pub(super) fn first_created_at(s: &State, t: i64) -> usize {
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
pub(super) fn change_one(s: &mut State, at: i64) {
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
                        webhooks::note(s, EventType::Updated, oi, None);
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
