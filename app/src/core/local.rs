//! The phone's own store: every op it made or received, encrypted at rest under a key derived
//! from the user's password, so a lost phone does not leak children's data. Ops the server has
//! not acknowledged stay in the outbox; nothing saved here is ever discarded without an
//! explicit, counted confirmation.
//!
//! The store keeps what it holds in memory (the merged `Replica`, the outbox flags, settings,
//! set-aside records, photos awaiting upload) and writes every change through an engine
//! ([`super::rows::Engine`]: SQLCipher natively, sealed IndexedDB in the browser) before it
//! changes memory — a phone killed at any moment reopens with exactly what was saved.

use super::rows::{Durable, Engine, OpRow, SetAsideRow, Snapshot, Write};
use baoxue_shared::hlc::{Clock, Hlc};
use baoxue_shared::ids::OpId;
use baoxue_shared::op::Op;
use baoxue_shared::replica::{MergeError, Replica};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap, HashSet};
use thiserror::Error;

/// The engine this build stores with.
#[cfg(not(target_arch = "wasm32"))]
pub type Platform = super::sqlite::SqliteRows;
/// The engine this build stores with.
#[cfg(target_arch = "wasm32")]
pub type Platform = super::idb::IdbRows;

/// What can go wrong with the local store, whatever the engine.
#[derive(Debug, Error)]
pub enum LocalError {
    #[error("the local data cannot be opened with this password")]
    WrongKey,
    #[error("local storage error: {0}")]
    Database(String),
    #[error("local data is corrupt: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Merge(#[from] MergeError),
    #[error(
        "the local data was written by a newer app (schema {found}, this app knows {known}); update the app"
    )]
    SchemaTooNew { found: i64, known: i64 },
    /// An earlier write was refused by the storage after it was issued (the browser's quota,
    /// say): the screens say so instead of going on as if it were kept.
    #[error("an earlier save did not reach storage: {0}")]
    NotDurable(String),
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

/// An op the server refused, kept on the phone with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct SetAside {
    pub op: Op,
    pub code: String,
    /// What the teacher reads: why, and what can be done.
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// A held photo: its bytes while it waits for upload.
#[derive(Debug)]
struct Photo {
    uploaded: bool,
    bytes: Option<Vec<u8>>,
}

/// The local store.
pub struct LocalStore {
    engine: Platform,
    replica: Replica,
    /// Each op's place and outbox flag.
    ops: HashMap<OpId, (u64, bool)>,
    order: BTreeMap<u64, OpId>,
    kv: HashMap<String, String>,
    set_aside: HashMap<OpId, SetAsideRow>,
    photos: HashMap<String, Photo>,
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore")
            .field("ops", &self.replica.len())
            .finish()
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl LocalStore {
    /// Open (or create) the encrypted store at `path` with `key`. A wrong key is refused with
    /// [`LocalError::WrongKey`], never silently treated as an empty store.
    pub fn open(path: &std::path::Path, key: &[u8; 32]) -> Result<Self, LocalError> {
        Self::open_with(path, key, super::sqlite::MIGRATIONS)
    }

    fn open_with(
        path: &std::path::Path,
        key: &[u8; 32],
        migrations: &[&str],
    ) -> Result<Self, LocalError> {
        let (engine, snapshot) = Platform::open(path, key, migrations)?;
        Self::load(engine, snapshot)
    }

    /// Encrypt the store under `key` from now on; the outbox goes along.
    pub async fn rekey(&mut self, key: &[u8; 32]) -> Result<(), LocalError> {
        self.engine.rekey(key)
    }
}

#[cfg(target_arch = "wasm32")]
impl LocalStore {
    /// Open (or create) this account's sealed store in the browser's IndexedDB. A wrong key is
    /// refused with [`LocalError::WrongKey`], never silently treated as an empty store.
    pub async fn open_in_browser(name: &str, key: &[u8; 32]) -> Result<Self, LocalError> {
        let (engine, snapshot) = Platform::open(name, key).await?;
        Self::load(engine, snapshot)
    }

    /// Seal the store under `key` from now on; the outbox goes along.
    pub async fn rekey(&mut self, key: &[u8; 32]) -> Result<(), LocalError> {
        self.engine.rekey(key).await
    }
}

impl LocalStore {
    /// The store over an opened engine and what it held.
    fn load(engine: Platform, snapshot: Snapshot) -> Result<Self, LocalError> {
        let mut store = LocalStore {
            engine,
            replica: Replica::new(),
            ops: HashMap::new(),
            order: BTreeMap::new(),
            kv: snapshot.kv.into_iter().collect(),
            set_aside: snapshot
                .set_aside
                .into_iter()
                .map(|r| (r.op_id, r))
                .collect(),
            photos: snapshot
                .photos
                .into_iter()
                .map(|p| {
                    (
                        p.sha256,
                        Photo {
                            uploaded: p.uploaded,
                            bytes: p.bytes,
                        },
                    )
                })
                .collect(),
        };
        for row in snapshot.ops {
            let op: Op =
                serde_json::from_str(&row.body).map_err(|e| LocalError::Corrupt(e.to_string()))?;
            store.replica.apply(op)?;
            store.ops.insert(row.id, (row.seq, row.pending));
            store.order.insert(row.seq, row.id);
        }
        Ok(store)
    }

