//! Time zones: which zone turns an instant into a sales day, for the whole installation and
//! per account.
//!
//! Owns parsing a zone setting — any IANA name of the tz database compiled into the binary
//! (`jiff`'s bundled copy, so a host without `/usr/share/zoneinfo` gives the same days), or a
//! fixed `+HH:MM` offset as the old tools accepted — and the instant ↔ civil-day conversions
//! the daily figures use, daylight saving included. Does not own where the setting comes from
//! (`config`) nor how days are stored (the sinks).

use std::collections::BTreeMap;
use std::fmt;

use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ZoneError {
    #[error("`{0}` is not a time zone of the IANA database")]
    Unknown(String),
    #[error("`{0}` is not an offset from -14:00 to +14:00")]
    BadOffset(String),
}

/// A reporting time zone: a tz-database zone (with its DST rules) or a fixed offset.
#[derive(Clone)]
pub struct Zone {
    /// As configured (canonical IANA spelling when it is one), for messages and docs.
    name: String,
    tz: TimeZone,
}

impl PartialEq for Zone {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Zone {}

impl fmt::Debug for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Zone({})", self.name)
    }
}

impl fmt::Display for Zone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl Default for Zone {
    /// Europe/Moscow: the old QTickets loader's zone, and QTickets' own (its sales days are
    /// Moscow days, see the vendor doc).
    fn default() -> Self {
        Self::parse("Europe/Moscow").expect("Europe/Moscow is in the bundled tz database")
    }
}

impl Zone {
    /// `Europe/Paris`, `UTC`, `+03:00`, `-05:30` (a leading `:`, as glibc allows in `TZ`, is
    /// ignored).
    pub fn parse(s: &str) -> Result<Self, ZoneError> {
        let s = s.trim();
        let s = s.strip_prefix(':').unwrap_or(s);
        if s.starts_with('+') || s.starts_with('-') {
            return Self::parse_offset(s);
        }
        match TimeZone::get(s) {
            Ok(tz) if !tz.is_unknown() => Ok(Self {
                name: tz.iana_name().unwrap_or(s).to_string(),
                tz,
            }),
            _ => Err(ZoneError::Unknown(s.to_string())),
        }
    }

    /// `±HH:MM`, hours up to 14 (the widest offset in use).
    fn parse_offset(s: &str) -> Result<Self, ZoneError> {
        let bad = || ZoneError::BadOffset(s.to_string());
        let b = s.as_bytes();
        if b.len() != 6
            || b[3] != b':'
            || !s[1..3]
                .bytes()
                .chain(s[4..].bytes())
                .all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let (h, m): (i32, i32) = (
            s[1..3].parse().map_err(|_| bad())?,
            s[4..].parse().map_err(|_| bad())?,
        );
        if m >= 60 || h * 60 + m > 14 * 60 {
            return Err(bad());
        }
        let minutes = if b[0] == b'-' {
            -(h * 60 + m)
        } else {
            h * 60 + m
        };
        Ok(Self::fixed_minutes(minutes))
    }

    /// A zone `minutes` east of UTC all year (tests, and the old fixed-offset settings).
    pub fn fixed_minutes(minutes: i32) -> Self {
        let offset = Offset::from_seconds(minutes * 60).unwrap_or(Offset::UTC);
        let sign = if minutes < 0 { '-' } else { '+' };
        let a = minutes.unsigned_abs();
        Self {
            name: format!("{sign}{:02}:{:02}", a / 60, a % 60),
            tz: TimeZone::fixed(offset),
        }
    }

    pub fn utc() -> Self {
        Self {
            name: "UTC".into(),
            tz: TimeZone::UTC,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Seconds east of UTC in force at the instant `ms`.
    pub fn offset_secs_at(&self, ms: i64) -> i64 {
        // Instants jiff cannot represent (beyond ±9999 years) keep the offset of the limit.
        let ts = Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
            Timestamp::MIN
        } else {
            Timestamp::MAX
        });
        self.tz.to_offset(ts).seconds() as i64
    }

    /// Days since 1970-01-01 of the local date at the instant `ms`.
    pub fn local_day(&self, ms: i64) -> i64 {
        (ms.div_euclid(1000) + self.offset_secs_at(ms)).div_euclid(86_400)
    }

    /// The local date (`YYYY-MM-DD`) at the instant `ms`: a ticket's sales day.
    pub fn local_date(&self, ms: i64) -> String {
        let (y, m, d) = crate::clock::civil_from_days(self.local_day(ms));
        format!("{y:04}-{m:02}-{d:02}")
    }

    /// The local wall time `YYYY-MM-DD HH:MM:SS` at `ms` (naive DateTime columns).
    pub fn local_datetime(&self, ms: i64) -> String {
        let local = ms.div_euclid(1000) + self.offset_secs_at(ms);
        let (y, m, d) = crate::clock::civil_from_days(local.div_euclid(86_400));
        let s = local.rem_euclid(86_400);
        format!(
            "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
            s / 3600,
            s / 60 % 60,
            s % 60
        )
    }

    /// The first instant (epoch ms) of the local day `days` since 1970-01-01: midnight, or the
    /// end of the DST gap on days whose midnight does not exist.
    pub fn day_start_ms(&self, days: i64) -> i64 {
        let (y, m, d) = crate::clock::civil_from_days(days);
        let start = i16::try_from(y)
            .ok()
            .and_then(|y| jiff::civil::Date::new(y, m as i8, d as i8).ok())
            .and_then(|date| date.to_zoned(self.tz.clone()).ok())
            .and_then(|z| z.start_of_day().ok());
        match start {
            Some(z) => z.timestamp().as_millisecond(),
            // Outside jiff's years: the offset at the UTC midnight is as good as any.
            None => {
                let utc = days * 86_400_000;
                utc - self.offset_secs_at(utc) * 1000
            }
        }
    }
}

