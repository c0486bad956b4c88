//! `/healthz` and `/metrics` over plain HTTP/1.1 on the service's runtime: two GET routes, one
//! response per connection. Small enough that a web framework would only add build time.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::metrics::Metrics;

/// A cycle must complete within this long for `/healthz` to answer 200.
pub const MAX_SILENCE_MS: i64 = 5 * 60_000;

/// Serve until the runtime shuts down.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>, clock: fn() -> i64) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let _ = answer(stream, &metrics, clock).await;
        });
    }
}

async fn answer(
    mut stream: TcpStream,
    metrics: &Metrics,
    clock: fn() -> i64,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 4096];
    let mut n = 0;
    // Read until the end of the request head (or the buffer is full).
    while n < buf.len() {
        let r = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            stream.read(&mut buf[n..]),
        )
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
        if r == 0 {
            break;
        }
        n += r;
        if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let head = String::from_utf8_lossy(&buf[..n]);
    let mut parts = head.split_ascii_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, ctype, body) = match (method, path) {
        ("GET", "/healthz") => match metrics.health(clock(), MAX_SILENCE_MS) {
            Ok(()) => ("200 OK", "text/plain", "ok\n".to_string()),
            Err(reason) => (
                "503 Service Unavailable",
                "text/plain",
                format!("unhealthy: {reason}\n"),
            ),
        },
        ("GET", "/metrics") => ("200 OK", "text/plain; version=0.0.4", metrics.render()),
        ("GET", _) => ("404 Not Found", "text/plain", "not found\n".to_string()),
        _ => (
            "405 Method Not Allowed",
            "text/plain",
            "only GET\n".to_string(),
        ),
    };
    let resp = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(resp.as_bytes()).await?;
    stream.shutdown().await
}