    /// Everything this phone knows, merged.
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// Completes once everything saved so far is durable: only then is a save "已保存".
    pub fn durable(&self) -> Durable {
        self.engine.durable()
    }

    fn next_seq(&self) -> u64 {
        self.order.keys().next_back().map_or(1, |s| s + 1)
    }

    fn body(op: &Op) -> Result<String, LocalError> {
        serde_json::to_string(op).map_err(|e| LocalError::Corrupt(e.to_string()))
    }

    fn clock_write(clock: &Clock) -> Write {
        Write::Kv {
            key: "clock".into(),
            value: serde_json::to_string(&clock.last()).expect("stamps serialize"),
        }
    }

    /// Save an op made on this phone with the clock that stamped it, in one transaction: to the
    /// outbox, then into the replica. A phone killed between the two could otherwise reopen
    /// with the op but an older clock and stamp its next write before it.
    pub fn save_own(&mut self, op: Op, clock: &Clock) -> Result<(), LocalError> {
        let mut writes = vec![];
        let new = !self.ops.contains_key(&op.id);
        let seq = self.next_seq();
        if new {
            writes.push(Write::Op(OpRow {
                seq,
                id: op.id,
                body: Self::body(&op)?,
                pending: true,
            }));
        }
        let clock_write = Self::clock_write(clock);
        writes.push(clock_write.clone());
        self.engine.write(writes)?;
        if let Write::Kv { key, value } = clock_write {
            self.kv.insert(key, value);
        }
        if new {
            self.ops.insert(op.id, (seq, true));
            self.order.insert(seq, op.id);
            self.replica.apply(op)?;
        }
        Ok(())
    }

    /// Save ops pulled from the server (they carry their receipt time), in one transaction.
    /// An op already held is replaced by the server's copy and leaves the outbox.
    pub fn save_pulled(&mut self, ops: Vec<Op>) -> Result<usize, LocalError> {
        let mut writes = Vec::with_capacity(ops.len());
        let mut placed = Vec::with_capacity(ops.len());
        let mut seq = self.next_seq();
        for op in &ops {
            let at = match self.ops.get(&op.id) {
                Some((s, _)) => *s,
                None => {
                    seq += 1;
                    seq - 1
                }
            };
            placed.push(at);
            writes.push(Write::Op(OpRow {
                seq: at,
                id: op.id,
                body: Self::body(op)?,
                pending: false,
            }));
        }
        self.engine.write(writes)?;
        let n = ops.len();
        for (op, at) in ops.into_iter().zip(placed) {
            self.ops.insert(op.id, (at, false));
            self.order.insert(at, op.id);
            self.replica.apply(op)?;
        }
        Ok(n)
    }

    fn pending_ids(&self) -> impl Iterator<Item = OpId> + '_ {
        self.order
            .values()
            .copied()
            .filter(|id| self.ops.get(id).is_some_and(|(_, pending)| *pending))
    }

    /// Up to `limit` ops waiting to be pushed, oldest first (set-aside ones wait for a retry).
    pub fn outbox(&self, limit: usize) -> Result<Vec<Op>, LocalError> {
        self.pending_ids()
            .filter(|id| !self.set_aside.contains_key(id))
            .take(limit)
            .map(|id| {
                self.replica
                    .op(id)
                    .cloned()
                    .ok_or_else(|| LocalError::Corrupt(format!("outbox op {id} not loaded")))
            })
            .collect()
    }

    /// How many ops wait to be pushed.
    pub fn outbox_len(&self) -> Result<usize, LocalError> {
        Ok(self.pending_ids().count())
    }

    /// How many ops a sync would push now (the outbox less what is set aside).
    pub fn pushable_len(&self) -> Result<usize, LocalError> {
        Ok(self
            .pending_ids()
            .filter(|id| !self.set_aside.contains_key(id))
            .count())
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
        let row = SetAsideRow {
            op_id: op,
            code: code.into(),
            reason: reason.into(),
            at: at.to_rfc3339(),
        };
        self.engine.write(vec![Write::SetAside(row.clone())])?;
        self.set_aside.insert(op, row);
        Ok(())
    }

    /// Every op set aside (and still unsynced), oldest first.
    pub fn set_aside_ops(&self) -> Result<Vec<SetAside>, LocalError> {
        self.pending_ids()
            .filter_map(|id| self.set_aside.get(&id))
            .map(|row| {
                Ok(SetAside {
                    op: self.replica.op(row.op_id).cloned().ok_or_else(|| {
                        LocalError::Corrupt(format!("set-aside op {} not loaded", row.op_id))
                    })?,
                    code: row.code.clone(),
                    reason: row.reason.clone(),
                    at: DateTime::parse_from_rfc3339(&row.at)
                        .map_err(|e| LocalError::Corrupt(e.to_string()))?
                        .with_timezone(&Utc),
                })
            })
            .collect()
    }

