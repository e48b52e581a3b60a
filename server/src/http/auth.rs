//! Login, logout, and who am I.

use crate::error::ApiError;
use crate::extract::AppJson;
use crate::session::Authed;
use crate::state::AppState;
use crate::store::Caseload;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use baoxue_shared::api::{LoginRequest, LoginResponse, LogoutResponse, Me};
use chrono::Utc;

pub(super) async fn login(
    State(st): State<AppState>,
    AppJson(req): AppJson<LoginRequest>,
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
) -> Result<Json<LogoutResponse>, ApiError> {
    // Whichever credential authenticated the call — a phone's bearer token or the console's
    // cookie — is the one revoked.
    let token =
        crate::session::bearer_or_cookie(&headers).ok_or(crate::auth::AuthError::MissingToken)?;
    let now = Utc::now();
    let revoked = st
        .blocking(move |s| Ok(s.revoke_token(&crate::auth::token_hash(&token), now)?))
        .await?;
    Ok(Json(LogoutResponse { revoked }))
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
