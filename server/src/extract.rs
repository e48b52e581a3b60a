//! The extractors both front ends use. Each refuses with an `ExtractError` — mapped once to
//! the house error body in `crate::error` — that names the field at fault — a JSON body's field path, a query parameter, a form field, a path segment —
//! instead of the framework's plain-text rejection. On the console the same error is drawn as a
//! page (`console::render_errors`), so one mapping serves both.

use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use baoxue_shared::ids::{RecordId, StudentId};
use baoxue_shared::observation::Sha256;
use serde::de::DeserializeOwned;

/// Why a request could not be read into what the handler asked for. Mapped to a status and
/// the house body once, in `crate::error`.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// A query parameter's value does not parse.
    #[error("query parameter {field}: {reason}")]
    Query { field: String, reason: String },
    /// A form field's value does not parse.
    #[error("form field {field}: {reason}")]
    Form { field: String, reason: String },
    /// The body is not JSON at all.
    #[error("the body is not valid JSON: {0}")]
    NotJson(String),
    /// A JSON field is missing or of the wrong type.
    #[error("{field}: {reason}")]
    JsonField { field: String, reason: String },
    /// The body is not of the media type the route reads.
    #[error("expected a body of Content-Type {0}")]
    ContentType(&'static str),
    /// The body could not be read: over its limit, or cut off.
    #[error("the request body could not be read: {reason}")]
    Body { too_large: bool, reason: String },
    /// A path segment that names nothing of its kind.
    #[error("{what} not found ({field}: {reason})")]
    PathNotFound {
        what: &'static str,
        field: String,
        reason: String,
    },
    /// A photo hash in a path that is not one.
    #[error("{field}: {reason}")]
    PathHash { field: String, reason: String },
    /// The route's path parameters could not be read (a router mistake).
    #[error("path: {0}")]
    Path(String),
}

/// Decodes urlencoded pairs (a query string or a form body) into `T`, naming the bad field.
fn from_urlencoded<T: DeserializeOwned>(
    raw: &[u8],
    refuse: fn(String, String) -> ExtractError,
) -> Result<T, ExtractError> {
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        refuse(field, e.into_inner().to_string())
    })
}

/// For a form's or a query's optional value: absent or blank is `None` (a select's "any"),
/// anything else must parse as `T` or the request is refused naming the field.
pub fn blank_is_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    use serde::Deserialize;
    match Option::<String>::deserialize(d)?.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// A query string, refused with the parameter named (`students?status=bogus` says `status`).
pub struct AppQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for AppQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or_default();
        Ok(AppQuery(from_urlencoded(
            raw.as_bytes(),
            |field, reason| ExtractError::Query { field, reason },
        )?))
    }
}

/// The request body as bytes, refused when it cannot be read (over its limit, or cut off).
async fn body_bytes<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<axum::body::Bytes, ExtractError> {
    axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|r| ExtractError::Body {
            too_large: r.status() == StatusCode::PAYLOAD_TOO_LARGE,
            reason: r.body_text(),
        })
}

/// Whether the request says its body is of this media type.
fn content_type_is(req: &Request, mime: &str) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(mime))
}

/// A JSON body: 415 without `Content-Type: application/json`, 400 when it is not JSON, 422
/// naming the field whose value has the wrong type or is missing.
pub struct AppJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !content_type_is(&req, "application/json") {
            return Err(ExtractError::ContentType("application/json").into());
        }
        let bytes = body_bytes(req, state).await?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de)
            .map(AppJson)
            .map_err(|e| {
                let field = e.path().to_string();
                let inner = e.into_inner();
                if inner.is_data() {
                    ExtractError::JsonField {
                        field,
                        reason: inner.to_string(),
                    }
                } else {
                    ExtractError::NotJson(inner.to_string())
                }
                .into()
            })
    }
}

/// A urlencoded form (the console's plain HTML forms), refused naming the bad field (422, as a
/// JSON body whose field is wrong).
pub struct AppForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !content_type_is(&req, "application/x-www-form-urlencoded") {
            return Err(ExtractError::ContentType("application/x-www-form-urlencoded").into());
        }
        let bytes = body_bytes(req, state).await?;
        Ok(AppForm(from_urlencoded(&bytes, |field, reason| {
            ExtractError::Form { field, reason }
        })?))
    }
}

/// What a path segment may name, and how a segment that names nothing of the kind is refused.
pub trait PathParam: Sized {
    fn from_segment(segment: &str, name: &str) -> Result<Self, ExtractError>;
}

macro_rules! ids_in_paths {
    ($($t:ty => $what:literal),*) => {$(
        /// An id that does not parse names nothing: 404, like one that is not there.
        impl PathParam for $t {
            fn from_segment(segment: &str, name: &str) -> Result<Self, ExtractError> {
                segment.parse().map_err(|e: uuid::Error| ExtractError::PathNotFound {
                    what: $what,
                    field: name.to_string(),
                    reason: e.to_string(),
                })
            }
        }
    )*};
}
ids_in_paths!(StudentId => "student", RecordId => "record");

impl PathParam for Sha256 {
    fn from_segment(segment: &str, name: &str) -> Result<Self, ExtractError> {
        Sha256::parse(segment).map_err(|r| ExtractError::PathHash {
            field: name.to_string(),
            reason: r.en(),
        })
    }
}

impl PathParam for String {
    fn from_segment(segment: &str, _: &str) -> Result<Self, ExtractError> {
        Ok(segment.to_string())
    }
}

/// A route's one path parameter, parsed into its type by the extractor (never by hand in a
/// handler), refused with the parameter named.
pub struct AppPath<T>(pub T);

impl<T: PathParam, S: Send + Sync> FromRequestParts<S> for AppPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|r| ExtractError::Path(r.body_text()))?;
        let mut it = params.iter();
        let (Some((name, value)), None) = (it.next(), it.next()) else {
            // A route with no parameter, or several, is a mistake in the router.
            return Err(
                ExtractError::Path("AppPath needs exactly one path parameter".into()).into(),
            );
        };
        Ok(AppPath(T::from_segment(value, name)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Login {
        #[allow(dead_code)]
        account: String,
    }

    async fn json(body: &'static str) -> Result<AppJson<Login>, ApiError> {
        let req = Request::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        AppJson::<Login>::from_request(req, &()).await
    }

    #[tokio::test]
    async fn a_json_body_is_refused_naming_the_field_or_saying_it_is_not_json() {
        let e = json(r#"{"account": 1}"#).await.err().unwrap();
        assert_eq!((e.status.as_u16(), e.code), (422, "invalid_body"));
        assert_eq!(e.fields[0].field, "account");
        let e = json(r#"{"account": "#).await.err().unwrap();
        assert_eq!((e.status.as_u16(), e.code), (400, "bad_json"));
        assert!(json(r#"{"account": "x"}"#).await.is_ok());
    }
}
