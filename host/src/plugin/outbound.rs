//! A planned request is plugin output: what it may carry out of the sandbox.
//!
//! Owns: checking every `PlannedRequest` from `begin` and `handle` before it is queued, so a
//! connector cannot send what it read (a buyer's e-mail on one vendor page) out in its next
//! request. A request is refused when it has
//! - a header outside [`ALLOWED_HEADERS`] (no `Host`, no hop-by-hop header, no credential-like
//!   header: the host injects credentials itself), or a header value with control characters;
//! - a body on HEAD, or a GET body that is not a small JSON document (see [`check_body`]);
//! - user info in the URL (`https://user:pass@…`);
//! - an `authorization-header` scheme that is not an RFC 9110 token ([`is_http_token`]);
//! - personal data (the firewall's screen, after percent-decoding) in the path, a query
//!   parameter's name or value, the fragment, a header value or the body.
//!
//! A refusal names the field (`query parameter `q``, `header `if-none-match``, `path`), never
//! the value. It does not own where a request may go (`http::AllowList`) nor how it is sent
//! (`http::executor`, which re-checks the body rule before sending).

use percent_encoding::percent_decode_str;
use reqwest::Url;

use super::firewall::{screen_text, FieldKind, RejectReason};
// The wire rules are the executor's too (it re-checks them where a request is sent): they live
// in `http`, which does not import this room.
pub use crate::http::request_rules::{
    check_body, is_http_token, ALLOWED_HEADERS, MAX_GET_BODY_BYTES,
};
use crate::model::{PlannedRequest, RequestAuth};

/// Why a planned request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalReason {
    HeaderNotAllowed,
    BodyNotAllowed,
    CredentialInUrl,
    PersonalData(RejectReason),
}

impl RefusalReason {
    /// Every reason a request can be refused for, so metrics can show each at 0.
    pub const ALL: [Self; 7] = [
        Self::HeaderNotAllowed,
        Self::BodyNotAllowed,
        Self::CredentialInUrl,
        Self::PersonalData(RejectReason::Email),
        Self::PersonalData(RejectReason::Phone),
        Self::PersonalData(RejectReason::Card),
        Self::PersonalData(RejectReason::Barcode),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::HeaderNotAllowed => "header_not_allowed",
            Self::BodyNotAllowed => "body_not_allowed",
            Self::CredentialInUrl => "credential_in_url",
            Self::PersonalData(r) => r.as_str(),
        }
    }
}

/// A refused request: which one, which part, and why — never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: RefusalReason,
    /// The request's id as the plugin tagged it (withheld if it fails the screen itself).
    pub request: String,
    /// e.g. ``query parameter `q` ``, `path`, ``header `cookie` ``.
    pub field: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "request `{}` refused: {} ({})",
            self.request,
            self.field,
            self.reason.as_str()
        )
    }
}

/// A plugin-chosen name (request id, query parameter, header) fit to appear in a message: short,
/// printable, and not itself personal data; else `None`.
fn nameable(name: &str) -> Option<String> {
    let ok = name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'`' && b != b'\\')
        && screen_text(name, FieldKind::Opaque).is_none();
    ok.then(|| name.to_string())
}

/// Checks every request; the first refusal fails them all (the run stops there).
pub fn check_all(requests: &[PlannedRequest]) -> Result<(), Refusal> {
    requests.iter().try_for_each(check)
}

/// Checks one planned request (see the module doc).
pub fn check(req: &PlannedRequest) -> Result<(), Refusal> {
    let c = Checker {
        request: nameable(&req.id).unwrap_or_else(|| "<withheld>".into()),
    };
    c.screen(&req.id, || "request id".into())?;
    c.url(req)?;
    for (name, value) in &req.query {
        c.query_pair(name, value)?;
    }
    if let RequestAuth::AuthorizationHeader { scheme, .. } = &req.auth {
        if !is_http_token(scheme) {
            return Err(c.refuse(
                RefusalReason::HeaderNotAllowed,
                "the `authorization-header` scheme (not an RFC 9110 token: empty, or a space, \
                 CR, LF or another character outside letters, digits and !#$%&'*+-.^_`|~)"
                    .into(),
            ));
        }
        c.screen(scheme, || "the `authorization-header` scheme".into())?;
    }
    for (name, value) in &req.headers {
        let lower = name.to_ascii_lowercase();
        let field = || match nameable(&lower) {
            Some(n) => format!("header `{n}`"),
            None => "a header".to_string(),
        };
        if !ALLOWED_HEADERS.contains(&lower.as_str())
            || value.chars().any(|ch| ch.is_control() && ch != '\t')
        {
            return Err(c.refuse(RefusalReason::HeaderNotAllowed, field()));
        }
        c.screen(value, field)?;
    }
    if let Some(body) = &req.body {
        if !check_body(&req.method, &req.headers, body) {
            return Err(c.refuse(RefusalReason::BodyNotAllowed, "body".into()));
        }
        c.screen(&String::from_utf8_lossy(body), || "body".into())?;
    }
    Ok(())
}

