//! The site's URLs and their inputs: `/` (alert list, filters in the query string),
//! `/alert/{id}`, `/entity/{kind}/{id}` (`eni`, `instance`, `ip`, or any alert entity kind) and
//! `/principal/{arn}`. Path values are checked (no control characters or backslashes, bounded
//! length) before any page quotes them into SQL; failures become a short escaped error page.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use maud::html;

use super::Ui;
use super::filters::AlertFilter;
use super::layout::page;

/// The pages, to serve alone or merged into the service's router.
pub fn router(ui: Arc<Ui>) -> Router {
    Router::new()
        .route("/", get(list))
        .route("/alert/{id}", get(alert))
        .route("/entity/{kind}/{id}", get(entity))
        .route("/principal/{*arn}", get(principal))
        .with_state(ui)
}

/// A page that could not be made.
pub enum PageError {
    BadInput(String),
    NotFound(String),
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for PageError {
    fn from(e: anyhow::Error) -> Self {
        PageError::Failed(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (code, msg) = match self {
            PageError::BadInput(m) => (StatusCode::BAD_REQUEST, m),
            PageError::NotFound(m) => (StatusCode::NOT_FOUND, m),
            PageError::Failed(e) => {
                tracing::warn!(error = %format!("{e:#}"), "ui page failed");
                (StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}"))
            }
        };
        let body = html! { h1 { (code.as_str()) } p class="error" { (msg) } };
        (code, Html(page("error", body, 0))).into_response()
    }
}

/// A path value fit to quote into SQL.
fn checked(what: &str, v: &str) -> Result<String, PageError> {
    let ok = !v.is_empty() && v.len() <= 512 && !v.chars().any(|c| c.is_control() || c == '\\');
    if ok {
        Ok(v.to_string())
    } else {
        Err(PageError::BadInput(format!("not a valid {what}: {v:?}")))
    }
}

type PageResult = Result<Html<String>, PageError>;

async fn list(State(ui): State<Arc<Ui>>, Query(f): Query<AlertFilter>) -> PageResult {
    let t = Instant::now();
    let (title, body) = super::list::render(&ui, &f).await?;
    Ok(Html(page(&title, body, t.elapsed().as_millis())))
}

async fn alert(State(ui): State<Arc<Ui>>, Path(id): Path<String>) -> PageResult {
    let t = Instant::now();
    let id = checked("alert id", &id)?;
    let (title, body) = super::alert::render(&ui, &id).await?;
    Ok(Html(page(&title, body, t.elapsed().as_millis())))
}

async fn entity(State(ui): State<Arc<Ui>>, Path((kind, id)): Path<(String, String)>) -> PageResult {
    let t = Instant::now();
    let kind = checked("entity kind", &kind)?;
    let id = checked("entity id", &id)?;
    let (title, body) = super::entity::render(&ui, &kind, &id).await?;
    Ok(Html(page(&title, body, t.elapsed().as_millis())))
}

async fn principal(State(ui): State<Arc<Ui>>, Path(arn): Path<String>) -> PageResult {
    let t = Instant::now();
    let arn = checked("principal", &arn)?;
    let (title, body) = super::entity::principal(&ui, &arn).await?;
    Ok(Html(page(&title, body, t.elapsed().as_millis())))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn path_values_with_control_characters_or_backslashes_are_refused() {
        assert!(checked("id", "b2c958ab").is_ok());
        assert!(checked("id", "arn:aws:iam::1:user/a").is_ok());
        assert!(checked("id", "a\\'b").is_err());
        assert!(checked("id", "a\nb").is_err());
        assert!(checked("id", "").is_err());
        assert!(checked("id", &"x".repeat(600)).is_err());
    }
}
