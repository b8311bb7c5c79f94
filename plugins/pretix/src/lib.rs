//! The pretix connector (pretix.eu or a self-hosted pretix, REST API v1), shipped as a drop-in
//! `.wasm` outside the bundled set.
//!
//! Reads an organizer's events (all, or the configured ones), each event's products (for
//! names) and its orders with positions, check-ins, fees and refunds; every order position is
//! a ticket. Orders come incrementally by `modified_since` (`ordering=last_modified`, keyset
//! paging, an overlap each run) and, periodically, by a full re-read ordered by `datetime`
//! (refunds alone do not move `last_modified`): see `plan` for the policy, `orders` for the
//! mapping. The buyer is the order's e-mail as a `personal-id`, pseudonymized by the host; the
//! requests ask only for the fields the mapping needs, so secrets, ticket URLs, phones, names
//! and addresses are not even sent, and the parser has no field for them either.
//!
//! The transform is plain Rust over `HostApi` (`begin_with`, `handle_with`), tested natively;
//! the `Guest` impl only passes the component's imports in.

/// The component's allocator: page-scoped bump allocation (see the SDK's `arena`); the native
/// build keeps the platform's.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: boxoffice_plugin_sdk::arena::PageArena =
    boxoffice_plugin_sdk::arena::PageArena::new();

pub mod catalog;
pub mod cursor;
pub mod model;
pub mod money;
pub mod orders;
pub mod plan;
pub mod stamp;

use boxoffice_plugin_sdk::{
    bindings::Guest, status_error, HostApi, HttpRequest, HttpResponse, Manifest, Page, PluginError,
    RunContext, Setting, WasmHost,
};

pub struct Pretix;

fn setting(name: &str, description: &str, required: bool, default: Option<&str>) -> Setting {
    Setting {
        name: name.into(),
        description: description.into(),
        required,
        default_value: default.map(Into::into),
    }
}

pub fn manifest() -> Manifest {
    Manifest {
        id: "pretix".into(),
        vendor: "pretix".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        // The hosted service; a self-hosted instance is granted by its `base_url`.
        allowed_hosts: vec!["pretix.eu".into()],
        secrets: vec!["token".into()],
        settings: vec![
            setting(
                "base_url",
                "the pretix instance, e.g. https://pretix.eu",
                true,
                None,
            ),
            setting(
                "organizer",
                "the organizer's short form (as in /control/organizer/<short form>/)",
                true,
                None,
            ),
            setting(
                "events",
                "comma-separated event short forms to read (default: every event)",
                false,
                None,
            ),
            setting(
                "full_scan_every_secs",
                "how often every order is read again, for refunds (pretix does not mark them as changes)",
                false,
                Some(FULL_SCAN_DEFAULT),
            ),
        ],
        default_interval_secs: 300,
        max_requests_per_minute: 120,
    }
}

/// [`plan::FULL_SCAN_EVERY_SECS`] as the manifest shows it (a test keeps them equal).
const FULL_SCAN_DEFAULT: &str = "21600";

pub fn begin_with(
    _host: &mut impl HostApi,
    ctx: &RunContext,
) -> Result<Vec<HttpRequest>, PluginError> {
    plan::begin(ctx).map_err(PluginError::Fatal)
}

pub fn handle_with(
    host: &mut impl HostApi,
    ctx: &RunContext,
    request: &HttpRequest,
    response: &HttpResponse,
) -> Result<Page, PluginError> {
    let (kind, slug) = plan::untag(&request.id);
    let ok = (200..300).contains(&response.status);
    match (kind, slug) {
        (plan::FULL | plan::SINCE | plan::WINDOW, Some(slug)) => {
            orders::handle(host, ctx, request, kind, slug, response)
        }
        _ if !ok => Err(match (kind, slug, response.status) {
            (plan::EVENT, Some(slug), 403 | 404) => PluginError::Fatal(format!(
                "event `{slug}` (setting `events`): pretix answered {}: no such event, or the token may not read it",
                response.status
            )),
            _ => status_error(response),
        }),
        (plan::EVENTS, None) => catalog::events_page(ctx, request, &response.body),
        (plan::EVENT, Some(_)) => catalog::event_page(ctx, request, &response.body),
        (plan::ITEMS, Some(slug)) => catalog::items_page(ctx, request, slug, &response.body),
        _ => Err(PluginError::Fatal(format!(
            "unknown request id `{}`",
            request.id
        ))),
    }
}

impl Guest for Pretix {
    fn manifest() -> Manifest {
        manifest()
    }
    fn begin(ctx: RunContext) -> Result<Vec<HttpRequest>, PluginError> {
        begin_with(&mut WasmHost, &ctx)
    }
    fn handle(
        ctx: RunContext,
        request: HttpRequest,
        response: HttpResponse,
    ) -> Result<Page, PluginError> {
        handle_with(&mut WasmHost, &ctx, &request, &response)
    }
}

boxoffice_plugin_sdk::export!(Pretix);

#[cfg(test)]
mod tests;
