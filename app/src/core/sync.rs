//! The sync engine: push the outbox, pull what is new, then upload photos — text first,
//! photos after, because a day's records are a few kilobytes and one photo weighs as much as
//! hundreds of them. Every step is resumable: an interrupted push is repeated (the server
//! acknowledges by op id, so nothing is stored twice), the pull cursor is saved page by page,
//! and photos already on the server are skipped.

use super::local::{LocalError, LocalStore};
use baoxue_shared::hlc::Clock;
use baoxue_shared::ids::{DeviceId, OpId};
use baoxue_shared::op::Op;
use baoxue_shared::people::User;
use baoxue_shared::wire::Batch;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

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
            SyncError::Protocol(_) => "服务器返回了无法识别的数据".into(),
            SyncError::Local(_) => "手机本地数据出错".into(),
        }
    }
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
    pub photo_bytes: u64,
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
    let body: serde_json::Value = r.json().await.unwrap_or_default();
    let text = |k: &str| body["error"][k].as_str().unwrap_or_default().to_string();
    SyncError::Refused {
        status,
        code: text("code"),
        message: text("message"),
        zh: text("zh"),
    }
}

impl SyncEngine {
    /// Log in from this device.
    pub async fn login(
        base_url: &str,
        account: &str,
        password: &str,
        device: DeviceId,
    ) -> Result<SyncEngine, SyncError> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| SyncError::Protocol(e.to_string()))?;
        let base_url = base_url.trim_end_matches('/').to_string();
        let r = http
            .post(format!("{base_url}/api/login"))
            .json(
                &serde_json::json!({ "account": account, "password": password, "device": device }),
            )
            .send()
            .await
            .map_err(offline)?;
        if !r.status().is_success() {
            return Err(match refusal(r).await {
                // At login a 401 means wrong credentials, not an expired session.
                SyncError::SessionExpired => SyncError::Refused {
                    status: 401,
                    code: "wrong_credentials".into(),
                    message: "wrong account or password".into(),
                    zh: "账号或密码错误".into(),
                },
                e => e,
            });
        }
        #[derive(Deserialize)]
        struct LoginResponse {
            token: String,
            expires_at: DateTime<Utc>,
            user: User,
        }
        let l: LoginResponse = r
            .json()
            .await
            .map_err(|e| SyncError::Protocol(e.to_string()))?;
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
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap_or_default();
        SyncEngine { http, session }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.session.base_url)
    }

    /// Push the outbox, pull what is new, upload photos. `clock` learns the stamps pulled so
    /// this phone's next edits order after them.
    pub async fn sync_once(
        &self,
        store: &mut LocalStore,
        clock: &mut Clock,
    ) -> Result<SyncReport, SyncError> {
        let mut report = SyncReport::default();
        loop {
            let ops = store.outbox(PUSH_BATCH)?;
            if ops.is_empty() {
                break;
            }
            let batch = Batch::new(self.session.device, ops);
            let r = self
                .http
                .post(self.url("/api/sync/push"))
                .bearer_auth(&self.session.token)
                .header("content-type", "application/json")
                .body(batch.encode())
                .send()
                .await
                .map_err(offline)?;
            if !r.status().is_success() {
                return Err(refusal(r).await);
            }
            #[derive(Deserialize)]
            struct Receipt {
                stored: Vec<OpId>,
            }
            let receipt: Receipt = r
                .json()
                .await
                .map_err(|e| SyncError::Protocol(e.to_string()))?;
            store.acknowledge(&receipt.stored)?;
            report.pushed += receipt.stored.len();
        }
        loop {
            let cursor = store.get("cursor")?.unwrap_or_default();
            let r = self
                .http
                // Cursors are digits and dots: safe in a URL as they are.
                .get(self.url(&format!("/api/sync/pull?cursor={cursor}")))
                .bearer_auth(&self.session.token)
                .send()
                .await
                .map_err(offline)?;
            if !r.status().is_success() {
                return Err(refusal(r).await);
            }
            #[derive(Deserialize)]
            struct Page {
                ops: Vec<Op>,
                cursor: String,
                more: bool,
            }
            let page: Page = r
                .json()
                .await
                .map_err(|e| SyncError::Protocol(e.to_string()))?;
            let now = Utc::now();
            for op in &page.ops {
                clock.observe(op.hlc, now);
            }
            report.pulled += store.save_pulled(page.ops)?;
            store.set("cursor", &page.cursor)?;
            store.save_clock(clock)?;
            if !page.more {
                break;
            }
        }
        let pending = store.pending_photos()?;
        if !pending.is_empty() {
            let r = self
                .http
                .post(self.url("/api/photos/missing"))
                .bearer_auth(&self.session.token)
                .json(&serde_json::json!({ "sha256": pending.iter().map(|(h, _)| h).collect::<Vec<_>>() }))
                .send()
                .await
                .map_err(offline)?;
            if !r.status().is_success() {
                return Err(refusal(r).await);
            }
            let missing: serde_json::Value = r
                .json()
                .await
                .map_err(|e| SyncError::Protocol(e.to_string()))?;
            let missing: Vec<String> =
                serde_json::from_value(missing["missing"].clone()).unwrap_or_default();
            for (sha, bytes) in pending {
                if missing.contains(&sha) {
                    let n = bytes.len() as u64;
                    let r = self
                        .http
                        .put(self.url(&format!("/api/photos/{sha}")))
                        .bearer_auth(&self.session.token)
                        .body(bytes)
                        .send()
                        .await
                        .map_err(offline)?;
                    if !r.status().is_success() {
                        return Err(refusal(r).await);
                    }
                    report.photos += 1;
                    report.photo_bytes += n;
                }
                store.photo_uploaded(&sha)?;
            }
        }
        store.set("last_sync", &Utc::now().to_rfc3339())?;
        Ok(report)
    }
}
