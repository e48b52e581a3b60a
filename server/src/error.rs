//! The one place errors become HTTP responses: each kind maps once to a status and a JSON body
//! with a stable machine code, an English message and a Chinese one. 5xx bodies carry a generic
//! message; the detail goes to the log.

use crate::auth::AuthError;
use crate::photos::PhotoError;
use crate::scope::ScopeError;
use crate::store::StoreError;
use crate::sync::SyncError;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use baoxue_shared::api::{ErrorBody, ErrorDetail};
use baoxue_shared::validation::FieldErrorBody;
use baoxue_shared::wire::DecodeError;

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub zh: &'static str,
    pub fields: Vec<FieldErrorBody>,
    pub retry_after: Option<i64>,
    /// The op of a pushed batch the refusal is about.
    pub refused_op: Option<baoxue_shared::ids::OpId>,
}

impl ApiError {
    /// An error with no field detail.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        zh: &'static str,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            zh,
            fields: vec![],
            retry_after: None,
            refused_op: None,
        }
    }

    /// 404 for a thing that is not there (or not the caller's to see: the two are not told apart).
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
            "未找到",
        )
    }

    /// Refused to anyone but the county: the access log says whose files were looked at.
    pub fn access_log_refused() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "may_not_read_access_log",
            "only county supervisors read the access log",
            "访问记录仅供县级督导查阅",
        )
    }

    pub(crate) fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal server error",
            "服务器内部错误",
        )
    }
}

/// The detail of an error, left on its response so that the console can draw it as a page
/// without mapping it a second time.
#[derive(Debug, Clone)]
pub struct ShownError(pub ErrorDetail);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                zh: self.zh.to_string(),
                fields: self.fields,
                refused_op: self.refused_op,
            },
        };
        let shown = ShownError(body.error.clone());
        let mut resp = (self.status, Json(body)).into_response();
        resp.extensions_mut().insert(shown);
        if let Some(s) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::ConflictingDuplicate(_) => Self::new(
                StatusCode::CONFLICT,
                "conflicting_duplicate",
                e.to_string(),
                "同一编号的记录内容不一致",
            ),
            StoreError::RecordIdTaken(_) => Self::new(
                StatusCode::CONFLICT,
                "record_id_taken",
                e.to_string(),
                "该记录编号已被另一条记录使用，记录不可覆盖；更正请新建一条更正记录",
            ),
            StoreError::BatchIdTaken(_) => Self::new(
                StatusCode::CONFLICT,
                "batch_id_taken",
                e.to_string(),
                "批次编号已被其他设备使用，请重新生成后上传",
            ),
            StoreError::ShuttingDown => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "shutting_down",
                e.to_string(),
                "服务器正在重启，请稍后重试",
            ),
            other => Self::internal(other),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::WrongCredentials => Self::new(
                StatusCode::UNAUTHORIZED,
                "wrong_credentials",
                e.to_string(),
                "账号或密码错误",
            ),
            AuthError::TooManyAttempts { retry_after_secs } => Self {
                retry_after: Some(retry_after_secs),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_attempts",
                    e.to_string(),
                    "登录失败次数过多，请稍后再试",
                )
            },
            AuthError::MissingToken => Self::new(
                StatusCode::UNAUTHORIZED,
                "missing_token",
                e.to_string(),
                "请先登录",
            ),
            AuthError::InvalidToken => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                e.to_string(),
                "登录已失效，请重新登录",
            ),
            AuthError::WeakPassword => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "weak_password",
                e.to_string(),
                "密码太短",
            ),
            AuthError::Hashing(_) => Self::internal(e),
            AuthError::Store(s) => s.into(),
        }
    }
}

impl From<ScopeError> for ApiError {
    fn from(e: ScopeError) -> Self {
        let (status, code, zh) = match e {
            ScopeError::Store(s) => return s.into(),
            ScopeError::StudentNotInCaseload { .. } | ScopeError::HouseholdNotInCaseload { .. } => {
                (
                    StatusCode::FORBIDDEN,
                    "out_of_scope",
                    "超出您的负责范围，整批未保存",
                )
            }
            ScopeError::MayNotVoid { .. } => (
                StatusCode::FORBIDDEN,
                "may_not_void",
                "只有督导和学校管理员可以作废或审核记录，整批未保存",
            ),
            ScopeError::MayNotCorrect { .. } => (
                StatusCode::FORBIDDEN,
                "may_not_correct",
                "只有记录人本人或督导可以更正这条记录，整批未保存",
            ),
            ScopeError::MayNotWriteResidentId { .. } => (
                StatusCode::FORBIDDEN,
                "may_not_write_resident_id",
                "身份证号只能由学校管理员或县级录入，整批未保存",
            ),
            ScopeError::UnknownGuardian { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_guardian",
                "服务器上没有这位监护人，请先同步监护人所属学生，整批未保存",
            ),
            ScopeError::UnknownRecord { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_record",
                "服务器上没有所指的记录，整批未保存",
            ),
            ScopeError::NoSubject { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "no_subject",
                "记录没有对应的学生或家庭，整批未保存",
            ),
        };
        Self::new(status, code, e.to_string(), zh)
    }
}

