//! Response plumbing shared by every route: JSON bodies (shaped by the optional-field mode),
//! the vendor's error envelopes (`{"error", "status", "code", "info"}`), its HTML 404 page, and
//! the list / single-record wrappers with their paging block.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::unconfirmed::{BAD_BODY, BAD_TOKEN};
use crate::qtickets::optional::{self, Body};
use crate::qtickets::State;

/// An empty PHP array on the wire (`[]`).
pub(super) const NONE: &[u8] = &[];

pub(super) fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// A JSON answer of `kind` with the optional fields as the simulation is configured.
pub(super) fn shaped(s: &State, kind: Body, status: StatusCode, v: &impl Serialize) -> Response {
    let body = serde_json::to_vec(v).expect("responses serialize");
    json_bytes(status, optional::shape(body, kind, s.cfg.optional_fields))
}

fn json_of(status: StatusCode, v: &impl Serialize) -> Response {
    match serde_json::to_vec(v) {
        Ok(b) => json_bytes(status, b),
        Err(_) => unknown_error(),
    }
}

#[derive(Serialize)]
struct ErrorBody<'a, I: Serialize> {
    error: &'a str,
    status: u16,
    code: &'a str,
    info: I,
}

fn envelope(status: StatusCode, error: &str, code: &str) -> Response {
    let empty: &[u8] = &[];
    json_of(
        status,
        &ErrorBody {
            error,
            status: status.as_u16(),
            code,
            info: empty,
        },
    )
}

pub(super) fn unknown_error() -> Response {
    envelope(
        StatusCode::SERVICE_UNAVAILABLE,
        "Unknown error",
        "UNKNOWN_ERROR",
    )
}

pub(super) fn bad_request() -> Response {
    envelope(BAD_BODY.0, BAD_BODY.1, BAD_BODY.2)
}

pub(super) fn not_found(resource: &str, id: u64) -> Response {
    #[derive(Serialize)]
    struct Info<'a> {
        id: u64,
        resource: &'a str,
    }
    json_of(
        StatusCode::NOT_FOUND,
        &ErrorBody {
            error: &format!("Resource \"{resource}\" not found"),
            status: 404,
            code: "RESOURCE_NOT_FOUND",
            info: Info { id, resource },
        },
    )
}

const HTML_404: &str = "<!DOCTYPE html>\n<html lang=\"ru\">\n<head><meta charset=\"UTF-8\">\
<title>404 Not Found</title></head>\n<body><h1>404</h1><p>Страница не найдена</p></body>\n</html>\n";

pub(super) fn html_404() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
        HTML_404,
    )
        .into_response()
}

pub(super) fn bad_token() -> Response {
    envelope(BAD_TOKEN.0, BAD_TOKEN.1, BAD_TOKEN.2)
}

#[derive(Serialize)]
pub(super) struct Paging {
    #[serde(rename = "perPage")]
    pub(super) per_page: usize,
    #[serde(rename = "currentPage")]
    pub(super) current_page: usize,
    pub(super) total: usize,
}

#[derive(Serialize)]
pub(super) struct ListBody<T: Serialize> {
    pub(super) data: Vec<T>,
    pub(super) paging: Paging,
}

#[derive(Serialize)]
pub(super) struct OneBody<T: Serialize> {
    pub(super) data: T,
}
