//! The sync engine: push the outbox, pull what is new, then upload photos — text first,
//! photos after, because a day's records are a few kilobytes and one photo weighs as much as
//! hundreds of them. Every step is resumable: an interrupted push is repeated (the server
//! acknowledges by op id, so nothing is stored twice), the pull cursor is saved page by page,
//! and photos already on the server are skipped.

use super::local::{LocalError, LocalStore};
use baoxue_shared::api::{
    ErrorBody, LoginRequest, LoginResponse, MissingPhotosRequest, MissingPhotosResponse, PullPage,
    PushReceipt,
};
use baoxue_shared::hlc::Clock;
use baoxue_shared::ids::{DeviceId, OpId};
use baoxue_shared::op::Op;
use baoxue_shared::people::User;
use baoxue_shared::wire::Batch;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How long one request may take before the phone calls the server unreachable. Set on each
/// request: the browser's client has no client-wide timeout.
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// The most ops pushed in one batch.
pub const PUSH_BATCH: usize = 500;

/// Why a sync stopped. The outbox keeps everything not acknowledged.
#[derive(Debug, Error)]
pub enum SyncError {
    #[error("the server cannot be reached: {0}")]
    Offline(String),
    #[error("the login has expired; log in again while online")]
    SessionExpired,
    #[error("the server refused ({status} {code}): {message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
        zh: String,
    },
    /// The server refused one op of a pushed batch (out of the user's scope now, say); the
    /// sync sets it aside and goes on with the rest.
    #[error("the server refused operation {op} ({status} {code})")]
    OpRefused {
        op: OpId,
        status: u16,
        code: String,
        zh: String,
    },
    #[error("unexpected answer from the server: {0}")]
    Protocol(String),
    #[error(transparent)]
    Local(#[from] LocalError),
}

impl SyncError {
    /// The reason in Chinese, for the sync screen.
    pub fn zh(&self) -> String {
        match self {
            SyncError::Offline(_) => {
                "无法连接服务器，记录已保存在手机上，有网络时会自动同步".into()
            }
            SyncError::SessionExpired => "登录已过期，请在有网络时重新登录".into(),
            SyncError::Refused { zh, .. } => zh.clone(),
            SyncError::OpRefused { code, zh, .. } => set_aside_zh(code, zh),
            SyncError::Protocol(_) => "服务器返回了无法识别的数据".into(),
            SyncError::Local(_) => "手机本地数据出错".into(),
        }
    }
}

/// Why the server refused one record, and what the teacher can do, in Chinese.
pub fn set_aside_zh(code: &str, server_zh: &str) -> String {
    let why = match code {
        "out_of_scope" => "这名学生（或家庭）已不在您的负责范围内，可能结对已调整",
        "may_not_correct" => "这条记录是别人录入的，只有录入人或督导可以更正",
        "may_not_void" => "只有督导和学校管理员可以作废或审核记录",
        "may_not_write_resident_id" => "身份证号只能由学校管理员或县级录入",
        "unknown_guardian" | "unknown_record" | "no_subject" => {
            "服务器上没有这条记录所指的学生、家庭或记录"
        }
        "record_id_taken" | "conflicting_duplicate" => "服务器上已有编号相同而内容不同的记录",
        "invalid_operation" => "记录内容不符合要求",
        _ => server_zh.trim_end_matches("，整批未保存"),
    };
    format!(
        "服务器未接收这条记录：{why}。记录仍保存在手机上，其他记录已照常同步。请联系学校管理员调整后点“重新提交”，或导出交给管理员。"
    )
}

/// A logged-in session with the server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerSession {
    pub base_url: String,
    pub token: String,
    pub user: User,
    pub device: DeviceId,
    pub expires_at: DateTime<Utc>,
}

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub pushed: usize,
    pub pulled: usize,
    pub photos: usize,
    /// Photo bytes sent in this sync (a resumed photo counts only the rest).
    pub photo_bytes: u64,
    /// Records the server refused in this sync, set aside on the phone.
    pub set_aside: usize,
}