impl From<DecodeError> for ApiError {
    fn from(e: DecodeError) -> Self {
        let status = match e {
            DecodeError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            DecodeError::InvalidOp { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            DecodeError::FutureVersion { .. } | DecodeError::AncientVersion { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            _ => StatusCode::BAD_REQUEST,
        };
        let zh = match e {
            DecodeError::FutureVersion { .. } => "手机应用版本比服务器新，请升级服务器后再同步",
            DecodeError::InvalidOp { .. } => "记录内容有误，整批未保存",
            _ => "同步数据格式错误，整批未保存",
        };
        Self {
            fields: e.field_errors(),
            ..Self::new(status, e.code(), e.to_string(), zh)
        }
    }
}

impl From<SyncError> for ApiError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Decode(d) => d.into(),
            SyncError::Scope(s) => s.into(),
            SyncError::WrongDevice { .. } => Self::new(
                StatusCode::FORBIDDEN,
                "wrong_device",
                e.to_string(),
                "该设备的登录凭证与数据不符",
            ),
            SyncError::ForeignAuthor { .. } => Self::new(
                StatusCode::FORBIDDEN,
                "foreign_author",
                e.to_string(),
                "只能上传本人的记录",
            ),
            SyncError::Invalid { index, ref errors } => Self {
                fields: errors
                    .0
                    .iter()
                    .map(|f| FieldErrorBody::from(&f.clone().under(&format!("ops[{index}]"))))
                    .collect(),
                ..Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_operation",
                    e.to_string(),
                    "记录内容有误，整批未保存",
                )
            },
            SyncError::Conflict(_) => Self::new(
                StatusCode::CONFLICT,
                "conflicting_duplicate",
                e.to_string(),
                "同一编号的记录内容不一致",
            ),
            SyncError::RecordTaken(_) => Self::new(
                StatusCode::CONFLICT,
                "record_id_taken",
                e.to_string(),
                "该记录编号已被另一条记录使用，记录不可覆盖；更正请新建一条更正记录",
            ),
            SyncError::BadCursor => Self::new(
                StatusCode::BAD_REQUEST,
                "bad_cursor",
                e.to_string(),
                "同步位置无效，请重新同步",
            ),
            SyncError::Store(s) => s.into(),
            SyncError::OpRefused { op, cause } => Self {
                refused_op: Some(op),
                ..(*cause).into()
            },
        }
    }
}

impl From<PhotoError> for ApiError {
    fn from(e: PhotoError) -> Self {
        let (status, zh) = match &e {
            PhotoError::HashMismatch { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "照片校验值不符，请重新上传",
            ),
            PhotoError::NotAnImage { .. } | PhotoError::UnsupportedFormat { .. } => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "不是有效的照片（仅支持JPEG、PNG、WebP）",
            ),
            PhotoError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "照片太大"),
            PhotoError::Incomplete { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "照片文件不完整（可能上传中断或文件已损坏），请重新上传",
            ),
            PhotoError::WrongOffset { .. } => (
                StatusCode::CONFLICT,
                "续传位置不符，请从服务器告知的位置继续",
            ),
            PhotoError::Io(_) => return Self::internal(e),
        };
        Self::new(status, e.code(), e.to_string(), zh)
    }
}

impl From<rust_xlsxwriter::XlsxError> for ApiError {
    fn from(e: rust_xlsxwriter::XlsxError) -> Self {
        tracing::error!(error = %e, "writing an Excel file failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "export_failed",
            "writing the Excel file failed",
            "生成Excel文件失败，请稍后重试或联系管理员",
        )
    }
}

impl From<crate::report::ledgers::LedgerError> for ApiError {
    fn from(e: crate::report::ledgers::LedgerError) -> Self {
        use crate::report::ledgers::LedgerError;
        match e {
            LedgerError::Store(e) => e.into(),
            LedgerError::Xlsx(e) => e.into(),
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::internal(e)
    }
}

impl From<crate::review::ReviewError> for ApiError {
    fn from(e: crate::review::ReviewError) -> Self {
        use crate::review::ReviewError;
        match e {
            ReviewError::Invalid(ref errors) => Self {
                fields: errors.0.iter().map(FieldErrorBody::from).collect(),
                ..Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_review",
                    e.to_string(),
                    "审核意见有误，未保存",
                )
            },
            ReviewError::Sync(s) => s.into(),
            ReviewError::Store(s) => s.into(),
        }
    }
}

