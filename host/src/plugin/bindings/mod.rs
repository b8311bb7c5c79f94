//! Host-side bindings of every contract version in the host's window, behind one interface.
//!
//! Owns: [`Contract`] (one case per supported version, each with its own `bindgen!` module:
//! `v0_2`, `v0_3`, `v0_4`), [`BindingsPre`] / [`Bindings`] (a loaded or instantiated connector of any
//! of them, called with the host's model types), and [`GuestPage`], a page as the guest
//! returned it with its records still raw (an encoded blob or typed items). The rest of
//! `plugin/` sees only these; which versions are in the window is `contract::SUPPORTED`.

use wasmtime::component::InstancePre;
use wasmtime::Store;

use super::error::GuestError;
use super::host_state::HostState;
use crate::model::{Manifest, PlannedRequest, RunContext, VendorResponse, WebhookDelivery};

/// Conversions whose shapes every version shares (request, response, run context, manifest,
/// guest error), written once for a version's generated `types` module. The version module
/// defines `webhook_of(&wit::Manifest) -> Option<model::WebhookSpec>`.
macro_rules! common_conversions {
    ($wit:ident) => {
        impl From<$wit::HttpRequest> for model::PlannedRequest {
            fn from(r: $wit::HttpRequest) -> Self {
                Self {
                    id: r.id,
                    method: r.method,
                    url: r.url,
                    query: r.query,
                    headers: r.headers,
                    body: r.body,
                    auth: r.auth.into(),
                }
            }
        }

        impl From<model::PlannedRequest> for $wit::HttpRequest {
            fn from(r: model::PlannedRequest) -> Self {
                Self {
                    id: r.id,
                    method: r.method,
                    url: r.url,
                    query: r.query,
                    headers: r.headers,
                    body: r.body,
                    auth: r.auth.into(),
                }
            }
        }

        impl From<model::VendorResponse> for $wit::HttpResponse {
            fn from(r: model::VendorResponse) -> Self {
                Self {
                    status: r.status,
                    headers: r.headers,
                    body: r.body,
                }
            }
        }

        impl From<model::RunContext> for $wit::RunContext {
            fn from(c: model::RunContext) -> Self {
                Self {
                    account: c.account,
                    settings: c.settings,
                    cursor: c.cursor,
                    since_ms: c.since_ms,
                    until_ms: c.until_ms,
                    now_ms: c.now_ms,
                }
            }
        }

        /// `webhook_of` is the version module's own: `None` before 0.4.
        impl From<$wit::Manifest> for model::Manifest {
            fn from(m: $wit::Manifest) -> Self {
                let webhook = webhook_of(&m);
                Self {
                    id: m.id,
                    vendor: m.vendor,
                    version: m.version,
                    allowed_hosts: m.allowed_hosts,
                    secrets: m.secrets,
                    settings: m
                        .settings
                        .into_iter()
                        .map(|s| model::SettingSpec {
                            name: s.name,
                            description: s.description,
                            required: s.required,
                            default_value: s.default_value,
                        })
                        .collect(),
                    default_interval_secs: m.default_interval_secs,
                    max_requests_per_minute: m.max_requests_per_minute,
                    webhook,
                }
            }
        }

        /// Unclipped: the instance redacts and cuts guest text.
        impl From<$wit::PluginError> for GuestError {
            fn from(e: $wit::PluginError) -> Self {
                match e {
                    $wit::PluginError::BadResponse(m) => Self::BadResponse(m),
                    $wit::PluginError::Unauthorized(m) => Self::Unauthorized(m),
                    $wit::PluginError::RetryLater(s) => Self::RetryLater(s),
                    $wit::PluginError::Fatal(m) => Self::Fatal(m),
                }
            }
        }
    };
}
use common_conversions;

pub mod v0_2;
pub mod v0_3;
pub mod v0_4;

/// The WIT package the host implements.
pub const WIT_PACKAGE: &str = "boxoffice:connector";

/// A contract version this host has bindings for. Which of them it loads is
/// `contract::SUPPORTED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contract {
    /// `wit/since_v0.2.0`: top-level exports, encoded records only. Adapted.
    V0_2,
    /// `wit/since_v0.3.0`: the `connector` interface, typed or encoded records. Adapted
    /// (no webhook).
    V0_3,
    /// `wit/since_v0.4.0`: 0.3 plus `connector.webhook` and `manifest.webhook`.
    V0_4,
}

impl Contract {
    /// The version of its WIT package (a test holds it to the file's package line).
    pub const fn version(self) -> &'static str {
        match self {
            Self::V0_2 => "0.2.0",
            Self::V0_3 => "0.3.0",
            Self::V0_4 => "0.4.0",
        }
    }

    /// The folder of its WIT under `wit/`.
    pub const fn folder(self) -> &'static str {
        match self {
            Self::V0_2 => "since_v0.2.0",
            Self::V0_3 => "since_v0.3.0",
            Self::V0_4 => "since_v0.4.0",
        }
    }
}

