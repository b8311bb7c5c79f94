//! The QTickets connector (`qtickets.md` in the vendor references): REST API v1.
//!
//! Reads `GET /orders` by ascending id (filters in a JSON body, also on GET: the API ignores the
//! query string), re-reading the lookback window every run and every order on a reconcile pass,
//! plus `GET /events` and `GET /shows/{id}/seats` for names, cities, dates and seat inventory.
//! Emits one canonical ticket per admission into the page's record blob (contract 0.2), each
//! buyer as a `PersonalId` (the client id, else the e-mail) that the host pseudonymizes while
//! decoding; never reads names, e-mails (except as that fallback identifier), phones, legal
//! fields, barcodes or pay/cancel/ticket URLs.
//!
//! The transform is plain Rust over `HostApi` (the SDK's `Connector` trait), so it is tested and
//! benchmarked natively; `export_connector!` makes the component of it.

pub mod events;
pub mod model;
pub mod orders;
pub mod plan;
pub mod seats;

use boxoffice_plugin_sdk::{
    header, status_error, time, Connector, HostApi, HttpRequest, HttpResponse, Level, Manifest,
    Page, PluginError, RunContext, Setting,
};

pub struct Qtickets;

impl Connector for Qtickets {
    fn manifest() -> Manifest {
        Manifest::builder("qtickets", "QTickets")
            .version(env!("CARGO_PKG_VERSION"))
            .allowed_host("qtickets.ru")
            .allowed_host("qtickets.app")
            .secret("token")
            .setting(Setting::optional(
                "base_url",
                "REST API v1 base",
                "https://qtickets.ru/api/rest/v1",
            ))
            .setting(Setting::optional(
                "lookback_hours",
                "orders created in this window are re-read every run (late payments, refunds, cancels)",
                "72",
            ))
            .setting(Setting::optional(
                "reconcile_every_hours",
                "how often a run re-reads every order from id 0 (refunds and scans of older orders); 0 = every run",
                "24",
            ))
            .setting(Setting::optional(
                "inventory_every_secs",
                "how often events and seats are re-read",
                "900",
            ))
            .setting(plan::webhooks_setting())
            .setting(plan::lookback_every_setting())
            .interval_secs(900)
            .max_requests_per_minute(120)
            .build()
    }

    fn begin(host: &mut impl HostApi, ctx: &RunContext) -> Result<Vec<HttpRequest>, PluginError> {
        let (requests, start) = plan::begin(ctx)?;
        if start == 0 {
            host.log(
                Level::Info,
                "reading every order from id 0 (reconcile pass)",
            );
        } else {
            host.log(Level::Debug, &format!("reading orders with id > {start}"));
        }
        Ok(requests)
    }

    fn handle(
        host: &mut impl HostApi,
        ctx: &RunContext,
        request: &HttpRequest,
        response: &HttpResponse,
    ) -> Result<Page, PluginError> {
        check_response(request, response)?;
        match request.id.as_str() {
            plan::ORDERS => orders::handle(host, ctx, request, &response.body),
            plan::EVENTS => events::handle(ctx, request, &response.body),
            id if id.starts_with(plan::SEATS_PREFIX) => seats::handle(ctx, request, &response.body),
            other => Err(PluginError::Fatal(format!("unknown request id `{other}`"))),
        }
    }
}

boxoffice_plugin_sdk::export_connector!(Qtickets);

/// A `BadResponse` naming the request (method and URL: ours, never the vendor's body).
pub(crate) fn bad(req: &HttpRequest, msg: String) -> PluginError {
    let mut m = format!("{} {}: {msg}", req.method, req.url);
    if m.len() > 500 {
        let mut cut = 500;
        while !m.is_char_boundary(cut) {
            cut -= 1;
        }
        m.truncate(cut);
    }
    PluginError::BadResponse(m)
}

/// An HTML answer: by `Content-Type`, or by its first byte when the type is missing.
fn is_html(resp: &HttpResponse) -> bool {
    match header(resp, "content-type") {
        Some(ct) => ct.to_ascii_lowercase().contains("html"),
        None => resp
            .body
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'<'),
    }
}

/// Status and content checks before any body is parsed. Auth failures, 429 and 5xx keep the
/// SDK's mapping (503 → retry later); any other answer in HTML is a wrong path (the API's
/// unknown routes answer an HTML 404 page).
pub(crate) fn check_response(req: &HttpRequest, resp: &HttpResponse) -> Result<(), PluginError> {
    let ok = (200..300).contains(&resp.status);
    if !ok && matches!(resp.status, 401 | 403 | 429 | 500..=599) {
        return Err(status_error(resp));
    }
    if is_html(resp) {
        return Err(bad(
            req,
            format!(
                "answered HTML (HTTP {}), not JSON (wrong path?)",
                resp.status
            ),
        ));
    }
    if !ok {
        return Err(match status_error(resp) {
            PluginError::BadResponse(m) => bad(req, m),
            e => e,
        });
    }
    Ok(())
}

/// Checks a list's `paging` against the page asked for.
pub(crate) fn check_paging(
    req: &HttpRequest,
    p: &model::Paging,
    asked: u64,
    empty: bool,
) -> Result<(), PluginError> {
    if !empty && p.per_page <= 0 {
        return Err(bad(req, format!("`paging.perPage` is {}", p.per_page)));
    }
    if !empty && p.current_page != asked as i64 {
        return Err(bad(
            req,
            format!(
                "the API ignored the page: asked {asked}, answered {} (was the GET body dropped?)",
                p.current_page
            ),
        ));
    }
    Ok(())
}

/// A timestamp that is null or empty reads as absent.
pub(crate) fn present(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

/// An optional timestamp; present but unreadable is an error naming the field and id.
pub(crate) fn opt_ms(
    req: &HttpRequest,
    (kind, id): (&str, u64),
    field: &str,
    v: Option<&str>,
) -> Result<Option<i64>, PluginError> {
    present(v)
        .map(|s| {
            time::parse_ms(s)
                .ok_or_else(|| bad(req, format!("{kind} {id}: `{field}` is not a timestamp")))
        })
        .transpose()
}

/// A required timestamp.
pub(crate) fn req_ms(
    req: &HttpRequest,
    (kind, id): (&str, u64),
    field: &str,
    v: Option<&str>,
) -> Result<i64, PluginError> {
    opt_ms(req, (kind, id), field, v)?.ok_or_else(|| bad(req, format!("{kind} {id}: no `{field}`")))
}

#[cfg(test)]
mod tests;
