//! This installation of the app on one phone: its device id, the salt its keys are derived
//! with, and one encrypted store per account (a shared phone keeps each user's data apart).
//! Logging in needs the network once; after that the password unlocks the phone's data
//! offline, and the app says plainly when the server session has expired.

use super::field::FieldApp;
use super::local::{LocalError, LocalStore, derive_key};
use super::sync::{ServerSession, SyncEngine, SyncError};
use baoxue_shared::ids::DeviceId;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why logging in or unlocking failed.
#[derive(Debug, Error)]
pub enum LoginError {
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Local(#[from] LocalError),
    #[error("this account has not logged in on this phone yet; connect to the network to log in")]
    NeverLoggedIn,
    #[error("the app's folder cannot be used: {0}")]
    Io(#[from] std::io::Error),
}

impl LoginError {
    /// The reason in Chinese, for the login screen.
    pub fn zh(&self) -> String {
        match self {
            LoginError::Sync(e) => e.zh(),
            LoginError::Local(LocalError::WrongKey) => "密码错误".into(),
            LoginError::Local(_) => "手机本地数据出错".into(),
            LoginError::NeverLoggedIn => "该账号尚未在本机登录过，请连接网络后登录".into(),
            LoginError::Io(_) => "无法使用应用的存储空间".into(),
        }
    }
}

/// The app's folder on the phone.
#[derive(Debug, Clone)]
pub struct Installation {
    dir: PathBuf,
    device: DeviceId,
    salt: [u8; 16],
}

impl Installation {
    /// Open (or set up) the installation in `dir`.
    pub fn open(dir: &Path) -> Result<Installation, LoginError> {
        std::fs::create_dir_all(dir)?;
        let id_path = dir.join("device-id");
        let device = match std::fs::read_to_string(&id_path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            Some(d) => d,
            None => {
                let d = DeviceId::new();
                std::fs::write(&id_path, d.to_string())?;
                d
            }
        };
        let salt_path = dir.join("key-salt");
        let salt = match std::fs::read(&salt_path)
            .ok()
            .and_then(|b| <[u8; 16]>::try_from(b.as_slice()).ok())
        {
            Some(s) => s,
            None => {
                let s = *DeviceId::new().as_uuid().as_bytes();
                std::fs::write(&salt_path, s)?;
                s
            }
        };
        Ok(Installation {
            dir: dir.to_path_buf(),
            device,
            salt,
        })
    }

    /// This phone's device id.
    pub fn device(&self) -> DeviceId {
        self.device
    }

    fn store_path(&self, account: &str) -> PathBuf {
        let safe: String = account
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { '_' })
            .collect();
        self.dir.join(format!("baoxue-{safe}.db"))
    }

    /// Log in over the network, then open (or create) this account's store and remember the
    /// session in it.
    pub async fn log_in(
        &self,
        server: &str,
        account: &str,
        password: &str,
    ) -> Result<FieldApp, LoginError> {
        let engine = SyncEngine::login(server, account, password, self.device).await?;
        let store = LocalStore::open(&self.store_path(account), &derive_key(password, &self.salt))?;
        store.set(
            "session",
            &serde_json::to_string(&engine.session).expect("sessions serialize"),
        )?;
        Ok(FieldApp::new(store, engine)?)
    }

    /// Unlock this account's data with its password, without the network.
    pub fn unlock(&self, account: &str, password: &str) -> Result<FieldApp, LoginError> {
        let path = self.store_path(account);
        if !path.exists() {
            return Err(LoginError::NeverLoggedIn);
        }
        let store = LocalStore::open(&path, &derive_key(password, &self.salt))?;
        let session: ServerSession = store
            .get("session")?
            .and_then(|s| serde_json::from_str(&s).ok())
            .ok_or(LoginError::NeverLoggedIn)?;
        Ok(FieldApp::new(store, SyncEngine::resume(session))?)
    }
}
