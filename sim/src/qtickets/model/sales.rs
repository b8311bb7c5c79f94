//! What was sold: orders (with the variant bits that pick their optional parts) and their
//! baskets, one ticket each, plus the identifiers derived from ids (barcodes, `uniqid`, URL
//! tokens).

use super::rng::mix;

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
    pub(super) fn holds_seat(&self) -> bool {
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
