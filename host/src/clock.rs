//! Wall-clock time in UTC epoch milliseconds (the unit of every timestamp in boxoffice).

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The civil date (`YYYY-MM-DD`) of an instant in a zone `offset_min` minutes east of UTC.
pub fn local_date(ms: i64, offset_min: i32) -> String {
    let days = (ms.div_euclid(1000) + offset_min as i64 * 60).div_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 of a valid civil date, or `None` (month 13, February 30, …).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> Option<i64> {
    boxoffice_civil::days_from_valid_civil(y, m, d)
}

/// Why a command-line date was refused. Both say the same to the operator (the text is what
/// clap shows after `invalid value`); the variant tells a malformed date from an impossible one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DayError {
    /// Not three `-`-separated numbers.
    #[error("`{0}` is not a date like 2025-11-01")]
    Malformed(String),
    /// Three numbers, but no such day (month 13, February 30, …).
    #[error("`{0}` is not a date like 2025-11-01")]
    NoSuchDay(String),
}

/// A command-line date `YYYY-MM-DD` → days since 1970-01-01 (the caller applies the zone).
pub fn parse_day(s: &str) -> Result<i64, DayError> {
    let malformed = || DayError::Malformed(s.to_string());
    let parts: Vec<&str> = s.trim().split('-').collect();
    let [y, m, d] = parts[..] else {
        return Err(malformed());
    };
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i64>(), m.parse::<u32>(), d.parse::<u32>()) else {
        return Err(malformed());
    };
    days_from_civil(y, m, d).ok_or_else(|| DayError::NoSuchDay(s.to_string()))
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (the workspace's one
/// implementation, `civil/`).
pub use boxoffice_civil::civil_from_days;

#[cfg(test)]
mod tests {
    #[test]
    fn local_dates_cross_midnight_by_offset() {
        // 2025-11-03T22:30:00Z is already the 4th in Moscow (+03:00).
        let ms = 1_762_209_000_000;
        assert_eq!(super::local_date(ms, 0), "2025-11-03");
        assert_eq!(super::local_date(ms, 180), "2025-11-04");
        assert_eq!(super::local_date(0, 0), "1970-01-01");
        assert_eq!(super::local_date(-1, 0), "1969-12-31");
        assert_eq!(super::local_date(951_782_400_000, 0), "2000-02-29");
        assert_eq!(super::days_from_civil(2000, 2, 29), Some(11_016));
        assert_eq!(super::days_from_civil(2025, 2, 29), None);
        assert_eq!(super::days_from_civil(1970, 1, 1), Some(0));
        assert_eq!(super::parse_day(" 2000-02-29 "), Ok(11_016));
        for bad in [
            "2026-13-01",
            "2025-02-29",
            "2025-11",
            "2025-11-01-1",
            "x-1-1",
        ] {
            assert!(
                super::parse_day(bad).unwrap_err().to_string().contains(bad),
                "{bad}"
            );
        }
    }

    #[test]
    fn bad_days_are_told_apart_by_variant() {
        use super::{parse_day, DayError};
        for malformed in ["2025-11", "2025-11-01-1", "x-1-1", ""] {
            assert_eq!(
                parse_day(malformed),
                Err(DayError::Malformed(malformed.into()))
            );
        }
        for impossible in ["2026-13-01", "2025-02-29"] {
            assert_eq!(
                parse_day(impossible),
                Err(DayError::NoSuchDay(impossible.into()))
            );
        }
        assert_eq!(
            DayError::NoSuchDay("2025-02-29".into()).to_string(),
            "`2025-02-29` is not a date like 2025-11-01"
        );
    }
}
