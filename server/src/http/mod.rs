//! The HTTP API: JSON over HTTP for phones and the console. Handlers are thin: they extract,
//! call a service or the store on the blocking pool, and return; errors are mapped once in
//! `error`. No SQL here.

pub mod access;
mod auth;
pub mod error;
pub(crate) mod extract;
pub mod guard;
mod photos;
pub(crate) mod students;
mod sync;

use crate::photos::PhotoFiles;
use crate::store::{Session, Store};
use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRequestParts};
use axum::http::request::Parts;
use axum::routing::{MethodRouter, get, post};
use baoxue_shared::time::TermCalendar;
use error::ApiError;
use std::sync::Arc;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub photos: PhotoFiles,
    pub terms: Arc<TermCalendar>,
    pub evidence: crate::review::evidence::EvidenceSettings,
    /// Reviewers' scopes kept between console requests.
    pub scopes: crate::review::ScopeCache,
}

impl AppState {
    /// Run blocking store work off the async threads.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref())).await?
    }
}

/// The caller, from `Authorization: Bearer <token>`.
pub struct Authed(pub Session);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_or_cookie(&parts.headers).ok_or(crate::auth::AuthError::MissingToken)?;
        let now = chrono::Utc::now();
        let session = state
            .blocking(move |s| Ok(crate::auth::authenticate(s, &token, now)?))
            .await?;
        Ok(Authed(session))
    }
}

/// The name of the console's session cookie (the same opaque token a phone gets, bound to
/// the browser as its device).
pub const SESSION_COOKIE: &str = "baoxue_session";

/// The token from `Authorization: Bearer`, or else the console's session cookie (so the
/// browser can load photos from the same API).
pub fn bearer_or_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let cookie = || {
        headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == SESSION_COOKIE)
            .map(|(_, v)| v.trim())
            .filter(|t| !t.is_empty())
    };
    bearer.or_else(cookie).map(str::to_string)
}

/// The API's routes, each with the methods it answers (a GET route answers HEAD too). The
/// router is built from this table and the OpenAPI document is tested against it, so a route
/// added here and not described there fails a test.
pub fn api_routes() -> Vec<(
    &'static str,
    &'static [&'static str],
    MethodRouter<AppState>,
)> {
    vec![
        ("/api/login", &["post"], post(auth::login)),
        ("/api/logout", &["post"], post(auth::logout)),
        ("/api/me", &["get"], get(auth::me)),
        (
            "/api/sync/push",
            &["post"],
            post(sync::push).layer(DefaultBodyLimit::max(baoxue_shared::wire::MAX_BATCH_BYTES)),
        ),
        ("/api/sync/pull", &["get"], get(sync::pull)),
        ("/api/students", &["get"], get(students::list)),
        ("/api/students/{id}/file", &["get"], get(students::file)),
        ("/api/photos/missing", &["post"], post(photos::missing)),
        (
            "/api/photos/{sha256}",
            &["get", "head", "put", "patch"],
            get(photos::get)
                .head(photos::status)
                .put(photos::put)
                .patch(photos::patch)
                .layer(DefaultBodyLimit::max(
                    crate::photos::MAX_PHOTO_BYTES as usize,
                )),
        ),
        ("/api/photos/{sha256}/thumb", &["get"], get(photos::thumb)),
        ("/api/access-log", &["get"], get(access::list)),
        ("/api/openapi.json", &["get"], get(crate::openapi::document)),
    ]
}

/// The router with all routes. Tests drive it with `oneshot`; `serve` binds it to a port.
pub fn router(state: AppState) -> Router {
    let mut r = Router::new();
    for (path, _, methods) in api_routes() {
        r = r.route(path, methods);
    }
    r.merge(crate::console::routes())
        .route("/", get(index))
        .fallback(|| async { ApiError::not_found("route") })
        .layer(axum::middleware::from_fn(guard::same_origin_writes))
        .layer(tower_http::decompression::RequestDecompressionLayer::new())
        .layer(axum::middleware::from_fn(error::house_body))
        .layer(axum::middleware::from_fn(guard::security_headers))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

async fn index() -> axum::response::Html<&'static str> {
    axum::response::Html(include_str!("index.html"))
}
