//! The access log, for the county: who looked at which child's file, or took which ledger.

use crate::error::ApiError;
use crate::extract::AppQuery;
use crate::session::Authed;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use baoxue_shared::api::{AccessLine, AccessQuery};
use baoxue_shared::ids::UserId;

pub(super) async fn list(
    State(st): State<AppState>,
    Authed(session): Authed,
    AppQuery(q): AppQuery<AccessQuery>,
) -> Result<Json<Vec<AccessLine>>, ApiError> {
    if !session.user.role.reads_access_log() {
        return Err(ApiError::access_log_refused());
    }
    let lines = st
        .blocking(move |s| {
            let subject = q.student.map(|s| s.to_string());
            let entries = s.access_log(
                subject.as_deref(),
                q.user,
                q.limit.unwrap_or(200).min(5_000),
            )?;
            let users: std::collections::HashMap<UserId, _> =
                s.users()?.into_iter().map(|u| (u.id, u)).collect();
            Ok(entries
                .into_iter()
                .map(|e| {
                    let (account, name) = users
                        .get(&e.user)
                        .map(|u| (u.account.clone(), u.name.clone()))
                        .unwrap_or_default();
                    AccessLine {
                        entry: e,
                        account,
                        name,
                    }
                })
                .collect())
        })
        .await?;
    Ok(Json(lines))
}
