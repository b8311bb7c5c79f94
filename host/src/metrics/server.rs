//! `/metrics` and `/healthz` over HTTP (axum). The format of `/metrics` follows the `Accept`
//! header ([`super::exposition`]); what `/healthz` decides is [`super::health`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use super::exposition::Format;
use super::health::Health;
use super::Metrics;

/// Says whether the daemon is healthy, degraded or unhealthy, and why.
pub type HealthCheck = Arc<dyn Fn() -> Health + Send + Sync>;

#[derive(Clone)]
struct AppState {
    metrics: Arc<Metrics>,
    health: HealthCheck,
}

async fn metrics(State(s): State<AppState>, headers: HeaderMap) -> impl IntoResponse {
    let format = Format::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    match s.metrics.encode_as(format) {
        Ok(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, format.content_type())],
            body,
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding metrics failed: {e}"),
        )
            .into_response(),
    }
}

async fn healthz(State(s): State<AppState>) -> impl IntoResponse {
    answer((s.health)())
}

/// The status code and body `/healthz` answers with.
fn answer(health: Health) -> (StatusCode, String) {
    match health {
        Health::Healthy => (StatusCode::OK, "ok\n".to_string()),
        Health::Degraded(why) => (StatusCode::OK, format!("degraded: {}\n", why.join("; "))),
        Health::Unhealthy(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unhealthy: {}\n", why.join("; ")),
        ),
    }
}

pub fn router(metrics: Arc<Metrics>, health: HealthCheck) -> Router {
    Router::new()
        .route("/metrics", get(self::metrics))
        .route("/healthz", get(healthz))
        .with_state(AppState { metrics, health })
}

/// Binds `addr` and serves until the process ends; returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    health: HealthCheck,
) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr} for /metrics: {e}"))?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router(metrics, health)).await {
            tracing::error!("metrics server stopped: {e}");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::health::{assess, Scheduled};
    use crate::state::{RunFigures, RunStatus, StateStore};
    use crate::sync::RunKind;

    /// `/healthz` as served for accounts whose last runs are stored in the state database with
    /// these statuses and messages (each finished at 2 s, assessed at 3 s).
    fn served(runs: &[(&str, RunStatus, &str)]) -> (StatusCode, String) {
        let dir = tempfile::tempdir().unwrap();
        let s = StateStore::open(&dir.path().join("state.sqlite")).unwrap();
        let mut scheduled: Vec<Scheduled> = Vec::new();
        for (account, status, message) in runs {
            let id = s
                .begin_run("qtickets", account, RunKind::Sync, 1_000)
                .unwrap();
            let figures = RunFigures {
                status: *status,
                message: message.to_string(),
                ..Default::default()
            };
            s.finish_run(id, &figures, 2_000).unwrap();
            scheduled.push(("qtickets".into(), account.to_string(), 900_000));
        }
        answer(assess(&s.run_health().unwrap(), &scheduled, 3_000, 0))
    }

    /// The reasons' exact text: the status words are the stored `job_runs.status` texts.
    #[test]
    fn healthz_names_failed_and_degraded_runs_in_their_stored_words() {
        let degraded =
            "3 pages, 120 records; degraded: 1 auxiliary request skipped (seats bad_response)";
        assert_eq!(
            served(&[
                ("a", RunStatus::Ok, "3 pages"),
                ("b", RunStatus::Degraded, degraded)
            ]),
            (
                StatusCode::OK,
                format!("degraded: qtickets/b: {degraded}\n")
            )
        );
        assert_eq!(
            served(&[
                ("a", RunStatus::Failed, "boom"),
                ("b", RunStatus::Degraded, degraded)
            ]),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "unhealthy: qtickets/a: last sync failed; degraded: qtickets/b: {degraded}\n"
                )
            )
        );
        assert_eq!(
            served(&[
                ("a", RunStatus::RateLimited, "429"),
                ("b", RunStatus::Interrupted, "stopped")
            ]),
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "unhealthy: qtickets/a: last sync rate_limited; qtickets/b: last sync interrupted\n"
                    .to_string()
            )
        );
        assert_eq!(
            served(&[("a", RunStatus::Ok, "3 pages")]),
            (StatusCode::OK, "ok\n".to_string())
        );
    }
}
