//! What every request handler — the API's and the console's — can reach.

use crate::error::ApiError;
use crate::photos::PhotoFiles;
use crate::store::Store;
use baoxue_shared::time::TermCalendar;
use std::sync::Arc;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub photos: PhotoFiles,
    pub terms: Arc<TermCalendar>,
    pub evidence: crate::review::evidence::EvidenceSettings,
    /// The built web app served at `/app/` (`scripts/build-web.sh`), if any.
    pub web_app: Option<Arc<std::path::PathBuf>>,
    /// A background catch-up of the read models is queued and has not started yet.
    pub catch_up_queued: Arc<std::sync::atomic::AtomicBool>,
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

    /// Bring the read models up to date in the background (after a push or an upload): the
    /// next console page then finds nothing left to take in. Failures are logged; the next
    /// catch-up starts from the same cursor. At most one waits for its turn: a push while one
    /// waits adds nothing, since the waiting one takes in whatever arrived before its turn
    /// (hundreds of pushes a minute must not park hundreds of blocking threads).
    pub fn catch_up_soon(&self) {
        use std::sync::atomic::Ordering;
        if self.catch_up_queued.swap(true, Ordering::AcqRel) {
            return;
        }
        let (store, settings, terms) = (self.store.clone(), self.evidence, self.terms.clone());
        let queued = self.catch_up_queued.clone();
        tokio::task::spawn_blocking(move || {
            let started = || queued.store(false, Ordering::Release);
            let r =
                crate::readmodel::catch_up_once_started(store.as_ref(), &settings, &terms, started);
            if let Err(e) = r {
                tracing::error!(error = %e, "read models could not catch up");
            }
        });
    }
}
