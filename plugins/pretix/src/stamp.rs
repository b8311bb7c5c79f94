//! pretix's timestamps at microsecond precision: `last_modified` is the incremental cursor,
//! and two orders a few microseconds apart must not collapse into one millisecond.

use boxoffice_plugin_sdk::time;

/// `2026-12-07T02:51:56.016833Z` (or with an offset) → µs since the epoch.
pub fn parse_us(s: &str) -> Option<i64> {
    let ms = time::parse_ms(s)?;
    // Sub-millisecond digits: the 4th to 6th of the fraction, when present.
    let b = s.trim().as_bytes();
    let mut extra = 0i64;
    if b.get(19) == Some(&b'.') {
        let frac: Vec<u8> = b[20..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .copied()
            .collect();
        for k in 3..6 {
            extra = extra * 10 + frac.get(k).map_or(0, |c| (c - b'0') as i64);
        }
    }
    Some(ms * 1000 + extra)
}

/// µs since the epoch → `YYYY-MM-DDTHH:MM:SS.ffffffZ`, the shape pretix's filters accept.
pub fn format_us(us: i64) -> String {
    let ms = time::format_utc_ms(us.div_euclid(1000));
    format!("{}{:03}Z", ms.trim_end_matches('Z'), us.rem_euclid(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn microseconds_round_trip() {
        let s = "2026-12-07T02:51:56.016833Z";
        let us = parse_us(s).unwrap();
        assert_eq!(us % 1_000_000, 16_833);
        assert_eq!(format_us(us), s);
        assert_eq!(
            parse_us("2026-12-07T03:51:56.016833+01:00"),
            Some(us),
            "offsets"
        );
        assert_eq!(parse_us("2026-12-07T02:51:56Z"), Some(us - 16_833));
        assert_eq!(
            parse_us("2026-12-07T02:51:56.1Z"),
            Some(us - 16_833 + 100_000)
        );
        assert_eq!(parse_us("yesterday"), None);
    }
}