impl From<crate::extract::ExtractError> for ApiError {
    fn from(e: crate::extract::ExtractError) -> Self {
        use crate::extract::ExtractError as E;
        let named =
            |status, code: &'static str, field: &str, reason: &str, zh: &'static str| Self {
                fields: vec![FieldErrorBody {
                    field: field.to_string(),
                    code: code.into(),
                    zh: zh.into(),
                    en: reason.to_string(),
                }],
                ..Self::new(status, code, e.to_string(), zh)
            };
        match &e {
            E::Query { field, reason } => named(
                StatusCode::BAD_REQUEST,
                "bad_query",
                field,
                reason,
                "查询参数的值无效",
            ),
            E::Form { field, reason } => named(
                StatusCode::UNPROCESSABLE_ENTITY,
                "bad_form",
                field,
                reason,
                "表单内容有误",
            ),
            E::JsonField { field, reason } => named(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                field,
                reason,
                "请求内容的字段有误",
            ),
            E::PathNotFound {
                what,
                field,
                reason,
            } => Self {
                fields: vec![FieldErrorBody {
                    field: field.clone(),
                    code: "not_found".into(),
                    zh: "编号格式错误".into(),
                    en: reason.clone(),
                }],
                ..Self::not_found(what)
            },
            E::PathHash { field, reason } => named(
                StatusCode::BAD_REQUEST,
                "hash_format",
                field,
                reason,
                "照片校验值格式错误",
            ),
            E::NotJson(_) => Self::new(
                StatusCode::BAD_REQUEST,
                "bad_json",
                e.to_string(),
                "请求内容不是有效的JSON",
            ),
            E::ContentType(_) => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                e.to_string(),
                "请求的格式或压缩方式不被支持",
            ),
            E::Body {
                too_large: true, ..
            } => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                e.to_string(),
                "上传的内容太大",
            ),
            E::Body { .. } => Self::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                e.to_string(),
                "请求格式错误",
            ),
            E::Path(_) => Self::internal(&e),
        }
    }
}

impl From<crate::report::filing::ReportError> for ApiError {
    fn from(e: crate::report::filing::ReportError) -> Self {
        use crate::report::filing::ReportError;
        match e {
            ReportError::NotYours(_) => Self::new(
                StatusCode::FORBIDDEN,
                "report_out_of_scope",
                e.to_string(),
                "只能查看本单位及下属单位的月报，只能报送本单位的月报",
            ),
            ReportError::Encode(_) => Self::internal(e),
            ReportError::Store(s) => s.into(),
        }
    }
}

impl From<crate::report::file_pdf::PdfError> for ApiError {
    fn from(e: crate::report::file_pdf::PdfError) -> Self {
        use crate::report::file_pdf::PdfError;
        match e {
            // An operator can fix this one: say what to install rather than "internal error".
            PdfError::NoFont => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "pdf_font_missing",
                e.to_string(),
                "服务器未安装中文字体（fonts-noto-cjk），暂时无法生成PDF",
            ),
            PdfError::Write(_) => Self::internal(e),
        }
    }
}

/// The house body for the responses the framework makes itself — an unknown route, a wrong
/// method, a body over its limit, an undecodable or unknown `Content-Encoding` — which arrive
/// as plain text or with no body at all. (Extractors refuse in the house body themselves:
/// `crate::extract`.) Handlers' own errors (JSON) and the console's pages (HTML) pass untouched.
pub async fn house_body(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let head = req.method() == axum::http::Method::HEAD;
    let resp = next.run(req).await;
    let status = resp.status();
    let typed = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json") || t.starts_with("text/html"));
    if head || typed || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let (code, en, zh) = framework_error(status);
    let e = ApiError::new(
        status,
        code,
        if text.is_empty() {
            en.to_string()
        } else {
            text
        },
        zh,
    );
    let mut out = e.into_response();
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(v) = parts.headers.get(&name) {
            out.headers_mut().insert(name, v.clone());
        }
    }
    out
}

fn framework_error(status: StatusCode) -> (&'static str, &'static str, &'static str) {
    match status {
        StatusCode::NOT_FOUND => ("not_found", "no such route", "未找到"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this route does not take that method; see Allow",
            "请求方式不被支持",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "too_large",
            "the request body is too large",
            "上传的内容太大",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "unsupported Content-Type or Content-Encoding",
            "请求的格式或压缩方式不被支持",
        ),
        StatusCode::UNPROCESSABLE_ENTITY => (
            "invalid_body",
            "the request body does not have the expected fields",
            "请求内容的字段有误",
        ),
        s if s.is_server_error() => ("internal", "internal server error", "服务器内部错误"),
        _ => ("bad_request", "malformed request", "请求格式错误"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_excel_failure_is_reported_as_one_not_as_corrupt_data() {
        let e = ApiError::from(rust_xlsxwriter::XlsxError::MaxStringLengthExceeded);
        assert_eq!(
            (e.status, e.code),
            (StatusCode::INTERNAL_SERVER_ERROR, "export_failed")
        );
        assert!(e.zh.contains("Excel"));
    }
}