/// The checks of one request, which every refusal names.
struct Checker {
    request: String,
}

impl Checker {
    fn refuse(&self, reason: RefusalReason, field: String) -> Refusal {
        Refusal {
            reason,
            request: self.request.clone(),
            field,
        }
    }

    /// Refuses `text` if it holds personal data; `field` names where it was.
    fn screen(&self, text: &str, field: impl FnOnce() -> String) -> Result<(), Refusal> {
        match screen_text(text, FieldKind::Opaque) {
            Some(r) => Err(self.refuse(RefusalReason::PersonalData(r), field())),
            None => Ok(()),
        }
    }

    fn query_pair(&self, name: &str, value: &str) -> Result<(), Refusal> {
        self.screen(name, || "a query parameter's name".into())?;
        self.screen(value, || match nameable(name) {
            Some(n) => format!("query parameter `{n}`"),
            None => "a query parameter".to_string(),
        })
    }

    fn url(&self, req: &PlannedRequest) -> Result<(), Refusal> {
        let Ok(url) = Url::parse(&req.url) else {
            // The executor refuses it as a bad URL; what it holds is still screened.
            return self.screen(&decode(&req.url), || "URL".into());
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(self.refuse(RefusalReason::CredentialInUrl, "URL user info".into()));
        }
        // Segments joined by spaces: an address split over two segments reads as one.
        let path = decode(url.path()).replace('/', " ");
        self.screen(&path, || "path".into())?;
        for (name, value) in url.query_pairs() {
            self.query_pair(&name, &value)?;
        }
        if let Some(fragment) = url.fragment() {
            self.screen(&decode(fragment), || "URL fragment".into())?;
        }
        Ok(())
    }
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RequestAuth;

    const EMAIL: &str = "canary.name@example.invalid";

    fn get(url: &str) -> PlannedRequest {
        PlannedRequest {
            id: "page".into(),
            method: "GET".into(),
            url: url.into(),
            query: vec![("organizer_id".into(), "100001".into())],
            headers: vec![("Accept".into(), "application/json".into())],
            body: None,
            auth: RequestAuth::None,
        }
    }

    fn refused(req: &PlannedRequest) -> Refusal {
        let r = check(req).expect_err("must be refused");
        assert!(!r.to_string().contains("canary"), "{r}");
        r
    }

    #[test]
    fn authorization_header_schemes_must_be_http_tokens() {
        let with = |scheme: &str| {
            let mut r = get("https://pretix.example/api/v1/organizers/");
            r.auth = RequestAuth::AuthorizationHeader {
                scheme: scheme.into(),
                secret: "token".into(),
            };
            r
        };
        for ok in [
            "Token",
            "Bearer",
            "Basic",
            "x-custom.v1",
            "A!#$%&'*+-.^_`|~9",
        ] {
            check(&with(ok)).unwrap_or_else(|r| panic!("{ok:?}: {r}"));
        }
        for bad in [
            "",
            " ",
            "Token x",
            "Token\r\nX-Forged: 1",
            "Token\n",
            "Tok:en",
            "Tökén",
        ] {
            let r = refused(&with(bad));
            assert_eq!(r.reason, RefusalReason::HeaderNotAllowed, "{bad:?}");
            assert_eq!(r.request, "page");
            assert!(
                r.to_string().contains("`authorization-header` scheme"),
                "{r}"
            );
        }
    }

