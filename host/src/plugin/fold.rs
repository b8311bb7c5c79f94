//! Folding text before the personal-data screen reads it, so a look-alike spelling matches the
//! same patterns as the plain one.
//!
//! Owns: NFKC normalisation (fullwidth `＠`, `﹫`, fullwidth and circled digits, odd spaces);
//! dropping invisible format characters (zero-width space, soft hyphen, bidi controls);
//! folding the confusables NFKC leaves alone — other dots (`。`, `·`, `․`), dashes and minus
//! signs, plus signs, decimal digits of every script (Arabic-Indic, Devanagari, Thai…); and
//! e-mails spelled out: `name at example dot com`, `name(at)example(dot)com`, `[at]`, `{dot}`,
//! `собака`/`точка`, `%40`, `&#64;`. It does not decide what is personal (that is the
//! `firewall`), and its output is for matching and for redacted log lines, never stored.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;

/// First code point of every block of ten decimal digits (Unicode `Nd`) that NFKC does not
/// already map to ASCII.
const DIGIT_BLOCKS: &[u32] = &[
    0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66,
    0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0,
    0x104A0, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0,
    0x11730, 0x118E0, 0x16A60, 0x16B50, 0x1E950,
];

fn ascii_digit(c: char) -> Option<char> {
    let cp = c as u32;
    if cp < DIGIT_BLOCKS[0] {
        return None;
    }
    DIGIT_BLOCKS
        .iter()
        .find(|&&base| (base..base + 10).contains(&cp))
        .map(|&base| char::from(b'0' + (cp - base) as u8))
}

/// Characters that render as nothing: a screen must read through them.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Characters of the Latin, Greek and Cyrillic blocks that NFKC leaves alone and that compose
/// with nothing: text made only of these (and no confusable) needs no normalisation, which
/// saves the NFKC tables on nearly every vendor string (generated with Python's
/// `unicodedata`: NFKC(c) = c, combining class 0, not a control, format or space character).
fn nfkc_stable(c: char) -> bool {
    matches!(c,
        '\u{0020}'..='\u{007E}' | '\u{00A1}'..='\u{00A7}' | '\u{00A9}' | '\u{00AB}'..='\u{00AC}'
        | '\u{00AE}' | '\u{00B0}'..='\u{00B1}' | '\u{00B6}'..='\u{00B7}' | '\u{00BB}'
        | '\u{00BF}'..='\u{0131}' | '\u{0134}'..='\u{013E}' | '\u{0141}'..='\u{0148}'
        | '\u{014A}'..='\u{017E}' | '\u{0180}'..='\u{01C3}' | '\u{01CD}'..='\u{01F0}'
        | '\u{01F4}'..='\u{02AF}' | '\u{02B9}'..='\u{02D7}' | '\u{02DE}'..='\u{02DF}'
        | '\u{02E5}'..='\u{02FF}' | '\u{0370}'..='\u{0373}' | '\u{0375}'..='\u{0377}'
        | '\u{037B}'..='\u{037D}' | '\u{037F}' | '\u{0386}' | '\u{0388}'..='\u{038A}' | '\u{038C}'
        | '\u{038E}'..='\u{03A1}' | '\u{03A3}'..='\u{03CF}' | '\u{03D7}'..='\u{03EF}' | '\u{03F3}'
        | '\u{03F6}'..='\u{03F8}' | '\u{03FA}'..='\u{0482}' | '\u{048A}'..='\u{052F}')
}

/// A look-alike NFKC keeps as it is, as the ASCII character it passes for.
fn confusable(c: char) -> Option<char> {
    Some(match c {
        '\u{FE6B}' | '\u{FF20}' => '@',
        '\u{3002}' | '\u{FF61}' | '\u{00B7}' | '\u{2E31}' | '\u{30FB}' | '\u{2027}'
        | '\u{2219}' | '\u{22C5}' | '\u{0701}' | '\u{0702}' | '\u{A60E}' | '\u{06D4}'
        | '\u{0589}' | '\u{1362}' | '\u{2024}' => '.',
        '\u{2010}'..='\u{2015}'
        | '\u{2212}'
        | '\u{2043}'
        | '\u{02D7}'
        | '\u{FE58}'
        | '\u{FE63}'
        | '\u{FF0D}'
        | '\u{2796}' => '-',
        '\u{02D6}' | '\u{2795}' | '\u{FF0B}' | '\u{FE62}' => '+',
        _ => return ascii_digit(c),
    })
}

