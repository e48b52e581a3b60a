//! The PostgreSQL engine, for a province: several `baoxue-server` processes over one database.
//!
//! Every write transaction first takes one transaction-level advisory lock, so writes from all
//! processes run one at a time, as SQLite's single writer runs them: the server sequence is
//! handed out in commit order (a pull's cursor never steps over an op that commits later), each
//! student's hash chain grows one link at a time, and the counters and the access log's chain
//! stay whole. Reads run in parallel on pooled connections, each statement on its own snapshot
//! (as SQLite's readers run).
//!
//! The synchronous client runs its own small runtime per connection, which may not start inside
//! an async task: the server calls the store from blocking threads (`AppState::blocking`), and
//! `off_async` moves any other call to a thread of its own.

pub mod schema;

use super::StoreError;
use super::sql::SqlStore;
use super::sql::db::{Db, Engine, Row, V};
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use postgres::{Client, GenericClient, NoTls, Statement};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Mutex;

/// The PostgreSQL store: the engine-neutral store over this engine.
pub type PostgresStore = SqlStore<PostgresEngine>;

/// The advisory lock every write transaction holds.
const WRITE_LOCK: i64 = 0x4241_4F58_5545_0002;

/// The advisory lock a catch-up of the read models holds (`Store::one_catch_up_at_a_time`).
const CATCH_UP_LOCK: i64 = 0x4241_4F58_5545_0003;

/// Connections kept open for reuse.
const POOL_MAX: usize = 16;

/// A connection with its prepared statements.
struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
}

/// The PostgreSQL engine: where to connect, and the connections kept open.
pub struct PostgresEngine {
    config: postgres::Config,
    /// Shown in logs and errors without its password.
    shown: String,
    pool: Mutex<Vec<Conn>>,
}

impl std::fmt::Debug for PostgresEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &self.shown)
            .finish()
    }
}

/// PostgreSQL's errors stay inside this engine; a database error keeps its message.
pub(crate) fn pg_error(e: postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(db) => StoreError::Database(format!("{}: {}", db.code().code(), db.message())),
        None => StoreError::Database(e.to_string()),
    }
}

impl SqlStore<PostgresEngine> {
    /// Connect to `url` (`postgres://user:password@host/database`), migrating its schema.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        let config: postgres::Config = url
            .parse()
            .map_err(|e| StoreError::Database(format!("the database address is not valid: {e}")))?;
        let shown = format!(
            "postgres://{}@{:?}/{}",
            config.get_user().unwrap_or(""),
            config.get_hosts(),
            config.get_dbname().unwrap_or("")
        );
        let engine = PostgresEngine {
            config,
            shown,
            pool: Mutex::new(Vec::new()),
        };
        off_async(|| {
            let mut first = engine.open()?;
            schema::migrate(&mut first.client)?;
            engine.give_back(first);
            Ok::<_, StoreError>(())
        })?;
        Ok(SqlStore::new(engine))
    }

    /// Drop every table this build made (for tests that start from an empty database).
    pub fn wipe(url: &str) -> Result<(), StoreError> {
        off_async(|| {
            let mut c = Client::connect(url, NoTls).map_err(pg_error)?;
            c.batch_execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
                .map_err(pg_error)
        })
    }
}

impl PostgresEngine {
    fn open(&self) -> Result<Conn, StoreError> {
        let mut client = self
            .config
            .connect(NoTls)
            .map_err(|e| StoreError::Database(format!("cannot connect to {}: {e}", self.shown)))?;
        // A statement is prepared once per connection and kept; left to itself PostgreSQL
        // settles on one generic plan after five runs, and one chosen while a table was nearly
        // empty (the start of a rebuild) scanned it whole for every `= ANY(list)` from then on:
        // planned per run instead, with the list and the table as they are.
        client
            .batch_execute("SET plan_cache_mode = force_custom_plan")
            .map_err(pg_error)?;
        Ok(Conn {
            client,
            statements: HashMap::new(),
        })
    }

    fn take(&self) -> Result<Conn, StoreError> {
        let kept = self.pool.lock().expect("connection pool").pop();
        match kept {
            Some(c) if !c.client.is_closed() => Ok(c),
            _ => self.open(),
        }
    }

    fn give_back(&self, conn: Conn) {
        if conn.client.is_closed() {
            return;
        }
        let mut pool = self.pool.lock().expect("connection pool");
        if pool.len() < POOL_MAX {
            pool.push(conn);
        }
    }
}