/// The zone of each account: its own `tz` when it has one, else the installation's `TZ`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountZones {
    default: Zone,
    by_account: BTreeMap<(String, String), Zone>,
}

impl AccountZones {
    pub fn new(default: Zone) -> Self {
        Self {
            default,
            by_account: BTreeMap::new(),
        }
    }

    /// Gives `vendor/account` its own zone.
    pub fn with(mut self, vendor: &str, account: &str, zone: Zone) -> Self {
        self.by_account
            .insert((vendor.to_string(), account.to_string()), zone);
        self
    }

    /// The zone of `vendor/account`'s sales days.
    pub fn of(&self, vendor: &str, account: &str) -> &Zone {
        // Borrowed lookup without building a key: accounts are few, a scan is as fast.
        self.by_account
            .iter()
            .find(|((v, a), _)| v == vendor && a == account)
            .map(|(_, z)| z)
            .unwrap_or(&self.default)
    }

    pub fn default_zone(&self) -> &Zone {
        &self.default
    }
}

impl From<Zone> for AccountZones {
    fn from(z: Zone) -> Self {
        Self::new(z)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    /// Epoch ms of a UTC wall time.
    fn utc(y: i64, m: u32, d: u32, h: i64, min: i64) -> i64 {
        crate::clock::days_from_civil(y, m, d).unwrap() * 86_400_000 + h * H + min * 60_000
    }

    #[test]
    fn paris_days_follow_daylight_saving() {
        let paris = Zone::parse("Europe/Paris").unwrap();
        // Spring forward, night of 2026-03-28/29: 23:30 local is still +01:00, 00:30 too (the
        // jump is at 02:00); the 29th starts at 23:00Z on the 28th.
        assert_eq!(paris.local_date(utc(2026, 3, 28, 22, 30)), "2026-03-28");
        assert_eq!(paris.local_date(utc(2026, 3, 28, 23, 30)), "2026-03-29");
        // The next evening is +02:00: 22:30Z on the 29th is 00:30 on the 30th.
        assert_eq!(paris.local_date(utc(2026, 3, 29, 22, 30)), "2026-03-30");
        assert_eq!(
            paris.local_datetime(utc(2026, 3, 29, 21, 30)),
            "2026-03-29 23:30:00"
        );
        // Fall back, night of 2026-10-24/25: 23:30 local is +02:00 (21:30Z).
        assert_eq!(paris.local_date(utc(2026, 10, 24, 21, 30)), "2026-10-24");
        assert_eq!(paris.local_date(utc(2026, 10, 24, 22, 30)), "2026-10-25");
        assert_eq!(paris.local_date(utc(2026, 10, 25, 22, 30)), "2026-10-25");
        assert_eq!(paris.local_date(utc(2026, 10, 25, 23, 30)), "2026-10-26");
        // The spring day is 23 hours long, the autumn one 25.
        let day = |y, m, d| paris.day_start_ms(crate::clock::days_from_civil(y, m, d).unwrap());
        assert_eq!(day(2026, 3, 30) - day(2026, 3, 29), 23 * H);
        assert_eq!(day(2026, 10, 26) - day(2026, 10, 25), 25 * H);
        assert_eq!(day(2026, 3, 29), utc(2026, 3, 28, 23, 0));
    }

    #[test]
    fn zones_without_dst_and_fixed_offsets() {
        let nsk = Zone::parse("Asia/Novosibirsk").unwrap();
        assert_eq!(nsk.offset_secs_at(utc(2026, 1, 1, 0, 0)), 7 * 3600);
        assert_eq!(nsk.offset_secs_at(utc(2026, 7, 1, 0, 0)), 7 * 3600);
        assert_eq!(nsk.local_date(utc(2026, 3, 28, 17, 0)), "2026-03-29");
        let fixed = Zone::parse("+03:00").unwrap();
        assert_eq!(fixed.name(), "+03:00");
        assert_eq!(fixed.local_date(1_762_209_000_000), "2025-11-04");
        assert_eq!(
            Zone::parse("-05:30").unwrap().offset_secs_at(0),
            -(5 * 3600 + 1800)
        );
        assert_eq!(Zone::parse(":UTC").unwrap().offset_secs_at(0), 0);
        assert_eq!(Zone::default().name(), "Europe/Moscow");
        // Moscow had DST until 2011: an old instant takes the offset of its day.
        assert_eq!(
            Zone::default().offset_secs_at(utc(2010, 7, 1, 0, 0)),
            4 * 3600
        );
    }

    #[test]
    fn bad_zones_name_the_value() {
        for bad in ["Europe/Pariss", "Etc/Unknown", "CET+1", ""] {
            assert_eq!(
                Zone::parse(bad),
                Err(ZoneError::Unknown(bad.into())),
                "{bad}"
            );
        }
        for bad in ["+3:00", "+03:60", "+15:00", "+0300", "-03:0x"] {
            assert_eq!(
                Zone::parse(bad),
                Err(ZoneError::BadOffset(bad.into())),
                "{bad}"
            );
        }
    }

    #[test]
    fn accounts_take_their_own_zone_else_the_default() {
        let z = AccountZones::new(Zone::default()).with(
            "shotgun",
            "paris",
            Zone::parse("Europe/Paris").unwrap(),
        );
        assert_eq!(z.of("shotgun", "paris").name(), "Europe/Paris");
        assert_eq!(z.of("qtickets", "paris").name(), "Europe/Moscow");
        assert_eq!(z.of("shotgun", "lyon").name(), "Europe/Moscow");
    }
}