/// Talks to one server for one session. Knows nothing of Dioxus.
#[derive(Debug, Clone)]
pub struct SyncEngine {
    http: reqwest::Client,
    pub session: ServerSession,
}

fn offline(e: reqwest::Error) -> SyncError {
    SyncError::Offline(e.to_string())
}

async fn refusal(r: reqwest::Response) -> SyncError {
    let status = r.status().as_u16();
    if status == 401 {
        return SyncError::SessionExpired;
    }
    match r.json::<ErrorBody>().await {
        Ok(ErrorBody { error }) => match error.refused_op {
            Some(op) => SyncError::OpRefused {
                op,
                status,
                code: error.code,
                zh: error.zh,
            },
            None => SyncError::Refused {
                status,
                code: error.code,
                message: error.message,
                zh: error.zh,
            },
        },
        // Not the server's body (a proxy's page, a cut connection): say what little is known.
        Err(e) => SyncError::Protocol(format!("{status}: {e}")),
    }
}

/// Send a request and hand back the response when it succeeded; otherwise the refusal as the
/// server stated it, or "offline" when the server could not be reached.
async fn send(req: reqwest::RequestBuilder) -> Result<reqwest::Response, SyncError> {
    let r = req.timeout(TIMEOUT).send().await.map_err(offline)?;
    if !r.status().is_success() {
        return Err(refusal(r).await);
    }
    Ok(r)
}

/// [`send`], then decode the answer as the protocol declares it.
async fn call<T: serde::de::DeserializeOwned>(
    req: reqwest::RequestBuilder,
) -> Result<T, SyncError> {
    send(req)
        .await?
        .json()
        .await
        .map_err(|e| SyncError::Protocol(e.to_string()))
}

impl SyncEngine {
    /// Log in from this device.
    pub async fn login(
        base_url: &str,
        account: &str,
        password: &str,
        device: DeviceId,
    ) -> Result<SyncEngine, SyncError> {
        let http = super::http::client();
        let base_url = base_url.trim_end_matches('/').to_string();
        let login = http
            .post(format!("{base_url}/api/login"))
            .json(&LoginRequest {
                account: account.to_string(),
                password: password.to_string(),
                device,
            });
        let l: LoginResponse = match call(login).await {
            Ok(l) => l,
            // At login a 401 means wrong credentials, not an expired session.
            Err(SyncError::SessionExpired) => {
                return Err(SyncError::Refused {
                    status: 401,
                    code: "wrong_credentials".into(),
                    message: "wrong account or password".into(),
                    zh: "账号或密码错误".into(),
                });
            }
            Err(e) => return Err(e),
        };
        Ok(SyncEngine {
            http,
            session: ServerSession {
                base_url,
                token: l.token,
                user: l.user,
                device,
                expires_at: l.expires_at,
            },
        })
    }

