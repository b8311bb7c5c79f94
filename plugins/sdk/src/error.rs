//! Plugin errors from vendor answers: [`bad_response`] (a bounded, printable excerpt of the
//! body) and [`status_error`] (a non-2xx status to the matching [`PluginError`] variant).
//!
//! Owns the rule that a vendor's body is never echoed back whole or raw: at most
//! [`BODY_EXCERPT_BYTES`] bytes, cut on a UTF-8 boundary, control characters (newlines, ANSI
//! escapes, NULs) replaced by spaces, so an error line stays one short line in a log.

use std::fmt::Display;

use crate::{header, HttpResponse, PluginError};

/// The most bytes of a vendor body an error quotes.
pub const BODY_EXCERPT_BYTES: usize = 300;

/// At most `max` bytes of `body` as text: invalid UTF-8 replaced, cut on a character
/// boundary, control characters as spaces, `…` appended when something was cut.
pub fn snippet(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::with_capacity(max.min(text.len()) + 3);
    for c in text.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if out.len() + c.len_utf8() > max {
            out.push('…');
            return out;
        }
        out.push(c);
    }
    out
}

/// A [`PluginError::BadResponse`]: `context` (what was asked, what was wrong; ours, not the
/// vendor's), then at most [`BODY_EXCERPT_BYTES`] bytes of the body.
///
/// ```
/// use boxoffice_plugin_sdk::{bad_response, PluginError};
/// let body = format!("<html>\n{}</html>", "x".repeat(1000));
/// let PluginError::BadResponse(m) = bad_response("GET /orders: HTTP 404", body.as_bytes()) else {
///     unreachable!()
/// };
/// assert!(m.starts_with("GET /orders: HTTP 404: <html> xxx"));
/// assert!(m.len() < 400 && !m.contains('\n'));
/// ```
pub fn bad_response(context: impl Display, body: &[u8]) -> PluginError {
    let excerpt = snippet(body, BODY_EXCERPT_BYTES);
    let excerpt = excerpt.trim();
    PluginError::BadResponse(if excerpt.is_empty() {
        format!("{context} (empty body)")
    } else {
        format!("{context}: {excerpt}")
    })
}

/// Turns a non-2xx response into the matching plugin error: 401/403 → `unauthorized`, 429 and
/// 5xx → `retry-later` (the `Retry-After` seconds, else 60), anything else → [`bad_response`].
pub fn status_error(resp: &HttpResponse) -> PluginError {
    match resp.status {
        401 | 403 => PluginError::Unauthorized(format!(
            "HTTP {}: {}",
            resp.status,
            snippet(&resp.body, BODY_EXCERPT_BYTES).trim()
        )),
        429 | 500..=599 => {
            let secs = header(resp, "retry-after")
                .and_then(|v| v.trim().parse::<u32>().ok())
                .unwrap_or(60);
            PluginError::RetryLater(secs)
        }
        s => bad_response(format_args!("HTTP {s}"), &resp.body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, headers: Vec<(&str, &str)>, body: &[u8]) -> HttpResponse {
        HttpResponse {
            status,
            headers: headers
                .into_iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            body: body.to_vec(),
        }
    }

    fn message(e: PluginError) -> String {
        match e {
            PluginError::BadResponse(m) | PluginError::Unauthorized(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn status_errors_map_to_variants() {
        assert!(matches!(
            status_error(&resp(401, vec![], b"nope")),
            PluginError::Unauthorized(m) if m == "HTTP 401: nope"
        ));
        assert!(matches!(
            status_error(&resp(429, vec![("Retry-After", "7")], b"")),
            PluginError::RetryLater(7)
        ));
        assert!(matches!(
            status_error(&resp(503, vec![], b"")),
            PluginError::RetryLater(60)
        ));
        assert!(matches!(
            status_error(&resp(404, vec![], b"<html>")),
            PluginError::BadResponse(m) if m == "HTTP 404: <html>"
        ));
        let long = vec![b'a'; 5000];
        assert!(message(status_error(&resp(403, vec![], &long))).len() <= 320);
    }

    #[test]
    fn excerpts_are_bounded_cut_on_characters_and_printable() {
        // 299 ASCII bytes then a 2-byte character: it does not fit, so it is cut before it.
        let body = format!("{}é and more", "a".repeat(299));
        let m = message(bad_response("ctx", body.as_bytes()));
        let excerpt = m.strip_prefix("ctx: ").unwrap();
        assert_eq!(excerpt, format!("{}…", "a".repeat(299)));
        // Exactly 300 bytes: kept whole, no marker.
        let m = message(bad_response("ctx", "b".repeat(300).as_bytes()));
        assert_eq!(m, format!("ctx: {}", "b".repeat(300)));
        // Control characters and invalid UTF-8.
        let m = message(bad_response("ctx", b"line1\nline2\r\x1b[31mred\x00\xff"));
        assert_eq!(m, "ctx: line1 line2  [31mred \u{fffd}");
        assert!(!m.chars().any(char::is_control));
        assert_eq!(message(bad_response("ctx", b"  ")), "ctx (empty body)");
        // Multi-byte text is never split: every cut is a valid string of at most 300 bytes.
        let cyr = "ё".repeat(400);
        for n in 0..cyr.len() {
            let s = snippet(&cyr.as_bytes()[..n], BODY_EXCERPT_BYTES);
            assert!(s.trim_end_matches('…').len() <= BODY_EXCERPT_BYTES, "{n}");
        }
    }
}
