//! The sane ranges of a record's money and time, in one place.
//!
//! Owns the bounds the firewall holds records to: money within ±10^12 minor units (ten billion
//! in major units: beyond any real ticket, and low enough that a sum over nine million
//! tickets fits in an `i64`, so no warehouse view overflows on accepted data), and timestamps
//! from 2000-01-01 UTC up to ten years after now (events are sold ahead, not decades ahead).

/// Largest |amount| in minor units a record may carry.
pub const MAX_MONEY_MINOR: i64 = 1_000_000_000_000;

/// 2000-01-01T00:00:00Z: earlier than any ticket a connector can read.
pub const MIN_TIME_MS: i64 = 946_684_800_000;

/// How far after now a timestamp may lie (ten years of 366 days).
pub const MAX_AHEAD_MS: i64 = 10 * 366 * 86_400_000;

pub fn money_in_range(minor: i64) -> bool {
    minor.unsigned_abs() <= MAX_MONEY_MINOR as u64
}

pub fn time_in_range(ms: i64, now_ms: i64) -> bool {
    (MIN_TIME_MS..=now_ms.saturating_add(MAX_AHEAD_MS)).contains(&ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_hold_and_sums_of_accepted_amounts_fit() {
        assert!(money_in_range(MAX_MONEY_MINOR) && money_in_range(-MAX_MONEY_MINOR));
        assert!(!money_in_range(MAX_MONEY_MINOR + 1) && !money_in_range(i64::MIN));
        // Nine million tickets at the bound still sum inside an i64.
        assert!(MAX_MONEY_MINOR.checked_mul(9_000_000).is_some());
        let now = 1_780_000_000_000;
        assert!(time_in_range(MIN_TIME_MS, now) && time_in_range(now + MAX_AHEAD_MS, now));
        assert!(!time_in_range(MIN_TIME_MS - 1, now) && !time_in_range(0, now));
        assert!(!time_in_range(now + MAX_AHEAD_MS + 1, now) && !time_in_range(i64::MAX, now));
    }
}
