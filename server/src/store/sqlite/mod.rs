//! The embedded SQLite engine: one file in the data directory, WAL mode, one writer thread
//! that commits several pushes per transaction (group commit), a small pool of readers, and
//! WAL checkpoints on a background connection so writers never pay for them.
//!
//! Durability: `synchronous = FULL`, and a push is acknowledged only after the transaction that
//! holds it has committed. A job that fails rolls back to its own savepoint; the jobs committed
//! with it are unaffected.

mod access;
mod accounts;
mod log;
mod photos;
mod read_model;
pub mod schema;

use super::*;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How many queued write jobs one transaction may take.
const GROUP_MAX: usize = 64;

trait WriteJob: Send {
    /// Run inside a savepoint; `true` keeps its changes.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Deliver the result once the transaction's fate is known.
    fn finish(self: Box<Self>, committed: Result<(), String>);
}

struct Job<T, F> {
    work: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: SyncSender<Result<T, StoreError>>,
}

impl<T: Send, F: FnOnce(&Connection) -> Result<T, StoreError> + Send> WriteJob for Job<T, F> {
    fn run(&mut self, conn: &Connection) -> bool {
        let work = self.work.take().expect("a job runs once");
        let r = work(conn);
        let ok = r.is_ok();
        self.result = Some(r);
        ok
    }

    fn finish(self: Box<Self>, committed: Result<(), String>) {
        let out = match (self.result, committed) {
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(v)), Ok(())) => Ok(v),
            (_, Err(e)) => Err(StoreError::Corrupt(format!("commit failed: {e}"))),
            (None, Ok(())) => Err(StoreError::ShuttingDown),
        };
        // The caller may have gone away (request cancelled); the data is committed regardless.
        let _ = self.reply.send(out);
    }
}

/// The SQLite store.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Option<SyncSender<Box<dyn WriteJob>>>>,
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    stop_checkpoints: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

fn open_conn(path: &Path) -> Result<Connection, StoreError> {
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    c.busy_timeout(Duration::from_secs(10))?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", "FULL")?;
    c.pragma_update(None, "foreign_keys", "ON")?;
    rusqlite::vtab::array::load_module(&c)?;
    Ok(c)
}

impl SqliteStore {
    /// Open (creating if needed) `baoxue.sqlite3` in `data_dir`, migrating its schema.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join("baoxue.sqlite3");
        let mut writer_conn = open_conn(&path)?;
        schema::migrate(&mut writer_conn)?;
        // Checkpoints happen on their own connection, not in the writer's commit path.
        writer_conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        let (tx, rx) = sync_channel::<Box<dyn WriteJob>>(1024);
        let writer_thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(writer_conn, rx))?;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = stop.clone();
        let cp_path = path.clone();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                let c = match open_conn(&cp_path) {
                    Ok(c) => c,
                    Err(e) => {
                        // The writer still works; the WAL just grows until the next start.
                        tracing::error!(error = %e, "cannot open the checkpoint connection");
                        return;
                    }
                };
                while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(500));
                    if let Err(e) = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                        tracing::warn!(error = %e, "WAL checkpoint failed");
                    }
                }
            })?;
        Ok(Self {
            path,
            writer: Mutex::new(Some(tx)),
            writer_thread: Mutex::new(Some(writer_thread)),
            readers: Mutex::new(Vec::new()),
            stop_checkpoints: stop,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Finish queued writes and stop the writer. Later writes fail with `ShuttingDown`.
    pub fn close(&self) {
        self.writer.lock().expect("writer lock").take();
        if let Some(h) = self.writer_thread.lock().expect("thread lock").take() {
            let _ = h.join();
        }
        self.stop_checkpoints
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Run `work` in the writer's transaction and wait until it has committed.
    fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, wait) = sync_channel(1);
        let job: Box<dyn WriteJob> = Box::new(Job {
            work: Some(work),
            result: None,
            reply,
        });
        let sender = self
            .writer
            .lock()
            .expect("writer lock")
            .clone()
            .ok_or(StoreError::ShuttingDown)?;
        sender.send(job).map_err(|_| StoreError::ShuttingDown)?;
        wait.recv().map_err(|_| StoreError::ShuttingDown)?
    }

    /// Run `work` on a pooled read connection.
    fn read<T>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.readers.lock().expect("reader pool").pop();
        let conn = match conn {
            Some(c) => c,
            None => open_conn(&self.path)?,
        };
        let out = work(&conn);
        let mut pool = self.readers.lock().expect("reader pool");
        if pool.len() < 8 {
            pool.push(conn);
        }
        out
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

fn writer_loop(mut conn: Connection, rx: Receiver<Box<dyn WriteJob>>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < GROUP_MAX {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let committed = run_group(&mut conn, &mut jobs);
        if let Err(e) = &committed {
            tracing::error!(error = %e, jobs = jobs.len(), "group commit failed");
        }
        for j in jobs {
            j.finish(committed.clone());
        }
    }
    tracing::info!("sqlite writer stopped");
}

fn run_group(conn: &mut Connection, jobs: &mut [Box<dyn WriteJob>]) -> Result<(), String> {
    let mut tx = conn.transaction().map_err(|e| e.to_string())?;
    for job in jobs.iter_mut() {
        let sp = tx.savepoint().map_err(|e| e.to_string())?;
        if job.run(&sp) {
            sp.commit().map_err(|e| e.to_string())?;
        }
        // A failed job's savepoint rolls back when dropped.
    }
    tx.commit().map_err(|e| e.to_string())
}

/// SQLite's errors stay inside this engine: the trait speaks only `StoreError`.
impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(e.to_string())
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn parse_id<T: std::str::FromStr>(s: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| corrupt("id", e))
}

