//! The HTTP API: JSON over HTTP for phones and the console. Handlers are thin: they extract,
//! call a service or the store on the blocking pool, and return; errors are mapped once in
//! `error`. No SQL here.

mod access;
mod auth;
mod photos;
mod students;
mod sync;

use crate::state::AppState;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, get, post};

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

/// The API's router (no state yet, no middleware): composed with the console's in
/// `crate::router`.
pub fn routes() -> Router<AppState> {
    let mut r = Router::new();
    for (path, _, methods) in api_routes() {
        r = r.route(path, methods);
    }
    r.route("/", get(index))
}

/// The server's front page: what it is, and the phone app's QR code.
async fn index(headers: axum::http::HeaderMap) -> axum::response::Html<String> {
    axum::response::Html(
        include_str!("index.html").replace("<!-- app -->", &crate::webapp::install_link(&headers)),
    )
}