    /// Put a set-aside op back in line for the next push.
    pub fn retry(&mut self, op: OpId) -> Result<(), LocalError> {
        self.engine.write(vec![Write::Unset(op)])?;
        self.set_aside.remove(&op);
        Ok(())
    }

    /// The server acknowledged these ops: they leave the outbox.
    pub fn acknowledge(&mut self, ids: &[OpId]) -> Result<(), LocalError> {
        let mut writes = vec![];
        for id in ids {
            if let (Some((seq, true)), Some(op)) = (self.ops.get(id), self.replica.op(*id)) {
                writes.push(Write::Op(OpRow {
                    seq: *seq,
                    id: *id,
                    body: Self::body(op)?,
                    pending: false,
                }));
            }
        }
        self.engine.write(writes)?;
        for id in ids {
            if let Some((_, pending)) = self.ops.get_mut(id) {
                *pending = false;
            }
        }
        Ok(())
    }

    /// A saved setting.
    pub fn get(&self, key: &str) -> Result<Option<String>, LocalError> {
        Ok(self.kv.get(key).cloned())
    }

    /// Save a setting.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), LocalError> {
        self.engine.write(vec![Write::Kv {
            key: key.into(),
            value: value.into(),
        }])?;
        self.kv.insert(key.into(), value.into());
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
    pub fn save_clock(&mut self, clock: &Clock) -> Result<(), LocalError> {
        self.set(
            "clock",
            &serde_json::to_string(&clock.last()).expect("stamps serialize"),
        )
    }

    /// Forget everything on this phone (after logging out). Callers confirm first.
    pub fn wipe(&mut self) -> Result<(), LocalError> {
        self.engine.write(vec![Write::Wipe])?;
        self.replica = Replica::new();
        self.ops.clear();
        self.order.clear();
        self.kv.clear();
        self.set_aside.clear();
        self.photos.clear();
        Ok(())
    }

    /// Keep a photo's bytes until the server has them.
    pub fn save_photo(
        &mut self,
        sha256: &str,
        bytes: &[u8],
        thumb: Option<&[u8]>,
    ) -> Result<(), LocalError> {
        if self.photos.contains_key(sha256) {
            return Ok(());
        }
        self.engine.write(vec![Write::Photo {
            sha256: sha256.into(),
            bytes: bytes.to_vec(),
            thumb: thumb.map(<[u8]>::to_vec),
        }])?;
        self.photos.insert(
            sha256.into(),
            Photo {
                uploaded: false,
                bytes: Some(bytes.to_vec()),
            },
        );
        Ok(())
    }

    /// Photos not yet uploaded: (hash, bytes).
    pub fn pending_photos(&self) -> Result<Vec<(String, Vec<u8>)>, LocalError> {
        let mut v: Vec<(String, Vec<u8>)> = self
            .photos
            .iter()
            .filter(|(_, p)| !p.uploaded)
            .map(|(h, p)| {
                p.bytes
                    .clone()
                    .map(|b| (h.clone(), b))
                    .ok_or_else(|| LocalError::Corrupt(format!("photo {h} has no bytes")))
            })
            .collect::<Result<_, _>>()?;
        v.sort();
        Ok(v)
    }

    /// The server has this photo.
    pub fn photo_uploaded(&mut self, sha256: &str) -> Result<(), LocalError> {
        self.engine
            .write(vec![Write::PhotoUploaded(sha256.into())])?;
        if let Some(p) = self.photos.get_mut(sha256) {
            p.uploaded = true;
            // The engine keeps the bytes; memory needs them only for the upload.
            p.bytes = None;
        }
        Ok(())
    }

    /// What the store takes on the phone: (bytes, photos kept, photos awaiting upload).
    pub fn usage(&self) -> Result<(u64, usize, usize), LocalError> {
        let waiting = self.photos.values().filter(|p| !p.uploaded).count();
        Ok((self.engine.size()?, self.photos.len(), waiting))
    }

    /// Whether the phone holds a photo's bytes.
    pub fn has_photo(&self, sha256: &str) -> Result<bool, LocalError> {
        Ok(self.photos.contains_key(sha256))
    }

    /// Every photo whose bytes the phone holds (hex SHA-256).
    pub fn held_photos(&self) -> Result<HashSet<String>, LocalError> {
        Ok(self.photos.keys().cloned().collect())
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::core::sqlite::MIGRATIONS;
    use baoxue_shared::author::Author;
    use baoxue_shared::ids::{DeviceId, RecordId, UserId};
    use chrono::Utc;
    use rusqlite::Connection;

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
            .engine
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
