//! Push and pull.

use crate::error::ApiError;
use crate::extract::AppQuery;
use crate::session::Authed;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use baoxue_shared::api::{PullPage, PullQuery, PushReceipt};

pub(super) async fn push(
    State(st): State<AppState>,
    Authed(session): Authed,
    body: Bytes,
) -> Result<Json<PushReceipt>, ApiError> {
    let now = chrono::Utc::now();
    let receipt = st
        .blocking(move |s| Ok(crate::sync::push(s, &session, &body, now)?))
        .await?;
    st.catch_up_soon();
    Ok(Json(receipt))
}

pub(super) async fn pull(
    State(st): State<AppState>,
    Authed(session): Authed,
    AppQuery(q): AppQuery<PullQuery>,
) -> Result<Json<PullPage>, ApiError> {
    let page = st
        .blocking(move |s| {
            Ok(crate::sync::pull(
                s,
                &session,
                q.cursor.as_deref(),
                q.limit.unwrap_or(crate::sync::MAX_PULL_PAGE),
            )?)
        })
        .await?;
    Ok(Json(PullPage {
        ops: page.ops,
        cursor: page.next.encode(),
        more: page.more,
    }))
}
