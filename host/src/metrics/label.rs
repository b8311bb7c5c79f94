//! The one label-value type of `/metrics`: every family — the ones registered with
//! prometheus-client (request, run and rejection counters) and the ones encoded by hand from the
//! ledger (KPIs, breakdowns, the old Shotgun names, the history written by
//! `backfill-metrics`) — holds its label values as a [`LabelValue`], which escapes on the way
//! out.
//!
//! Why a type and not a helper: prometheus-client writes a `String` label value verbatim, so an
//! account name or a plugin id with a `"` or a newline broke the whole scrape. A value that can
//! only be printed escaped cannot be forgotten by the next family someone adds.
//!
//! The escape: backslash, double quote and newline as the text formats define them (`\\`, `\"`,
//! `\n`); every other control character is replaced by a visible stand-in (C0 controls by their
//! Unicode "control picture", `\t` → `␉`, DEL → `␡`, C1 controls → `�`), because the formats
//! have no escape for them and a raw `\r` or NUL confuses line-based readers. Those stand-ins do
//! not round-trip; the three escaped characters do.
//!
//! It does not own which names are allowed (see [`crate::names`]): this escapes whatever it is
//! given.

use std::borrow::Cow;
use std::fmt;

use prometheus_client::encoding::{EncodeLabelValue, LabelValueEncoder};

/// A label value: the raw text, printed escaped for the exposition formats.
#[derive(Clone, Debug, Default, Hash, PartialEq, Eq, PartialOrd, Ord)]
pub struct LabelValue(String);

impl LabelValue {
    pub fn new(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    /// The value as given (unescaped).
    pub fn raw(&self) -> &str {
        &self.0
    }

    /// The value as written between the quotes of `name{label="…"}`.
    pub fn escaped(&self) -> Cow<'_, str> {
        escape(&self.0)
    }
}

/// `raw` as a label value is written in the text formats (see the module doc).
pub fn escape(raw: &str) -> Cow<'_, str> {
    if !raw.chars().any(needs_escape) {
        return Cow::Borrowed(raw);
    }
    let mut out = String::with_capacity(raw.len() + 8);
    for c in raw.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push(stand_in(c)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    matches!(c, '\\' | '"') || c.is_control()
}

/// The visible character a control character is shown as.
fn stand_in(c: char) -> char {
    match c as u32 {
        // U+2400 SYMBOL FOR NULL … U+241F SYMBOL FOR UNIT SEPARATOR.
        n @ 0x00..=0x1F => char::from_u32(0x2400 + n).unwrap_or('\u{FFFD}'),
        0x7F => '\u{2421}',
        _ => '\u{FFFD}',
    }
}

impl fmt::Display for LabelValue {
    /// The escaped form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.escaped())
    }
}

impl EncodeLabelValue for LabelValue {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), fmt::Error> {
        fmt::Write::write_str(encoder, &self.escaped())
    }
}

impl From<&str> for LabelValue {
    fn from(v: &str) -> Self {
        Self(v.to_string())
    }
}

impl From<String> for LabelValue {
    fn from(v: String) -> Self {
        Self(v)
    }
}

impl From<&String> for LabelValue {
    fn from(v: &String) -> Self {
        Self(v.clone())
    }
}

impl PartialEq<str> for LabelValue {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for LabelValue {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for LabelValue {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_formats_escapes_and_nothing_else_for_plain_text() {
        assert!(matches!(escape("plain Ünïcode €"), Cow::Borrowed(_)));
        assert_eq!(escape(r#"a "b" \ c"#), r#"a \"b\" \\ c"#);
        assert_eq!(escape("two\nlines"), "two\\nlines");
    }

    #[test]
    fn other_control_characters_become_visible_stand_ins() {
        assert_eq!(escape("a\tb\rc\0d\u{7f}e\u{85}f"), "a␉b␍c␀d␡e\u{FFFD}f");
        for c in (0u32..0x20).chain(0x7F..0xA0).filter_map(char::from_u32) {
            let out = escape(&c.to_string()).into_owned();
            assert!(
                !out.chars().any(|x| x.is_control()),
                "U+{:04X} → {out:?}",
                c as u32
            );
        }
    }

    /// A label set derived for prometheus-client with a `String` field would print that field
    /// verbatim again: every such struct in the crate holds `LabelValue`s only.
    #[test]
    fn every_derived_label_set_holds_label_values() {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    out.push(p);
                }
            }
        }
        let mut files = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut files,
        );
        let mut sets = 0;
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for (at, _) in text.match_indices("EncodeLabelSet)]") {
                let body = &text[at..];
                let open = body.find('{').unwrap();
                let close = body.find('}').unwrap();
                sets += 1;
                let fields: String = body[open + 1..close]
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .collect();
                for field in fields.split(',').map(str::trim) {
                    if let Some((name, ty)) = field.rsplit_once(':') {
                        assert_eq!(
                            ty.trim(),
                            "LabelValue",
                            "{}: label `{}` must be a LabelValue",
                            f.display(),
                            name.trim()
                        );
                    }
                }
            }
        }
        assert!(sets >= 5, "found only {sets} label sets");
    }

    #[test]
    fn display_and_the_encoder_print_the_escaped_form() {
        let v = LabelValue::from("x\"y");
        assert_eq!(v.to_string(), "x\\\"y");
        assert_eq!(v.raw(), "x\"y");
        assert_eq!(v, "x\"y");
    }
}