/// The newest contract: what the SDK builds and `plugins inspect` names.
pub const WIT_VERSION: &str = Contract::V0_4.version();

/// Links every version's imports (the `host` interface of each) into `linker`.
pub fn add_to_linker(linker: &mut wasmtime::component::Linker<HostState>) -> wasmtime::Result<()> {
    use wasmtime::component::HasSelf;
    v0_2::Connector::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    v0_3::Plugin::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    v0_4::Plugin::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    Ok(())
}

/// A linked connector of one contract version, ready to instantiate.
#[derive(Clone)]
pub enum BindingsPre {
    V0_2(v0_2::ConnectorPre<HostState>),
    V0_3(v0_3::PluginPre<HostState>),
    V0_4(v0_4::PluginPre<HostState>),
}

impl BindingsPre {
    /// Binds `pre` as a connector of `contract` (checks the export types in full).
    pub fn new(contract: Contract, pre: InstancePre<HostState>) -> wasmtime::Result<Self> {
        Ok(match contract {
            Contract::V0_2 => Self::V0_2(v0_2::ConnectorPre::new(pre)?),
            Contract::V0_3 => Self::V0_3(v0_3::PluginPre::new(pre)?),
            Contract::V0_4 => Self::V0_4(v0_4::PluginPre::new(pre)?),
        })
    }

    pub async fn instantiate_async(
        &self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<Bindings> {
        Ok(match self {
            Self::V0_2(p) => Bindings::V0_2(p.instantiate_async(store).await?),
            Self::V0_3(p) => Bindings::V0_3(p.instantiate_async(store).await?),
            Self::V0_4(p) => Bindings::V0_4(p.instantiate_async(store).await?),
        })
    }
}

/// An instantiated connector of one contract version, called with the host's model types.
pub enum Bindings {
    V0_2(v0_2::Connector),
    V0_3(v0_3::Plugin),
    V0_4(v0_4::Plugin),
}

/// A page as the guest returned it: requests and cursor converted, records still raw (the
/// instance decodes them under its caps, see `plugin::output`).
#[derive(Debug)]
pub struct GuestPage {
    pub records: GuestRecords,
    pub next: Vec<PlannedRequest>,
    pub cursor: Option<String>,
}

/// A page's records as they crossed the boundary.
#[derive(Debug)]
pub enum GuestRecords {
    /// The postcard blob (0.2's `records`, 0.3's `encoded`).
    Encoded(Vec<u8>),
    /// 0.3's `typed(list<item>)` (0.4's moved into the same types).
    Typed(Vec<v0_3::wit::Item>),
}

impl Bindings {
    pub async fn manifest(&self, store: &mut Store<HostState>) -> wasmtime::Result<Manifest> {
        Ok(match self {
            Self::V0_2(c) => c.call_manifest(store).await?.into(),
            Self::V0_3(p) => p
                .boxoffice_connector_connector()
                .call_manifest(store)
                .await?
                .into(),
            Self::V0_4(p) => p
                .boxoffice_connector_connector()
                .call_manifest(store)
                .await?
                .into(),
        })
    }

    pub async fn begin(
        &self,
        store: &mut Store<HostState>,
        ctx: &RunContext,
    ) -> wasmtime::Result<Result<Vec<PlannedRequest>, GuestError>> {
        let requests = |r: Vec<_>| r.into_iter().map(Into::into).collect();
        Ok(match self {
            Self::V0_2(c) => {
                let ctx: v0_2::wit::RunContext = ctx.clone().into();
                c.call_begin(store, &ctx)
                    .await?
                    .map(requests)
                    .map_err(Into::into)
            }
            Self::V0_3(p) => {
                let ctx: v0_3::wit::RunContext = ctx.clone().into();
                p.boxoffice_connector_connector()
                    .call_begin(store, &ctx)
                    .await?
                    .map(|r| r.into_iter().map(Into::into).collect())
                    .map_err(Into::into)
            }
            Self::V0_4(p) => {
                let ctx: v0_4::wit::RunContext = ctx.clone().into();
                p.boxoffice_connector_connector()
                    .call_begin(store, &ctx)
                    .await?
                    .map(|r| r.into_iter().map(Into::into).collect())
                    .map_err(Into::into)
            }
        })
    }

