//! Baoxue's sync server. Phones push batches of operations and pull what is new in their
//! caseload; the server is one more replica of the shared merge (`baoxue_shared::replica`) and
//! builds each student's file with the shared function. Supervisors' console and reports are
//! served from here too.
//!
//! Layout: `store` (storage behind one trait), `auth` (passwords, tokens), `scope` (who may see
//! what), `sync` (what a push must satisfy), `files` (a student's file), `state` and `session`
//! (what both front ends reach, who is calling), `http` (the JSON API) and `console` (the
//! supervisors' pages) composed by [`router`], `error` (errors mapped once), `guard` (browser
//! writes, headers), `demo` (the demo county). `main.rs` only parses the command line.

pub mod admin;
pub mod auth;
pub mod console;
pub mod demo;
pub mod divisions;
pub mod error;
pub mod extract;
pub mod files;
pub mod guard;
pub mod http;
pub mod openapi;
pub mod photos;
pub mod readmodel;
pub mod report;
pub mod review;
pub mod roster;
pub mod scope;
pub mod session;
pub mod state;
pub mod store;
pub mod sync;
pub mod webapp;

use state::AppState;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the server keeps its data and how it listens.
#[derive(Clone)]
pub struct Settings {
    /// The directory holding the photos, and the SQLite database unless `database` is given.
    pub data_dir: PathBuf,
    /// A PostgreSQL database (`postgres://…`) to keep the records in instead of SQLite.
    pub database: Option<String>,
    /// Thresholds of the review queue's evidence checks.
    pub evidence: review::evidence::EvidenceSettings,
    /// The built web app to serve at `/app/` (`scripts/build-web.sh` fills `app/web/dist`).
    pub web_app: Option<PathBuf>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("data_dir", &self.data_dir)
            // The address may carry a password.
            .field("postgres", &self.database.is_some())
            .field("evidence", &self.evidence)
            .field("web_app", &self.web_app)
            .finish()
    }
}

/// Open the store and photo directory under `data_dir`: the composition root of the server.
pub fn open(data_dir: &Path) -> Result<(Arc<dyn store::Store>, AppState), store::StoreError> {
    open_with(data_dir, None)
}

/// [`open`], keeping the records in the PostgreSQL database at `database` when given (photos
/// stay under `data_dir`, which several servers then share). Blocks: call it off async threads.
pub fn open_with(
    data_dir: &Path,
    database: Option<&str>,
) -> Result<(Arc<dyn store::Store>, AppState), store::StoreError> {
    let store: Arc<dyn store::Store> = match database {
        None => Arc::new(store::sqlite::SqliteStore::open(data_dir)?),
        Some(url) => Arc::new(store::postgres::PostgresStore::connect(url)?),
    };
    let photos = photos::PhotoFiles::new(data_dir)?;
    let today = baoxue_shared::time::today_in_china();
    use chrono::Datelike;
    let terms = baoxue_shared::time::TermCalendar::typical(today.year() - 3..=today.year());
    let state = AppState {
        store: store.clone(),
        photos,
        terms: Arc::new(terms),
        evidence: Default::default(),
        web_app: None,
        catch_up_queued: Default::default(),
    };
    Ok((store, state))
}

/// The certificate chain and private key (PEM files) the server terminates TLS with.
#[derive(Debug, Clone)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Serve the API on `listener` until `shutdown` resolves, then finish in-flight requests and
/// close the store (every acknowledged write is committed before this returns).
pub async fn serve(
    listener: tokio::net::TcpListener,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), store::StoreError> {
    serve_with(listener, settings, None, shutdown).await
}

