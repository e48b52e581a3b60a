//! This installation of the app on one phone: its device id, the salt its keys are derived
//! with, and one encrypted store per account (a shared phone keeps each user's data apart).
//! Logging in needs the network once; after that the password unlocks the phone's data
//! offline, and the app says plainly when the server session has expired.

use super::field::FieldApp;
use super::local::{LocalError, LocalStore, derive_key};
use super::sync::{ServerSession, SyncEngine, SyncError};
use baoxue_shared::ids::DeviceId;
#[cfg(not(target_arch = "wasm32"))]
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
    /// The password changed on the server (a reset) since this phone's data was locked with
    /// the old one: the old password, asked once, unlocks it and the new one locks it again.
    #[error("the password was changed; the phone's data is still locked with the old password")]
    PasswordChanged,
    /// The file that names this phone or salts its keys is damaged. A new one would make every
    /// store on the phone unreadable, so nothing is made up.
    #[error("{file} in the app's folder is damaged ({reason}); the phone's data cannot be opened")]
    DamagedInstallation { file: &'static str, reason: String },
}

impl LoginError {
    /// The reason in Chinese, for the login screen.
    pub fn zh(&self) -> String {
        match self {
            LoginError::Sync(e) => e.zh(),
            LoginError::Local(LocalError::WrongKey) => "密码错误".into(),
            LoginError::Local(e) => format!("手机本地数据出错：{e}"),
            LoginError::NeverLoggedIn => "该账号尚未在本机登录过，请连接网络后登录".into(),
            LoginError::Io(_) => "无法使用应用的存储空间".into(),
            LoginError::PasswordChanged => "密码已更改。手机上的数据仍用旧密码保护：请输入旧密码一次，数据（包括未同步的记录）将改用新密码保护。".into(),
            LoginError::DamagedInstallation { file, .. } => format!(
                "应用文件 {file} 已损坏，无法打开手机上的数据。请勿卸载应用，请联系学校管理员处理（未同步的记录仍在手机上）。"
            ),
        }
    }
}

/// This app's installation: on a phone or desktop its folder, in the browser its IndexedDB
/// databases (the device id and key salt in one, each account's sealed store in its own).
#[derive(Debug, Clone)]
pub struct Installation {
    #[cfg(not(target_arch = "wasm32"))]
    dir: PathBuf,
    /// Where a refused record's export goes (the app's folder unless a shell says otherwise).
    #[cfg(not(target_arch = "wasm32"))]
    exports: PathBuf,
    device: DeviceId,
    salt: [u8; 16],
}

#[cfg(not(target_arch = "wasm32"))]
impl Installation {
    /// Open (or set up) the installation in `dir`.
    pub fn open(dir: &Path) -> Result<Installation, LoginError> {
        std::fs::create_dir_all(dir)?;
        // Made once, on first use; if either exists but cannot be read it is reported, never
        // replaced (a new salt would lock every store on the phone for good).
        let id = read_or_create(&dir.join("device-id"), || {
            DeviceId::new().to_string().into_bytes()
        })?;
        let salt = read_or_create(&dir.join("key-salt"), || {
            DeviceId::new().as_uuid().as_bytes().to_vec()
        })?;
        let (device, salt) = parse_metadata(&id, &salt)?;
        Ok(Installation {
            dir: dir.to_path_buf(),
            exports: dir.to_path_buf(),
            device,
            salt,
        })
    }

    /// Put exports in `dir` instead of the app's own folder (Android: the app's folder is
    /// private, and the school admin needs the file).
    pub fn with_exports_in(mut self, dir: &Path) -> Installation {
        self.exports = dir.to_path_buf();
        self
    }

    fn store_path(&self, account: &str) -> PathBuf {
        self.dir.join(format!("baoxue-{}.db", safe_name(account)))
    }

    async fn has_store(&self, account: &str) -> Result<bool, LoginError> {
        Ok(self.store_path(account).exists())
    }

    async fn open_store(&self, account: &str, key: &[u8; 32]) -> Result<LocalStore, LocalError> {
        LocalStore::open(&self.store_path(account), key)
    }

    fn with_folder(&self, app: FieldApp) -> FieldApp {
        app.with_export_dir(&self.exports)
    }
}