    /// Resume a saved session (no network needed until the next sync).
    pub fn resume(session: ServerSession) -> SyncEngine {
        let http = super::http::client();
        SyncEngine { http, session }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.session.base_url)
    }

    /// Push one batch; returns the ops the server durably stored.
    pub async fn push(&self, ops: Vec<Op>) -> Result<Vec<OpId>, SyncError> {
        let batch = Batch::new(self.session.device, ops);
        // zstd shrinks a day's records about six-fold (measured: 24 KB → 4 KB), which is what
        // matters on a weak signal; the server decodes by Content-Encoding.
        let body = zstd::encode_all(&batch.encode()[..], 3)
            .map_err(|e| SyncError::Protocol(e.to_string()))?;
        let receipt: PushReceipt = call(
            self.http
                .post(self.url("/api/sync/push"))
                .bearer_auth(&self.session.token)
                .header("content-type", "application/json")
                .header("content-encoding", "zstd")
                .body(body),
        )
        .await?;
        Ok(receipt.stored)
    }

    /// Pull one page after `cursor`.
    pub async fn pull(&self, cursor: &str) -> Result<PullPage, SyncError> {
        call(
            self.http
                // Cursors are digits and dots: safe in a URL as they are.
                .get(self.url(&format!("/api/sync/pull?cursor={cursor}")))
                .bearer_auth(&self.session.token),
        )
        .await
    }

    /// Which of these photo hashes the server still needs, and which of those no record the
    /// server holds for this user cites yet (their record was set aside, say): those wait.
    pub async fn missing_photos(
        &self,
        hashes: &[String],
    ) -> Result<(Vec<String>, Vec<String>), SyncError> {
        let sha256 = hashes
            .iter()
            .map(|h| baoxue_shared::observation::Sha256::parse(h))
            .collect::<Result<_, _>>()
            .map_err(|e| SyncError::Protocol(e.en()))?;
        let answer: MissingPhotosResponse = call(
            self.http
                .post(self.url("/api/photos/missing"))
                .bearer_auth(&self.session.token)
                .json(&MissingPhotosRequest { sha256 }),
        )
        .await?;
        let hex = |v: &[baoxue_shared::observation::Sha256]| v.iter().map(|h| h.to_hex()).collect();
        Ok((hex(&answer.missing), hex(&answer.out_of_scope)))
    }

    /// How much of a photo's upload the server holds: `None` when it has the whole photo,
    /// otherwise the offset to go on from (0 when it has nothing).
    pub async fn upload_offset(&self, sha256: &str) -> Result<Option<u64>, SyncError> {
        let r = self
            .http
            .head(self.url(&format!("/api/photos/{sha256}")))
            .bearer_auth(&self.session.token)
            .timeout(TIMEOUT)
            .send()
            .await
            .map_err(offline)?;
        match r.status().as_u16() {
            200 => Ok(None),
            404 => Ok(Some(upload_offset_header(&r).unwrap_or(0))),
            401 => Err(SyncError::SessionExpired),
            // A HEAD answer has no body to say why.
            status => Err(SyncError::Refused {
                status,
                code: "photo_status".into(),
                message: format!("the photo's upload status was refused ({status})"),
                zh: "服务器拒绝查询照片上传进度".into(),
            }),
        }
    }

    /// Upload one photo in pieces of [`PHOTO_CHUNK`] bytes from where the server has it, so a
    /// connection dropped at 90% (or an app killed mid-photo) costs at most one piece: the next
    /// sync asks how far the server got and sends only the rest. Returns the bytes sent now.
    pub async fn upload_photo(&self, sha256: &str, bytes: &[u8]) -> Result<u64, SyncError> {
        let total = bytes.len() as u64;
        let Some(mut offset) = self.upload_offset(sha256).await? else {
            return Ok(0);
        };
        let mut sent = 0;
        loop {
            if offset > total {
                return Err(SyncError::Protocol(format!(
                    "the server holds {offset} bytes of a {total}-byte photo"
                )));
            }
            let end = (offset + PHOTO_CHUNK).min(total);
            let piece = bytes[offset as usize..end as usize].to_vec();
            let r = self
                .http
                .patch(self.url(&format!("/api/photos/{sha256}")))
                .bearer_auth(&self.session.token)
                .header("upload-offset", offset)
                .header("upload-length", total)
                .body(piece)
                .timeout(TIMEOUT)
                .send()
                .await
                .map_err(offline)?;
            match r.status().as_u16() {
                200 => return Ok(sent + (end - offset)),
                202 => {
                    sent += end - offset;
                    offset = upload_offset_header(&r).unwrap_or(end);
                }
                // The server holds a different amount (a piece that arrived after all): ask.
                409 => match self.upload_offset(sha256).await? {
                    None => return Ok(sent),
                    Some(o) => offset = o,
                },
                _ => return Err(refusal(r).await),
            }
        }
    }
}

