//! Secret values by name, for injection into requests and scrubbing out of everything else.
//!
//! Owns: the only place secret values live in memory. `Debug` prints names only; `scrub`
//! removes every value from bytes that will reach a plugin, a log or an error, in every
//! encoding a vendor might echo it in: raw, percent-encoded (either hex case, any mix),
//! JSON-escaped (`\/`, `\uXXXX` in either case, surrogate pairs), and base64 / base64url with
//! or without padding — at each of the three byte alignments, so a secret inside a larger
//! base64 blob (`base64(prefix ∥ secret ∥ suffix)`) is caught too. Percent and JSON escapes
//! are decoded one level, so escaped base64 of the secret is caught as well.
//!
//! It does not own what a deliberately re-encoded secret looks like (double encoding,
//! encryption, hex of base64…): no pattern catches that; the structural controls do (the
//! plugin never receives the value, egress is granted, outgoing requests are screened).
//! Values shorter than [`MIN_SECRET_CHARS`] cannot be scrubbed without mangling ordinary text,
//! so configuration refuses them (`config::check_secret`).

use std::collections::BTreeMap;

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine;

/// Shortest secret the host accepts: shorter values occur in ordinary text by chance, and
/// their base64 cores (a few characters) would match everywhere.
pub const MIN_SECRET_CHARS: usize = 8;

const REDACTED: &str = "[redacted]";

/// One form of a secret to look for.
#[derive(Clone)]
struct Needle {
    bytes: Vec<u8>,
    /// A base64 core: the characters next to it mix secret bits with their neighbours'.
    base64: bool,
}

#[derive(Clone, Default)]
pub struct Secrets {
    values: BTreeMap<String, String>,
    /// Every form of every value, rebuilt on insert.
    needles: Vec<Needle>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

/// The base64 characters fully determined by `value` when it starts `align` bytes into a
/// larger blob: whatever surrounds it, these appear verbatim in that blob's encoding.
fn base64_cores(value: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for align in 0..3usize {
        let mut blob = vec![0u8; align];
        blob.extend_from_slice(value);
        // Char k covers bits [6k, 6k+6): keep those inside the value's bits.
        let first = (8 * align).div_ceil(6);
        let end = 8 * (align + value.len()) / 6;
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let enc = engine.encode(&blob);
            if first < end {
                let core = enc.as_bytes()[first..end].to_vec();
                if !out.contains(&core) {
                    out.push(core);
                }
            }
        }
    }
    out
}

fn is_base64_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_')
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn hex4(b: &[u8]) -> Option<u32> {
    if b.len() < 4 {
        return None;
    }
    b[..4]
        .iter()
        .try_fold(0u32, |acc, &c| Some(acc * 16 + hex_val(c)? as u32))
}

/// `hay` with one level of percent and JSON escapes decoded, and where each decoded byte came
/// from: `shifts` holds (decoded offset, original offset) at the end of every escape, and a
/// decoded offset maps back linearly from the last entry at or before it.
struct Decoded {
    bytes: Vec<u8>,
    shifts: Vec<(usize, usize)>,
}

