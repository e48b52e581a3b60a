//! The embedded SQLite engine: one file in the data directory, WAL mode, one writer thread
//! that commits several pushes per transaction (group commit), a small pool of readers, and
//! WAL checkpoints on a background connection so writers never pay for them.
//!
//! Durability: `synchronous = FULL`, and a push is acknowledged only after the transaction that
//! holds it has committed. A job that fails rolls back to its own savepoint; the jobs committed
//! with it are unaffected.

pub mod schema;

use super::StoreError;
use super::sql::SqlStore;
use super::sql::db::{Db, Engine, Row, V};
use rusqlite::{Connection, OpenFlags};
use std::cell::RefCell;
use std::collections::HashMap;
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

/// The SQLite store: the engine-neutral store over this engine.
pub type SqliteStore = SqlStore<SqliteEngine>;

/// The SQLite engine.
pub struct SqliteEngine {
    path: PathBuf,
    writer: Mutex<Option<SyncSender<Box<dyn WriteJob>>>>,
    writer_thread: Mutex<Option<JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    stop_checkpoints: Arc<std::sync::atomic::AtomicBool>,
}

impl std::fmt::Debug for SqliteEngine {
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

impl SqlStore<SqliteEngine> {
    /// Open (creating if needed) `baoxue.sqlite3` in `data_dir`, migrating its schema.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        Ok(SqlStore::new(SqliteEngine::open(data_dir)?))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.engine.path
    }
}

impl SqliteEngine {
    fn open(data_dir: &Path) -> Result<Self, StoreError> {
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

    fn close(&self) {
        self.writer.lock().expect("writer lock").take();
        if let Some(h) = self.writer_thread.lock().expect("thread lock").take() {
            let _ = h.join();
        }
        self.stop_checkpoints
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Run `work` in the writer's transaction and wait until it has committed.
    fn write_conn<T, F>(&self, work: F) -> Result<T, StoreError>
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
    fn read_conn<T>(
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

impl Drop for SqliteEngine {
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
    // Immediate: the write lock is taken (waiting out another process's write, such as an admin
    // command's) before the first read. A deferred transaction that reads and then writes fails
    // at once with "database is locked" when another process wrote in between.
    let mut tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(|e| e.to_string())?;
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

impl Engine for SqliteEngine {
    fn read<T: Send>(
        &self,
        work: impl FnOnce(&dyn Db) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        self.read_conn(|c| work(&Sqlite(c)))
    }
    fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&dyn Db) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.write_conn(move |c| work(&Sqlite(c)))
    }
    /// Finish queued writes and stop the writer.
    fn close(&self) {
        SqliteEngine::close(self)
    }
}

/// A connection as the engine-neutral queries see it.
struct Sqlite<'a>(&'a Connection);

thread_local! {
    /// Each statement's SQLite spelling, made once per thread.
    static SPELLED: RefCell<HashMap<String, std::rc::Rc<str>>> = RefCell::new(HashMap::new());
}

/// PostgreSQL's `$n` becomes `?n`; `= ANY($n)` becomes `IN rarray(?n)` and `<> ALL($n)`
/// becomes `NOT IN rarray(?n)` (the carray extension reads a list parameter as a table).
fn spell(sql: &str) -> std::rc::Rc<str> {
    SPELLED.with(|cache| {
        if let Some(s) = cache.borrow().get(sql) {
            return s.clone();
        }
        let out: std::rc::Rc<str> = sqlite_dialect(sql).into();
        if sql.len() > 4096 {
            // A multi-row insert: its shape varies with the batch; not worth keeping.
            return out;
        }
        let mut cache = cache.borrow_mut();
        if cache.len() > 4096 {
            // Statements built with varying filters; keep the cache bounded.
            cache.clear();
        }
        cache.insert(sql.to_string(), out.clone());
        out
    })
}

fn sqlite_dialect(sql: &str) -> String {
    let s = sql
        .replace("= ANY($", " IN rarray($")
        .replace("<> ALL($", " NOT IN rarray($");
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch == '$' && chars.peek().is_some_and(|c| c.is_ascii_digit()) {
            out.push('?');
        } else {
            out.push(ch);
        }
    }
    out
}

impl rusqlite::ToSql for V {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value, ValueRef};
        Ok(match self {
            V::Null => ToSqlOutput::Owned(Value::Null),
            V::Int(i) => ToSqlOutput::Owned(Value::Integer(*i)),
            V::Real(f) => ToSqlOutput::Owned(Value::Real(*f)),
            V::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            V::Blob(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
            // What `rusqlite::vtab::array::Array` binds: a pointer of type "rarray".
            V::List(items) => ToSqlOutput::from_rc(
                std::rc::Rc::new(
                    items
                        .iter()
                        .map(|i| Value::Text(i.clone()))
                        .collect::<Vec<Value>>(),
                ),
                c"rarray",
            ),
        })
    }
}

