//! Login, logout, and who am I.

use super::error::ApiError;
use super::{AppState, Authed};
use crate::store::Caseload;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use baoxue_shared::ids::DeviceId;
use baoxue_shared::people::User;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A login from one device.
#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    pub account: String,
    pub password: String,
    /// The installation logging in; its token works only for its own batches.
    pub device: DeviceId,
}

/// A successful login.
#[derive(Debug, Serialize)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

pub(super) async fn login(
    State(st): State<AppState>,
    Json(req): Json<LoginRequest>,
) -> Result<Json<LoginResponse>, ApiError> {
    let now = Utc::now();
    let login = st
        .blocking(move |s| {
            Ok(crate::auth::login(
                s,
                req.account.trim(),
                &req.password,
                req.device,
                now,
            )?)
        })
        .await?;
    Ok(Json(LoginResponse {
        token: login.token,
        expires_at: login.expires_at,
        user: login.user,
    }))
}

pub(super) async fn logout(
    State(st): State<AppState>,
    _who: Authed,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, ApiError> {
    // Whichever credential authenticated the call — a phone's bearer token or the console's
    // cookie — is the one revoked.
    let token = super::bearer_or_cookie(&headers).ok_or(crate::auth::AuthError::MissingToken)?;
    let now = Utc::now();
    let revoked = st
        .blocking(move |s| Ok(s.revoke_token(&crate::auth::token_hash(&token), now)?))
        .await?;
    Ok(Json(serde_json::json!({ "revoked": revoked })))
}

/// The caller and the size of their caseload.
#[derive(Debug, Serialize)]
pub struct Me {
    pub user: User,
    pub device: DeviceId,
    pub expires_at: DateTime<Utc>,
    pub students: usize,
    pub households: usize,
}

pub(super) async fn me(
    State(st): State<AppState>,
    Authed(session): Authed,
) -> Result<Json<Me>, ApiError> {
    let user = session.user.clone();
    let cl: Caseload = st.blocking(move |s| Ok(s.caseload(&user)?)).await?;
    Ok(Json(Me {
        user: session.user,
        device: session.device,
        expires_at: session.expires_at,
        students: cl.students.len(),
        households: cl.households.len(),
    }))
}
