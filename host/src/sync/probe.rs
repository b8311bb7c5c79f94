//! One request per account, for `boxoffice check`: plan the run, perform its first request,
//! let the plugin read the answer, store nothing. Proves the token, the origin and the
//! plugin's understanding of the response without moving any cursor.

use std::sync::Arc;

use super::run::{Account, SyncDeps};
use crate::http::RequestScope;
use crate::model::RunContext;
use crate::plugin::Pseudonymizer;

/// `Ok(what was seen)` or `Err(what is wrong)`, one line each, secrets scrubbed.
pub async fn probe_account(deps: &SyncDeps, account: &Account) -> Result<String, String> {
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
            .map_err(|e| format!("reading the cursor: {e:#}"))?,
        since_ms: None,
        until_ms: None,
        now_ms: crate::clock::now_ms(),
    };
    let pseudonyms = Arc::new(Pseudonymizer::new(deps.pseudonym_key));
    let mut inst = account
        .plugin
        .instantiate(pseudonyms)
        .await
        .map_err(|e| e.to_string())?;
    let planned = inst.begin(&ctx).await.map_err(|e| e.to_string())?;
    let Some(first) = planned.into_iter().next() else {
        return Ok("the plugin planned no request".into());
    };
    let fetched = deps
        .http
        .execute(&first, &scope)
        .await
        .map_err(|e| format!("request `{}`: {e}", first.id))?;
    let status = fetched.response.status;
    let page = inst
        .handle(&ctx, &first, fetched.response)
        .await
        .map_err(|e| format!("HTTP {status}: {e}"))?;
    Ok(format!(
        "HTTP {status}, {} record(s) on the first page of `{}`",
        page.records.len(),
        first.id
    ))
}
