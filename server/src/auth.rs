//! Passwords and device tokens. Passwords are hashed with argon2id; a login issues an opaque
//! token (32 random bytes, only its SHA-256 stored) bound to one device, so a lost phone is
//! revoked alone. Repeated failed logins of an account are refused for a while.

use crate::store::{Session, Store, StoreError, TokenRecord};
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use baoxue_shared::ids::DeviceId;
use baoxue_shared::people::User;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// How long a phone stays logged in. Teachers go weeks without signal; the app says plainly
/// when the session needs the network again.
pub const TOKEN_LIFETIME: Duration = Duration::days(30);

/// Failed logins allowed in [`FAILURE_WINDOW`] before the account is paused.
pub const MAX_FAILURES: u32 = 5;

/// The window failed logins are counted in, and how long a paused account waits.
pub const FAILURE_WINDOW: Duration = Duration::minutes(15);

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Why authentication failed.
#[derive(Debug, Error)]
pub enum AuthError {
    #[error("wrong account or password")]
    WrongCredentials,
    #[error("too many failed logins; try again in {retry_after_secs} seconds")]
    TooManyAttempts { retry_after_secs: i64 },
    #[error("no token; log in first")]
    MissingToken,
    #[error("the token is invalid, revoked or expired; log in again")]
    InvalidToken,
    #[error("the password must have at least {MIN_PASSWORD_CHARS} characters")]
    WeakPassword,
    #[error("hashing the password failed: {0}")]
    Hashing(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Hash a password (argon2id, random salt) as a PHC string.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AuthError::WeakPassword);
    }
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AuthError::Hashing(e.to_string()))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// The SHA-256 of a token, as stored.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A successful login.
#[derive(Debug, Clone)]
pub struct Login {
    pub token: String,
    pub user: User,
    pub expires_at: DateTime<Utc>,
}

/// The key an account's failed logins are counted under: SHA-256 over the server's secret and
/// the account as typed. Keyed, so a stolen database does not let anyone test guesses of what
/// was typed; fixed-size, so a megabyte typed into the field is stored as 32 bytes.
pub fn throttle_key(secret: &[u8; 32], account: &str) -> crate::store::ThrottleKey {
    let mut h = Sha256::new();
    h.update(secret);
    h.update(account.as_bytes());
    crate::store::ThrottleKey(h.finalize().into())
}

/// Check an account's password and issue a token for `device`.
pub fn login(
    store: &dyn Store,
    account: &str,
    password: &str,
    device: DeviceId,
    now: DateTime<Utc>,
) -> Result<Login, AuthError> {
    let key = throttle_key(&store.secret("login_throttle")?, account);
    let failures = store.login_failures_since(&key, now - FAILURE_WINDOW)?;
    if failures >= MAX_FAILURES {
        return Err(AuthError::TooManyAttempts {
            retry_after_secs: FAILURE_WINDOW.num_seconds(),
        });
    }
    let found = store.account(account)?;
    // Verify against a dummy hash when the account is unknown, so timing does not tell
    // which accounts exist.
    let ok = match &found {
        Some(a) => !a.disabled && verify_password(password, &a.password_hash),
        None => {
            verify_password(password, &DUMMY_HASH);
            false
        }
    };
    if !ok {
        store.note_login_failure(&key, now)?;
        return Err(AuthError::WrongCredentials);
    }
    let user = found.expect("checked above").user;
    store.clear_login_failures(&key)?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::NoRandomness(e.to_string()))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let expires_at = now + TOKEN_LIFETIME;
    store.save_token(&TokenRecord {
        hash: token_hash(&token),
        user: user.id,
        device,
        issued_at: now,
        expires_at,
    })?;
    Ok(Login {
        token,
        user,
        expires_at,
    })
}

/// The session of a bearer token.
pub fn authenticate(
    store: &dyn Store,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Session, AuthError> {
    store
        .session(&token_hash(token), now)?
        .ok_or(AuthError::InvalidToken)
}

/// A real argon2id hash, verified against when an account does not exist.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password("no such account here").unwrap_or_default());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsf", &h));
        assert!(matches!(
            hash_password("short"),
            Err(AuthError::WeakPassword)
        ));
    }
}
