//! The wire rules of a request a connector planned, shared by the screen that refuses it
//! before it is queued (`plugin::outbound`) and the executor that sends it (`executor`, which
//! re-checks them, defence in depth): the headers a connector may set, the body a method may
//! carry, what an `Authorization` scheme must be. It does not own the screen for personal data
//! (`plugin::outbound`, `plugin::firewall`).

/// Request headers a connector may set (lower case). Everything else a client needs (`Host`,
/// `User-Agent`, `Authorization`, `Accept-Encoding`, framing) the host sets itself.
pub const ALLOWED_HEADERS: &[&str] = &[
    "accept",
    "accept-language",
    "cache-control",
    "content-type",
    "if-modified-since",
    "if-none-match",
];

/// Largest GET body: QTickets' API reads its filters from a JSON body on GET (its query string
/// is ignored, `POST` creates data); its bodies are ~200 bytes. Anything bigger is a channel.
pub const MAX_GET_BODY_BYTES: usize = 4096;

/// Whether `s` is an RFC 9110 `token` (section 5.6.2): one or more of letters, digits and
/// ``!#$%&'*+-.^_`|~``. An `Authorization` scheme must be one; anything else (a space, CR, LF,
/// a colon) could split or forge the header.
pub fn is_http_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Whether a request with this method may carry `body`: never on HEAD; on GET only a JSON
/// document of at most [`MAX_GET_BODY_BYTES`] sent as `application/json` (QTickets' filters).
/// Other methods are refused by the executor anyway.
pub fn check_body(method: &str, headers: &[(String, String)], body: &[u8]) -> bool {
    match method.to_ascii_uppercase().as_str() {
        "HEAD" => false,
        "GET" => {
            let json_type = headers.iter().any(|(k, v)| {
                k.eq_ignore_ascii_case("content-type")
                    && v.trim()
                        .to_ascii_lowercase()
                        .starts_with("application/json")
            });
            json_type
                && body.len() <= MAX_GET_BODY_BYTES
                && serde_json::from_slice::<serde_json::Value>(body).is_ok()
        }
        _ => true,
    }
}
