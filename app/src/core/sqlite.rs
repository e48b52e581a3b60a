//! The native engine: one SQLCipher file per account, encrypted under the key derived from the
//! password. Durable when a write returns (WAL, `synchronous = FULL`).

use super::local::LocalError;
use super::rows::{Durable, Engine, OpRow, PhotoRow, SetAsideRow, Snapshot, Write};
use rusqlite::Connection;
use std::path::Path;

/// The store's schema as numbered migrations: entry `i` moves a store from version `i` to
/// `i + 1` (SQLite's `user_version`). Only ever appended: a phone that updates the app a
/// semester later opens its old store, outbox and all. Version 1 is the first schema; stores
/// made before versions were kept are at 0 and take it as a no-op (`IF NOT EXISTS`).
pub(crate) const MIGRATIONS: &[&str] = &[SCHEMA_1, SCHEMA_2];

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

fn key_pragma(name: &str, key: &[u8; 32]) -> String {
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    format!("PRAGMA {name} = \"x'{hex}'\";")
}

/// The SQLCipher engine.
pub struct SqliteRows {
    pub(crate) conn: Connection,
}

impl SqliteRows {
    /// Open (or create) the file at `path` with `key` and read it. A wrong key is
    /// [`LocalError::WrongKey`], never an empty store.
    pub fn open(
        path: &Path,
        key: &[u8; 32],
        migrations: &[&str],
    ) -> Result<(SqliteRows, Snapshot), LocalError> {
        let mut conn = Connection::open(path)?;
        conn.execute_batch(&key_pragma("key", key))?;
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
            Err(e) => return Err(LocalError::Database(e.to_string())),
        }
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        migrate(&mut conn, migrations)?;
        let snapshot = read_all(&conn)?;
        Ok((SqliteRows { conn }, snapshot))
    }

    /// Encrypt the file under `key` from now on (SQLCipher re-encrypts every page in place, in
    /// one transaction: the outbox goes along).
    pub fn rekey(&mut self, key: &[u8; 32]) -> Result<(), LocalError> {
        self.conn.execute_batch(&key_pragma("rekey", key))?;
        Ok(())
    }
}

fn read_all(conn: &Connection) -> Result<Snapshot, LocalError> {
    let corrupt = |e: String| LocalError::Corrupt(e);
    let mut s = Snapshot::default();
    let mut st = conn.prepare("SELECT seq, id, body, pending FROM ops ORDER BY seq")?;
    for row in st.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, bool>(3)?,
        ))
    })? {
        let (seq, id, body, pending) = row?;
        s.ops.push(OpRow {
            seq: seq as u64,
            id: id.parse().map_err(|_| corrupt(format!("op id {id}")))?,
            body,
            pending,
        });
    }
    let mut st = conn.prepare("SELECT key, value FROM kv")?;
    s.kv = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    // Only the bytes a sync will send are read; uploaded photos stay on disk.
    let mut st = conn.prepare(
        "SELECT sha256, uploaded, CASE WHEN uploaded = 0 THEN bytes END FROM photos ORDER BY rowid",
    )?;
    s.photos = st
        .query_map([], |r| {
            Ok(PhotoRow {
                sha256: r.get(0)?,
                uploaded: r.get(1)?,
                bytes: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut st = conn.prepare("SELECT op_id, code, reason, at FROM set_aside")?;
    for row in st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })? {
        let (op_id, code, reason, at) = row?;
        s.set_aside.push(SetAsideRow {
            op_id: op_id
                .parse()
                .map_err(|_| corrupt(format!("set-aside op id {op_id}")))?,
            code,
            reason,
            at,
        });
    }
    Ok(s)
}

impl Engine for SqliteRows {
    fn write(&mut self, writes: Vec<Write>) -> Result<(), LocalError> {
        let tx = self.conn.transaction()?;
        for w in writes {
            match w {
                Write::Op(o) => {
                    tx.prepare_cached(
                        "INSERT INTO ops(seq, id, body, pending) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT(id) DO UPDATE SET body = ?3, pending = ?4",
                    )?
                    .execute((
                        o.seq as i64,
                        o.id.to_string(),
                        o.body,
                        o.pending,
                    ))?;
                }
                Write::Kv { key, value } => {
                    tx.prepare_cached(
                        "INSERT INTO kv(key, value) VALUES (?1, ?2)
                         ON CONFLICT(key) DO UPDATE SET value = ?2",
                    )?
                    .execute((key, value))?;
                }
                Write::Photo {
                    sha256,
                    bytes,
                    thumb,
                } => {
                    tx.prepare_cached(
                        "INSERT INTO photos(sha256, bytes, thumb) VALUES (?1, ?2, ?3)
                         ON CONFLICT(sha256) DO NOTHING",
                    )?
                    .execute((sha256, bytes, thumb))?;
                }
                Write::PhotoUploaded(sha256) => {
                    tx.prepare_cached("UPDATE photos SET uploaded = 1 WHERE sha256 = ?1")?
                        .execute([sha256])?;
                }
                Write::SetAside(r) => {
                    tx.prepare_cached(
                        "INSERT INTO set_aside(op_id, code, reason, at) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT(op_id) DO UPDATE SET code = ?2, reason = ?3, at = ?4",
                    )?
                    .execute((r.op_id.to_string(), r.code, r.reason, r.at))?;
                }
                Write::Unset(op) => {
                    tx.prepare_cached("DELETE FROM set_aside WHERE op_id = ?1")?
                        .execute([op.to_string()])?;
                }
                Write::Wipe => tx.execute_batch(
                    "DELETE FROM ops; DELETE FROM kv; DELETE FROM photos; DELETE FROM set_aside;",
                )?,
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn durable(&self) -> Durable {
        // Every write committed before it returned.
        Durable::ready(Ok(()))
    }

    fn size(&self) -> Result<u64, LocalError> {
        let db: i64 = self.conn.query_row(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            [],
            |r| r.get(0),
        )?;
        Ok(db.max(0) as u64)
    }
}

impl From<rusqlite::Error> for LocalError {
    fn from(e: rusqlite::Error) -> Self {
        LocalError::Database(e.to_string())
    }
}
