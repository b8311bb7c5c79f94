//! Civil dates of the proleptic Gregorian calendar and days since 1970-01-01: the one
//! implementation the host and both simulators use (Howard Hinnant's `days_from_civil` /
//! `civil_from_days`, <https://howardhinnant.github.io/date_algorithms.html>).
//!
//! Owns only the arithmetic: no parsing, no formatting, no time zones. `#![no_std]` and without
//! dependencies, so that any crate can take it. Exact for every year whose day count fits in an
//! `i64` with room for the intermediate products (|year| < 10^13 is far inside that).

#![no_std]

/// Days from 0000-03-01 to 1970-01-01: the algorithm counts from a March 1st so that the leap
/// day is the last day of its year.
const EPOCH_SHIFT: i64 = 719_468;
/// Days in 400 Gregorian years (an era).
const DAYS_PER_ERA: i64 = 146_097;

/// Days since 1970-01-01 of `y-m-d`, without checking the date.
///
/// Defined for `m` in `1..=12`; a day past the month's end rolls over into the next month
/// (`2025-02-30` is `2025-03-02`), as do months 13 and 14 into the next year. Use
/// [`days_from_valid_civil`] where a bad date must be refused.
pub const fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let m = m as i64;
    let yy = if m <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy.rem_euclid(400);
    // Months counted from March: March = 0, …, February = 11.
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * DAYS_PER_ERA + doe - EPOCH_SHIFT
}

/// Days since 1970-01-01 of a valid civil date, or `None` (month 0 or 13, day 0, February 30,
/// April 31, February 29 of a common year, …).
pub const fn days_from_valid_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    if m < 1 || m > 12 || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01.
pub const fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + EPOCH_SHIFT;
    let era = z.div_euclid(DAYS_PER_ERA);
    let doe = z.rem_euclid(DAYS_PER_ERA);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + (m <= 2) as i64, m, d)
}

/// Gregorian leap year: every 4th, except centuries not divisible by 400.
pub const fn is_leap_year(y: i64) -> bool {
    y.rem_euclid(4) == 0 && (y.rem_euclid(100) != 0 || y.rem_euclid(400) == 0)
}

/// Days in month `m` (1..=12) of year `y`; 0 for a month outside 1..=12.
pub const fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(y) => 29,
        2 => 28,
        _ => 0,
    }
}
