//! Money: vendor amounts in major units (`"89.50"` EUR, `3500` JPY, `"12.345"` KWD) to exact
//! integer minor units of their currency, and currency codes tidied.
//!
//! Owns the one rule every connector shares, so no connector rounds on its own:
//! - the number of minor digits is the currency's ISO 4217 exponent ([`exponent`]: EUR 2,
//!   JPY 0, KWD 3; [`crate::currency`] holds the table);
//! - parsing is exact, on the decimal text, never through `f64`;
//! - **no rounding**: a nonzero digit the currency cannot hold (`"1.005"` EUR, `"3500.5"` JPY)
//!   is an error ([`MoneyError::TooPrecise`]), since a vendor that sends it has either the
//!   currency or the amount wrong; trailing zeros (`"1.000"` EUR) are fine;
//! - exponent notation (`"1e3"`, `"1.25E2"`) is read exactly (serde_json writes large and
//!   tiny floats so); the exponent is bounded (±[`MAX_EXPONENT`]);
//! - JSON numbers: integers are exact; a non-integer has already been through serde_json's
//!   `f64`, so it is read from its shortest decimal form, which is the vendor's text whenever
//!   that had at most 15 significant digits. More than 15 is refused
//!   ([`MoneyError::Imprecise`]) rather than guessed: ask the vendor for a string, or enable
//!   serde_json's `arbitrary_precision`.
//!
//! ```
//! use boxoffice_plugin_sdk::money::{to_minor, MoneyError};
//! assert_eq!(to_minor("12.345", "KWD"), Ok(12_345));
//! assert_eq!(to_minor("3500", "JPY"), Ok(3_500));
//! assert_eq!(to_minor("89.5", "EUR"), Ok(8_950));
//! assert_eq!(to_minor("1e3", "EUR"), Ok(100_000));
//! assert!(matches!(to_minor("1.005", "EUR"), Err(MoneyError::TooPrecise { .. })));
//! ```

use std::borrow::Cow;
use std::fmt;

/// Minor digits of an ISO 4217 currency code, upper case (2 for codes not in the table).
pub use crate::currency::minor_exponent as exponent;

/// The largest decimal exponent accepted in `1e<n>` notation.
pub const MAX_EXPONENT: i32 = 30;

/// Why an amount could not be read. Its `Display` names the text; callers add which field of
/// which record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MoneyError {
    /// Not a plain decimal number (`""`, `"1,50"`, `"abc"`, `".5"`, `"1e"`).
    NotANumber(String),
    /// Nonzero digits past the currency's exponent: no rounding is done.
    TooPrecise { text: String, exponent: u32 },
    /// Does not fit an `i64` of minor units (or the exponent is past [`MAX_EXPONENT`]).
    Overflow(String),
    /// A JSON float with more than 15 significant digits: not exact after serde_json's `f64`.
    Imprecise(String),
}

impl fmt::Display for MoneyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotANumber(t) => write!(f, "`{t}` is not a decimal amount"),
            Self::TooPrecise { text, exponent } => write!(
                f,
                "`{text}` has more than {exponent} decimal digit(s), which the currency cannot hold (not rounded)"
            ),
            Self::Overflow(t) => write!(f, "`{t}` is out of range"),
            Self::Imprecise(t) => write!(
                f,
                "`{t}` has more than 15 significant digits: not exact as a JSON number (send it as a string)"
            ),
        }
    }
}

impl std::error::Error for MoneyError {}

/// A decimal amount in major units to minor units of `currency` (its ISO 4217 exponent).
pub fn to_minor(text: &str, currency: &str) -> Result<i64, MoneyError> {
    decimal_to_minor(text, exponent(&self::currency(currency)))
}