/// `[at]`, `(at)`, `{at}`, `<at>` (also with `@` inside), spaces around them included.
static BRACKET_AT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\s*[\(\[\{<]\s*(?:at|@|собака)\s*[\)\]\}>]\s*").expect("at regex")
});
static BRACKET_DOT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\s*[\(\[\{<]\s*(?:dot|\.|точка)\s*[\)\]\}>]\s*").expect("dot regex")
});
/// `name at example dot com`: the plain words count only together, so "Live at Wembley" is
/// not an address.
static WORDS_AT_DOT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)[\p{L}\p{N}._%+\-]+\s+(?:at|собака)\s+[\p{L}\p{N}\-]+(?:\s+(?:dot|точка)\s+[\p{L}\p{N}\-]+)+",
    )
    .expect("spelled e-mail regex")
});
static WORD_AT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\s+(?:at|собака)\s+").expect("at word regex"));
static WORD_DOT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\s+(?:dot|точка)\s+").expect("dot word regex"));
/// `%40`, `&#64;`, `&#x40;`, `&commat;`.
static ENCODED_AT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)%40|&#0*64;|&#x0*40;|&commat;").expect("encoded at"));

/// `s` as the screen reads it (see the module doc). Borrowed when nothing changes: plain ASCII
/// without an `at`/`dot` spelling costs one scan.
pub fn fold(s: &str) -> Cow<'_, str> {
    let unchanged = s.is_ascii() || s.chars().all(|c| nfkc_stable(c) && confusable(c).is_none());
    let mut out: Cow<'_, str> = if unchanged {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(
            s.nfkc()
                .filter(|c| !is_invisible(*c))
                .map(|c| confusable(c).unwrap_or(c))
                .collect(),
        )
    };
    if memchr::memchr2(b'%', b'&', out.as_bytes()).is_some() {
        out = replace(out, &ENCODED_AT, "@");
    }
    if has_spelling(&out) {
        out = replace(out, &BRACKET_AT, "@");
        out = replace(out, &BRACKET_DOT, ".");
        let spelled = match WORDS_AT_DOT.replace_all(&out, |c: &regex::Captures<'_>| {
            let m = WORD_AT.replace_all(&c[0], "@");
            WORD_DOT.replace_all(&m, ".").into_owned()
        }) {
            Cow::Owned(o) => Some(o),
            Cow::Borrowed(_) => None,
        };
        if let Some(o) = spelled {
            out = Cow::Owned(o);
        }
    }
    out
}

/// `s` with `re` replaced, allocating only when it matched.
fn replace<'a>(s: Cow<'a, str>, re: &Regex, with: &str) -> Cow<'a, str> {
    let changed = match re.replace_all(&s, with) {
        Cow::Owned(o) => Some(o),
        Cow::Borrowed(_) => None,
    };
    changed.map(Cow::Owned).unwrap_or(s)
}

/// Whether `s` may spell an `@` or a dot out (a cheap test before the regexes): a bracket and
/// `at`/`dot`, or both words, or their Russian names.
fn has_spelling(s: &str) -> bool {
    let b = s.as_bytes();
    let has = |needle: &[u8]| {
        b.windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
    };
    let bracket = memchr::memchr3(b'(', b'[', b'{', b).is_some() || b.contains(&b'<');
    (bracket && (has(b"at") || has(b"dot")))
        || (has(b" at ") && has(b" dot "))
        || (!s.is_ascii() && (s.contains("собака") || s.contains("точка")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alikes_fold_to_ascii() {
        assert_eq!(fold("name＠example．com"), "name@example.com");
        assert_eq!(fold("name﹫example。com"), "name@example.com");
        assert_eq!(fold("na\u{200B}me@exa\u{00AD}mple.com"), "name@example.com");
        assert_eq!(fold("０６ １２ ３４"), "06 12 34");
        assert_eq!(fold("٠٦١٢٣٤٥٦٧٨"), "0612345678");
        assert_eq!(fold("۰۶ ۱۲"), "06 12");
        assert_eq!(fold("०६१२"), "0612");
        assert_eq!(fold("＋33 6 12"), "+33 6 12");
        assert_eq!(fold("06‒12–34—56−78"), "06-12-34-56-78");
    }

    #[test]
    fn spelled_out_addresses_fold_to_at_and_dot() {
        for s in [
            "name at example dot com",
            "name AT example DOT com",
            "name(at)example(dot)com",
            "name [at] example [dot] com",
            "name {at} example {dot} com",
            "name <at> example <dot> com",
            "name (at) example.com",
            "name%40example.com",
            "name&#64;example.com",
            "name собака example точка com",
        ] {
            assert_eq!(fold(s), "name@example.com", "{s}");
        }
        // Plain words alone are ordinary text.
        assert_eq!(fold("Live at Wembley"), "Live at Wembley");
        assert_eq!(fold("Doors at 8, dot on time"), "Doors at 8, dot on time");
        assert!(matches!(fold("PHASE 1"), Cow::Borrowed(_)));
    }
}
