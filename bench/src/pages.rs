//! Recorded vendor pages for the transform and write benchmarks (`boxoffice bench` and the
//! criterion benches in `bench/benches/`).
//!
//! Owns: driving a bundled plugin against its simulator exactly as a sync does (the operator's
//! variables through `Config`, the host's HTTP executor with allow-list, secret injection and
//! scrubbing) and keeping the data pages (Shotgun `/tickets`, QTickets `orders`) with the
//! context, request and response the plugin was given, so they can be replayed from memory
//! with no I/O timed; and turning them into screened canonical records, as the sink and the
//! ledger receive them.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};

use super::pipeline::{config, Warehouse};
use boxoffice::app::App;
use boxoffice::http::RequestScope;
use boxoffice::model::{PlannedRequest, Record, RunContext, VendorResponse};
use boxoffice::plugin::{LoadedPlugin, Pseudonymizer, RecordFirewall};
use boxoffice_sim::qtickets::{QticketsConfig, QticketsSim};
use boxoffice_sim::shotgun::{ShotgunConfig, ShotgunSim};

/// Tickets per page of the Shotgun API (and of its simulator).
pub const SHOTGUN_PAGE: u64 = 100;
/// Orders per page of the QTickets simulator.
pub const QTICKETS_PAGE: u64 = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    Shotgun,
    Qtickets,
}

impl Vendor {
    pub fn id(self) -> &'static str {
        match self {
            Self::Shotgun => "shotgun",
            Self::Qtickets => "qtickets",
        }
    }

    /// The request id of the plugin's data pages.
    fn data_request(self) -> &'static str {
        match self {
            Self::Shotgun => "tickets",
            Self::Qtickets => "orders",
        }
    }
}

/// One data page: what the plugin was given.
#[derive(Clone)]
pub struct RecordedPage {
    pub ctx: RunContext,
    pub req: PlannedRequest,
    pub resp: VendorResponse,
}

/// Pages recorded from one simulator, with the plugin and pseudonymizer that read them (so
/// replays give the same buyers' pseudonyms).
pub struct Recorded {
    pub vendor: Vendor,
    pub plugin: LoadedPlugin,
    pub pseudonyms: Arc<Pseudonymizer>,
    pub pages: Vec<RecordedPage>,
}

/// Records the first `pages` data pages of a fresh simulator of `vendor`; `dir` holds the
/// throwaway state of the recording app.
pub async fn record(vendor: Vendor, pages: usize, dir: &Path) -> anyhow::Result<Recorded> {
    let start_ms = boxoffice::clock::now_ms() - 5 * 60_000;
    match vendor {
        Vendor::Shotgun => {
            let sim = ShotgunSim::new(ShotgunConfig {
                // A last partial page so that every recorded page is full.
                tickets: pages as u64 * SHOTGUN_PAGE + SHOTGUN_PAGE / 2,
                start_ms,
                ..Default::default()
            });
            let srv = sim.spawn().await?;
            let base = srv.base_url();
            let pairs = [
                ("SHOTGUN_TOKEN", sim.token()),
                ("SHOTGUN_ORGANIZER_ID", sim.organizer_id().to_string()),
                ("SHOTGUN_BASE_URL", base.clone()),
                ("SHOTGUN_EVENTS_BASE_URL", base),
            ];
            let out = record_with(vendor, &pairs, sim.now_ms(), pages, dir).await;
            srv.shutdown().await;
            out
        }
        Vendor::Qtickets => {
            let sim = QticketsSim::new(QticketsConfig {
                orders: pages as u64 * QTICKETS_PAGE + QTICKETS_PAGE / 2,
                start_ms,
                ..Default::default()
            });
            let srv = sim.spawn().await?;
            let pairs = [
                ("QTICKETS_TOKEN", sim.token()),
                (
                    "QTICKETS_BASE_URL",
                    format!("{}/api/rest/v1", srv.base_url()),
                ),
            ];
            let out = record_with(vendor, &pairs, sim.now_ms(), pages, dir).await;
            srv.shutdown().await;
            out
        }
    }
}

async fn record_with(
    vendor: Vendor,
    pairs: &[(&str, String)],
    now_ms: i64,
    pages: usize,
    dir: &Path,
) -> anyhow::Result<Recorded> {
    let app = App::open(config(pairs, dir, &Warehouse::Sqlite)?).await?;
    let account = app.accounts()?.remove(0);
    let manifest = &account.plugin.manifest;
    let scope = RequestScope {
        egress: &account.egress,
        declared_secrets: &manifest.secrets,
        secrets: &account.secrets,
        budget: &account.budget,
    };
    let mut ctx = RunContext {
        account: account.name.clone(),
        settings: account.settings.clone(),
        cursor: None,
        since_ms: None,
        until_ms: None,
        now_ms,
    };
    let pseudonyms = Arc::new(Pseudonymizer::new(rand::random()));
    let mut inst = account.plugin.instantiate(pseudonyms.clone()).await?;
    let mut queue: VecDeque<PlannedRequest> = inst.begin(&ctx).await?.into();
    let mut out = Vec::new();
    while let Some(req) = queue.pop_front() {
        if out.len() == pages {
            break;
        }
        let fetched = app
            .deps
            .http
            .execute(&req, &scope)
            .await
            .with_context(|| format!("recording: request `{}`", req.id))?;
        if fetched.response.status != 200 {
            bail!(
                "recording: `{}` answered {}",
                req.id,
                fetched.response.status
            );
        }
        let page = inst
            .handle(&ctx, &req, fetched.response.clone())
            .await
            .context("recording")?;
        if req.id == vendor.data_request() {
            out.push(RecordedPage {
                ctx: ctx.clone(),
                req: req.clone(),
                resp: fetched.response,
            });
        }
        if let Some(c) = page.cursor {
            ctx.cursor = Some(c);
        }
        queue.extend(page.next);
    }
    if out.len() < pages {
        bail!(
            "recording: the {} simulator served {} data pages, {pages} wanted",
            vendor.id(),
            out.len()
        );
    }
    Ok(Recorded {
        vendor,
        plugin: account.plugin.clone(),
        pseudonyms,
        pages: out,
    })
}

impl Recorded {
    /// The pages' records as the sink and the ledger receive them: through the component and
    /// the firewall. Fails when the firewall rejects anything (the simulators are clean).
    pub async fn screened(&self) -> anyhow::Result<Vec<Vec<Record>>> {
        let mut inst = self.plugin.instantiate(self.pseudonyms.clone()).await?;
        let firewall = RecordFirewall::new();
        let mut out = Vec::with_capacity(self.pages.len());
        for p in &self.pages {
            let page = inst.handle(&p.ctx, &p.req, p.resp.clone()).await?;
            let screened = firewall.screen(page.records);
            if let Some(r) = screened.rejected.first() {
                bail!("the firewall rejected a recorded record: {r}");
            }
            out.push(screened.accepted);
        }
        Ok(out)
    }
}