/// A decimal amount in major units to minor units with `exponent` minor digits:
/// `"-12.340"`, 2 → `-1234`. Leading `+`/`-`, surrounding spaces and `e<n>` are accepted.
pub fn decimal_to_minor(text: &str, exponent: u32) -> Result<i64, MoneyError> {
    let s = text.trim();
    let nan = || MoneyError::NotANumber(text.to_string());
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (mantissa, exp) = match body.find(['e', 'E']) {
        Some(i) => {
            let e = &body[i + 1..];
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(nan());
            }
            let e: i32 = e
                .parse()
                .ok()
                .filter(|e: &i32| e.abs() <= MAX_EXPONENT)
                .ok_or_else(|| MoneyError::Overflow(text.to_string()))?;
            (&body[..i], e)
        }
        None => (body, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !all_digits(int) || !all_digits(frac) {
        return Err(nan());
    }
    // The digits of the mantissa and where the decimal point sits after shifting by `exp`:
    // value = digits * 10^(shift), shift = exp - frac.len() + exponent.
    let shift = exp as i64 - frac.len() as i64 + exponent as i64;
    let digits = int.bytes().chain(frac.bytes());
    let total = int.len() + frac.len();
    // Digits past `keep` are below the minor unit: they must all be zero.
    let keep = if shift >= 0 {
        total
    } else {
        total.saturating_sub((-shift) as usize)
    };
    let mut v: i64 = 0;
    let overflow = || MoneyError::Overflow(text.to_string());
    for (i, b) in digits.enumerate() {
        if i < keep {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add((b - b'0') as i64))
                .ok_or_else(overflow)?;
        } else if b != b'0' {
            return Err(MoneyError::TooPrecise {
                text: text.to_string(),
                exponent,
            });
        }
    }
    for _ in 0..shift.max(0) {
        if v != 0 {
            v = v.checked_mul(10).ok_or_else(overflow)?;
        }
    }
    Ok(if negative { -v } else { v })
}

/// A JSON number in major units to minor units of `currency`, exactly (see the module doc for
/// floats). Integers never go through `f64`.
pub fn json_to_minor(n: &serde_json::Number, currency: &str) -> Result<i64, MoneyError> {
    let exp = exponent(&self::currency(currency));
    if n.is_i64() || n.is_u64() {
        let text = n.to_string();
        return decimal_to_minor(&text, exp);
    }
    let text = n.to_string();
    // Significant digits of the shortest form: leading and trailing zeros carry none.
    let mantissa = text.split(['e', 'E']).next().unwrap_or("");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    if significant > 15 {
        return Err(MoneyError::Imprecise(text));
    }
    decimal_to_minor(&text, exp)
}

/// A JSON value (number or numeric string) in major units to minor units of `currency`.
pub fn value_to_minor(v: &serde_json::Value, currency: &str) -> Result<i64, MoneyError> {
    match v {
        serde_json::Value::Number(n) => json_to_minor(n, currency),
        serde_json::Value::String(s) => to_minor(s, currency),
        other => Err(MoneyError::NotANumber(other.to_string())),
    }
}

