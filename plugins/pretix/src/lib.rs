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
//! The transform is plain Rust over `HostApi` (the SDK's `Connector` trait), tested natively;
//! `export_connector!` makes the component of it. Money is read by the SDK's exact,
//! currency-aware `money` rules (no rounding: a digit the currency cannot hold is an error).

pub mod catalog;
pub mod cursor;
pub mod model;
pub mod orders;
pub mod plan;
pub mod stamp;

use boxoffice_plugin_sdk::{
    status_error, Connector, HostApi, HttpRequest, HttpResponse, Manifest, Page, PluginError,
    RunContext, Setting,
};

pub struct Pretix;

impl Connector for Pretix {
    fn manifest() -> Manifest {
        Manifest::builder("pretix", "pretix")
            .version(env!("CARGO_PKG_VERSION"))
            // The hosted service; a self-hosted instance is granted by its `base_url`.
            .allowed_host("pretix.eu")
            .secret("token")
            .setting(Setting::required(
                "base_url",
                "the pretix instance, e.g. https://pretix.eu",
            ))
            .setting(Setting::required(
                "organizer",
                "the organizer's short form (as in /control/organizer/<short form>/)",
            ))
            .setting(Setting::optional_without_default(
                "events",
                "comma-separated event short forms to read (default: every event)",
            ))
            .setting(Setting::optional(
                "full_scan_every_secs",
                "how often every order is read again, for refunds (pretix does not mark them as changes)",
                // plan::FULL_SCAN_EVERY_SECS as the manifest shows it (a test keeps them equal).
                "21600",
            ))
            .interval_secs(300)
            .max_requests_per_minute(120)
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
}

boxoffice_plugin_sdk::export_connector!(Pretix);

#[cfg(test)]
mod tests;
