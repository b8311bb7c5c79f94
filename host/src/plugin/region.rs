//! Whether a ticket's `region` is coarse by its format.
//!
//! Owns the one rule (the WIT says the same): a region is a place name alone (a country or a
//! city: letters, spaces, `-`, `'`, `.`, `,`, at most six words, no digit), or a country (an ISO
//! 3166-1 code or a name from `countries`) plus at most a 2-character postal prefix (`France
//! 69`, `FR-69`), or an ISO 3166-2 subdivision code (`FR-ARA`). Anything else — a street
//! address (`12 rue X`), a flat (`Apt 4`), a full postal code (`Paris 75011`), long text — is
//! not coarse. It reads the folded text (`fold`), so look-alike digits count as digits.

use super::countries::{CODES, NAMES};

/// Longest region kept; country names with a prefix are far shorter.
const MAX_REGION_BYTES: usize = 64;
const MAX_PLACE_WORDS: usize = 6;

fn is_country(s: &str) -> bool {
    let s = s.trim();
    let code = s.len() <= 3
        && s.bytes().all(|b| b.is_ascii_alphabetic())
        && CODES
            .binary_search(&s.to_ascii_uppercase().as_str())
            .is_ok();
    if code {
        return true;
    }
    // Lower-cased on the stack for ASCII names (nearly all regions), on the heap otherwise.
    let mut buf = [0u8; MAX_REGION_BYTES];
    if s.is_ascii() && s.len() <= buf.len() {
        let lower = &mut buf[..s.len()];
        lower.copy_from_slice(s.as_bytes());
        lower.make_ascii_lowercase();
        let lower = std::str::from_utf8(lower).expect("ASCII");
        return NAMES.binary_search(&lower).is_ok();
    }
    NAMES.binary_search(&s.to_lowercase().as_str()).is_ok()
}

/// A country or city name: letters and the punctuation names use, no digit.
fn is_place_name(s: &str) -> bool {
    let words = s.split_whitespace().count();
    (1..=MAX_PLACE_WORDS).contains(&words)
        && s.chars().any(char::is_alphabetic)
        && s.chars().all(|c| {
            c.is_alphabetic()
                || c.is_whitespace()
                || matches!(c, '-' | '\'' | '’' | '.' | ',' | '(' | ')')
                || unicode_is_mark(c)
        })
}

/// Combining marks (accents written as separate code points survive NFKC in some scripts).
fn unicode_is_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05C7 | 0x064B..=0x065F
        | 0x0900..=0x0903 | 0x093A..=0x094F | 0x0E31..=0x0E3A | 0x0E47..=0x0E4E)
}

fn is_postal_prefix(p: &str) -> bool {
    (1..=2).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Whether `region` (already folded) is coarse.
pub fn is_coarse(region: &str) -> bool {
    let r = region.trim();
    if r.is_empty() || r.len() > MAX_REGION_BYTES {
        return false;
    }
    if is_place_name(r) {
        return true;
    }
    // Country, separator, prefix: the prefix is the last space- or dash-separated part.
    let Some(cut) = r.rfind([' ', '-']) else {
        return false;
    };
    let (country, prefix) = (r[..cut].trim_end_matches([' ', '-']), &r[cut + 1..]);
    if is_postal_prefix(prefix) && is_country(country) {
        return true;
    }
    // ISO 3166-2: `XX-` and up to three letters (`FR-ARA`, `US-CA`).
    r.len() <= 6
        && r.as_bytes().get(2) == Some(&b'-')
        && is_country(&r[..2])
        && r[3..].bytes().all(|b| b.is_ascii_alphabetic())
        && !r[3..].is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_are_sorted_for_binary_search() {
        assert!(CODES.windows(2).all(|w| w[0] < w[1]));
        assert!(NAMES.windows(2).all(|w| w[0].as_bytes() < w[1].as_bytes()));
    }

    #[test]
    fn coarse_regions_pass() {
        for r in [
            "France 69",
            "Belgique 10",
            "FR-69",
            "FR 69",
            "fr-69",
            "FRA 69",
            "Deutschland 10",
            "Россия 12",
            "United Kingdom SW",
            "FR-ARA",
            "US-CA",
            "France",
            "FR",
            "Lyon",
            "Saint-Étienne",
            "Rostov-on-Don",
            "Нижний Новгород",
            "L'Isle-d'Abeau",
            "Lyon, France",
        ] {
            assert!(is_coarse(r), "{r}");
        }
    }

    #[test]
    fn fine_regions_fail() {
        for r in [
            "12 rue X",
            "12 rue de la Paix, Paris",
            "Apt 4",
            "Paris 75011",
            "75011",
            "France 690",
            "France 69007",
            "Flat 3B",
            "ул. Ленина, д. 5",
            "221B Baker Street",
            "Main Street 5",
            "one two three four five six seven",
            "",
            &"Lyon".repeat(20),
        ] {
            assert!(!is_coarse(r), "{r}");
        }
    }
}