/// Currency codes trimmed and upper-cased (Shotgun sends `eur`); borrowed when the vendor
/// already sends them so.
pub fn currency(code: &str) -> Cow<'_, str> {
    let code = code.trim();
    if code.bytes().any(|b| b.is_ascii_lowercase()) {
        code.to_ascii_uppercase().into()
    } else {
        code.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn num(v: serde_json::Value) -> serde_json::Number {
        match v {
            serde_json::Value::Number(n) => n,
            _ => unreachable!(),
        }
    }

    #[test]
    fn decimals_convert_exactly_per_currency() {
        let table: &[(&str, &str, i64)] = &[
            ("89.50", "EUR", 8950),
            ("89.5", "eur", 8950),
            ("0.10", "EUR", 10),
            ("35", "EUR", 3500),
            ("5.", "EUR", 500), // an empty fraction is no fraction
            ("-5.5", "EUR", -550),
            ("+5.5", "EUR", 550),
            (" 7.25 ", "EUR", 725),
            ("0.30", "EUR", 30),
            ("1.000", "EUR", 100),
            ("3500", "JPY", 3500),
            ("3500.00", "JPY", 3500),
            ("12.345", "KWD", 12345),
            ("12.3", "KWD", 12300),
            ("0.0001", "CLF", 1),
            ("0", "EUR", 0),
            ("-0.00", "EUR", 0),
            ("1e3", "EUR", 100_000),
            ("1.25E2", "EUR", 12_500),
            ("125e-2", "EUR", 125),
            ("1234.5e-1", "KWD", 123_450),
            ("0e30", "EUR", 0),
            // Past f64's exact integers: still exact.
            ("90071992547409.93", "EUR", 9_007_199_254_740_993),
            ("92233720368547758.07", "EUR", i64::MAX),
            ("-92233720368547758.07", "EUR", -i64::MAX),
        ];
        for &(text, cur, want) in table {
            assert_eq!(to_minor(text, cur), Ok(want), "{text} {cur}");
        }
    }

    #[test]
    fn refuses_digits_the_currency_cannot_hold_without_rounding() {
        for (text, cur) in [
            ("1.005", "EUR"),
            ("0.001", "EUR"),
            ("3500.5", "JPY"),
            ("0.1", "JPY"),
            ("12.3456", "KWD"),
            ("125e-3", "EUR"),
            ("5e-30", "EUR"),
        ] {
            assert!(
                matches!(to_minor(text, cur), Err(MoneyError::TooPrecise { .. })),
                "{text} {cur}: {:?}",
                to_minor(text, cur)
            );
        }
        let e = to_minor("1.005", "EUR").unwrap_err().to_string();
        assert!(e.contains("1.005") && e.contains('2'), "{e}");
    }

    #[test]
    fn refuses_what_is_not_a_number_or_too_large() {
        for bad in [
            "", " ", ".5", "1,50", "abc", "--1", "+-1", "1e", "e3", "1e+", "1.2.3", "0x10", "١٢",
        ] {
            assert!(
                matches!(to_minor(bad, "EUR"), Err(MoneyError::NotANumber(_))),
                "{bad:?}: {:?}",
                to_minor(bad, "EUR")
            );
        }
        for big in [
            "99999999999999999999",
            "92233720368547758.08",
            "1e31",
            "1e25",
        ] {
            assert!(
                matches!(to_minor(big, "EUR"), Err(MoneyError::Overflow(_))),
                "{big}: {:?}",
                to_minor(big, "EUR")
            );
        }
    }

    #[test]
    fn json_numbers_are_exact_and_refused_when_they_cannot_be() {
        assert_eq!(json_to_minor(&num(json!(1500)), "RUB"), Ok(150_000));
        assert_eq!(json_to_minor(&num(json!(1500)), "JPY"), Ok(1500));
        assert_eq!(json_to_minor(&num(json!(1222.03)), "RUB"), Ok(122_203));
        assert_eq!(json_to_minor(&num(json!(0.1)), "EUR"), Ok(10));
        assert_eq!(json_to_minor(&num(json!(-5.5)), "EUR"), Ok(-550));
        assert_eq!(json_to_minor(&num(json!(12.345)), "KWD"), Ok(12_345));
        // 0.1 + 0.2 as f64 is 0.30000000000000004: 17 significant digits, not guessed.
        assert!(matches!(
            json_to_minor(&num(json!(0.1 + 0.2)), "EUR"),
            Err(MoneyError::Imprecise(_))
        ));
        assert!(matches!(
            json_to_minor(&num(json!(1.005)), "EUR"),
            Err(MoneyError::TooPrecise { .. })
        ));
        assert!(matches!(
            json_to_minor(&num(json!(1e20)), "JPY"),
            Err(MoneyError::Overflow(_))
        ));
        assert_eq!(
            json_to_minor(&num(json!(1e15)), "JPY"),
            Ok(1_000_000_000_000_000)
        );
        assert_eq!(
            json_to_minor(&num(json!(u64::MAX)), "JPY"),
            Err(MoneyError::Overflow(u64::MAX.to_string()))
        );
        let from_text: serde_json::Value = serde_json::from_str("1e3").unwrap();
        assert_eq!(value_to_minor(&from_text, "EUR"), Ok(100_000));
        assert_eq!(value_to_minor(&json!("12.5"), "EUR"), Ok(1250));
        assert!(matches!(
            value_to_minor(&json!(null), "EUR"),
            Err(MoneyError::NotANumber(_))
        ));
        assert!(matches!(
            value_to_minor(&json!(true), "EUR"),
            Err(MoneyError::NotANumber(_))
        ));
    }

    #[test]
    fn every_two_decimal_amount_round_trips_through_its_text() {
        // A sweep standing in for a property test: every cent amount from -20.00 to 20.00 and
        // a spread of larger ones read back from their own text, in each exponent.
        for exp in [0u32, 2, 3] {
            let scale = 10i64.pow(exp);
            for minor in (-2000i64..=2000).chain((0..60).map(|k| 7i64.pow(k % 20) * (k as i64 + 1)))
            {
                let text = if exp == 0 {
                    minor.to_string()
                } else {
                    let sign = if minor < 0 { "-" } else { "" };
                    let a = minor.unsigned_abs();
                    format!(
                        "{sign}{}.{:0w$}",
                        a / scale as u64,
                        a % scale as u64,
                        w = exp as usize
                    )
                };
                assert_eq!(decimal_to_minor(&text, exp), Ok(minor), "{text} exp {exp}");
            }
        }
    }

    #[test]
    fn currency_codes_are_tidied() {
        assert_eq!(currency(" eur"), "EUR");
        assert!(matches!(currency("RUB"), Cow::Borrowed("RUB")));
        assert_eq!(exponent("JPY"), 0);
        assert_eq!(exponent("KWD"), 3);
        assert_eq!(exponent("EUR"), 2);
    }
}
