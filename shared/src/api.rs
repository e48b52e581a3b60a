//! The API's requests and responses, declared once: the server's handlers return these,
//! the phone and the test client decode them. The batch itself is in `wire`. Frozen like the
//! wire format (`tests/golden.rs` pins each): add optional fields; never rename or remove.

use crate::file::StudentFile;
use crate::ids::{BatchId, DeviceId, HouseholdId, OpId, SchoolId, StudentId, UserId};
use crate::observation::Sha256;
use crate::op::Op;
use crate::people::FocusGroup;
use crate::people::User;
use crate::status::EnrolmentStatus;
use crate::validation::FieldErrorBody;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `POST /api/login`: a login from one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginRequest {
    pub account: String,
    pub password: String,
    /// The installation logging in; its token works only for its own batches.
    pub device: DeviceId,
}

/// A successful login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: User,
}

/// `POST /api/logout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogoutResponse {
    /// Whether a live credential was revoked (false: it was already gone).
    pub revoked: bool,
}

/// `GET /api/me`: the caller and the size of their caseload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub user: User,
    pub device: DeviceId,
    pub expires_at: DateTime<Utc>,
    pub students: usize,
    pub households: usize,
}

/// The answer to `POST /api/sync/push`, kept with the batch so a repeated push gets it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushReceipt {
    pub batch: BatchId,
    /// Every op of the batch, now durably stored (newly, or already before).
    pub stored: Vec<OpId>,
    /// How many of them were new to the server.
    pub new: usize,
    pub received_at: DateTime<Utc>,
}

/// One page of `GET /api/sync/pull`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullPage {
    pub ops: Vec<Op>,
    /// Pass back on the next pull.
    pub cursor: String,
    /// Pull again at once: more is waiting.
    pub more: bool,
}

/// `POST /api/photos/missing`: which of these photos the server still needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingPhotosRequest {
    pub sha256: Vec<Sha256>,
}

/// The photos to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingPhotosResponse {
    /// Those of the caller's scope the server lacks, and every photo cited by no record the
    /// caller may see — of those nothing is told, not even whether the server holds them, so
    /// a phone must not take silence for "already there" and drop its copy.
    pub missing: Vec<Sha256>,
    /// Which of the asked photos no record the caller may see cites (also in `missing`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub out_of_scope: Vec<Sha256>,
}

/// Every refusal's body: `{"error": {code, message, zh, fields}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What was refused and why, in a stable machine code, English and Chinese.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    pub zh: String,
    /// Each bad field, when the refusal is about fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldErrorBody>,
    /// The operation of a pushed batch the refusal is about, when it is one op's: the phone
    /// sets that op aside and pushes the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused_op: Option<OpId>,
}

/// A photo a student's file cites, with where to fetch it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoLink {
    pub sha256: Sha256,
    /// Whether the bytes have arrived on the server.
    pub present: bool,
    pub url: String,
    pub thumb_url: String,
}

/// `GET /api/students/{id}/file`: the student's file (一生一案), built with the shared
/// function, with links to its photos.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileResponse {
    pub file: StudentFile,
    pub photos: Vec<PhotoLink>,
}

/// `GET /api/sync/pull` parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullQuery {
    /// The `cursor` of the previous page; absent for a first pull.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

/// `GET /api/students` filters; all optional, combined with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudentQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<EnrolmentStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school: Option<SchoolId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub village: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focus: Option<FocusGroup>,
    /// Only students with overdue work (a follow-up, a home visit, a subsidy check).
    #[serde(default)]
    pub overdue: bool,
}

/// `GET /api/students`: a student as lists show it (the projection of merged fields kept for
/// filtering).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StudentRow {
    pub id: StudentId,
    pub name: String,
    pub status: Option<crate::status::EnrolmentStatus>,
    pub school: Option<crate::ids::SchoolId>,
    pub household: Option<HouseholdId>,
    pub village: Option<String>,
    pub grade: Option<u8>,
    pub focus_groups: Vec<crate::people::FocusGroup>,
}

/// What is known of a stored photo (`PUT`/`PATCH /api/photos/{sha256}` answers with it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoMeta {
    pub sha256: Sha256,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
    pub mime: String,
    pub captured_at: Option<DateTime<Utc>>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// Perceptual hash (base64), for finding the same picture reused.
    pub phash: String,
    pub uploaded_by: UserId,
    pub uploaded_at: DateTime<Utc>,
}

/// `GET /api/access-log` filters; all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub student: Option<StudentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserId>,
    /// At most this many lines, newest first (default 200, at most 5,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
}

crate::coded_enum! {
    /// What was looked at or taken away.
    pub enum AccessAction {
        /// A student's file, in the app's API or the console.
        FileView = "file_view", "查看档案", "file viewed";
        /// A student's file as a PDF.
        FilePdf = "file_pdf", "下载档案PDF", "file PDF";
        /// An Excel ledger or report (the subject names which, for which unit and month).
        LedgerExport = "ledger_export", "导出台账", "ledger exported";
    }
}

/// One line of the access log: who, when, from which device, what, about whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessEntry {
    pub at: DateTime<Utc>,
    pub user: UserId,
    pub device: DeviceId,
    pub action: AccessAction,
    /// The student's id for a file; `ledger scope month` for an export.
    pub subject: String,
}

/// One line of `GET /api/access-log`, with the reader's account and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessLine {
    #[serde(flatten)]
    pub entry: AccessEntry,
    pub account: String,
    pub name: String,
}
