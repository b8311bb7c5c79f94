//! Replaying recorded vendor responses through a plugin, offline: the engine behind
//! `boxoffice plugins test` and the connectors' golden tests.
//!
//! A fixture directory holds `context.json` (a `RunContext`, whose settings are checked against
//! the manifest and completed with its defaults as an account's are), `exchanges.json` (recorded
//! request → response pairs; a response body is inline `body` text or a `body_file` beside it)
//! and `golden.json` (what the plugin must emit). A `body_file` is read only from inside the
//! fixture directory (`fixture_path`), checked when the fixture loads and again when read. The replay runs `begin`, then answers every
//! planned request from the recordings (matched on method, URL, query as a set, and body),
//! feeds each response to `handle`, applies the host's firewall, and collects records,
//! rejections, cursors and the requests made. No network, no secrets, deterministic pseudonyms.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};

use super::firewall::RecordFirewall;
use super::pseudonym::Pseudonymizer;
use super::runtime::LoadedPlugin;
use crate::config::settings::{self, AccountOrigin};
use crate::model::{PlannedRequest, Record, RunContext, VendorResponse};

/// The key replay pseudonyms are made with: fixed, so golden files are stable.
const REPLAY_KEY: [u8; 32] = *b"boxoffice-replay-key-not-secret!";
/// A replay that plans more requests than this is looping.
const MAX_REQUESTS: usize = 10_000;

#[derive(Debug, Clone, Deserialize)]
pub struct RecordedRequest {
    #[serde(default = "get")]
    pub method: String,
    pub url: String,
    #[serde(default)]
    pub query: Vec<(String, String)>,
    #[serde(default)]
    pub body: Option<serde_json::Value>,
}

fn get() -> String {
    "GET".into()
}

#[derive(Debug, Clone, Deserialize)]
pub struct RecordedResponse {
    #[serde(default = "ok")]
    pub status: u16,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub body_file: Option<String>,
}

fn ok() -> u16 {
    200
}

#[derive(Debug, Clone, Deserialize)]
pub struct Exchange {
    pub request: RecordedRequest,
    pub response: RecordedResponse,
}

/// What a replay produced; `golden.json` holds one of these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplayOutcome {
    /// Requests in the order they were made, as `METHOD url?query`.
    pub requests: Vec<String>,
    pub records: Vec<Record>,
    /// Firewall rejections, as `record: field rejected (reason)`.
    pub rejected: Vec<String>,
    /// Cursors committed after each page, in order.
    pub cursors: Vec<String>,
    /// Guest errors returned by `handle` (a fixture may record an error response on purpose).
    pub errors: Vec<String>,
}

pub struct Fixture {
    pub dir: PathBuf,
    pub context: RunContext,
    pub exchanges: Vec<Exchange>,
}

impl Fixture {
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let read = |name: &str| -> anyhow::Result<String> {
            let p = dir.join(name);
            std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
        };
        let context: RunContext =
            serde_json::from_str(&read("context.json")?).with_context(|| {
                format!("{}: not a run context", dir.join("context.json").display())
            })?;
        let exchanges: Vec<Exchange> = serde_json::from_str(&read("exchanges.json")?)
            .with_context(|| {
                format!(
                    "{}: not a list of exchanges",
                    dir.join("exchanges.json").display()
                )
            })?;
        let fixture = Self {
            dir: dir.to_path_buf(),
            context,
            exchanges,
        };
        for (i, x) in fixture.exchanges.iter().enumerate() {
            fixture.body_path(i, x)?;
        }
        Ok(fixture)
    }

    /// The checked path of exchange `i`'s `body_file`, if it has one (and no inline body).
    fn body_path(&self, i: usize, x: &Exchange) -> anyhow::Result<Option<PathBuf>> {
        let (None, Some(f)) = (&x.response.body, &x.response.body_file) else {
            return Ok(None);
        };
        super::fixture_path::confined(&self.dir, f)
            .map(Some)
            .map_err(|e| {
                anyhow::anyhow!(
                    "{}: exchange #{} ({} {}): response.body_file {f:?} {e}",
                    self.dir.join("exchanges.json").display(),
                    i + 1,
                    x.request.method,
                    x.request.url
                )
            })
    }

    pub fn golden_path(&self) -> PathBuf {
        self.dir.join("golden.json")
    }

    pub fn body(&self, i: usize, x: &Exchange) -> anyhow::Result<Vec<u8>> {
        if let Some(b) = &x.response.body {
            return Ok(b.as_bytes().to_vec());
        }
        match self.body_path(i, x)? {
            Some(p) => std::fs::read(&p).with_context(|| format!("reading {}", p.display())),
            None => Ok(Vec::new()),
        }
    }

    pub fn find(&self, req: &PlannedRequest) -> Option<(usize, &Exchange)> {
        let mut want_q = req.query.clone();
        want_q.sort();
        let want_body: Option<serde_json::Value> = req.body.as_ref().map(|b| {
            serde_json::from_slice(b).unwrap_or_else(|_| String::from_utf8_lossy(b).into())
        });
        self.exchanges.iter().enumerate().find(|(_, x)| {
            let mut q = x.request.query.clone();
            q.sort();
            x.request.method.eq_ignore_ascii_case(&req.method)
                && x.request.url == req.url
                && q == want_q
                && x.request.body == want_body
        })
    }
}

