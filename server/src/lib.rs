//! Baoxue's sync server. Phones push batches of operations and pull what is new in their
//! caseload; the server is one more replica of the shared merge (`baoxue_shared::replica`) and
//! builds each student's file with the shared function. Supervisors' console and reports are
//! served from here too.
//!
//! Layout: `store` (storage behind one trait), `auth` (passwords, tokens), `scope` (who may see
//! what), `sync` (what a push must satisfy), `http` (the API, errors mapped once), `demo` (the
//! demo county). `main.rs` only parses the command line.

pub mod admin;
pub mod auth;
pub mod console;
pub mod demo;
pub mod http;
pub mod openapi;
pub mod photos;
pub mod report;
pub mod review;
pub mod roster;
pub mod scope;
pub mod store;
pub mod sync;

use http::AppState;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the server keeps its data and how it listens.
#[derive(Clone)]
pub struct Settings {
    /// The directory holding the SQLite database and the photos.
    pub data_dir: PathBuf,
    /// Thresholds of the review queue's evidence checks.
    pub evidence: review::evidence::EvidenceSettings,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("data_dir", &self.data_dir)
            .field("evidence", &self.evidence)
            .finish()
    }
}

/// Open the store and photo directory under `data_dir`: the composition root of the server.
pub fn open(
    data_dir: &Path,
) -> Result<(Arc<store::sqlite::SqliteStore>, AppState), store::StoreError> {
    let store = Arc::new(store::sqlite::SqliteStore::open(data_dir)?);
    let photos = photos::PhotoFiles::new(data_dir)?;
    let today = baoxue_shared::time::today_in_china();
    use chrono::Datelike;
    let terms = baoxue_shared::time::TermCalendar::typical(today.year() - 3..=today.year());
    let state = AppState {
        store: store.clone(),
        photos,
        terms: Arc::new(terms),
        evidence: Default::default(),
        scopes: Default::default(),
    };
    Ok((store, state))
}

/// Serve the API on `listener` until `shutdown` resolves, then finish in-flight requests and
/// close the store (every acknowledged write is committed before this returns).
pub async fn serve(
    listener: tokio::net::TcpListener,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), store::StoreError> {
    let (store, mut state) = open(&settings.data_dir)?;
    state.evidence = settings.evidence;
    tracing::info!(addr = ?listener.local_addr().ok(), data = %settings.data_dir.display(), "serving");
    axum::serve(listener, http::router(state))
        .with_graceful_shutdown(shutdown)
        .await?;
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
