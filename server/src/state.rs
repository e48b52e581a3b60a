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
    /// Reviewers' scopes kept between console requests.
    pub scopes: crate::review::ScopeCache,
    /// The built web app served at `/app/` (`scripts/build-web.sh`), if any.
    pub web_app: Option<Arc<std::path::PathBuf>>,
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
