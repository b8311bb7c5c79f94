//! The Shotgun connector (`shotgun.md` in the vendor references).
//!
//! Reads `GET /tickets` incrementally by the `after` cursor (`<ticket_updated_at>_<ticket_id>`,
//! verbatim, of the last stored ticket) and the legacy events listing for names, cities and
//! tickets left. Emits canonical tickets with the buyer as the vendor's user (or contact) id,
//! which the host pseudonymizes while decoding, and a coarse region;
//! never reads scan codes, names, e-mails, phones, birthdays, gender or locality.
//!
//! The transform is plain Rust over `HostApi` (the SDK's `Connector` trait), so it is tested and
//! benchmarked natively; `export_connector!` makes the component of it.

pub mod events;
pub mod model;
pub mod plan;
pub mod tickets;

use boxoffice_plugin_sdk::{
    status_error, Connector, HostApi, HttpRequest, HttpResponse, Manifest, Page, PluginError,
    RunContext, Setting,
};

pub struct Shotgun;

impl Connector for Shotgun {
    fn manifest() -> Manifest {
        Manifest::builder("shotgun", "Shotgun")
            .version(env!("CARGO_PKG_VERSION"))
            .allowed_host("api.shotgun.live")
            .allowed_host("smartboard-api.shotgun.live")
            .secret("token")
            .setting(Setting::required(
                "organizer_id",
                "Shotgun organizer id (matches the token)",
            ))
            .setting(Setting::optional(
                "include_cohosted_events",
                "also read co-hosted events",
                "true",
            ))
            .setting(Setting::optional_without_default(
                "event_id",
                "read one event only",
            ))
            .setting(Setting::optional(
                "base_url",
                "tickets API base",
                "https://api.shotgun.live",
            ))
            .setting(Setting::optional(
                "events_base_url",
                "events API base",
                "https://smartboard-api.shotgun.live",
            ))
            .setting(Setting::optional(
                "events_every_secs",
                "how often to re-read the events listing",
                "900",
            ))
            .interval_secs(300)
            .max_requests_per_minute(60)
            .build()
    }

    fn begin(_host: &mut impl HostApi, ctx: &RunContext) -> Result<Vec<HttpRequest>, PluginError> {
        plan::begin(ctx)
    }

    fn handle(
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
            plan::EVENTS_UPCOMING | plan::EVENTS_PAST => {
                events::handle(ctx, request, &response.body)
            }
            other => Err(PluginError::Fatal(format!("unknown request id `{other}`"))),
        }
    }
}

boxoffice_plugin_sdk::export_connector!(Shotgun);

#[cfg(test)]
mod tests;