pub fn describe(req: &PlannedRequest) -> String {
    let q: Vec<String> = req.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let body = req
        .body
        .as_ref()
        .map(|b| format!(" body={}", String::from_utf8_lossy(b)))
        .unwrap_or_default();
    if q.is_empty() {
        format!("{} {}{body}", req.method, req.url)
    } else {
        format!("{} {}?{}{body}", req.method, req.url, q.join("&"))
    }
}

/// Runs the fixture through the plugin.
pub async fn replay(plugin: &LoadedPlugin, fixture: &Fixture) -> anyhow::Result<ReplayOutcome> {
    let pseudonyms = Arc::new(Pseudonymizer::new(REPLAY_KEY));
    let firewall = RecordFirewall::new();
    let mut inst = plugin.instantiate(pseudonyms.clone()).await?;
    let mut ctx = fixture.context.clone();
    // The settings as the host would hand them over: checked, defaults filled in.
    ctx.settings = settings::resolve(
        plugin.id(),
        &plugin.manifest.settings,
        plugin.id(),
        &ctx.account,
        &AccountOrigin::Fixture {
            path: fixture.dir.join("context.json"),
        },
        &ctx.settings,
    )?
    .settings;
    let mut out = ReplayOutcome {
        requests: vec![],
        records: vec![],
        rejected: vec![],
        cursors: vec![],
        errors: vec![],
    };
    let mut queue: VecDeque<PlannedRequest> = inst.begin(&ctx).await?.into();
    while let Some(req) = queue.pop_front() {
        if out.requests.len() >= MAX_REQUESTS {
            bail!("more than {MAX_REQUESTS} requests: the plugin does not stop paging");
        }
        let line = describe(&req);
        let Some((i, x)) = fixture.find(&req) else {
            let known: Vec<String> = fixture
                .exchanges
                .iter()
                .map(|x| {
                    format!(
                        "  {} {} {:?}",
                        x.request.method, x.request.url, x.request.query
                    )
                })
                .collect();
            bail!(
                "no recorded response for request #{}: {line}\nrecorded:\n{}",
                out.requests.len() + 1,
                known.join("\n")
            );
        };
        out.requests.push(line);
        let response = VendorResponse {
            status: x.response.status,
            headers: x.response.headers.clone(),
            body: fixture.body(i, x)?,
        };
        match inst.handle(&ctx, &req, response).await {
            Ok(page) => {
                let screened = firewall.screen(page.records);
                out.records.extend(screened.accepted);
                out.rejected
                    .extend(screened.rejected.iter().map(ToString::to_string));
                if let Some(c) = page.cursor {
                    out.cursors.push(c.clone());
                    ctx.cursor = Some(c);
                }
                queue.extend(page.next);
            }
            Err(super::PluginError::Guest { error, .. }) => out.errors.push(error.to_string()),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// Compares an outcome with the golden file; `Err` carries a readable unified diff.
pub fn compare(fixture: &Fixture, outcome: &ReplayOutcome) -> anyhow::Result<()> {
    let path = fixture.golden_path();
    let want = std::fs::read_to_string(&path)
        .with_context(|| format!("reading {} (run with --bless to create it)", path.display()))?;
    let got = to_pretty(outcome)?;
    let want_v: serde_json::Value =
        serde_json::from_str(&want).with_context(|| format!("{} is not JSON", path.display()))?;
    let got_v: serde_json::Value = serde_json::from_str(&got)?;
    if want_v == got_v {
        return Ok(());
    }
    let text = golden_diff(&want_v, &got_v, &path.display().to_string())?;
    bail!("plugin output differs from {}:\n{text}", path.display())
}

/// A unified diff of two JSON documents, both printed the same way (keys sorted), so only what
/// changed shows — not the golden file's key order against the replay's emitted order.
fn golden_diff(
    want: &serde_json::Value,
    got: &serde_json::Value,
    golden: &str,
) -> anyhow::Result<String> {
    let want = serde_json::to_string_pretty(want)? + "\n";
    let got = serde_json::to_string_pretty(got)? + "\n";
    Ok(similar::TextDiff::from_lines(&want, &got)
        .unified_diff()
        .context_radius(3)
        .header(golden, "replay")
        .to_string())
}

pub fn bless(fixture: &Fixture, outcome: &ReplayOutcome) -> anyhow::Result<()> {
    let path = fixture.golden_path();
    std::fs::write(&path, to_pretty(outcome)?)
        .with_context(|| format!("writing {}", path.display()))
}

fn to_pretty(outcome: &ReplayOutcome) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(outcome)? + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_golden_diff_shows_only_the_changed_value() {
        // The replay emits keys in struct order, the golden file has them sorted; one changed
        // price must be one line out and one in, not the whole document.
        let want: serde_json::Value = serde_json::from_str(
            r#"{"records":[{"ticket_id":"1","price_minor":3500,"currency":"JPY","status":"valid"}],"cursors":["c"]}"#,
        )
        .unwrap();
        let got: serde_json::Value = serde_json::from_str(
            r#"{"cursors":["c"],"records":[{"status":"valid","currency":"JPY","price_minor":3600,"ticket_id":"1"}]}"#,
        )
        .unwrap();
        let diff = golden_diff(&want, &got, "golden.json").unwrap();
        let changed: Vec<&str> = diff
            .lines()
            .filter(|l| {
                (l.starts_with('-') || l.starts_with('+'))
                    && !l.starts_with("---")
                    && !l.starts_with("+++")
            })
            .collect();
        assert_eq!(
            changed,
            [
                "-      \"price_minor\": 3500,",
                "+      \"price_minor\": 3600,"
            ],
            "{diff}"
        );
    }
}
