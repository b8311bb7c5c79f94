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
    match (s.health)() {
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