#[cfg(target_arch = "wasm32")]
impl Installation {
    /// Open (or set up) the installation in this browser profile's IndexedDB.
    pub async fn open_in_browser() -> Result<Installation, LoginError> {
        let (id, salt) = super::idb::installation_metadata(
            || DeviceId::new().to_string().into_bytes(),
            || DeviceId::new().as_uuid().as_bytes().to_vec(),
        )
        .await?;
        let (device, salt) = parse_metadata(&id, &salt)?;
        Ok(Installation { device, salt })
    }

    fn store_name(account: &str) -> String {
        format!("baoxue-{}", safe_name(account))
    }

    async fn has_store(&self, account: &str) -> Result<bool, LoginError> {
        Ok(super::idb::store_exists(&Self::store_name(account)).await?)
    }

    async fn open_store(&self, account: &str, key: &[u8; 32]) -> Result<LocalStore, LocalError> {
        LocalStore::open_in_browser(&Self::store_name(account), key).await
    }

    fn with_folder(&self, app: FieldApp) -> FieldApp {
        app
    }
}

/// An account name as it may appear in a file or database name.
fn safe_name(account: &str) -> String {
    account
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect()
}

/// The device id and key salt as stored; damaged ones are reported, never replaced.
fn parse_metadata(id: &[u8], salt: &[u8]) -> Result<(DeviceId, [u8; 16]), LoginError> {
    let device = std::str::from_utf8(id)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| LoginError::DamagedInstallation {
            file: "device-id",
            reason: "not a device id".into(),
        })?;
    let salt = <[u8; 16]>::try_from(salt).map_err(|_| LoginError::DamagedInstallation {
        file: "key-salt",
        reason: "not 16 bytes".into(),
    })?;
    Ok((device, salt))
}

impl Installation {
    /// This phone's device id.
    pub fn device(&self) -> DeviceId {
        self.device
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
        let mut store = match self
            .open_store(account, &derive_key(password, &self.salt))
            .await
        {
            // The server took this password, the phone's data does not: it was reset.
            Err(LocalError::WrongKey) => return Err(LoginError::PasswordChanged),
            other => other?,
        };
        store.set(
            "session",
            &serde_json::to_string(&engine.session).expect("sessions serialize"),
        )?;
        Ok(self.with_folder(FieldApp::new(store, engine)?))
    }

    /// After a password reset: log in online with the new password (which proves it), open the
    /// phone's data with the old one, and lock it with the new one from now on. Nothing is lost:
    /// the store, its outbox included, is re-encrypted in place.
    pub async fn change_password(
        &self,
        server: &str,
        account: &str,
        old_password: &str,
        new_password: &str,
    ) -> Result<FieldApp, LoginError> {
        let engine = SyncEngine::login(server, account, new_password, self.device).await?;
        let mut store = self
            .open_store(account, &derive_key(old_password, &self.salt))
            .await?;
        store.rekey(&derive_key(new_password, &self.salt)).await?;
        store.set(
            "session",
            &serde_json::to_string(&engine.session).expect("sessions serialize"),
        )?;
        Ok(self.with_folder(FieldApp::new(store, engine)?))
    }

    /// Unlock this account's data with its password, without the network.
    pub async fn unlock(&self, account: &str, password: &str) -> Result<FieldApp, LoginError> {
        if !self.has_store(account).await? {
            return Err(LoginError::NeverLoggedIn);
        }
        let store = self
            .open_store(account, &derive_key(password, &self.salt))
            .await?;
        let session: ServerSession = store
            .get("session")?
            .and_then(|s| serde_json::from_str(&s).ok())
            .ok_or(LoginError::NeverLoggedIn)?;
        Ok(self.with_folder(FieldApp::new(store, SyncEngine::resume(session))?))
    }
}

#[cfg(not(target_arch = "wasm32"))]
/// The file's bytes; made with `make` when there is no file yet. A file that exists but cannot
/// be read is an error, not a reason to make a new one.
fn read_or_create(path: &Path, make: impl FnOnce() -> Vec<u8>) -> Result<Vec<u8>, LoginError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let bytes = make();
            std::fs::write(path, &bytes)?;
            Ok(bytes)
        }
        Err(e) => Err(LoginError::DamagedInstallation {
            file: if path.ends_with("key-salt") {
                "key-salt"
            } else {
                "device-id"
            },
            reason: e.to_string(),
        }),
    }
}
