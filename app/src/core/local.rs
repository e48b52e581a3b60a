//! The phone's own store: every op it made or received, encrypted at rest with SQLCipher under
//! a key derived from the user's password, so a lost phone does not leak children's data. Ops
//! the server has not acknowledged stay in the outbox; nothing saved here is ever discarded
//! without an explicit, counted confirmation.
//!
//! The in-memory `Replica` is rebuilt from the file at open; every write goes to the file
//! first, in a transaction, then to the replica — a phone killed at any moment reopens with
//! exactly what was saved.

use baoxue_shared::hlc::{Clock, Hlc};
use baoxue_shared::ids::OpId;
use baoxue_shared::op::Op;
use baoxue_shared::replica::{MergeError, Replica};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use std::path::Path;
use thiserror::Error;

/// What can go wrong with the local store.
#[derive(Debug, Error)]
pub enum LocalError {
    #[error("the local data cannot be opened with this password")]
    WrongKey,
    #[error("local database error: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("local data is corrupt: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Merge(#[from] MergeError),
    #[error(
        "the local data was written by a newer app (schema {found}, this app knows {known}); update the app"
    )]
    SchemaTooNew { found: i64, known: i64 },
}

/// Derive the 32-byte database key from the user's password and this installation's salt
/// (argon2id: slow on purpose, so a stolen phone's file resists guessing).
pub fn derive_key(password: &str, salt: &[u8; 16]) -> [u8; 32] {
    let mut key = [0u8; 32];
    argon2::Argon2::default()
        .hash_password_into(password.as_bytes(), salt, &mut key)
        .expect("fixed-size output and salt are valid argon2 parameters");
    key
}

/// Bring the store to the newest version `migrations` know, each step in its own transaction;
/// refuse a store a newer app wrote rather than guess at it.
fn migrate(conn: &mut Connection, migrations: &[&str]) -> Result<(), LocalError> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = migrations.len() as i64;
    if found > known {
        return Err(LocalError::SchemaTooNew { found, known });
    }
    for (i, sql) in migrations.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

/// The local store.
pub struct LocalStore {
    conn: Connection,
    replica: Replica,
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore")
            .field("ops", &self.replica.len())
            .finish()
    }
}

/// The store's schema as numbered migrations: entry `i` moves a store from version `i` to
/// `i + 1` (SQLite's `user_version`). Only ever appended: a phone that updates the app a
/// semester later opens its old store, outbox and all. Version 1 is the first schema; stores
/// made before versions were kept are at 0 and take it as a no-op (`IF NOT EXISTS`).
const MIGRATIONS: &[&str] = &[SCHEMA_1, SCHEMA_2];

const SCHEMA_1: &str = "
CREATE TABLE IF NOT EXISTS ops (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    -- 1 while the server has not acknowledged it (the outbox)
    pending INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ops_pending ON ops(pending) WHERE pending = 1;
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS photos (
    sha256 TEXT PRIMARY KEY,
    bytes BLOB NOT NULL,
    thumb BLOB,
    uploaded INTEGER NOT NULL DEFAULT 0
);
";

/// 2: ops the server refused, set aside with its reason until the teacher retries them.
const SCHEMA_2: &str = "
CREATE TABLE set_aside (
    op_id TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL
);
";

/// An op the server refused, kept on the phone with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct SetAside {
    pub op: Op,
    pub code: String,
    /// What the teacher reads: why, and what can be done.
    pub reason: String,
    pub at: DateTime<Utc>,
}

impl LocalStore {
    /// Open (or create) the encrypted store at `path` with `key`. A wrong key is refused with
    /// [`LocalError::WrongKey`], never silently treated as an empty store.
    pub fn open(path: &Path, key: &[u8; 32]) -> Result<Self, LocalError> {
        Self::open_with(path, key, MIGRATIONS)
    }

