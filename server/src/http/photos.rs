//! Photo upload (whole, or resumable in chunks), existence checks, and download.
//!
//! `PUT /api/photos/{sha256}` sends the whole photo. For a weak signal, `PATCH` sends chunks:
//! `Upload-Offset` says where the chunk starts and `Upload-Length` the photo's full size;
//! `HEAD` answers how many bytes the server holds (`Upload-Offset`) or that it has the photo.

use crate::error::ApiError;
use crate::extract::{AppJson, AppPath};
use crate::session::Authed;
use crate::state::AppState;
use crate::store::{Caseload, Session, Store};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use baoxue_shared::api::{MissingPhotosRequest, MissingPhotosResponse};
use baoxue_shared::observation::Sha256;

fn header_u64(h: &HeaderMap, name: &'static str) -> Result<u64, ApiError> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "missing_header",
                format!("header {name} is required"),
                "缺少续传信息",
            )
        })
}

fn out_of_scope() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "photo_out_of_scope",
        "no record you may see cites this photo",
        "该照片不属于您负责范围内的记录",
    )
}

/// Whether `session` may see the photo: some record citing it is one they may see (a photo is
/// evidence about the children its records concern, and goes where those records go).
fn may_see_photo(
    s: &dyn Store,
    caseload: &Caseload,
    sha: &Sha256,
) -> Result<bool, crate::store::StoreError> {
    Ok(s.photo_citations(sha)?
        .iter()
        .any(|c| crate::scope::may_see(caseload, c)))
}

/// Refuse a photo read outside the caller's scope.
async fn check_scope(st: &AppState, session: &Session, sha: Sha256) -> Result<(), ApiError> {
    let user = session.user.clone();
    let ok = st
        .blocking(move |s| Ok(may_see_photo(s, &s.caseload(&user)?, &sha)?))
        .await?;
    if ok { Ok(()) } else { Err(out_of_scope()) }
}

pub(super) async fn missing(
    State(st): State<AppState>,
    Authed(session): Authed,
    AppJson(req): AppJson<MissingPhotosRequest>,
) -> Result<Json<MissingPhotosResponse>, ApiError> {
    let resp = st
        .blocking(move |s| {
            let caseload = s.caseload(&session.user)?;
            let mut mine = Vec::new();
            let mut out_of_scope = Vec::new();
            for h in req.sha256 {
                if may_see_photo(s, &caseload, &h)? {
                    mine.push(h);
                } else {
                    out_of_scope.push(h);
                }
            }
            let have = s.photos_present(&mine)?;
            Ok(MissingPhotosResponse {
                missing: mine
                    .into_iter()
                    .filter(|h| !have.contains(h))
                    .chain(out_of_scope.iter().copied())
                    .collect(),
                out_of_scope,
            })
        })
        .await?;
    Ok(Json(resp))
}

pub(super) async fn status(
    State(st): State<AppState>,
    Authed(session): Authed,
    AppPath(sha): AppPath<Sha256>,
) -> Result<Response, ApiError> {
    check_scope(&st, &session, sha).await?;
    let have = st.blocking(move |s| Ok(s.photo(&sha)?.is_some())).await?;
    let mut resp = StatusCode::OK.into_response();
    let offset = if have {
        "complete".to_string()
    } else {
        st.photos.offset(&sha).to_string()
    };
    if !have {
        *resp.status_mut() = StatusCode::NOT_FOUND;
    }
    resp.headers_mut().insert(
        "upload-offset",
        HeaderValue::from_str(&offset).expect("ascii"),
    );
    Ok(resp)
}

/// The stored photo's metadata, answered after an upload.
async fn store_complete(
    st: &AppState,
    user: baoxue_shared::ids::UserId,
    sha: Sha256,
    bytes: Vec<u8>,
) -> Result<Json<crate::store::PhotoMeta>, ApiError> {
    let files = st.photos.clone();
    let meta = st
        .blocking(move |s| {
            if let Some(m) = s.photo(&sha)? {
                return Ok(m);
            }
            let m = files.ingest(&sha, &bytes, user, chrono::Utc::now())?;
            s.save_photo(&m)?;
            Ok(m)
        })
        .await?;
    st.catch_up_soon();
    Ok(Json(meta))
}

pub(super) async fn put(
    State(st): State<AppState>,
    Authed(session): Authed,
    AppPath(sha): AppPath<Sha256>,
    body: Bytes,
) -> Result<Json<crate::store::PhotoMeta>, ApiError> {
    store_complete(&st, session.user.id, sha, body.to_vec()).await
}

pub(super) async fn patch(
    State(st): State<AppState>,
    Authed(session): Authed,
    AppPath(sha): AppPath<Sha256>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let offset = header_u64(&headers, "upload-offset")?;
    let total = header_u64(&headers, "upload-length")?;
    let files = st.photos.clone();
    let done =
        tokio::task::spawn_blocking(move || files.append(&sha, offset, total, &body)).await??;
    match done {
        Some(bytes) => Ok(store_complete(&st, session.user.id, sha, bytes)
            .await?
            .into_response()),
        None => {
            let mut resp = StatusCode::ACCEPTED.into_response();
            let now = st.photos.offset(&sha).to_string();
            resp.headers_mut()
                .insert("upload-offset", HeaderValue::from_str(&now).expect("ascii"));
            Ok(resp)
        }
    }
}

async fn send_file(path: std::path::PathBuf, mime: &'static str) -> Result<Response, ApiError> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|_| ApiError::not_found("photo"))?;
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (
                header::CACHE_CONTROL,
                "private, max-age=31536000, immutable",
            ),
        ],
        bytes,
    )
        .into_response())
}

pub(super) async fn get(
    State(st): State<AppState>,
    Authed(session): Authed,
    AppPath(sha): AppPath<Sha256>,
) -> Result<Response, ApiError> {
    check_scope(&st, &session, sha).await?;
    let meta = st
        .blocking(move |s| Ok(s.photo(&sha)?))
        .await?
        .ok_or_else(|| ApiError::not_found("photo"))?;
    let mime: &'static str = match meta.mime.as_str() {
        "image/png" => "image/png",
        "image/webp" => "image/webp",
        _ => "image/jpeg",
    };
    send_file(st.photos.path(&sha), mime).await
}

pub(super) async fn thumb(
    State(st): State<AppState>,
    Authed(session): Authed,
    AppPath(sha): AppPath<Sha256>,
) -> Result<Response, ApiError> {
    check_scope(&st, &session, sha).await?;
    send_file(st.photos.thumb_path(&sha), "image/jpeg").await
}