/// [`serve`], over TLS when `tls` names a certificate and key: what phones need off localhost
/// (service workers, positioning and installing the app want a secure context).
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    settings: Settings,
    tls: Option<Tls>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), store::StoreError> {
    // The certificate is read before the store opens: a bad one stops the start at once.
    let tls = match tls {
        None => None,
        Some(t) => Some(
            axum_server::tls_rustls::RustlsConfig::from_pem_file(&t.cert, &t.key)
                .await
                .map_err(|e| {
                    std::io::Error::new(
                        e.kind(),
                        format!(
                            "the TLS certificate {} or key {} cannot be used: {e}",
                            t.cert.display(),
                            t.key.display()
                        ),
                    )
                })?,
        ),
    };
    let (dir, db) = (settings.data_dir.clone(), settings.database.clone());
    let (store, mut state) = tokio::task::spawn_blocking(move || open_with(&dir, db.as_deref()))
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))??;
    state.evidence = settings.evidence;
    state.web_app = settings.web_app.map(Arc::new);
    // A database from before the read models (or with records they missed) is taken in now.
    state.catch_up_soon();
    // Each China day's start: the files whose due work the calendar changed overnight (a term
    // starting changes every one) are recomputed then, not by the first reviewer's page.
    let daily = state.clone();
    tokio::spawn(async move {
        loop {
            let now = chrono::Utc::now();
            let wait = (readmodel::next_recheck_after(now) - now)
                .to_std()
                .unwrap_or_default();
            tokio::time::sleep(wait).await;
            daily.catch_up_soon();
        }
    });
    tracing::info!(addr = ?listener.local_addr().ok(), data = %settings.data_dir.display(), tls = tls.is_some(), "serving");
    match tls {
        None => {
            axum::serve(listener, router(state))
                .with_graceful_shutdown(shutdown)
                .await?
        }
        Some(config) => {
            let handle = axum_server::Handle::new();
            let stopping = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                stopping.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
            });
            // The connection is TLS, whatever a client claims: pages, cookies and the QR code
            // say https.
            let app = router(state).layer(axum::middleware::from_fn(
                |mut req: axum::extract::Request, next: axum::middleware::Next| async move {
                    req.headers_mut().insert(
                        "x-forwarded-proto",
                        axum::http::HeaderValue::from_static("https"),
                    );
                    next.run(req).await
                },
            ));
            axum_server::from_tcp_rustls(listener.into_std()?, config)?
                .handle(handle)
                .serve(app.into_make_service())
                .await?
        }
    }
    let closing = store.clone();
    tokio::task::spawn_blocking(move || closing.close())
        .await
        .ok();
    tracing::info!("stopped cleanly");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C: what `serve` is given in production, so a stop finishes
/// in-flight requests and commits before the process exits.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

/// The whole router: the API's routes and the console's, one fallback, and the middleware every
/// request passes (same-origin check on browser writes, decompression, the house error body for
/// the framework's own refusals, security headers, tracing). Tests drive it with `oneshot`;
/// `serve` binds it to a port.
pub fn router(state: AppState) -> axum::Router {
    use axum::middleware::from_fn;
    http::routes()
        .merge(console::routes())
        .merge(webapp::routes())
        .fallback(|| async { error::ApiError::not_found("route") })
        .layer(from_fn(guard::same_origin_writes))
        .layer(tower_http::decompression::RequestDecompressionLayer::new())
        .layer(from_fn(error::house_body))
        .layer(from_fn(guard::security_headers))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

#[cfg(test)]
mod tests {
    /// Every `.rs` file below `src/<dir>`, with its text.
    fn sources(dir: &str) -> Vec<(std::path::PathBuf, String)> {
        let mut out = Vec::new();
        let mut todo = vec![
            std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo"))
                .join("src")
                .join(dir),
        ];
        while let Some(d) = todo.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    todo.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    let text = std::fs::read_to_string(&p).unwrap();
                    out.push((p, text));
                }
            }
        }
        out
    }

    #[test]
    fn the_api_and_the_console_do_not_reach_into_each_other() {
        for (path, text) in sources("http") {
            assert!(
                !text.contains("crate::console"),
                "{path:?} imports the console"
            );
        }
        for (path, text) in sources("console") {
            assert!(
                !text.contains("crate::http"),
                "{path:?} imports the JSON API"
            );
        }
    }
}