fn value(v: rusqlite::types::ValueRef<'_>) -> Result<V, StoreError> {
    use rusqlite::types::ValueRef;
    Ok(match v {
        ValueRef::Null => V::Null,
        ValueRef::Integer(i) => V::Int(i),
        ValueRef::Real(f) => V::Real(f),
        ValueRef::Text(t) => V::Text(
            std::str::from_utf8(t)
                .map_err(|e| StoreError::Corrupt(format!("text column: {e}")))?
                .to_string(),
        ),
        ValueRef::Blob(b) => V::Blob(b.to_vec()),
    })
}

impl Sqlite<'_> {
    fn prepared(
        &self,
        sql: &str,
        params: &[V],
    ) -> Result<rusqlite::CachedStatement<'_>, StoreError> {
        let mut st = self.0.prepare_cached(&spell(sql))?;
        for (i, v) in params.iter().enumerate() {
            st.raw_bind_parameter(i + 1, v)?;
        }
        Ok(st)
    }
}

impl Db for Sqlite<'_> {
    fn each(
        &self,
        sql: &str,
        params: &[V],
        f: &mut dyn FnMut(Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut st = self.prepared(sql, params)?;
        let n = st.column_count();
        let mut rows = st.raw_query();
        while let Some(r) = rows.next()? {
            let mut row = Vec::with_capacity(n);
            for i in 0..n {
                row.push(value(r.get_ref(i)?)?);
            }
            f(Row(row))?;
        }
        Ok(())
    }
    fn execute(&self, sql: &str, params: &[V]) -> Result<u64, StoreError> {
        let mut st = self.prepared(sql, params)?;
        Ok(st.raw_execute()? as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shared_dialect_is_spelled_for_sqlite() {
        assert_eq!(
            sqlite_dialect("SELECT a FROM t WHERE id = ANY($1) AND b <> ALL($2) AND c = $10"),
            "SELECT a FROM t WHERE id  IN rarray(?1) AND b  NOT IN rarray(?2) AND c = ?10"
        );
        // A dollar sign inside a literal that is not a parameter stays.
        assert_eq!(sqlite_dialect("SELECT '$x'"), "SELECT '$x'");
    }

    /// A write that reads before it writes, while another process (an admin command, a second
    /// server) writes to the same file: both land, one after the other.
    #[test]
    fn a_write_that_reads_first_waits_for_another_process_instead_of_failing() {
        let dir = tempfile::tempdir().unwrap();
        let server = SqliteEngine::open(dir.path()).unwrap();
        let admin = SqliteEngine::open(dir.path()).unwrap();
        let (go, ready) = std::sync::mpsc::channel();
        let other = std::thread::spawn(move || {
            ready.recv().unwrap();
            let r = admin.write(|c| {
                c.execute(
                    "INSERT INTO rm_cursor(name, value) VALUES ('admin', 1)",
                    &[],
                )?;
                Ok(())
            });
            admin.close();
            r
        });
        let mine = server.write(move |c| {
            c.query("SELECT count(*) FROM rm_cursor", &[])?;
            go.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(300));
            c.execute(
                "INSERT INTO rm_cursor(name, value) VALUES ('server', 1)",
                &[],
            )?;
            Ok(())
        });
        assert!(mine.is_ok(), "{mine:?}");
        let theirs = other.join().unwrap();
        assert!(theirs.is_ok(), "{theirs:?}");
        let n = server
            .read(|c| c.one("SELECT count(*) FROM rm_cursor", &[])?.int(0))
            .unwrap();
        assert_eq!(n, 2);
        server.close();
    }
}
