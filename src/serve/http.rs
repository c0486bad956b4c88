//! The service's HTTP listener on axum: `/healthz` and `/metrics`, and the investigation
//! site's pages (read-only, see `crate::ui`) when `[ui]` is configured.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;

use super::metrics::Metrics;

/// A cycle must complete within this long for `/healthz` to answer 200.
pub const MAX_SILENCE_MS: i64 = 5 * 60_000;

#[derive(Clone)]
struct Health {
    metrics: Arc<Metrics>,
    clock: fn() -> i64,
}

async fn healthz(State(h): State<Health>) -> impl IntoResponse {
    let plain = [(header::CONTENT_TYPE, "text/plain")];
    match h.metrics.health((h.clock)(), MAX_SILENCE_MS) {
        Ok(()) => (StatusCode::OK, plain, "ok\n".to_string()),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            plain,
            format!("unhealthy: {reason}\n"),
        ),
    }
}

async fn render_metrics(State(h): State<Health>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        h.metrics.render(),
    )
}

/// `/healthz` and `/metrics`, with `ui`'s pages merged in when given.
pub fn router(metrics: Arc<Metrics>, clock: fn() -> i64, ui: Option<Router>) -> Router {
    let r = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(render_metrics))
        .with_state(Health { metrics, clock });
    match ui {
        Some(ui) => r.merge(ui),
        None => r,
    }
}

/// Serve `app` until the runtime shuts down.
pub async fn serve_with(listener: TcpListener, app: Router) {
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "http listener stopped");
    }
}
