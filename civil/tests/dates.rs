//! Properties of the civil-date arithmetic: round trips over a wide range, known dates (epoch,
//! leap days, century years), refusal of impossible dates, and agreement with the SDK's guest
//! copy of the algorithm (kept there on purpose, see `plugins/sdk/src/time.rs`).

use boxoffice_civil::{
    civil_from_days, days_from_civil, days_from_valid_civil, days_in_month, is_leap_year,
};

/// splitmix64: spread samples deterministically over a range too wide to walk.
fn samples(seed: u64, n: usize) -> impl Iterator<Item = u64> {
    let mut x = seed;
    (0..n).map(move |_| {
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

#[test]
fn every_day_of_six_thousand_years_round_trips_and_follows_its_predecessor() {
    // -3000-01-01 … 3000-12-31, day by day: each day is the previous one plus one.
    let first = days_from_civil(-3000, 1, 1);
    let last = days_from_civil(3000, 12, 31);
    let mut prev = civil_from_days(first - 1);
    assert_eq!(prev, (-3001, 12, 31));
    for z in first..=last {
        let (y, m, d) = civil_from_days(z);
        assert!(
            (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m),
            "{z}: {y}-{m}-{d}"
        );
        assert_eq!(days_from_civil(y, m, d), z, "{y}-{m}-{d}");
        assert_eq!(days_from_valid_civil(y, m, d), Some(z), "{y}-{m}-{d}");
        let next = if prev.2 < days_in_month(prev.0, prev.1) {
            (prev.0, prev.1, prev.2 + 1)
        } else if prev.1 < 12 {
            (prev.0, prev.1 + 1, 1)
        } else {
            (prev.0 + 1, 1, 1)
        };
        assert_eq!((y, m, d), next, "the day after {prev:?}");
        prev = (y, m, d);
    }
}

#[test]
fn day_counts_far_from_the_epoch_round_trip() {
    // ±10^12 days is about ±2.7 billion years.
    for r in samples(0x00C1_u64, 200_000) {
        let z = (r % 2_000_000_000_001) as i64 - 1_000_000_000_000;
        let (y, m, d) = civil_from_days(z);
        assert!(
            (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m),
            "{z}"
        );
        assert_eq!(days_from_civil(y, m, d), z, "{z} → {y}-{m}-{d}");
    }
}

#[test]
fn known_dates_have_their_day_counts() {
    for (ymd, days) in [
        ((1970, 1, 1), 0),
        ((1969, 12, 31), -1),
        ((1970, 3, 1), 59),
        ((2000, 1, 1), 10_957),
        ((2000, 2, 29), 11_016),
        ((2000, 3, 1), 11_017),
        ((2024, 2, 29), 19_782),
        ((2026, 3, 1), 20_513),
        ((2100, 2, 28), 47_540),
        ((2100, 3, 1), 47_541),
        ((1600, 2, 29), -135_081),
        ((0, 3, 1), -719_468),
        ((-1, 12, 31), -719_529),
    ] {
        let (y, m, d) = ymd;
        assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        assert_eq!(days_from_valid_civil(y, m, d), Some(days), "{y}-{m}-{d}");
        assert_eq!(civil_from_days(days), ymd, "{days}");
    }
    // 2026-03-01T00:00:00Z in unix seconds, as the simulators' default start.
    assert_eq!(days_from_civil(2026, 3, 1) * 86_400, 1_772_323_200);
}

#[test]
fn leap_years_follow_the_gregorian_century_rule() {
    for (y, leap) in [
        (2000, true),
        (2024, true),
        (2025, false),
        (1900, false),
        (2100, false),
        (2400, true),
        (0, true),
        (-4, true),
        (-100, false),
    ] {
        assert_eq!(is_leap_year(y), leap, "{y}");
        assert_eq!(days_in_month(y, 2), if leap { 29 } else { 28 }, "{y}");
        let year = days_from_civil(y + 1, 1, 1) - days_from_civil(y, 1, 1);
        assert_eq!(year, if leap { 366 } else { 365 }, "{y}");
    }
}

#[test]
fn impossible_dates_are_refused_by_the_checked_form() {
    for (y, m, d) in [
        (2025, 2, 29),
        (2100, 2, 29),
        (2000, 2, 30),
        (2025, 4, 31),
        (2025, 13, 1),
        (2025, 0, 1),
        (2025, 1, 0),
        (2025, 1, 32),
    ] {
        assert_eq!(days_from_valid_civil(y, m, d), None, "{y}-{m}-{d}");
    }
    assert_eq!(days_in_month(2025, 0), 0);
    assert_eq!(days_in_month(2025, 13), 0);
}

#[test]
fn the_unchecked_form_rolls_days_and_months_over() {
    // What the simulators rely on for lenient filter dates.
    assert_eq!(days_from_civil(2025, 2, 30), days_from_civil(2025, 3, 2));
    assert_eq!(days_from_civil(2025, 4, 31), days_from_civil(2025, 5, 1));
    assert_eq!(days_from_civil(2025, 13, 1), days_from_civil(2026, 1, 1));
    assert_eq!(days_from_civil(2025, 14, 1), days_from_civil(2026, 2, 1));
    assert_eq!(days_from_civil(2025, 1, 0), days_from_civil(2024, 12, 31));
}

#[test]
fn the_sdk_guest_copy_agrees_with_this_crate() {
    use boxoffice_plugin_sdk::time as sdk;
    for z in -800_000..=800_000 {
        assert_eq!(sdk::civil_from_days(z), civil_from_days(z), "{z}");
    }
    for r in samples(0x5D4, 50_000) {
        let z = (r % 2_000_000_000_001) as i64 - 1_000_000_000_000;
        let (y, m, d) = civil_from_days(z);
        assert_eq!(sdk::civil_from_days(z), (y, m, d), "{z}");
        assert_eq!(sdk::days_from_civil(y, m, d), z, "{y}-{m}-{d}");
    }
}
