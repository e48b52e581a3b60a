//! Extractors whose rejections speak the house error body and name the field at fault.

use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use baoxue_shared::validation::FieldErrorBody;
use serde::de::DeserializeOwned;

/// A query string, decoded like `axum::extract::Query` but refused with the parameter named
/// (`students?status=bogus` says `status`, not only "unknown variant").
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(raw));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| {
                let field = e.path().to_string();
                let reason = e.into_inner().to_string();
                ApiError {
                    fields: vec![FieldErrorBody {
                        field: field.clone(),
                        code: "bad_query".into(),
                        zh: "查询参数的值无效".into(),
                        en: reason.clone(),
                    }],
                    ..ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "bad_query",
                        format!("query parameter {field}: {reason}"),
                        "查询参数有误",
                    )
                }
            })
    }
}

fn form_urlencoded_parse(raw: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(raw.as_bytes())
}
