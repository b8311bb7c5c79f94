//! The Shotgun connector (`shotgun.md` in the vendor references).
//!
//! Reads `GET /tickets` incrementally by the `after` cursor (`<ticket_updated_at>_<ticket_id>`,
//! verbatim, of the last stored ticket) and the legacy events listing for names, cities and
//! tickets left. Emits canonical tickets with the buyer as the vendor's user (or contact) id,
//! which the host pseudonymizes while decoding, and a coarse region;
//! never reads scan codes, names, e-mails, phones, birthdays, gender or locality.
//!
//! The transform is plain Rust over `HostApi` (`begin_with`, `handle_with`), so it is tested and
//! benchmarked natively; the `Guest` impl only passes the component's imports in.

/// The component's allocator: page-scoped bump allocation (see the SDK's `arena`); the native
/// build keeps the platform's.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOC: boxoffice_plugin_sdk::arena::PageArena =
    boxoffice_plugin_sdk::arena::PageArena::new();

pub mod events;
pub mod model;
pub mod plan;
pub mod tickets;

use boxoffice_plugin_sdk::{
    bindings::Guest, status_error, HostApi, HttpRequest, HttpResponse, Manifest, Page, PluginError,
    RunContext, Setting, WasmHost,
};

pub struct Shotgun;

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
        id: "shotgun".into(),
        vendor: "Shotgun".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        allowed_hosts: vec![
            "api.shotgun.live".into(),
            "smartboard-api.shotgun.live".into(),
        ],
        secrets: vec!["token".into()],
        settings: vec![
            setting(
                "organizer_id",
                "Shotgun organizer id (matches the token)",
                true,
                None,
            ),
            setting(
                "include_cohosted_events",
                "also read co-hosted events",
                false,
                Some("true"),
            ),
            setting("event_id", "read one event only", false, None),
            setting(
                "base_url",
                "tickets API base",
                false,
                Some("https://api.shotgun.live"),
            ),
            setting(
                "events_base_url",
                "events API base",
                false,
                Some("https://smartboard-api.shotgun.live"),
            ),
            setting(
                "events_every_secs",
                "how often to re-read the events listing",
                false,
                Some("900"),
            ),
        ],
        default_interval_secs: 300,
        max_requests_per_minute: 60,
    }
}

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
    if !(200..300).contains(&response.status) {
        return Err(status_error(response));
    }
    match request.id.as_str() {
        plan::TICKETS => tickets::handle(host, ctx, request, &response.body),
        plan::EVENTS_UPCOMING | plan::EVENTS_PAST => events::handle(ctx, request, &response.body),
        other => Err(PluginError::Fatal(format!("unknown request id `{other}`"))),
    }
}

impl Guest for Shotgun {
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

boxoffice_plugin_sdk::export!(Shotgun);

#[cfg(test)]
mod tests;