fn parse_time(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt("time", e))
}

fn next_counter(conn: &Connection, name: &str) -> Result<i64, StoreError> {
    conn.execute(
        "INSERT INTO counters(name, value) VALUES (?1, 1)
         ON CONFLICT(name) DO UPDATE SET value = value + 1",
        [name],
    )?;
    Ok(
        conn.query_row("SELECT value FROM counters WHERE name = ?1", [name], |r| {
            r.get(0)
        })?,
    )
}

fn ids_array<T: ToString>(
    ids: impl IntoIterator<Item = T>,
) -> std::rc::Rc<Vec<rusqlite::types::Value>> {
    std::rc::Rc::new(
        ids.into_iter()
            .map(|i| rusqlite::types::Value::Text(i.to_string()))
            .collect(),
    )
}

impl Store for SqliteStore {
    fn add_account(&self, user: &User, password_hash: &str) -> Result<(), StoreError> {
        let (user, hash) = (user.clone(), password_hash.to_string());
        self.write(move |c| accounts::add(c, &user, &hash))
    }
    fn account(&self, account: &str) -> Result<Option<Account>, StoreError> {
        self.read(|c| accounts::by_account(c, account))
    }
    fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.read(|c| accounts::by_id(c, id))
    }
    fn users(&self) -> Result<Vec<User>, StoreError> {
        self.read(accounts::all)
    }
    fn set_password(&self, account: &str, password_hash: &str) -> Result<(), StoreError> {
        let (account, hash) = (account.to_string(), password_hash.to_string());
        self.write(move |c| accounts::set_password(c, &account, &hash))
    }
    fn assign(&self, user: UserId, assignment: &Assignment) -> Result<(), StoreError> {
        let a = assignment.clone();
        self.write(move |c| accounts::assign(c, user, &a))
    }
    fn unassign(&self, user: UserId, assignment: &Assignment) -> Result<(), StoreError> {
        let a = assignment.clone();
        self.write(move |c| accounts::unassign(c, user, &a))
    }
    fn save_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let t = token.clone();
        self.write(move |c| accounts::save_token(c, &t))
    }
    fn session(
        &self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        self.read(|c| accounts::session(c, token_hash, now))
    }
    fn revoke_token(&self, token_hash: &[u8; 32], now: DateTime<Utc>) -> Result<bool, StoreError> {
        let h = *token_hash;
        self.write(move |c| accounts::revoke(c, &h, now))
    }
    fn note_login_failure(&self, key: &ThrottleKey, at: DateTime<Utc>) -> Result<(), StoreError> {
        let k = key.0;
        self.write(move |c| {
            c.execute(
                "INSERT INTO login_failures(key, at) VALUES (?1, ?2)",
                (&k[..], at.to_rfc3339()),
            )?;
            Ok(())
        })
    }
    fn login_failures_since(
        &self,
        key: &ThrottleKey,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM login_failures WHERE key = ?1 AND at >= ?2",
                (&key.0[..], since.to_rfc3339()),
                |r| r.get(0),
            )?)
        })
    }
    fn clear_login_failures(&self, key: &ThrottleKey) -> Result<(), StoreError> {
        let k = key.0;
        self.write(move |c| {
            c.execute("DELETE FROM login_failures WHERE key = ?1", [&k[..]])?;
            Ok(())
        })
    }
    fn secret(&self, name: &'static str) -> Result<[u8; 32], StoreError> {
        let held = move |c: &Connection| -> Result<Option<Vec<u8>>, StoreError> {
            Ok(
                c.query_row("SELECT value FROM secrets WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .optional()?,
            )
        };
        let value = match self.read(held)? {
            Some(v) => v,
            None => {
                let mut fresh = [0u8; 32];
                getrandom::fill(&mut fresh).map_err(|e| StoreError::NoRandomness(e.to_string()))?;
                self.write(move |c| {
                    // Two first logins at once: the first secret written is the one kept.
                    c.execute(
                        "INSERT OR IGNORE INTO secrets(name, value) VALUES (?1, ?2)",
                        (name, &fresh[..]),
                    )?;
                    held(c)?.ok_or_else(|| corrupt("secret", "vanished after insert"))
                })?
            }
        };
        value
            .try_into()
            .map_err(|_| corrupt("secret", "not 32 bytes"))
    }

    fn save_school(&self, school: &School) -> Result<(), StoreError> {
        let sc = school.clone();
        self.write(move |c| accounts::save_school(c, &sc))
    }
    fn schools(&self) -> Result<Vec<School>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT id, name, area FROM schools ORDER BY name")?;
            let rows = st.query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?;
            rows.map(|r| {
                let (id, name, area) = r?;
                Ok(School {
                    id: parse_id(&id)?,
                    name,
                    area: serde_json::from_str(&area).map_err(|e| corrupt("area", e))?,
                })
            })
            .collect()
        })
    }
    fn save_divisions(&self, divisions: &CountyDivisions) -> Result<(), StoreError> {
        let doc = serde_json::to_string(divisions).map_err(|e| corrupt("divisions", e))?;
        let county = divisions.county.name.clone();
        self.write(move |c| {
            c.execute(
                "INSERT INTO divisions(county, doc) VALUES (?1, ?2) ON CONFLICT(county) DO UPDATE SET doc = ?2",
                (county, doc),
            )?;
            Ok(())
        })
    }
    fn divisions(&self) -> Result<Vec<CountyDivisions>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT doc FROM divisions ORDER BY county")?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            rows.map(|r| serde_json::from_str(&r?).map_err(|e| corrupt("divisions", e)))
                .collect()
        })
    }
    fn has_accounts(&self) -> Result<bool, StoreError> {
        self.read(|c| Ok(c.query_row("SELECT EXISTS(SELECT 1 FROM users)", [], |r| r.get(0))?))
    }

    fn caseload(&self, user: &User) -> Result<Caseload, StoreError> {
        self.read(|c| log::caseload(c, user))
    }
    fn guardian_students(
        &self,
        guardians: &[GuardianId],
    ) -> Result<HashMap<GuardianId, StudentId>, StoreError> {
        self.read(|c| log::guardian_students(c, guardians))
    }
    fn household_students(
        &self,
        households: &[HouseholdId],
    ) -> Result<HashMap<HouseholdId, Vec<StudentId>>, StoreError> {
        self.read(|c| log::household_students(c, households))
    }
    fn student_households(
        &self,
        students: &[StudentId],
    ) -> Result<HashMap<StudentId, HouseholdId>, StoreError> {
        self.read(|c| log::student_households(c, students))
    }
    fn held_records(
        &self,
        records: &[RecordId],
    ) -> Result<HashMap<RecordId, HeldRecord>, StoreError> {
        self.read(|c| log::held_records(c, records))
    }
    fn ops_by_id(&self, ids: &[OpId]) -> Result<Vec<Op>, StoreError> {
        self.read(|c| log::ops_by_id(c, ids))
    }
    fn batch_receipt(
        &self,
        batch: BatchId,
        device: DeviceId,
    ) -> Result<Option<PushReceipt>, StoreError> {
        self.read(|c| log::batch_receipt(c, batch, device))
    }
    fn push(&self, batch: CheckedBatch, now: DateTime<Utc>) -> Result<PushReceipt, StoreError> {
        self.write(move |c| log::push(c, batch, now))
    }
    fn pull(
        &self,
        caseload: &Caseload,
        cursor: Cursor,
        limit: usize,
    ) -> Result<LogPage, StoreError> {
        self.read(|c| log::pull(c, caseload, cursor, limit))
    }
    fn ops_about_student(&self, student: StudentId) -> Result<Vec<Op>, StoreError> {
        self.read(|c| log::ops_about_student(c, student))
    }
    fn students_by_resident_id(
        &self,
        ids: &[baoxue_shared::resident_id::ResidentId],
    ) -> Result<HashMap<baoxue_shared::resident_id::ResidentId, StudentId>, StoreError> {
        self.read(|c| log::students_by_resident_id(c, ids))
    }
    fn all_student_ids(&self) -> Result<Vec<StudentId>, StoreError> {
        self.read(|c| {
            let mut st = c.prepare_cached("SELECT id FROM students ORDER BY name")?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            rows.map(|r| parse_id(&r?)).collect()
        })
    }
    fn student_rows(&self, ids: &HashSet<StudentId>) -> Result<Vec<StudentRow>, StoreError> {
        self.read(|c| log::student_rows(c, ids))
    }
    fn photos_present(&self, hashes: &[Sha256]) -> Result<HashSet<Sha256>, StoreError> {
        self.read(|c| photos::present(c, hashes))
    }
    fn photo(&self, sha256: &Sha256) -> Result<Option<PhotoMeta>, StoreError> {
        self.read(|c| photos::get(c, sha256))
    }
    fn photos_meta(&self, hashes: &[Sha256]) -> Result<HashMap<Sha256, PhotoMeta>, StoreError> {
        self.read(|c| {
            let mut out = HashMap::new();
            for h in hashes {
                if let Some(m) = photos::get(c, h)? {
                    out.insert(*h, m);
                }
            }
            Ok(out)
        })
    }
    fn file_report(&self, filing: &ReportFiling) -> Result<ReportFiling, StoreError> {
        let f = filing.clone();
        self.write(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO report_filings(scope, month, cut, filed_by, figures) VALUES (?1, ?2, ?3, ?4, ?5)",
                (&f.scope, &f.month, f.cut.to_rfc3339(), f.filed_by.to_string(), &f.figures),
            )?;
            report_filing(c, &f.scope, &f.month)?
                .ok_or_else(|| corrupt("report filing", "vanished after insert"))
        })
    }
    fn report_filing(&self, scope: &str, month: &str) -> Result<Option<ReportFiling>, StoreError> {
        self.read(|c| report_filing(c, scope, month))
    }
    fn photo_citations(&self, sha256: &Sha256) -> Result<Vec<Subjects>, StoreError> {
        self.read(|c| photos::citations(c, sha256))
    }
    fn save_photo(&self, meta: &PhotoMeta) -> Result<(), StoreError> {
        let m = meta.clone();
        self.write(move |c| photos::save(c, &m))
    }
    fn read_cursor(&self) -> Result<ReadCursor, StoreError> {
        self.read(read_model::cursor)
    }
    fn changes_after(&self, cursor: ReadCursor, limit: usize) -> Result<Changes, StoreError> {
        self.read(|c| read_model::changes_after(c, cursor, limit))
    }
    fn visit_rows(&self, records: &[RecordId]) -> Result<Vec<VisitRow>, StoreError> {
        self.read(|c| read_model::visit_rows(c, records))
    }
    fn photo_partners(
        &self,
        photos: &[Sha256],
        bands: &[(usize, i64)],
        except: &[RecordId],
    ) -> Result<Vec<RecordId>, StoreError> {
        self.read(|c| read_model::photo_partners(c, photos, bands, except))
    }
    fn travel_neighbours(
        &self,
        worker: UserId,
        at: DateTime<Utc>,
        record: RecordId,
        except: &[RecordId],
    ) -> Result<(Option<RecordId>, Option<RecordId>), StoreError> {
        self.read(|c| read_model::travel_neighbours(c, worker, at, record, except))
    }
    fn save_visit_rows(
        &self,
        rows: Vec<VisitRow>,
        gone: Vec<RecordId>,
        cursor: Option<ReadCursor>,
    ) -> Result<(), StoreError> {
        self.write(move |c| read_model::save_visit_rows(c, &rows, &gone, cursor))
    }
    fn clear_read_models(&self) -> Result<(), StoreError> {
        self.write(read_model::clear)
    }
    fn queue_page(&self, q: &QueuePageQuery) -> Result<QueuePage, StoreError> {
        self.read(|c| read_model::queue_page(c, q))
    }
    fn verify_chains(&self) -> Result<ChainReport, StoreError> {
        self.read(|c| {
            let mut report = log::verify_chains(c)?;
            let (entries, faults) = access::verify(c)?;
            report.access_entries = entries;
            report.access_faults = faults;
            Ok(report)
        })
    }
    fn log_access(&self, entry: &AccessEntry) -> Result<(), StoreError> {
        let e = entry.clone();
        self.write(move |c| access::append(c, &e))
    }
    fn access_log(
        &self,
        subject: Option<&str>,
        user: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<AccessEntry>, StoreError> {
        self.read(|c| access::list(c, subject, user, limit))
    }
}

fn report_filing(
    c: &Connection,
    scope: &str,
    month: &str,
) -> Result<Option<ReportFiling>, StoreError> {
    let row = c
        .query_row(
            "SELECT cut, filed_by, figures FROM report_filings WHERE scope = ?1 AND month = ?2",
            [scope, month],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )
        .optional()?;
    let Some((cut, by, figures)) = row else {
        return Ok(None);
    };
    Ok(Some(ReportFiling {
        scope: scope.to_string(),
        month: month.to_string(),
        cut: parse_time(&cut)?,
        filed_by: parse_id(&by)?,
        figures,
    }))
}