    pub async fn handle(
        &self,
        store: &mut Store<HostState>,
        ctx: &RunContext,
        request: &PlannedRequest,
        response: VendorResponse,
    ) -> wasmtime::Result<Result<GuestPage, GuestError>> {
        Ok(match self {
            Self::V0_2(c) => {
                let ctx: v0_2::wit::RunContext = ctx.clone().into();
                let request: v0_2::wit::HttpRequest = request.clone().into();
                let response: v0_2::wit::HttpResponse = response.into();
                c.call_handle(store, &ctx, &request, &response)
                    .await?
                    .map(Into::into)
                    .map_err(Into::into)
            }
            Self::V0_3(p) => {
                let ctx: v0_3::wit::RunContext = ctx.clone().into();
                let request: v0_3::wit::HttpRequest = request.clone().into();
                let response: v0_3::wit::HttpResponse = response.into();
                p.boxoffice_connector_connector()
                    .call_handle(store, &ctx, &request, &response)
                    .await?
                    .map(Into::into)
                    .map_err(Into::into)
            }
            Self::V0_4(p) => {
                let ctx: v0_4::wit::RunContext = ctx.clone().into();
                let request: v0_4::wit::HttpRequest = request.clone().into();
                let response: v0_4::wit::HttpResponse = response.into();
                p.boxoffice_connector_connector()
                    .call_handle(store, &ctx, &request, &response)
                    .await?
                    .map(Into::into)
                    .map_err(Into::into)
            }
        })
    }

    /// The webhook entry point (0.4 on): the key and the page as the guest returned them.
    /// `Ok(None)` for a connector of an older contract, which has no such entry point.
    pub async fn webhook(
        &self,
        store: &mut Store<HostState>,
        ctx: &RunContext,
        delivery: &WebhookDelivery,
    ) -> wasmtime::Result<Option<Result<(String, GuestPage), GuestError>>> {
        Ok(match self {
            Self::V0_2(_) | Self::V0_3(_) => None,
            Self::V0_4(p) => {
                let ctx: v0_4::wit::RunContext = ctx.clone().into();
                let delivery: v0_4::wit::WebhookDelivery = delivery.clone().into();
                Some(
                    p.boxoffice_connector_connector()
                        .call_webhook(store, &ctx, &delivery)
                        .await?
                        .map(|o| (o.key, o.page.into()))
                        .map_err(Into::into),
                )
            }
        })
    }
}

/// Bytes of a page once lifted into the host (records, requests and cursor), for the per-call
/// output cap. Typed records count what they take in the host (each record's struct and its
/// strings), so a typed page is never cheaper against the cap than its lifted size.
pub fn page_size(p: &GuestPage) -> usize {
    let records = match &p.records {
        GuestRecords::Encoded(blob) => blob.len(),
        GuestRecords::Typed(items) => items.iter().map(typed_item_size).sum(),
    };
    records
        + p.next.iter().map(request_size).sum::<usize>()
        + p.cursor.as_ref().map_or(0, String::len)
}

/// Host bytes of one lifted typed item: its struct, its strings and its list entries.
fn typed_item_size(item: &v0_3::wit::Item) -> usize {
    use v0_3::wit::Item;
    let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    let strings = match item {
        Item::Ticket(t) => {
            t.ticket_id.len()
                + t.order_id.len()
                + t.event_id.len()
                + opt(&t.show_id)
                + t.category.len()
                + t.channel.len()
                + t.currency.len()
                + t.buyer.as_ref().map_or(0, |b| b.kind.len() + b.value.len())
                + opt(&t.region)
                + opt(&t.utm_source)
                + opt(&t.utm_medium)
                + opt(&t.utm_campaign)
                + opt(&t.payment_method)
                + t.visibility
                    .iter()
                    .map(|v| v.len() + std::mem::size_of::<String>())
                    .sum::<usize>()
        }
        Item::Event(e) => e.event_id.len() + e.name.len() + opt(&e.city) + opt(&e.venue),
        Item::Inventory(v) => v.event_id.len() + v.show_id.len(),
    };
    std::mem::size_of::<Item>() + strings
}

pub fn request_size(r: &PlannedRequest) -> usize {
    let pairs = |v: &Vec<(String, String)>| v.iter().map(|(a, b)| a.len() + b.len()).sum::<usize>();
    r.id.len()
        + r.method.len()
        + r.url.len()
        + pairs(&r.query)
        + pairs(&r.headers)
        + r.body.as_ref().map_or(0, Vec::len)
}

#[cfg(test)]
mod tests {
    use super::Contract;

    #[test]
    fn each_contract_version_is_its_wit_files() {
        let files = [
            (
                Contract::V0_2,
                include_str!("../../../../wit/since_v0.2.0/connector.wit"),
            ),
            (
                Contract::V0_3,
                include_str!("../../../../wit/since_v0.3.0/connector.wit"),
            ),
            (
                Contract::V0_4,
                include_str!("../../../../wit/since_v0.4.0/connector.wit"),
            ),
        ];
        for (contract, wit) in files {
            let declared = format!("package {}@{};", super::WIT_PACKAGE, contract.version());
            assert!(
                wit.lines().any(|l| l.trim() == declared),
                "wit/{}/connector.wit does not declare `{declared}`",
                contract.folder()
            );
            assert_eq!(contract.folder(), format!("since_v{}", contract.version()));
        }
    }
}
