//! Secret values by name, for injection into requests and scrubbing out of everything else.
//!
//! Owns: the only place secret values live in memory. `Debug` prints names only; `scrub`
//! removes every value (raw and URL-encoded) from bytes that will reach a plugin, a log or an
//! error.

use std::collections::BTreeMap;

#[derive(Clone, Default)]
pub struct Secrets {
    values: BTreeMap<String, String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

const REDACTED: &str = "[redacted]";

impl Secrets {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, name: &str, value: &str) {
        self.values.insert(name.to_string(), value.to_string());
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    fn forms(&self) -> impl Iterator<Item = String> + '_ {
        self.values
            .values()
            .filter(|v| v.len() >= 4)
            .flat_map(|v| {
                let enc: String = reqwest::Url::parse_with_params("x:", [("k", v)])
                    .ok()
                    .and_then(|u| u.query().map(|q| q[2..].to_string()))
                    .unwrap_or_default();
                [v.clone(), enc]
            })
            .filter(|f| !f.is_empty())
    }

    /// `text` with every secret value replaced.
    pub fn scrub_str(&self, text: &str) -> String {
        self.scrub_string(text.to_string())
    }

    /// `bytes` with every secret value replaced (bytes need not be UTF-8).
    pub fn scrub_bytes(&self, bytes: Vec<u8>) -> Vec<u8> {
        // Every response page passes here: the common case (UTF-8 JSON, no secret in it) uses
        // std's vectorised substring search instead of a comparison at every offset.
        let bytes = match String::from_utf8(bytes) {
            Ok(text) => return self.scrub_string(text).into_bytes(),
            Err(e) => e.into_bytes(),
        };
        let mut out = bytes;
        for f in self.forms() {
            let needle = f.as_bytes();
            if out.windows(needle.len()).any(|w| w == needle) {
                let mut res = Vec::with_capacity(out.len());
                let mut i = 0;
                while i < out.len() {
                    if out[i..].starts_with(needle) {
                        res.extend_from_slice(REDACTED.as_bytes());
                        i += needle.len();
                    } else {
                        res.push(out[i]);
                        i += 1;
                    }
                }
                out = res;
            }
        }
        out
    }

    /// `text` with every secret value replaced, reusing the allocation when there is none.
    fn scrub_string(&self, text: String) -> String {
        let mut out = text;
        for f in self.forms() {
            if out.contains(&f) {
                out = out.replace(&f, REDACTED);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubs_raw_and_encoded_values_and_hides_them_from_debug() {
        let mut s = Secrets::new();
        s.insert("token", "CANARY-SECRET/+=value");
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
}