    fn open_with(path: &Path, key: &[u8; 32], migrations: &[&str]) -> Result<Self, LocalError> {
        let mut conn = Connection::open(path)?;
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        conn.execute_batch(&format!("PRAGMA key = \"x'{hex}'\";"))?;
        // SQLCipher only notices a wrong key on the first read, as "not a database"; any other
        // failure there (a locked or unreadable file) is said as what it is.
        match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        }) {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::NotADatabase =>
            {
                return Err(LocalError::WrongKey);
            }
            Err(e) => return Err(LocalError::Database(e)),
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        migrate(&mut conn, migrations)?;
        let mut replica = Replica::new();
        {
            let mut st = conn.prepare("SELECT body FROM ops ORDER BY seq")?;
            for b in st.query_map([], |r| r.get::<_, String>(0))? {
                let op: Op =
                    serde_json::from_str(&b?).map_err(|e| LocalError::Corrupt(e.to_string()))?;
                replica.apply(op)?;
            }
        }
        Ok(Self { conn, replica })
    }

    /// Everything this phone knows, merged.
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// Save an op made on this phone with the clock that stamped it, in one transaction: to the
    /// outbox, durably, then into the replica. A phone killed between the two could otherwise
    /// reopen with the op but an older clock and stamp its next write before it.
    pub fn save_own(&mut self, op: Op, clock: &Clock) -> Result<(), LocalError> {
        let body = serde_json::to_string(&op).map_err(|e| LocalError::Corrupt(e.to_string()))?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO ops(id, body, pending) VALUES (?1, ?2, 1) ON CONFLICT(id) DO NOTHING",
            (op.id.to_string(), body),
        )?;
        tx.execute(
            "INSERT INTO kv(key, value) VALUES ('clock', ?1) ON CONFLICT(key) DO UPDATE SET value = ?1",
            [serde_json::to_string(&clock.last()).expect("stamps serialize")],
        )?;
        tx.commit()?;
        self.replica.apply(op)?;
        Ok(())
    }

    /// Save ops pulled from the server (they carry their receipt time), in one transaction.
    /// An op already held is replaced by the server's copy and leaves the outbox.
    pub fn save_pulled(&mut self, ops: Vec<Op>) -> Result<usize, LocalError> {
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO ops(id, body, pending) VALUES (?1, ?2, 0)
                 ON CONFLICT(id) DO UPDATE SET body = ?2, pending = 0",
            )?;
            for op in &ops {
                let body =
                    serde_json::to_string(op).map_err(|e| LocalError::Corrupt(e.to_string()))?;
                st.execute((op.id.to_string(), body))?;
            }
        }
        tx.commit()?;
        let n = ops.len();
        for op in ops {
            self.replica.apply(op)?;
        }
        Ok(n)
    }

    /// Up to `limit` ops waiting to be pushed, oldest first.
    pub fn outbox(&self, limit: usize) -> Result<Vec<Op>, LocalError> {
        let mut st = self.conn.prepare_cached(
            "SELECT body FROM ops WHERE pending = 1 AND id NOT IN (SELECT op_id FROM set_aside) ORDER BY seq LIMIT ?1",
        )?;
        let rows = st.query_map([limit as i64], |r| r.get::<_, String>(0))?;
        rows.map(|b| serde_json::from_str(&b?).map_err(|e| LocalError::Corrupt(e.to_string())))
            .collect()
    }

    /// How many ops wait to be pushed.
    pub fn outbox_len(&self) -> Result<usize, LocalError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM ops WHERE pending = 1", [], |r| {
                r.get::<_, i64>(0)
            })? as usize)
    }

    /// How many ops a sync would push now (the outbox less what is set aside).
    pub fn pushable_len(&self) -> Result<usize, LocalError> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM ops WHERE pending = 1 AND id NOT IN (SELECT op_id FROM set_aside)",
            [],
            |r| r.get::<_, i64>(0),
        )? as usize)
    }

    /// Keep `op` out of pushes: the server refused it for `code`; `reason` says why to the
    /// teacher. It stays in the outbox (unsynced) until retried and accepted.
    pub fn set_aside(
        &mut self,
        op: OpId,
        code: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<(), LocalError> {
        self.conn.execute(
            "INSERT INTO set_aside(op_id, code, reason, at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(op_id) DO UPDATE SET code = ?2, reason = ?3, at = ?4",
            (op.to_string(), code, reason, at.to_rfc3339()),
        )?;
        Ok(())
    }

    /// Every op set aside, oldest first.
    pub fn set_aside_ops(&self) -> Result<Vec<SetAside>, LocalError> {
        let mut st = self.conn.prepare_cached(
            "SELECT o.body, s.code, s.reason, s.at FROM set_aside s JOIN ops o ON o.id = s.op_id
             WHERE o.pending = 1 ORDER BY o.seq",
        )?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?;
        rows.map(|row| {
            let (body, code, reason, at) = row?;
            Ok(SetAside {
                op: serde_json::from_str(&body).map_err(|e| LocalError::Corrupt(e.to_string()))?,
                code,
                reason,
                at: DateTime::parse_from_rfc3339(&at)
                    .map_err(|e| LocalError::Corrupt(e.to_string()))?
                    .with_timezone(&Utc),
            })
        })
        .collect()
    }

    /// Put a set-aside op back in line for the next push.
    pub fn retry(&mut self, op: OpId) -> Result<(), LocalError> {
        self.conn
            .execute("DELETE FROM set_aside WHERE op_id = ?1", [op.to_string()])?;
        Ok(())
    }

    /// The server acknowledged these ops: they leave the outbox.
    pub fn acknowledge(&mut self, ids: &[OpId]) -> Result<(), LocalError> {
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare_cached("UPDATE ops SET pending = 0 WHERE id = ?1")?;
            for id in ids {
                st.execute([id.to_string()])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// A saved setting.
    pub fn get(&self, key: &str) -> Result<Option<String>, LocalError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM kv WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    /// Save a setting.
    pub fn set(&self, key: &str, value: &str) -> Result<(), LocalError> {
        self.conn.execute(
            "INSERT INTO kv(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = ?2",
            (key, value),
        )?;
        Ok(())
    }

    /// The device clock as last persisted (so stamps keep increasing across restarts).
    pub fn clock(&self) -> Result<Clock, LocalError> {
        Ok(match self.get("clock")? {
            Some(s) => Clock::resume(
                serde_json::from_str::<Hlc>(&s).map_err(|e| LocalError::Corrupt(e.to_string()))?,
            ),
            None => Clock::new(),
        })
    }

    /// Persist the clock.
    pub fn save_clock(&self, clock: &Clock) -> Result<(), LocalError> {
        self.set(
            "clock",
            &serde_json::to_string(&clock.last()).expect("stamps serialize"),
        )
    }

    /// Forget everything on this phone (after logging out). Callers confirm first.
    pub fn wipe(&mut self) -> Result<(), LocalError> {
        self.conn
            .execute_batch("DELETE FROM ops; DELETE FROM kv; DELETE FROM photos;")?;
        self.replica = Replica::new();
        Ok(())
    }

    /// Keep a photo's bytes until the server has them.
    pub fn save_photo(
        &self,
        sha256: &str,
        bytes: &[u8],
        thumb: Option<&[u8]>,
    ) -> Result<(), LocalError> {
        self.conn.execute(
            "INSERT INTO photos(sha256, bytes, thumb) VALUES (?1, ?2, ?3) ON CONFLICT(sha256) DO NOTHING",
            (sha256, bytes, thumb),
        )?;
        Ok(())
    }

    /// Photos not yet uploaded: (hash, bytes).
    pub fn pending_photos(&self) -> Result<Vec<(String, Vec<u8>)>, LocalError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT sha256, bytes FROM photos WHERE uploaded = 0")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The server has this photo.
    pub fn photo_uploaded(&self, sha256: &str) -> Result<(), LocalError> {
        self.conn
            .execute("UPDATE photos SET uploaded = 1 WHERE sha256 = ?1", [sha256])?;
        Ok(())
    }

    /// What the store takes on the phone: (database bytes, photos kept, photos awaiting upload).
    pub fn usage(&self) -> Result<(u64, usize, usize), LocalError> {
        let db: i64 = self.conn.query_row(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            [],
            |r| r.get(0),
        )?;
        let (kept, waiting): (i64, i64) = self.conn.query_row(
            "SELECT count(*), coalesce(sum(uploaded = 0), 0) FROM photos",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((db.max(0) as u64, kept as usize, waiting as usize))
    }

    /// Encrypt the store under `key` from now on (SQLCipher re-encrypts every page in place,
    /// in one transaction: the outbox goes along).
    pub fn rekey(&self, key: &[u8; 32]) -> Result<(), LocalError> {
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        self.conn
            .execute_batch(&format!("PRAGMA rekey = \"x'{hex}'\";"))?;
        Ok(())
    }

    /// Whether the phone holds a photo's bytes.
    pub fn has_photo(&self, sha256: &str) -> Result<bool, LocalError> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM photos WHERE sha256 = ?1", [sha256], |_| {
                Ok(())
            })
            .optional()?
            .is_some())
    }

    /// Every photo whose bytes the phone holds (hex SHA-256).
    pub fn held_photos(&self) -> Result<std::collections::HashSet<String>, LocalError> {
        let mut st = self.conn.prepare_cached("SELECT sha256 FROM photos")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use baoxue_shared::author::Author;
    use baoxue_shared::ids::{DeviceId, RecordId, UserId};
    use chrono::Utc;

    #[test]
    fn a_first_read_that_fails_for_another_reason_says_so_and_not_wrong_password() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("local.db");
        let key = derive_key("teacher-password", &[7u8; 16]);
        drop(LocalStore::open(&path, &key).unwrap());
        // Another process holds the file exclusively.
        let other = Connection::open(&path).unwrap();
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        other
            .execute_batch(&format!(
                "PRAGMA key = \"x'{hex}'\"; PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;"
            ))
            .unwrap();
        match LocalStore::open(&path, &key) {
            Err(LocalError::Database(e)) => {
                assert!(e.to_string().contains("locked"), "{e}")
            }
            Err(e) => panic!("said {e:?}, not what failed"),
            Ok(_) => panic!("opened a store another process holds exclusively"),
        }
    }

    #[test]
    fn saved_ops_survive_a_restart_and_a_wrong_password_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("local.db");
        let salt = [7u8; 16];
        let key = derive_key("teacher-password", &salt);
        let mut a = Author::new(UserId::new(), DeviceId::new());
        let op = a.void(RecordId::new(), "重复录入", Utc::now());
        {
            let mut s = LocalStore::open(&path, &key).unwrap();
            s.save_own(op.clone(), &a.clock).unwrap();
        }
        let s = LocalStore::open(&path, &key).unwrap();
        assert_eq!(s.replica().op(op.id), Some(&op));
        assert_eq!(s.outbox_len().unwrap(), 1);
        assert_eq!(s.clock().unwrap().last(), a.clock.last());
        let wrong = derive_key("guess", &salt);
        assert!(matches!(
            LocalStore::open(&path, &wrong),
            Err(LocalError::WrongKey)
        ));
        // The file on disk is not readable SQLite: the children's data is encrypted.
        let raw = std::fs::read(&path).unwrap();
        assert!(!raw.starts_with(b"SQLite format 3"));
        assert!(
            !raw.windows("重复录入".len())
                .any(|w| w == "重复录入".as_bytes())
        );
    }

    #[test]
    fn a_store_of_this_schema_opens_after_a_later_migration_with_its_outbox() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("local.db");
        let key = derive_key("pw", &[3u8; 16]);
        let mut a = Author::new(UserId::new(), DeviceId::new());
        let op = a.void(RecordId::new(), "迁移前保存", Utc::now());
        {
            let mut s = LocalStore::open(&path, &key).unwrap();
            s.save_own(op.clone(), &a.clock).unwrap();
        }
        // A later app adds a table; the old store opens, migrated, outbox and clock intact.
        let later: Vec<&str> = MIGRATIONS
            .iter()
            .copied()
            .chain(["CREATE TABLE a_later_table (id TEXT PRIMARY KEY, note TEXT NOT NULL);"])
            .collect();
        let s = LocalStore::open_with(&path, &key, &later).unwrap();
        assert_eq!(s.outbox_len().unwrap(), 1);
        assert_eq!(s.replica().op(op.id), Some(&op));
        assert_eq!(s.clock().unwrap().last(), a.clock.last());
        let version: i64 = s
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, later.len() as i64);
        drop(s);
        // This app, given the newer store, refuses it instead of guessing.
        assert!(matches!(
            LocalStore::open(&path, &key),
            Err(LocalError::SchemaTooNew { found, known })
                if found == later.len() as i64 && known == MIGRATIONS.len() as i64
        ));
    }

    #[test]
    fn acknowledged_ops_leave_the_outbox_and_pulled_copies_replace_local_ones() {
        let dir = tempfile::tempdir().unwrap();
        let key = derive_key("pw", &[1u8; 16]);
        let mut s = LocalStore::open(&dir.path().join("l.db"), &key).unwrap();
        let mut a = Author::new(UserId::new(), DeviceId::new());
        let op = a.void(RecordId::new(), "测试", Utc::now());
        s.save_own(op.clone(), &a.clock).unwrap();
        s.acknowledge(&[op.id]).unwrap();
        assert_eq!(s.outbox_len().unwrap(), 0);
        let mut back = op.clone();
        back.received_at = Some(Utc::now());
        s.save_pulled(vec![back.clone()]).unwrap();
        assert_eq!(s.replica().op(op.id).unwrap().received_at, back.received_at);
    }
}
