//! The router: static files of the embedded web client, `/healthz`, `/metrics`, and
//! the WebSocket endpoint; every response carries the security headers.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;

use crate::Web;

/// The browser client's files (`web/` at the top of the repository), inside the binary.
#[derive(RustEmbed)]
#[folder = "../../web/"]
#[exclude = "tests/*"]
#[exclude = "node_modules/*"]
#[exclude = "*.md"]
pub struct Assets;

/// No inline script or style, nothing from any other host; the page may talk to its
/// own origin only (HTTP and WebSocket) and cannot be framed.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       font-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; \
                       base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn router(web: Arc<Web>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route(crate::WS_PATH, get(crate::ws::upgrade))
        .fallback(asset)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(web)
}

async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    res
}

/// `200 ok` while the server runs and its database keeps up; `503` while storing
/// history fails (messages are kept in the journal meanwhile).
async fn healthz(State(web): State<Arc<Web>>) -> Response {
    let failing = web.outbound.as_ref().is_some_and(|o| o.store_failing());
    let (status, body) =
        if failing { (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n") } else { (StatusCode::OK, "ok\n") };
    (status, [(header::CACHE_CONTROL, "no-store"), (header::CONTENT_TYPE, "text/plain; charset=utf-8")], body)
        .into_response()
}

async fn metrics(State(web): State<Arc<Web>>) -> Response {
    (
        [(header::CACHE_CONTROL, "no-store"), (header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        crate::metrics::render(&web),
    )
        .into_response()
}

/// A file of the web client; `/` is `index.html`. Files are revalidated on every load
/// (`no-cache` + ETag): without a build step their names carry no version, and a
/// stale module next to a fresh one would break the client.
async fn asset(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() || path.ends_with('/') { format!("{path}index.html") } else { path.to_string() };
    let Some(file) = Assets::get(&path) else {
        return (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], "not found\n")
            .into_response();
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut res = if cached {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mime = file.metadata.mimetype();
        let mut res =
            Response::new(if method == Method::HEAD { Body::empty() } else { Body::from(file.data.into_owned()) });
        if let Ok(v) = HeaderValue::from_str(&content_type(mime)) {
            res.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        res
    };
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    res
}

/// Text types get `charset=utf-8`; ES modules must be served as JavaScript.
fn content_type(mime: &str) -> String {
    if mime.starts_with("text/") || mime == "application/javascript" || mime == "application/json" {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    }
}
