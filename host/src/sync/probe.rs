//! One request per account, for `boxoffice check`: plan the run, perform its first request,
//! let the plugin read the answer, store nothing. Proves the token, the origin and the
//! plugin's understanding of the response without moving any cursor.

use std::sync::Arc;

use thiserror::Error;

use super::run::{Account, SyncDeps};
use crate::http::{HttpError, RequestScope};
use crate::model::RunContext;
use crate::plugin::{PluginError, Pseudonymizer};

/// What is wrong with an account, found by its probe: one line each, secrets scrubbed (the
/// HTTP and plugin errors are scrubbed where they are made).
#[derive(Debug, Error)]
pub enum ProbeError {
    /// The state store could not give the account's cursor.
    #[error("reading the cursor: {0:#}")]
    Cursor(anyhow::Error),
    /// The plugin could not be instantiated, or failed to plan the run.
    #[error("{0}")]
    Plugin(PluginError),
    /// The first planned request failed (refused, unreachable, or an error status).
    #[error("request `{id}`: {error}")]
    Request { id: String, error: HttpError },
    /// The plugin could not read the answer to the first request.
    #[error("HTTP {status}: {error}")]
    Page { status: u16, error: PluginError },
}

/// `Ok(what was seen)` or `Err(what is wrong)`, one line each, secrets scrubbed.
pub async fn probe_account(deps: &SyncDeps, account: &Account) -> Result<String, ProbeError> {
    let vendor = account.vendor_id();
    let manifest = &account.plugin.manifest;
    let scope = RequestScope {
        egress: &account.egress,
        declared_secrets: &manifest.secrets,
        secrets: &account.secrets,
        budget: &account.budget,
    };
    let ctx = RunContext {
        account: account.name.clone(),
        settings: account.settings.clone(),
        cursor: deps
            .state
            .cursor(vendor, &account.name)
            .map_err(ProbeError::Cursor)?,
        since_ms: None,
        until_ms: None,
        now_ms: crate::clock::now_ms(),
    };
    let pseudonyms = Arc::new(Pseudonymizer::new(deps.pseudonym_key));
    let mut inst = account
        .plugin
        .instantiate(pseudonyms)
        .await
        .map_err(ProbeError::Plugin)?;
    let planned = inst.begin(&ctx).await.map_err(ProbeError::Plugin)?;
    let Some(first) = planned.into_iter().next() else {
        return Ok("the plugin planned no request".into());
    };
    let fetched = deps
        .http
        .execute(&first, &scope)
        .await
        .map_err(|error| ProbeError::Request {
            id: first.id.clone(),
            error,
        })?;
    let status = fetched.response.status;
    let page = inst
        .handle(&ctx, &first, fetched.response)
        .await
        .map_err(|error| ProbeError::Page { status, error })?;
    Ok(format!(
        "HTTP {status}, {} record(s) on the first page of `{}`",
        page.records.len(),
        first.id
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::http::{
        EgressGrant, HttpExecutor, OperatorGrants, Provenance, RequestBudget, RetryPolicy, Secrets,
    };
    use crate::model::Record;
    use crate::plugin::bundled::test_plugin_path;
    use crate::plugin::{PluginLimits, PluginRuntime};
    use crate::sink::{RunRecord, Sink, SinkFuture};
    use crate::state::StateStore;
    use crate::sync::{RunObserver, RunSummary};

    /// A probe stores nothing and counts nothing: neither is reached.
    struct Nowhere;

    impl Sink for Nowhere {
        fn name(&self) -> &'static str {
            "nowhere"
        }
        fn write<'a>(&'a self, _: &'a str, _: &'a str, _: &'a [Record]) -> SinkFuture<'a> {
            unreachable!("a probe writes nothing")
        }
        fn record_run<'a>(&'a self, _: &'a RunRecord) -> SinkFuture<'a> {
            unreachable!("a probe records no run")
        }
    }

    impl RunObserver for Nowhere {
        fn http_request(&self, _: &str, _: &str, _: &str) {}
        fn http_retries(&self, _: &str, _: &str, _: u64) {}
        fn record_rejected(&self, _: &str, _: &str, _: &str) {}
        fn request_refused(&self, _: &str, _: &str, _: &str) {}
        fn plugin_trap(&self, _: &str, _: &str) {}
        fn auxiliary_failed(&self, _: &str, _: &str, _: &str) {}
        fn record_run(&self, _: &str, _: &str, _: &RunSummary, _: i64) {}
    }

    /// A `testbed` account in `mode`, its requests granted to `base` (one attempt each).
    async fn probe(mode: &str, base: &str) -> Result<String, ProbeError> {
        let dir = tempfile::tempdir().unwrap();
        let deps = SyncDeps {
            state: Arc::new(StateStore::open(&dir.path().join("state.sqlite")).unwrap()),
            sink: Arc::new(Nowhere),
            http: HttpExecutor::new(RetryPolicy {
                max_attempts: 1,
                timeout: Duration::from_secs(5),
                ..Default::default()
            })
            .unwrap(),
            pseudonym_key: [7; 32],
            metrics: Arc::new(Nowhere),
        };
        let runtime = PluginRuntime::new(PluginLimits::default(), None).unwrap();
        let bytes = std::fs::read(test_plugin_path("testbed")).unwrap();
        let plugin = runtime.load("testbed", &bytes).await.unwrap();
        let grants = OperatorGrants {
            origins: vec![base.to_string()],
            hosts: vec![],
        };
        let account = Account {
            egress: EgressGrant::new(&plugin.manifest, Provenance::DropIn, &grants).unwrap(),
            plugin,
            name: "probe".into(),
            settings: vec![
                ("mode".into(), mode.into()),
                ("base_url".into(), base.into()),
            ],
            secrets: Secrets::new(),
            budget: RequestBudget::per_minute(0),
        };
        probe_account(&deps, &account).await
    }

    #[tokio::test]
    async fn a_failing_probe_says_which_step_failed() {
        // Nothing listens on port 1: the first planned request fails.
        let e = probe("ok", "http://127.0.0.1:1").await.unwrap_err();
        assert!(
            matches!(&e, ProbeError::Request { id, .. } if id == "page"),
            "{e:?}"
        );
        assert!(e.to_string().starts_with("request `page`: "), "{e}");
        // 100,000 planned requests: `begin` itself is refused, no request is made.
        let e = probe("fan-out", "http://127.0.0.1:1").await.unwrap_err();
        assert!(matches!(&e, ProbeError::Plugin(_)), "{e:?}");
        assert!(
            e.to_string()
                .contains("past the cap of 5000 planned requests per call in `begin`"),
            "{e}"
        );
    }
}