impl Decoded {
    fn of(hay: &[u8]) -> Self {
        let mut bytes = Vec::with_capacity(hay.len());
        let mut shifts = vec![(0, 0)];
        let mut i = 0;
        while i < hay.len() {
            let (taken, decoded): (usize, Option<char>) = match hay[i] {
                b'%' => match (hay.get(i + 1), hay.get(i + 2)) {
                    (Some(&h), Some(&l)) => match (hex_val(h), hex_val(l)) {
                        (Some(h), Some(l)) => {
                            bytes.push(h * 16 + l);
                            i += 3;
                            shifts.push((bytes.len(), i));
                            continue;
                        }
                        _ => (0, None),
                    },
                    _ => (0, None),
                },
                b'\\' => match hay.get(i + 1) {
                    Some(b'/') => (2, Some('/')),
                    Some(b'\\') => (2, Some('\\')),
                    Some(b'"') => (2, Some('"')),
                    Some(b'b') => (2, Some('\u{8}')),
                    Some(b'f') => (2, Some('\u{c}')),
                    Some(b'n') => (2, Some('\n')),
                    Some(b'r') => (2, Some('\r')),
                    Some(b't') => (2, Some('\t')),
                    Some(b'u') => match hex4(&hay[i + 2..]) {
                        Some(hi @ 0xD800..=0xDBFF) => {
                            let lo = (hay.get(i + 6..i + 8) == Some(b"\\u"))
                                .then(|| hex4(&hay[i + 8..]))
                                .flatten()
                                .filter(|lo| (0xDC00..=0xDFFF).contains(lo));
                            match lo {
                                Some(lo) => (
                                    12,
                                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)),
                                ),
                                None => (0, None),
                            }
                        }
                        Some(cp) => (6, char::from_u32(cp)),
                        None => (0, None),
                    },
                    _ => (0, None),
                },
                _ => (0, None),
            };
            match decoded {
                Some(c) if taken > 0 => {
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    i += taken;
                    shifts.push((bytes.len(), i));
                }
                _ => {
                    bytes.push(hay[i]);
                    i += 1;
                }
            }
        }
        Self { bytes, shifts }
    }

    fn original(&self, at: usize) -> usize {
        let k = self.shifts.partition_point(|(d, _)| *d <= at) - 1;
        let (d, o) = self.shifts[k];
        o + (at - d)
    }
}

impl Secrets {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, name: &str, value: &str) {
        self.values.insert(name.to_string(), value.to_string());
        self.needles = self
            .values
            .values()
            .filter(|v| v.chars().count() >= MIN_SECRET_CHARS)
            .flat_map(|v| {
                let raw = Needle {
                    bytes: v.as_bytes().to_vec(),
                    base64: false,
                };
                std::iter::once(raw).chain(base64_cores(v.as_bytes()).into_iter().map(|bytes| {
                    Needle {
                        bytes,
                        base64: true,
                    }
                }))
            })
            .collect();
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// `text` with every secret value replaced.
    pub fn scrub_str(&self, text: &str) -> String {
        if self.needles.is_empty() {
            return text.to_string();
        }
        match String::from_utf8(self.scrub_bytes(text.as_bytes().to_vec())) {
            Ok(s) => s,
            // Spans start and end on character boundaries; this is a safety net only.
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }
    }

