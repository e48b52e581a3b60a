//! The one thing the engines differ in, narrowed to two calls: run a statement with parameters,
//! and look at the rows it gives. The statements are written once, in a dialect both engines
//! read: PostgreSQL's `$n` parameters and `= ANY($n)` / `<> ALL($n)` for a list, which the
//! SQLite engine rewrites to `?n` and `IN rarray(?n)` / `NOT IN rarray(?n)`.

use crate::store::StoreError;

/// A parameter or a column value.
#[derive(Debug, Clone, PartialEq)]
pub enum V {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
    /// A list of texts, for `= ANY($n)`.
    List(Vec<String>),
}

impl V {
    /// A list parameter from anything that prints.
    pub fn list<T: ToString>(items: impl IntoIterator<Item = T>) -> V {
        V::List(items.into_iter().map(|i| i.to_string()).collect())
    }
}

impl From<&str> for V {
    fn from(s: &str) -> Self {
        V::Text(s.to_string())
    }
}
impl From<String> for V {
    fn from(s: String) -> Self {
        V::Text(s)
    }
}
impl From<&String> for V {
    fn from(s: &String) -> Self {
        V::Text(s.clone())
    }
}
impl From<i64> for V {
    fn from(i: i64) -> Self {
        V::Int(i)
    }
}
impl From<bool> for V {
    fn from(b: bool) -> Self {
        V::Int(b as i64)
    }
}
impl From<f64> for V {
    fn from(f: f64) -> Self {
        V::Real(f)
    }
}
impl From<&[u8]> for V {
    fn from(b: &[u8]) -> Self {
        V::Blob(b.to_vec())
    }
}
impl From<Vec<u8>> for V {
    fn from(b: Vec<u8>) -> Self {
        V::Blob(b)
    }
}
impl<T: Into<V>> From<Option<T>> for V {
    fn from(o: Option<T>) -> Self {
        o.map_or(V::Null, Into::into)
    }
}

/// Parameters for a statement: `p![a, b]` is `&[V::from(a), V::from(b)]`.
macro_rules! p {
    ($($x:expr),* $(,)?) => { &[$($crate::store::sql::db::V::from($x)),*][..] };
}
pub(crate) use p;

/// One result row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row(pub Vec<V>);

fn wrong(i: usize, want: &str, got: &V) -> StoreError {
    StoreError::Corrupt(format!("column {i}: expected {want}, found {got:?}"))
}

impl Row {
    fn at(&self, i: usize) -> Result<&V, StoreError> {
        self.0
            .get(i)
            .ok_or_else(|| StoreError::Corrupt(format!("no column {i}")))
    }
    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        self.opt_text(i)?.ok_or_else(|| wrong(i, "text", &V::Null))
    }
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        match self.at(i)? {
            V::Null => Ok(None),
            V::Text(s) => Ok(Some(s.clone())),
            other => Err(wrong(i, "text", other)),
        }
    }
    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.opt_int(i)?
            .ok_or_else(|| wrong(i, "integer", &V::Null))
    }
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.at(i)? {
            V::Null => Ok(None),
            V::Int(n) => Ok(Some(*n)),
            other => Err(wrong(i, "integer", other)),
        }
    }
    pub fn flag(&self, i: usize) -> Result<bool, StoreError> {
        Ok(self.int(i)? != 0)
    }
    pub fn opt_real(&self, i: usize) -> Result<Option<f64>, StoreError> {
        match self.at(i)? {
            V::Null => Ok(None),
            V::Real(f) => Ok(Some(*f)),
            V::Int(n) => Ok(Some(*n as f64)),
            other => Err(wrong(i, "number", other)),
        }
    }
    pub fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        match self.at(i)? {
            V::Blob(b) => Ok(b.clone()),
            other => Err(wrong(i, "bytes", other)),
        }
    }
    /// Move a text column out (large bodies are not copied).
    pub fn take_text(&mut self, i: usize) -> Result<String, StoreError> {
        match self.0.get_mut(i).map(|v| std::mem::replace(v, V::Null)) {
            Some(V::Text(s)) => Ok(s),
            Some(other) => Err(wrong(i, "text", &other)),
            None => Err(StoreError::Corrupt(format!("no column {i}"))),
        }
    }
}

/// A connection inside a transaction (writes) or a consistent read.
pub trait Db {
    /// Run a query and hand each row to `f`, as it comes.
    fn each(
        &self,
        sql: &str,
        params: &[V],
        f: &mut dyn FnMut(Row) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// Run a statement; the number of rows it changed.
    fn execute(&self, sql: &str, params: &[V]) -> Result<u64, StoreError>;
    /// Empty a table (`table` is this crate's own name, never input).
    fn empty(&self, table: &str) -> Result<(), StoreError> {
        self.execute(&format!("DELETE FROM {table}"), &[])
            .map(|_| ())
    }
}

impl dyn Db + '_ {
    /// Every row of a query.
    pub fn query(&self, sql: &str, params: &[V]) -> Result<Vec<Row>, StoreError> {
        let mut out = Vec::new();
        self.each(sql, params, &mut |r| {
            out.push(r);
            Ok(())
        })?;
        Ok(out)
    }
    /// The first row, if any.
    pub fn query_opt(&self, sql: &str, params: &[V]) -> Result<Option<Row>, StoreError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
    /// The one row a query must give (an aggregate).
    pub fn one(&self, sql: &str, params: &[V]) -> Result<Row, StoreError> {
        self.query_opt(sql, params)?
            .ok_or_else(|| StoreError::Corrupt(format!("no row from {sql}")))
    }
}

/// Where the engines run work: reads on a connection of their own, writes in a transaction
/// that commits before `write` returns.
pub trait Engine: Send + Sync + 'static {
    fn read<T: Send>(
        &self,
        work: impl FnOnce(&dyn Db) -> Result<T, StoreError> + Send,
    ) -> Result<T, StoreError>;
    fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&dyn Db) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError>;
    /// Finish queued writes; later writes fail.
    fn close(&self) {}
    /// Run `work` while no other process using this database runs work through here. One
    /// process owns an SQLite file, so by default this only runs `work`.
    fn exclusively(
        &self,
        work: &mut dyn FnMut() -> Result<usize, StoreError>,
    ) -> Result<usize, StoreError> {
        work()
    }
}