/// Photos go up in pieces this large: a few seconds each on a weak 3G signal.
pub const PHOTO_CHUNK: u64 = 64 * 1024;

fn upload_offset_header(r: &reqwest::Response) -> Option<u64> {
    r.headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Which part of a sync is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Push,
    Pull,
    Photos,
}

/// How far a sync has come, for the progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub phase: Phase,
    /// Records pushed or pulled, or photos uploaded, so far in this phase.
    pub done: usize,
    /// Records to push or photos to upload, when known.
    pub total: Option<usize>,
    /// Photo bytes uploaded so far.
    pub bytes: u64,
}

/// Where a sync reads and writes the phone's data. Each call is short, so a screen can keep
/// reading the store between the network steps of a running sync.
pub trait SyncHost {
    /// Run `f` on the store and the device clock.
    fn with_store<R>(&self, f: impl FnOnce(&mut LocalStore, &mut Clock) -> R) -> R;
}

/// Push the outbox, pull what is new, then upload photos: text first, photos after.
pub async fn run(
    host: &impl SyncHost,
    engine: &SyncEngine,
    mut progress: impl FnMut(Progress),
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    let total = host.with_store(|s, _| s.pushable_len())?;
    loop {
        let ops = host.with_store(|s, _| s.outbox(PUSH_BATCH))?;
        if ops.is_empty() {
            break;
        }
        let ids: Vec<OpId> = ops.iter().map(|o| o.id).collect();
        let stored = match engine.push(ops).await {
            Ok(stored) => stored,
            // One record refused (its student reassigned meanwhile, say): set it aside with the
            // reason and push the rest; the sync goes on to pull.
            Err(SyncError::OpRefused {
                op,
                status: 403 | 409 | 422,
                code,
                zh,
            }) if ids.contains(&op) => {
                let reason = set_aside_zh(&code, &zh);
                host.with_store(|s, _| s.set_aside(op, &code, &reason, Utc::now()))?;
                report.set_aside += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        host.with_store(|s, _| s.acknowledge(&stored))?;
        report.pushed += stored.len();
        progress(Progress {
            phase: Phase::Push,
            done: report.pushed,
            total: Some(total),
            bytes: 0,
        });
    }
    loop {
        let cursor = host.with_store(|s, _| s.get("cursor"))?.unwrap_or_default();
        let page = engine.pull(&cursor).await?;
        let more = page.more;
        report.pulled += host.with_store(|s, clock| -> Result<usize, LocalError> {
            let now = Utc::now();
            for op in &page.ops {
                clock.observe(op.hlc, now);
            }
            let n = s.save_pulled(page.ops)?;
            s.set("cursor", &page.cursor)?;
            s.save_clock(clock)?;
            Ok(n)
        })?;
        progress(Progress {
            phase: Phase::Pull,
            done: report.pulled,
            total: None,
            bytes: 0,
        });
        if !more {
            break;
        }
    }
    let pending = host.with_store(|s, _| s.pending_photos())?;
    if !pending.is_empty() {
        let (missing, not_yet) = engine
            .missing_photos(&pending.iter().map(|(h, _)| h.clone()).collect::<Vec<_>>())
            .await?;
        let total = missing.len() - not_yet.len();
        for (sha, bytes) in pending {
            // Cited only by a record the server has not accepted: it stays on the phone and goes
            // up once that record does.
            if not_yet.contains(&sha) {
                continue;
            }
            if missing.contains(&sha) {
                report.photo_bytes += engine.upload_photo(&sha, &bytes).await?;
                report.photos += 1;
                progress(Progress {
                    phase: Phase::Photos,
                    done: report.photos,
                    total: Some(total),
                    bytes: report.photo_bytes,
                });
            }
            host.with_store(|s, _| s.photo_uploaded(&sha))?;
        }
    }
    host.with_store(|s, _| s.set("last_sync", &Utc::now().to_rfc3339()))?;
    Ok(report)
}
