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
        let mut out = text.to_string();
        for f in self.forms() {
            if out.contains(&f) {
                out = out.replace(&f, REDACTED);
            }
        }
        out
    }

    /// `bytes` with every secret value replaced (bytes need not be UTF-8).
    pub fn scrub_bytes(&self, bytes: Vec<u8>) -> Vec<u8> {
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
        assert!(!s
            .scrub_str("Bearer CANARY-SECRET/+=value")
            .contains("CANARY"));
    }
}