/// Run `f` where the synchronous client may block: on this thread, or — when this thread is
/// inside an async runtime, where the client's own runtime may not start (a test's body, a
/// tool that calls the store directly) — on a thread of its own.
fn off_async<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    if tokio::runtime::Handle::try_current().is_err() {
        return f();
    }
    std::thread::scope(|s| match s.spawn(f).join() {
        Ok(v) => v,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

impl Engine for PostgresEngine {
    fn read<T: Send>(
        &self,
        work: impl FnOnce(&dyn Db) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError> {
        off_async(|| self.read_here(work))
    }

    fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&dyn Db) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        off_async(|| self.write_here(work))
    }

    fn close(&self) {
        PostgresEngine::close(self)
    }

    fn exclusively(
        &self,
        work: &mut dyn FnMut() -> Result<usize, StoreError>,
    ) -> Result<usize, StoreError> {
        // A session lock on a connection of its own, held while `work` uses others; if this
        // process dies, PostgreSQL drops the connection and the lock with it.
        let mut holder = off_async(|| {
            let mut c = self.take()?;
            c.client
                .execute("SELECT pg_advisory_lock($1)", &[&CATCH_UP_LOCK])
                .map_err(pg_error)?;
            Ok::<_, StoreError>(c)
        })?;
        let out = work();
        let unlocked = off_async(|| {
            holder
                .client
                .execute("SELECT pg_advisory_unlock($1)", &[&CATCH_UP_LOCK])
                .map_err(pg_error)
        });
        off_async(|| self.give_back(holder));
        let out = out?;
        unlocked?;
        Ok(out)
    }
}

impl Drop for PostgresEngine {
    fn drop(&mut self) {
        self.close();
    }
}

impl PostgresEngine {
    /// Close the kept connections (the client says goodbye, which blocks).
    fn close(&self) {
        let kept = std::mem::take(&mut *self.pool.lock().expect("connection pool"));
        off_async(move || drop(kept));
    }

    fn read_here<T>(
        &self,
        work: impl FnOnce(&dyn Db) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.take()?;
        let out = {
            let Conn { client, statements } = &mut conn;
            // Each statement its own snapshot, as SQLite's readers run: a BEGIN and a COMMIT
            // around every read were two more round trips for each (a rebuild makes ~34,000).
            let pg = Pg {
                tx: RefCell::new(client),
                statements: RefCell::new(statements),
            };
            work(&pg)
        };
        self.give_back(conn);
        out
    }

    fn write_here<T>(
        &self,
        work: impl FnOnce(&dyn Db) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.take()?;
        let out = {
            let Conn { client, statements } = &mut conn;
            let mut tx = client.transaction().map_err(pg_error)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
                .map_err(pg_error)?;
            let out = work(&Pg {
                tx: RefCell::new(&mut tx),
                statements: RefCell::new(statements),
            });
            match out {
                // Dropping the transaction rolls it back: nothing of a failed write is kept.
                Err(e) => {
                    drop(tx);
                    Err(e)
                }
                Ok(v) => tx.commit().map_err(pg_error).map(|()| v),
            }
        };
        self.give_back(conn);
        out
    }
}

/// The shared dialect is PostgreSQL's, but for one spelling: `x <> ALL($n)` becomes
/// `x NOT IN (SELECT unnest($n::text[]))`, which PostgreSQL answers with a hash of the list
/// instead of comparing every row with every element (the read models exclude the ~1,000
/// visits a step recomputes; compared one by one that was most of a rebuild).
fn pg_dialect(sql: &str) -> String {
    const ALL: &str = "<> ALL($";
    let mut out = String::with_capacity(sql.len() + 32);
    let mut rest = sql;
    while let Some(i) = rest.find(ALL) {
        out.push_str(&rest[..i]);
        let after = &rest[i + ALL.len()..];
        let digits = after.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 && after[digits..].starts_with(')') {
            out.push_str(&format!(
                "NOT IN (SELECT unnest(${}::text[]))",
                &after[..digits]
            ));
            rest = &after[digits + 1..];
        } else {
            out.push_str(ALL);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// A connection (reads) or a transaction (writes) as the engine-neutral queries see it.
struct Pg<'a, C: GenericClient> {
    tx: RefCell<&'a mut C>,
    statements: RefCell<&'a mut HashMap<String, Statement>>,
}

impl<C: GenericClient> Pg<'_, C> {
    fn statement(&self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let st = self
            .tx
            .borrow_mut()
            .prepare(&pg_dialect(sql))
            .map_err(pg_error)?;
        if sql.len() > 4096 {
            // A multi-row insert: its shape varies with the batch; not worth keeping.
            return Ok(st);
        }
        let mut cache = self.statements.borrow_mut();
        if cache.len() > 1024 {
            // Statements built with varying filters; keep the cache bounded.
            cache.clear();
        }
        cache.insert(sql.to_string(), st.clone());
        Ok(st)
    }
}

impl<C: GenericClient> Db for Pg<'_, C> {
    fn each(
        &self,
        sql: &str,
        params: &[V],
        f: &mut dyn FnMut(Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let st = self.statement(sql)?;
        let mut tx = self.tx.borrow_mut();
        let mut rows = tx
            .query_raw(&st, params.iter().map(|p| p as &dyn ToSql))
            .map_err(pg_error)?;
        while let Some(r) = rows.next().map_err(pg_error)? {
            let mut row = Vec::with_capacity(r.len());
            for (i, col) in r.columns().iter().enumerate() {
                row.push(value(&r, i, col.type_())?);
            }
            f(Row(row))?;
        }
        Ok(())
    }

    fn empty(&self, table: &str) -> Result<(), StoreError> {
        // Not DELETE: a rebuild would leave every row dead in the table and its indexes until
        // autovacuum came, and the rebuild's own lookups would wade through them.
        self.tx
            .borrow_mut()
            .batch_execute(&format!("TRUNCATE {table}"))
            .map_err(pg_error)
    }

    fn execute(&self, sql: &str, params: &[V]) -> Result<u64, StoreError> {
        let st = self.statement(sql)?;
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as _).collect();
        self.tx.borrow_mut().execute(&st, &refs).map_err(pg_error)
    }
}

fn value(r: &postgres::Row, i: usize, ty: &Type) -> Result<V, StoreError> {
    let bad = |e: postgres::Error| StoreError::Corrupt(format!("column {i}: {e}"));
    Ok(match *ty {
        Type::INT8 => r.try_get::<_, Option<i64>>(i).map_err(bad)?.map(V::Int),
        Type::INT4 => r
            .try_get::<_, Option<i32>>(i)
            .map_err(bad)?
            .map(|n| V::Int(n.into())),
        Type::INT2 => r
            .try_get::<_, Option<i16>>(i)
            .map_err(bad)?
            .map(|n| V::Int(n.into())),
        Type::BOOL => r
            .try_get::<_, Option<bool>>(i)
            .map_err(bad)?
            .map(|b| V::Int(b.into())),
        Type::FLOAT8 => r.try_get::<_, Option<f64>>(i).map_err(bad)?.map(V::Real),
        Type::FLOAT4 => r
            .try_get::<_, Option<f32>>(i)
            .map_err(bad)?
            .map(|f| V::Real(f.into())),
        Type::BYTEA => r
            .try_get::<_, Option<Vec<u8>>>(i)
            .map_err(bad)?
            .map(V::Blob),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
            r.try_get::<_, Option<String>>(i).map_err(bad)?.map(V::Text)
        }
        ref other => {
            return Err(StoreError::Corrupt(format!(
                "column {i} has a type this store does not read: {other}"
            )));
        }
    }
    .unwrap_or(V::Null))
}

impl ToSql for V {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            V::Null => Ok(IsNull::Yes),
            V::Int(n) => match *ty {
                Type::INT8 => n.to_sql(ty, out),
                Type::INT4 => i32::try_from(*n)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*n)?.to_sql(ty, out),
                Type::BOOL => (*n != 0).to_sql(ty, out),
                Type::FLOAT8 => (*n as f64).to_sql(ty, out),
                _ => Err(format!("an integer given for a {ty} parameter").into()),
            },
            V::Real(f) => match *ty {
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                _ => f.to_sql(ty, out),
            },
            V::Text(s) => s.as_str().to_sql(ty, out),
            V::Blob(b) => b.as_slice().to_sql(ty, out),
            V::List(items) => items.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Each value is written in the type the statement declares (checked in `to_sql`).
        true
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exclusion_list_is_spelled_as_a_hashed_subquery() {
        assert_eq!(
            pg_dialect("SELECT r FROM t WHERE a = ANY($1) AND r <> ALL($12) LIMIT 1"),
            "SELECT r FROM t WHERE a = ANY($1) AND r NOT IN (SELECT unnest($12::text[])) LIMIT 1"
        );
        assert_eq!(pg_dialect("SELECT 1"), "SELECT 1");
    }
}
