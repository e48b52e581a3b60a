//! Push and pull.

use super::error::ApiError;
use super::extract::Query;
use super::{AppState, Authed};
use crate::store::PushReceipt;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use baoxue_shared::op::Op;
use serde::{Deserialize, Serialize};

pub(super) async fn push(
    State(st): State<AppState>,
    Authed(session): Authed,
    body: Bytes,
) -> Result<Json<PushReceipt>, ApiError> {
    let now = chrono::Utc::now();
    let receipt = st
        .blocking(move |s| Ok(crate::sync::push(s, &session, &body, now)?))
        .await?;
    Ok(Json(receipt))
}

/// Pull parameters.
#[derive(Debug, Deserialize)]
pub struct PullQuery {
    /// The `cursor` of the previous page; absent for a first pull.
    pub cursor: Option<String>,
    pub limit: Option<usize>,
}

/// One page of a pull.
#[derive(Debug, Serialize, Deserialize)]
pub struct PullResponse {
    pub ops: Vec<Op>,
    /// Pass back on the next pull.
    pub cursor: String,
    /// Pull again at once: more is waiting.
    pub more: bool,
}

pub(super) async fn pull(
    State(st): State<AppState>,
    Authed(session): Authed,
    Query(q): Query<PullQuery>,
) -> Result<Json<PullResponse>, ApiError> {
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
    Ok(Json(PullResponse {
        ops: page.ops,
        cursor: page.next.encode(),
        more: page.more,
    }))
}
