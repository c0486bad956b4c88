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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::atomic::Ordering;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    async fn get(addr: std::net::SocketAddr, path: &str) -> String {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    }

    fn clock() -> i64 {
        1_000_000
    }

    async fn start(ui: Option<Router>) -> std::net::SocketAddr {
        let metrics = Arc::new(Metrics::default());
        metrics.started_ms.store(clock(), Ordering::Relaxed);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve_with(listener, router(metrics, clock, ui)));
        addr
    }

    #[tokio::test]
    async fn health_and_metrics_answer_and_the_site_only_when_configured() {
        let addr = start(None).await;
        let h = get(addr, "/healthz").await;
        assert!(h.starts_with("HTTP/1.1 200") && h.ends_with("ok\n"), "{h}");
        let m = get(addr, "/metrics").await;
        assert!(m.contains("content-type: text/plain; version=0.0.4"), "{m}");
        assert!(m.contains("flowtrail_"), "{m}");
        assert!(get(addr, "/").await.starts_with("HTTP/1.1 404"));

        let lake = tempfile::tempdir().unwrap();
        std::fs::create_dir(lake.path().join("alerts")).unwrap();
        let ui = crate::ui::router(crate::ui::Ui::new(lake.path().to_path_buf()));
        let addr = start(Some(ui)).await;
        let page = get(addr, "/").await;
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        assert!(
            page.contains("id=\"alert-count\"") && page.contains("0 alert(s)"),
            "{page}"
        );
        assert!(get(addr, "/healthz").await.starts_with("HTTP/1.1 200"));
    }
}
