//! Vendor timestamps to UTC epoch milliseconds.
//!
//! Accepts the shapes vendors actually send: `2026-03-02T10:15:03.207Z` (UTC with ms),
//! `2025-11-03T14:05:12+03:00` (offset, also `+0300`), and `2026-03-02 10:15:03.207519`
//! (no offset, read as UTC — Shotgun's `ordered_at`). Fractions beyond milliseconds are
//! truncated. Hand-written rather than a date crate: it is on the hot path of every record and
//! a few dozen lines cover every format above exactly.

// The civil-date arithmetic below is a copy of the workspace's `civil/` crate
// (`boxoffice-civil`), kept here on purpose: this crate is compiled into every guest component,
// whose dependency set is part of what a connector author builds and audits for wasm32-wasip2
// (today the WIT bindings, the records and serde), and these twenty lines are not worth one more
// guest dependency. `civil/tests/dates.rs` checks that both copies agree over ±2.7 billion years.

/// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// (year, month, day) for days since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn num(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u32, |a, b| a * 10 + (b - b'0') as u32))
}

/// Parses a timestamp to UTC epoch ms; `None` when it is not one of the accepted shapes.
pub fn parse_ms(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?);
    let (h, mi, se) = (num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let mut i = 19;
    let mut ms = 0i64;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        let frac = &b[start..i];
        for k in 0..3 {
            ms = ms * 10 + frac.get(k).map(|c| (c - b'0') as i64).unwrap_or(0);
        }
    }
    let offset_min: i64 = match &b[i..] {
        [] | [b'Z'] | [b'z'] => 0,
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (hh, mm) = match rest {
                [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => (num(&[*h1, *h2])?, num(&[*m1, *m2])?),
                [h1, h2] => (num(&[*h1, *h2])?, 0),
                _ => return None,
            };
            let v = (hh * 60 + mm) as i64;
            if *sign == b'-' {
                -v
            } else {
                v
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y as i64, mo, d);
    let secs = days * 86_400 + (h * 3600 + mi * 60 + se) as i64 - offset_min * 60;
    Some(secs * 1000 + ms)
}

/// Formats UTC ms as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_utc_ms(ms: i64) -> String {
    let (days, rem) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000,
    );
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// Formats UTC ms as local time at a fixed offset, `YYYY-MM-DDTHH:MM:SS+HH:MM`.
pub fn format_offset(ms: i64, offset_min: i32) -> String {
    let local = ms.div_euclid(1000) + offset_min as i64 * 60;
    let (days, rem) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let sign = if offset_min < 0 { '-' } else { '+' };
    let o = offset_min.unsigned_abs();
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        o / 60,
        o % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_vendor_shape() {
        // 2026-03-02T10:15:03.207Z = 1772446503207 ms
        assert_eq!(
            parse_ms("2026-03-02T10:15:03.207Z"),
            Some(1_772_446_503_207)
        );
        assert_eq!(
            parse_ms("2026-03-02 10:15:03.207519"),
            Some(1_772_446_503_207)
        );
        assert_eq!(
            parse_ms("2026-03-02T13:15:03.207+03:00"),
            Some(1_772_446_503_207)
        );
        assert_eq!(
            parse_ms("2026-03-02T13:15:03.207+0300"),
            Some(1_772_446_503_207)
        );
        assert_eq!(
            parse_ms("2026-03-02T05:15:03.207-05"),
            Some(1_772_446_503_207)
        );
        assert_eq!(parse_ms("1970-01-01T00:00:00Z"), Some(0));
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "2026-03-02",
            "2026-13-02T00:00:00Z",
            "2026-03-02T10:15:03.Z",
            "2026-03-02T10:15:03+3",
            "yesterday at noon",
        ] {
            assert_eq!(parse_ms(s), None, "{s}");
        }
    }

    #[test]
    fn formats_round_trip() {
        let t = 1_772_446_503_207;
        assert_eq!(format_utc_ms(t), "2026-03-02T10:15:03.207Z");
        assert_eq!(format_offset(t, 180), "2026-03-02T13:15:03+03:00");
        assert_eq!(parse_ms(&format_offset(t, 180)), Some(t - 207));
        for d in [-800_000, -1, 0, 59, 20_000, 2_000_000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }
}
