//! Time on the wire: instants (unix seconds) rendered as Moscow wall time (`+03:00`), Moscow
//! calendar dates, and the timestamps a filter may carry parsed back into unix milliseconds.
//! The calendar arithmetic is the workspace's one implementation (`boxoffice-civil`).

use boxoffice_civil::{civil_from_days, days_from_civil};

use super::{DAY, MSK_OFFSET};

/// `2025-11-03T14:05:12+03:00`
pub fn fmt_msk(s: i64) -> String {
    let l = s + MSK_OFFSET;
    let (y, m, d) = civil_from_days(l.div_euclid(DAY));
    let r = l.rem_euclid(DAY);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+03:00",
        r / 3_600,
        r / 60 % 60,
        r % 60
    )
}

/// The Moscow calendar date of an instant, `YYYY-MM-DD`.
pub fn msk_date(s: i64) -> String {
    let (y, m, d) = civil_from_days((s + MSK_OFFSET).div_euclid(DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses a filter timestamp into unix milliseconds: `YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]]`
/// followed by `Z`, `±HH:MM`, `±HHMM` or nothing (then Moscow time, as the API's own clock).
pub fn parse_ts(text: &str) -> Option<i64> {
    let t = text.trim();
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = t.get(r)?;
        if s.bytes().all(|c| c.is_ascii_digit()) && !s.is_empty() {
            s.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let (mut h, mut mi, mut se, mut ms) = (0, 0, 0, 0);
    let mut i = 10;
    if b.len() > 10 {
        if b[10] != b'T' && b[10] != b' ' {
            return None;
        }
        h = num(11..13)?;
        if b.get(13) != Some(&b':') {
            return None;
        }
        mi = num(14..16)?;
        i = 16;
        if b.get(16) == Some(&b':') {
            se = num(17..19)?;
            i = 19;
            if b.get(19) == Some(&b'.') {
                let mut j = 20;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                let frac = t.get(20..j)?;
                let f3: String = frac.chars().chain("000".chars()).take(3).collect();
                ms = f3.parse().ok()?;
                i = j;
            }
        }
    }
    let offset_s = match &t[i..] {
        "" => MSK_OFFSET,
        "Z" | "z" => 0,
        rest => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let digits: String = rest[1..].chars().filter(|c| *c != ':').collect();
            if digits.len() != 4 || !digits.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let oh: i64 = digits[..2].parse().ok()?;
            let om: i64 = digits[2..].parse().ok()?;
            sign * (oh * 3_600 + om * 60)
        }
    };
    if h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let local = days_from_civil(y, mo as u32, d as u32) * DAY + h * 3_600 + mi * 60 + se;
    Some((local - offset_s) * 1000 + ms)
}