    #[test]
    fn the_bundled_connectors_requests_pass() {
        let mut r = get("https://api.shotgun.live/tickets");
        r.query
            .push(("after".into(), "2025-11-01T10:00:00.000Z_900000001".into()));
        check(&r).unwrap();
        let mut q = get("https://qtickets.ru/api/rest/v1/shows/17/seats");
        q.headers
            .push(("Content-Type".into(), "application/json".into()));
        q.body = Some(
            br#"{"where":[{"column":"id","operator":">","value":1234567}],"orderBy":{"id":"asc"},"page":3}"#
                .to_vec(),
        );
        check(&q).unwrap();
    }

    #[test]
    fn personal_data_anywhere_in_the_request_is_refused_naming_the_field() {
        let pct = EMAIL.replace('@', "%40");
        let mut path = get(&format!("https://vendor.test/u/{pct}"));
        path.query.clear();
        assert_eq!(refused(&path).field, "path");
        assert_eq!(
            refused(&path).reason,
            RefusalReason::PersonalData(RejectReason::Email)
        );
        let split = get("https://vendor.test/canary.name@/example.invalid");
        assert_eq!(refused(&split).field, "path");

        let in_url = get(&format!("https://vendor.test/x?q={pct}"));
        assert_eq!(refused(&in_url).field, "query parameter `q`");
        let mut in_query = get("https://vendor.test/x");
        in_query
            .query
            .push(("note".into(), "06 12 34 56 78".into()));
        let r = refused(&in_query);
        assert_eq!(r.field, "query parameter `note`");
        assert_eq!(r.reason, RefusalReason::PersonalData(RejectReason::Phone));
        let mut as_name = get("https://vendor.test/x");
        as_name.query.push((EMAIL.into(), "1".into()));
        assert_eq!(refused(&as_name).field, "a query parameter's name");

        let mut header = get("https://vendor.test/x");
        header
            .headers
            .push(("If-None-Match".into(), format!("\"{EMAIL}\"")));
        assert_eq!(refused(&header).field, "header `if-none-match`");

        let mut body = get("https://vendor.test/x");
        body.headers
            .push(("Content-Type".into(), "application/json".into()));
        body.body = Some(format!(r#"{{"q":"{EMAIL}"}}"#).into_bytes());
        assert_eq!(refused(&body).field, "body");

        let frag = get(&format!("https://vendor.test/x#{EMAIL}"));
        assert_eq!(refused(&frag).field, "URL fragment");
        let mut id = get("https://vendor.test/x");
        id.id = EMAIL.into();
        let r = refused(&id);
        assert_eq!(
            (r.request.as_str(), r.field.as_str()),
            ("<withheld>", "request id")
        );
    }

    #[test]
    fn headers_outside_the_allow_list_are_refused() {
        for h in [
            "Host",
            "Cookie",
            "Authorization",
            "X-Api-Key",
            "X-Auth-Token",
            "Connection",
            "Transfer-Encoding",
            "Proxy-Authorization",
            "User-Agent",
            "X-Note",
        ] {
            let mut r = get("https://vendor.test/x");
            r.headers.push((h.into(), "v".into()));
            let refusal = refused(&r);
            assert_eq!(refusal.reason, RefusalReason::HeaderNotAllowed, "{h}");
            assert_eq!(
                refusal.field,
                format!("header `{}`", h.to_ascii_lowercase())
            );
        }
        let mut crlf = get("https://vendor.test/x");
        crlf.headers
            .push(("Accept".into(), "a\r\nX-Evil: 1".into()));
        assert_eq!(refused(&crlf).reason, RefusalReason::HeaderNotAllowed);
    }

    #[test]
    fn bodies_on_reads_are_refused_unless_small_json_on_get() {
        let mut head = get("https://vendor.test/x");
        head.method = "HEAD".into();
        head.body = Some(b"{}".to_vec());
        assert_eq!(refused(&head).reason, RefusalReason::BodyNotAllowed);
        let mut text = get("https://vendor.test/x");
        text.body = Some(b"hello".to_vec());
        assert_eq!(refused(&text).reason, RefusalReason::BodyNotAllowed);
        let mut big = get("https://vendor.test/x");
        big.headers
            .push(("Content-Type".into(), "application/json".into()));
        big.body = Some(format!("\"{}\"", "a".repeat(MAX_GET_BODY_BYTES)).into_bytes());
        assert_eq!(refused(&big).reason, RefusalReason::BodyNotAllowed);
        let userinfo = get("https://user:pw@vendor.test/x");
        assert_eq!(refused(&userinfo).reason, RefusalReason::CredentialInUrl);
    }
}
