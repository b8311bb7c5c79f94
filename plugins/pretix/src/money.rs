//! pretix's decimal strings (`"89.50"`, `"3500.00"`) to integer minor units of the event's
//! currency, exactly: no floats, and a digit the currency cannot hold is an error, not a
//! rounding.

/// Minor digits of an ISO 4217 currency (the records crate holds the table).
pub use boxoffice_plugin_sdk::currency::minor_exponent as exponent;

/// `"-12.340"` with `exponent` 2 → `-1234`. `None` for anything that is not a plain decimal,
/// for nonzero digits beyond `exponent`, and on overflow.
pub fn decimal_to_minor(s: &str, exponent: u32) -> Option<i64> {
    let s = s.trim();
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    let exp = exponent as usize;
    let (kept, dropped) = frac.split_at(frac.len().min(exp));
    if dropped.bytes().any(|b| b != b'0') {
        return None;
    }
    let mut v: i64 = 0;
    for b in int.bytes().chain(kept.bytes()) {
        v = v.checked_mul(10)?.checked_add((b - b'0') as i64)?;
    }
    for _ in kept.len()..exp {
        v = v.checked_mul(10)?;
    }
    Some(if negative { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_exactly_per_currency() {
        assert_eq!(decimal_to_minor("89.50", exponent("EUR")), Some(8950));
        assert_eq!(decimal_to_minor("0.10", 2), Some(10));
        assert_eq!(decimal_to_minor("35", 2), Some(3500));
        assert_eq!(decimal_to_minor("3500.00", exponent("JPY")), Some(3500));
        assert_eq!(decimal_to_minor("1.234", exponent("KWD")), Some(1234));
        assert_eq!(decimal_to_minor("-5.5", 2), Some(-550));
        // A value floats get wrong (0.1 + 0.2) and one past f64's exact integers.
        assert_eq!(decimal_to_minor("0.30", 2), Some(30));
        assert_eq!(
            decimal_to_minor("90071992547409.93", 2),
            Some(9_007_199_254_740_993)
        );
    }

    #[test]
    fn refuses_what_the_currency_cannot_hold() {
        assert_eq!(decimal_to_minor("3500.50", exponent("JPY")), None);
        assert_eq!(decimal_to_minor("1.005", 2), None);
        assert_eq!(decimal_to_minor("1.000", 2), Some(100));
        for bad in [
            "",
            ".5",
            "1,50",
            "1e3",
            "abc",
            "--1",
            "99999999999999999999",
        ] {
            assert_eq!(decimal_to_minor(bad, 2), None, "{bad}");
        }
    }
}
