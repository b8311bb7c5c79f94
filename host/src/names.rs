//! What a connector id and an account name may be — the one place the rules are written.
//!
//! Both end up in metric labels, log lines, error messages, the state database's keys and the
//! warehouse's columns, and both come from outside the host: an account name from the operator's
//! configuration (`SHOTGUN_ACCOUNT`, `QTICKETS_ACCOUNT` / `ORG_NAME`, `[[account]] name`), a
//! connector id from the connector's own manifest. They are checked when the configuration and
//! the plugins load, so nothing downstream meets a newline or an invisible character in them.
//!
//! - **Connector id** (manifest `id`, account `vendor`): `^[a-z][a-z0-9_-]{0,31}$` — a lower-case
//!   ASCII letter, then up to 31 lower-case letters, digits, `_` or `-`.
//! - **Account name**: 1 to 64 characters, none of them a control character (`\n`, `\t`, NUL,
//!   DEL, C1) or an invisible formatting character (zero-width spaces and joiners, bidirectional
//!   overrides, the soft hyphen, the byte-order mark, line and paragraph separators). Anything
//!   printable is allowed, `"` and `\` included: label values are escaped
//!   ([`crate::metrics::LabelValue`]).
//!
//! Errors describe the offending character by its code point, never by echoing the value.
//! It does not own escaping (see `metrics::label`) nor uniqueness (see `config`, `app`).

use thiserror::Error;

/// Longest connector id, in characters.
pub const CONNECTOR_ID_MAX: usize = 32;
/// Longest account name, in characters.
pub const ACCOUNT_NAME_MAX: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    #[error("is empty")]
    Empty,
    #[error("is {len} characters long, over the {max}-character limit")]
    TooLong { len: usize, max: usize },
    #[error("must start with a lower-case ASCII letter (a-z), not {0}")]
    BadStart(CharShown),
    #[error("holds {shown} at character {at}; {allowed}")]
    BadChar {
        shown: CharShown,
        /// 1-based position in characters.
        at: usize,
        allowed: &'static str,
    },
}

/// A character as an error shows it: its code point, and itself when it is visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CharShown(pub char);

impl std::fmt::Display for CharShown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = self.0;
        if c.is_control() || is_invisible(c) || c.is_whitespace() {
            write!(f, "U+{:04X}", c as u32)
        } else {
            write!(f, "`{c}` (U+{:04X})", c as u32)
        }
    }
}

const ID_ALLOWED: &str = "use lower-case letters, digits, `_` and `-`";
const NAME_ALLOWED: &str = "use printable characters only";

/// Checks a connector id (see the module doc).
pub fn connector_id(id: &str) -> Result<(), NameError> {
    let Some(first) = id.chars().next() else {
        return Err(NameError::Empty);
    };
    let len = id.chars().count();
    if len > CONNECTOR_ID_MAX {
        return Err(NameError::TooLong {
            len,
            max: CONNECTOR_ID_MAX,
        });
    }
    if !first.is_ascii_lowercase() {
        return Err(NameError::BadStart(CharShown(first)));
    }
    let bad = id
        .chars()
        .enumerate()
        .find(|(_, c)| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-')));
    match bad {
        Some((i, c)) => Err(NameError::BadChar {
            shown: CharShown(c),
            at: i + 1,
            allowed: ID_ALLOWED,
        }),
        None => Ok(()),
    }
}

/// Checks an account name (see the module doc).
pub fn account_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    let len = name.chars().count();
    if len > ACCOUNT_NAME_MAX {
        return Err(NameError::TooLong {
            len,
            max: ACCOUNT_NAME_MAX,
        });
    }
    let bad = name
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() || is_invisible(*c));
    match bad {
        Some((i, c)) => Err(NameError::BadChar {
            shown: CharShown(c),
            at: i + 1,
            allowed: NAME_ALLOWED,
        }),
        None => Ok(()),
    }
}

/// Formatting characters that print as nothing (or reorder what follows): a name holding one
/// looks like another name.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}'                  // soft hyphen
        | '\u{061C}'                // Arabic letter mark
        | '\u{180E}'                // Mongolian vowel separator
        | '\u{200B}'..='\u{200F}'   // zero-width space/joiners, LRM, RLM
        | '\u{2028}'..='\u{202E}'   // line/paragraph separators, bidi embeddings and overrides
        | '\u{2060}'..='\u{206F}'   // word joiner, invisible operators, bidi isolates
        | '\u{FEFF}'                // byte-order mark
        | '\u{FFF9}'..='\u{FFFB}'   // interlinear annotation
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connector_ids() {
        for ok in [
            "shotgun",
            "qtickets",
            "testbed",
            "a",
            "x_1-y",
            &"a".repeat(32),
        ] {
            assert_eq!(connector_id(ok), Ok(()), "{ok}");
        }
        assert_eq!(connector_id(""), Err(NameError::Empty));
        assert!(matches!(
            connector_id(&"a".repeat(33)),
            Err(NameError::TooLong { len: 33, max: 32 })
        ));
        assert_eq!(connector_id("1x"), Err(NameError::BadStart(CharShown('1'))));
        assert_eq!(
            connector_id("Shotgun"),
            Err(NameError::BadStart(CharShown('S')))
        );
        for (bad, at) in [
            ("te\"st", 3),
            ("a b", 2),
            ("a\nb", 2),
            ("a.b", 2),
            ("aé", 2),
        ] {
            match connector_id(bad) {
                Err(NameError::BadChar { at: got, .. }) => assert_eq!(got, at, "{bad:?}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn account_names() {
        for ok in [
            "default",
            "Paris \"main\" \\ 2",
            "Москва",
            "a",
            &"é".repeat(64),
        ] {
            assert_eq!(account_name(ok), Ok(()), "{ok}");
        }
        assert_eq!(account_name(""), Err(NameError::Empty));
        assert!(matches!(
            account_name(&"é".repeat(65)),
            Err(NameError::TooLong { len: 65, max: 64 })
        ));
        for bad in [
            "a\nb",
            "a\rb",
            "a\tb",
            "a\0b",
            "a\u{7f}b",
            "a\u{85}b",
            "a\u{200B}b",
            "a\u{202E}b",
            "a\u{FEFF}b",
        ] {
            assert!(
                matches!(account_name(bad), Err(NameError::BadChar { at: 2, .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn errors_show_code_points_not_raw_control_characters() {
        let e = account_name("x\ny").unwrap_err().to_string();
        assert_eq!(
            e,
            "holds U+000A at character 2; use printable characters only"
        );
        let e = connector_id("x\"y").unwrap_err().to_string();
        assert!(e.contains("`\"` (U+0022)"), "{e}");
    }
}
