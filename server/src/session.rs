//! Who is calling: the one session extractor both front ends use. A phone sends its token as
//! `Authorization: Bearer`; the console's browser carries the same kind of token in a cookie.

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Session;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// The caller, from `Authorization: Bearer <token>`.
pub struct Authed(pub Session);

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_or_cookie(&parts.headers).ok_or(crate::auth::AuthError::MissingToken)?;
        let now = chrono::Utc::now();
        let session = state
            .blocking(move |s| Ok(crate::auth::authenticate(s, &token, now)?))
            .await?;
        Ok(Authed(session))
    }
}

/// The name of the console's session cookie (the same opaque token a phone gets, bound to
/// the browser as its device).
pub const SESSION_COOKIE: &str = "baoxue_session";

/// The token of `Authorization: Bearer`, if the request carries one.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The token from `Authorization: Bearer`, or else the console's session cookie (so the
/// browser can load photos from the same API).
pub fn bearer_or_cookie(headers: &axum::http::HeaderMap) -> Option<String> {
    let bearer = bearer(headers);
    let cookie = || {
        headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == SESSION_COOKIE)
            .map(|(_, v)| v.trim())
            .filter(|t| !t.is_empty())
    };
    bearer.or_else(cookie).map(str::to_string)
}