    /// `bytes` with every secret value replaced, in any of the encodings the module doc lists
    /// (bytes need not be UTF-8).
    pub fn scrub_bytes(&self, bytes: Vec<u8>) -> Vec<u8> {
        if self.needles.is_empty() {
            return bytes;
        }
        let spans = self.spans(&bytes);
        if spans.is_empty() {
            return bytes;
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut at = 0;
        for (s, e) in spans {
            out.extend_from_slice(&bytes[at..s]);
            out.extend_from_slice(REDACTED.as_bytes());
            at = e;
        }
        out.extend_from_slice(&bytes[at..]);
        out
    }

    /// Byte ranges of `hay` holding a secret in some form, sorted and merged.
    fn spans(&self, hay: &[u8]) -> Vec<(usize, usize)> {
        let mut spans = Vec::new();
        for n in &self.needles {
            for s in memchr::memmem::find_iter(hay, &n.bytes) {
                spans.push(widen(hay, n, s, s + n.bytes.len()));
            }
        }
        // Escapes are rare in vendor JSON: decode (one copy of the page) only when present.
        if memchr::memchr2(b'%', b'\\', hay).is_some() {
            let decoded = Decoded::of(hay);
            for n in &self.needles {
                for s in memchr::memmem::find_iter(&decoded.bytes, &n.bytes) {
                    let (os, oe) = (decoded.original(s), decoded.original(s + n.bytes.len()));
                    spans.push(widen(hay, n, os, oe));
                }
            }
        }
        spans.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
        for (s, e) in spans {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged
    }
}

/// A base64 core's span plus the characters that mix secret bits with their neighbours' (one
/// before, one after) and any padding.
fn widen(hay: &[u8], n: &Needle, mut s: usize, mut e: usize) -> (usize, usize) {
    if n.base64 {
        if s > 0 && is_base64_char(hay[s - 1]) {
            s -= 1;
        }
        if e < hay.len() && is_base64_char(hay[e]) {
            e += 1;
        }
        while e < hay.len() && hay[e] == b'=' {
            e += 1;
        }
    }
    (s, e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};

    const SECRET: &str = "CANARY-SECRET/+=value";

    fn secrets() -> Secrets {
        let mut s = Secrets::new();
        s.insert("token", SECRET);
        s
    }

    fn scrubbed(s: &Secrets, text: &str) -> String {
        let out = s.scrub_str(text);
        assert!(
            out.contains(REDACTED),
            "nothing scrubbed in {text:?}: {out}"
        );
        out
    }

    #[test]
    fn scrubs_raw_and_encoded_values_and_hides_them_from_debug() {
        let s = secrets();
        let body =
            br#"{"next":"https://x/?token=CANARY-SECRET%2F%2B%3Dvalue&a=CANARY-SECRET/+=value"}"#
                .to_vec();
        let out = String::from_utf8(s.scrub_bytes(body)).unwrap();
        assert!(!out.contains("CANARY-SECRET"), "{out}");
        assert!(out.contains("[redacted]"));
        assert_eq!(format!("{s:?}"), r#"{"token"}"#);
        let mut raw = b"\xff\xfe token=CANARY-SECRET/+=value".to_vec();
        raw = s.scrub_bytes(raw);
        assert!(!String::from_utf8_lossy(&raw).contains("CANARY"));
        assert!(raw.starts_with(b"\xff\xfe"));
        assert!(!s
            .scrub_str("Bearer CANARY-SECRET/+=value")
            .contains("CANARY"));
    }

    /// Every encoding a hostile vendor might echo: none survives, the text around it does.
    #[test]
    fn scrubs_percent_json_and_base64_forms() {
        let s = secrets();
        let lower_pct: String = SECRET
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() {
                    (b as char).to_string()
                } else {
                    format!("%{b:02x}")
                }
            })
            .collect();
        let all_pct: String = SECRET.bytes().map(|b| format!("%{b:02X}")).collect();
        let json_slash = SECRET.replace('/', "\\/");
        let json_u: String = SECRET
            .chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect();
        let json_u_upper: String = SECRET
            .chars()
            .map(|c| format!("\\u{:04X}", c as u32))
            .collect();
        let mut forms = vec![lower_pct, all_pct, json_slash, json_u, json_u_upper];
        for engine in [&STANDARD, &URL_SAFE, &STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            forms.push(engine.encode(SECRET));
            for prefix in ["", "a", "ab", "abc", "{\"user\":1,\"key\":\""] {
                forms.push(engine.encode(format!("{prefix}{SECRET}\"}}")));
            }
        }
        // Base64 inside a percent-encoded URL parameter.
        forms.push(
            STANDARD
                .encode(SECRET)
                .replace('+', "%2B")
                .replace('/', "%2F"),
        );
        for f in forms {
            let text = format!("before {f} after");
            let out = scrubbed(&s, &text);
            assert!(
                out.starts_with("before ") && out.ends_with(" after"),
                "{out}"
            );
            for g in [SECRET, "CANARY", &STANDARD_NO_PAD.encode(&SECRET[..9])] {
                assert!(!out.contains(g), "{g} left in {out} (from {f})");
            }
        }
    }

    #[test]
    fn text_without_a_secret_is_untouched() {
        let s = secrets();
        for text in [
            "{\"a\":\"caf\\u00e9 50%\",\"b\":\"\\\\\"}",
            "plain",
            "%zz %4",
            "\\u12",
            "\\ud83d\\ude00 and \\ud800 alone",
        ] {
            assert_eq!(s.scrub_str(text), text);
        }
    }

    #[test]
    fn short_values_are_not_scrubbed_here() {
        let mut s = Secrets::new();
        s.insert("pin", "1234");
        assert_eq!(s.scrub_str("page 1234 of 5"), "page 1234 of 5");
    }
}
