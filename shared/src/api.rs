//! The sync API's requests and responses, declared once: the server's handlers return these,
//! the phone and the test client decode them. The batch itself is in `wire`. Frozen like the
//! wire format (`tests/golden.rs` pins each): add optional fields; never rename or remove.

use crate::ids::{BatchId, DeviceId, OpId};
use crate::observation::Sha256;
use crate::op::Op;
use crate::people::User;
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
}
