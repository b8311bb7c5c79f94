//! Changes a test asks for, at simulated now (each moves now on by one second so two changes
//! never share an `updated_at`): sell, pay, refund, scan, cancel; and the lookup of a paid
//! order a test can change.

use super::history::{cancel, first_created_at, new_order, pay, refund, scan};
use super::{FIRST_BASKET_ID, FIRST_ORDER_ID};
use crate::qtickets::State;

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
