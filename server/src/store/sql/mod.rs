//! The store written once, over any SQL engine: every query and every rule of how rows are kept
//! lives here, and each engine (`super::sqlite`, `super::postgres`) supplies only connections,
//! transactions and its schema ([`db::Engine`], [`db::Db`]). So the two engines cannot drift
//! apart in what they keep, and the same contract tests hold both.

mod access;
mod accounts;
pub mod db;
mod log;
mod photos;
mod read_model;
mod report_rows;
mod summaries;

use super::*;
use db::{Db, Engine, Row, V, p};

/// A [`Store`] over an engine.
pub struct SqlStore<E> {
    pub(crate) engine: E,
}

impl<E> SqlStore<E> {
    pub fn new(engine: E) -> Self {
        Self { engine }
    }
}

impl<E: std::fmt::Debug> std::fmt::Debug for SqlStore<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.engine.fmt(f)
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

fn next_counter(c: &dyn Db, name: &str) -> Result<i64, StoreError> {
    c.execute(
        "INSERT INTO counters(name, value) VALUES ($1, 1)
         ON CONFLICT(name) DO UPDATE SET value = counters.value + 1",
        p![name],
    )?;
    c.one("SELECT value FROM counters WHERE name = $1", p![name])?
        .int(0)
}

impl<E: Engine> Store for SqlStore<E> {
    fn close(&self) {
        self.engine.close()
    }
    fn add_account(&self, user: &User, password_hash: &str) -> Result<(), StoreError> {
        let (user, hash) = (user.clone(), password_hash.to_string());
        self.engine.write(move |c| accounts::add(c, &user, &hash))
    }
    fn account(&self, account: &str) -> Result<Option<Account>, StoreError> {
        self.engine.read(|c| accounts::by_account(c, account))
    }
    fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.engine.read(|c| accounts::by_id(c, id))
    }
    fn users(&self) -> Result<Vec<User>, StoreError> {
        self.engine.read(accounts::all)
    }
    fn set_password(&self, account: &str, password_hash: &str) -> Result<(), StoreError> {
        let (account, hash) = (account.to_string(), password_hash.to_string());
        self.engine
            .write(move |c| accounts::set_password(c, &account, &hash))
    }
    fn assign(&self, user: UserId, assignment: &Assignment) -> Result<(), StoreError> {
        let a = assignment.clone();
        self.engine.write(move |c| accounts::assign(c, user, &a))
    }
    fn unassign(&self, user: UserId, assignment: &Assignment) -> Result<(), StoreError> {
        let a = assignment.clone();
        self.engine.write(move |c| accounts::unassign(c, user, &a))
    }
    fn save_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        let t = token.clone();
        self.engine.write(move |c| accounts::save_token(c, &t))
    }
    fn session(
        &self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError> {
        self.engine.read(|c| accounts::session(c, token_hash, now))
    }
    fn revoke_token(&self, token_hash: &[u8; 32], now: DateTime<Utc>) -> Result<bool, StoreError> {
        let h = *token_hash;
        self.engine.write(move |c| accounts::revoke(c, &h, now))
    }
    fn note_login_failure(&self, key: &ThrottleKey, at: DateTime<Utc>) -> Result<(), StoreError> {
        let k = key.0;
        self.engine.write(move |c| {
            c.execute(
                "INSERT INTO login_failures(key, at) VALUES ($1, $2)",
                p![&k[..], at.to_rfc3339()],
            )?;
            Ok(())
        })
    }
    fn login_failures_since(
        &self,
        key: &ThrottleKey,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        self.engine.read(|c| {
            let n = c
                .one(
                    "SELECT count(*) FROM login_failures WHERE key = $1 AND at >= $2",
                    p![&key.0[..], since.to_rfc3339()],
                )?
                .int(0)?;
            Ok(n as u32)
        })
    }
    fn clear_login_failures(&self, key: &ThrottleKey) -> Result<(), StoreError> {
        let k = key.0;
        self.engine.write(move |c| {
            c.execute("DELETE FROM login_failures WHERE key = $1", p![&k[..]])?;
            Ok(())
        })
    }
    fn secret(&self, name: &'static str) -> Result<[u8; 32], StoreError> {
        let held = move |c: &dyn Db| -> Result<Option<Vec<u8>>, StoreError> {
            c.query_opt("SELECT value FROM secrets WHERE name = $1", p![name])?
                .map(|r| r.blob(0))
                .transpose()
        };
        let value = match self.engine.read(held)? {
            Some(v) => v,
            None => {
                let mut fresh = [0u8; 32];
                getrandom::fill(&mut fresh).map_err(|e| StoreError::NoRandomness(e.to_string()))?;
                self.engine.write(move |c| {
                    // Two first logins at once (or two servers): the first secret written is kept.
                    c.execute(
                        "INSERT INTO secrets(name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        p![name, &fresh[..]],
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
        self.engine.write(move |c| accounts::save_school(c, &sc))
    }
    fn schools(&self) -> Result<Vec<School>, StoreError> {
        self.engine.read(|c| {
            c.query("SELECT id, name, area FROM schools ORDER BY name", p![])?
                .into_iter()
                .map(|r| {
                    Ok(School {
                        id: parse_id(&r.text(0)?)?,
                        name: r.text(1)?,
                        area: serde_json::from_str(&r.text(2)?).map_err(|e| corrupt("area", e))?,
                    })
                })
                .collect()
        })
    }
    fn save_divisions(&self, divisions: &CountyDivisions) -> Result<(), StoreError> {
        let doc = serde_json::to_string(divisions).map_err(|e| corrupt("divisions", e))?;
        let county = divisions.county.name.clone();
        self.engine.write(move |c| {
            c.execute(
                "INSERT INTO divisions(county, doc) VALUES ($1, $2) ON CONFLICT(county) DO UPDATE SET doc = $2",
                p![county, doc],
            )?;
            Ok(())
        })
    }
    fn divisions(&self) -> Result<Vec<CountyDivisions>, StoreError> {
        self.engine.read(|c| {
            c.query("SELECT doc FROM divisions ORDER BY county", p![])?
                .into_iter()
                .map(|r| serde_json::from_str(&r.text(0)?).map_err(|e| corrupt("divisions", e)))
                .collect()
        })
    }
    fn has_accounts(&self) -> Result<bool, StoreError> {
        self.engine
            .read(|c| Ok(c.query_opt("SELECT 1 FROM users LIMIT 1", p![])?.is_some()))
    }

    fn care(&self, user: &User) -> Result<Care, StoreError> {
        self.engine.read(|c| log::care(c, user))
    }
    fn students_in_care(
        &self,
        care: &Care,
        students: &[StudentId],
    ) -> Result<Vec<StudentId>, StoreError> {
        self.engine.read(|c| {
            // The given students with their care columns as the read models stamp them, then
            // the rule the pages use on those columns: the cost is that of the few asked.
            let mut params = vec![V::list(students)];
            let cols: Vec<String> = CARE_COLUMNS
                .iter()
                .map(|(col, src)| format!("{src} AS {col}"))
                .collect();
            let care = care_where(care, "t", &mut params);
            c.query(
                &format!(
                    "SELECT t.student FROM (SELECT s.id AS student, {} FROM students s
                     LEFT JOIN households h ON h.id = s.household WHERE s.id = ANY($1)) t
                     WHERE {care}",
                    cols.join(", ")
                ),
                &params,
            )?
            .into_iter()
            .map(|r| parse_id(&r.text(0)?))
            .collect()
        })
    }
    fn caseload(&self, user: &User) -> Result<Caseload, StoreError> {
        self.engine.read(|c| log::caseload(c, user))
    }
    fn guardian_students(
        &self,
        guardians: &[GuardianId],
    ) -> Result<HashMap<GuardianId, StudentId>, StoreError> {
        self.engine.read(|c| log::guardian_students(c, guardians))
    }
    fn household_students(
        &self,
        households: &[HouseholdId],
    ) -> Result<HashMap<HouseholdId, Vec<StudentId>>, StoreError> {
        self.engine.read(|c| log::household_students(c, households))
    }
    fn student_households(
        &self,
        students: &[StudentId],
    ) -> Result<HashMap<StudentId, HouseholdId>, StoreError> {
        self.engine.read(|c| log::student_households(c, students))
    }
    fn held_records(
        &self,
        records: &[RecordId],
    ) -> Result<HashMap<RecordId, HeldRecord>, StoreError> {
        self.engine.read(|c| log::held_records(c, records))
    }
    fn ops_by_id(&self, ids: &[OpId]) -> Result<Vec<Op>, StoreError> {
        self.engine.read(|c| log::ops_by_id(c, ids))
    }
    fn batch_receipt(
        &self,
        batch: BatchId,
        device: DeviceId,
    ) -> Result<Option<PushReceipt>, StoreError> {
        self.engine.read(|c| log::batch_receipt(c, batch, device))
    }
    fn push(&self, batch: CheckedBatch, now: DateTime<Utc>) -> Result<PushReceipt, StoreError> {
        self.engine.write(move |c| log::push(c, batch, now))
    }
    fn pull(
        &self,
        caseload: &Caseload,
        cursor: Cursor,
        limit: usize,
    ) -> Result<LogPage, StoreError> {
        self.engine.read(|c| log::pull(c, caseload, cursor, limit))
    }
    fn ops_about_student(&self, student: StudentId) -> Result<Vec<Op>, StoreError> {
        self.engine.read(|c| log::ops_about_student(c, student))
    }
    fn ops_about_students(
        &self,
        students: &[StudentId],
    ) -> Result<BTreeMap<StudentId, Vec<Op>>, StoreError> {
        self.engine.read(|c| log::ops_about_students(c, students))
    }
    fn students_by_resident_id(
        &self,
        ids: &[baoxue_shared::resident_id::ResidentId],
    ) -> Result<HashMap<baoxue_shared::resident_id::ResidentId, StudentId>, StoreError> {
        self.engine.read(|c| log::students_by_resident_id(c, ids))
    }
    fn all_student_ids(&self) -> Result<Vec<StudentId>, StoreError> {
        self.engine.read(|c| {
            c.query("SELECT id FROM students ORDER BY name, id", p![])?
                .into_iter()
                .map(|r| parse_id(&r.text(0)?))
                .collect()
        })
    }
    fn student_rows(&self, ids: &HashSet<StudentId>) -> Result<Vec<StudentRow>, StoreError> {
        self.engine.read(|c| log::student_rows(c, ids))
    }
    fn photos_present(&self, hashes: &[Sha256]) -> Result<HashSet<Sha256>, StoreError> {
        self.engine.read(|c| photos::present(c, hashes))
    }
    fn photo(&self, sha256: &Sha256) -> Result<Option<PhotoMeta>, StoreError> {
        self.engine.read(|c| photos::get(c, sha256))
    }
    fn photos_meta(&self, hashes: &[Sha256]) -> Result<HashMap<Sha256, PhotoMeta>, StoreError> {
        self.engine.read(|c| photos::get_many(c, hashes))
    }
    fn file_report(&self, filing: &ReportFiling) -> Result<ReportFiling, StoreError> {
        let f = filing.clone();
        self.engine.write(move |c| {
            c.execute(
                "INSERT INTO report_filings(scope, month, cut, filed_by, figures) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT DO NOTHING",
                p![&f.scope, &f.month, f.cut.to_rfc3339(), f.filed_by.to_string(), &f.figures],
            )?;
            report_filing(c, &f.scope, &f.month)?
                .ok_or_else(|| corrupt("report filing", "vanished after insert"))
        })
    }
    fn report_filing(&self, scope: &str, month: &str) -> Result<Option<ReportFiling>, StoreError> {
        self.engine.read(|c| report_filing(c, scope, month))
    }
    fn photo_citations(&self, sha256: &Sha256) -> Result<Vec<Subjects>, StoreError> {
        self.engine.read(|c| photos::citations(c, sha256))
    }
    fn save_photo(&self, meta: &PhotoMeta) -> Result<(), StoreError> {
        let m = meta.clone();
        self.engine.write(move |c| photos::save(c, &m))
    }
    fn read_cursor(&self) -> Result<ReadCursor, StoreError> {
        self.engine.read(read_model::cursor)
    }
    fn changes_after(&self, cursor: ReadCursor, limit: usize) -> Result<Changes, StoreError> {
        self.engine
            .read(|c| read_model::changes_after(c, cursor, limit))
    }
    fn visit_rows(&self, records: &[RecordId]) -> Result<Vec<VisitRow>, StoreError> {
        self.engine.read(|c| read_model::visit_rows(c, records))
    }
    fn photo_partners(
        &self,
        photos: &[Sha256],
        bands: &[(usize, i64)],
        except: &BTreeSet<RecordId>,
    ) -> Result<Vec<RecordId>, StoreError> {
        self.engine
            .read(|c| read_model::photo_partners(c, photos, bands, except))
    }
    fn travel_neighbours(
        &self,
        keys: &[TravelKey],
        except: &BTreeSet<RecordId>,
    ) -> Result<Vec<Neighbours>, StoreError> {
        self.engine
            .read(|c| read_model::travel_neighbours(c, keys, except))
    }
    fn save_read_models(&self, w: ReadModelWrite) -> Result<(), StoreError> {
        self.engine.write(move |c| {
            read_model::save_visit_rows(c, &w.visits, &w.gone)?;
            report_rows::save(c, &w.reports)?;
            summaries::save(c, &w.summaries)?;
            if let Some(to) = w.cursor {
                read_model::set_cursor(c, to)?;
            }
            Ok(())
        })
    }
    fn student_page(&self, q: &StudentPageQuery) -> Result<StudentPage, StoreError> {
        self.engine.read(|c| summaries::page(c, q))
    }
    fn summaries_to_recheck(
        &self,
        today: NaiveDate,
        after: Option<(NaiveDate, StudentId)>,
        limit: usize,
    ) -> Result<Vec<(NaiveDate, StudentId)>, StoreError> {
        self.engine
            .read(|c| summaries::to_recheck(c, today, after, limit))
    }
    fn overdue_students(&self, students: &[StudentId]) -> Result<Vec<StudentId>, StoreError> {
        self.engine.read(|c| summaries::overdue(c, students))
    }
    fn ledger_page(&self, q: &LedgerQuery) -> Result<LedgerPage, StoreError> {
        self.engine.read(|c| summaries::ledger_page(c, q))
    }
    fn three_ones(
        &self,
        unit: &ReportUnit,
        month: &str,
        owing: &[EnrolmentStatus],
    ) -> Result<Vec<TeacherCounts>, StoreError> {
        self.engine
            .read(|c| summaries::three_ones(c, unit, month, owing))
    }
    fn device_coverage(
        &self,
        unit: &ReportUnit,
        checks_in: Option<(DateTime<Utc>, DateTime<Utc>)>,
        shown: usize,
    ) -> Result<DeviceCoverage, StoreError> {
        self.engine
            .read(|c| summaries::device_coverage(c, unit, checks_in, shown))
    }
    fn townships_in_care(&self, care: &Care) -> Result<Vec<String>, StoreError> {
        self.engine.read(|c| townships_of(c, "rm_students", care))
    }
    fn report_counts(&self, q: &ReportCountQuery) -> Result<ReportCounts, StoreError> {
        self.engine.read(|c| report_rows::counts(c, q))
    }
    fn report_late(
        &self,
        unit: &ReportUnit,
        cut: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<LateOp>, StoreError> {
        self.engine
            .read(|c| report_rows::late(c, unit, cut.timestamp_millis(), end.timestamp_millis()))
    }
    fn clear_read_models(&self) -> Result<(), StoreError> {
        self.engine.write(|c| {
            read_model::clear(c)?;
            report_rows::clear(c)?;
            summaries::clear(c)
        })
    }
    fn queue_page(&self, q: &QueuePageQuery) -> Result<QueuePage, StoreError> {
        self.engine.read(|c| read_model::queue_page(c, q))
    }
    fn one_catch_up_at_a_time(
        &self,
        work: &mut dyn FnMut() -> Result<usize, StoreError>,
    ) -> Result<usize, StoreError> {
        self.engine.exclusively(work)
    }
    fn verify_chains(&self) -> Result<ChainReport, StoreError> {
        self.engine.read(|c| {
            let mut report = log::verify_chains(c)?;
            let (entries, faults) = access::verify(c)?;
            report.access_entries = entries;
            report.access_faults = faults;
            Ok(report)
        })
    }
    fn log_access(&self, entry: &AccessEntry) -> Result<(), StoreError> {
        let e = entry.clone();
        self.engine.write(move |c| access::append(c, &e))
    }
    fn access_log(
        &self,
        subject: Option<&str>,
        user: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<AccessEntry>, StoreError> {
        self.engine.read(|c| access::list(c, subject, user, limit))
    }
}

fn report_filing(c: &dyn Db, scope: &str, month: &str) -> Result<Option<ReportFiling>, StoreError> {
    let Some(r) = c.query_opt(
        "SELECT cut, filed_by, figures FROM report_filings WHERE scope = $1 AND month = $2",
        p![scope, month],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(ReportFiling {
        scope: scope.to_string(),
        month: month.to_string(),
        cut: parse_time(&r.text(0)?)?,
        filed_by: parse_id(&r.text(1)?)?,
        figures: r.text(2)?,
    }))
}

/// `WITH name(columns) AS (VALUES ($n, …), …) ` for `rows`, parameters numbered from `$first`:
/// a list of tuples as a table both engines join with. A column typed `Some("BIGINT")` is cast
/// (PostgreSQL reads a bare parameter in VALUES as text).
pub(super) fn values_cte(
    name: &str,
    columns: &[(&str, Option<&str>)],
    rows: &[Vec<V>],
    first: usize,
) -> (String, Vec<V>) {
    let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
    let mut sql = format!("WITH {name}({}) AS (VALUES ", names.join(", "));
    let mut n = first;
    for (i, _) in rows.iter().enumerate() {
        if i > 0 {
            sql.push(',');
        }
        sql.push('(');
        for (k, (_, cast)) in columns.iter().enumerate() {
            if k > 0 {
                sql.push(',');
            }
            match cast {
                Some(t) => sql.push_str(&format!("CAST(${n} AS {t})")),
                None => sql.push_str(&format!("${n}")),
            }
            n += 1;
        }
        sql.push(')');
    }
    sql.push_str(") ");
    (sql, rows.iter().flatten().cloned().collect())
}

/// Insert `rows` (all of one width) with as few statements as the engines' parameter limits
/// allow: `head` names the table and columns, `tail` follows each `VALUES` list.
pub(super) fn insert_rows(
    c: &dyn Db,
    head: &str,
    tail: &str,
    rows: Vec<Vec<V>>,
) -> Result<Vec<Row>, StoreError> {
    let Some(width) = rows.first().map(Vec::len) else {
        return Ok(Vec::new());
    };
    // SQLite allows 32,766 parameters in a statement, PostgreSQL 65,535.
    let per = (30_000 / width.max(1)).max(1);
    let mut out = Vec::new();
    for chunk in rows.chunks(per) {
        let mut sql = String::with_capacity(head.len() + chunk.len() * width * 5);
        sql.push_str(head);
        sql.push_str(" VALUES ");
        let mut n = 0;
        for (i, _) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push('(');
            for k in 0..width {
                n += 1;
                if k > 0 {
                    sql.push(',');
                }
                sql.push_str(&format!("${n}"));
            }
            sql.push(')');
        }
        sql.push_str(tail);
        let params: Vec<V> = chunk.iter().flatten().cloned().collect();
        if tail.contains("RETURNING") {
            out.extend(c.query(&sql, &params)?);
        } else {
            c.execute(&sql, &params)?;
        }
    }
    Ok(out)
}

/// Which way a keyset page was read from its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Toward {
    Start,
    After,
    Before,
}

/// A page from the `limit + 1` rows read toward `toward` (a page before its key is read
/// backwards): the rows in list order, and whether there are more after and before them.
pub(super) fn keyset_page<T>(
    mut rows: Vec<T>,
    limit: usize,
    toward: Toward,
) -> (Vec<T>, bool, bool) {
    let beyond = rows.len() > limit;
    rows.truncate(limit);
    match toward {
        Toward::Start => (rows, beyond, false),
        Toward::After => (rows, beyond, true),
        Toward::Before => {
            rows.reverse();
            (rows, true, beyond)
        }
    }
}

/// The columns a read-model row keeps of its student for care (`care_where`): their household,
/// school and divisions as `students` and `households` hold them.
const CARE_COLUMNS: [(&str, &str); 8] = [
    ("care_household", "s.household"),
    ("care_school", "s.school"),
    ("care_county_code", "h.county_code"),
    ("care_county_name", "h.county_name"),
    ("care_township_code", "h.township_code"),
    ("care_township_name", "h.township_name"),
    ("care_village_code", "h.village_code"),
    ("care_village_name", "h.village_name"),
];

/// Copy `students`' care columns into `table`'s rows of them. Run after writing the rows; a
/// row whose student changed household, school or place is rewritten by the catch-up that
/// takes the change in, so the columns follow.
pub(super) fn stamp_care(c: &dyn Db, table: &str, students: &V) -> Result<(), StoreError> {
    let set: Vec<String> = CARE_COLUMNS
        .iter()
        .map(|(col, _)| format!("{col} = c.{}", &col["care_".len()..]))
        .collect();
    let from: Vec<String> = CARE_COLUMNS
        .iter()
        .map(|(col, src)| format!("{src} AS {}", &col["care_".len()..]))
        .collect();
    c.execute(
        &format!(
            "UPDATE {table} SET {} FROM (SELECT s.id, {} FROM students s LEFT JOIN households h ON h.id = s.household WHERE s.id = ANY($1)) AS c
             WHERE c.id = {table}.student AND {table}.student = ANY($1)",
            set.join(", "),
            from.join(", ")
        ),
        std::slice::from_ref(students),
    )?;
    Ok(())
}

/// The care columns every count table groups by, first in its key: all of a row's care but
/// the household (a care naming households counts rows).
pub(super) const GROUP_CARE: [&str; 7] = [
    "care_county_code",
    "care_county_name",
    "care_township_code",
    "care_township_name",
    "care_village_code",
    "care_village_name",
    "care_school",
];

/// A table of counts by group kept beside a read model: how many of its rows share each
/// combination of `text` and `numeric` columns. A page's totals for a care of areas and schools
/// (the care columns are among the group's) and its filters (also among them) sum the groups
/// instead of counting rows, so they cost the same in a county of 100,000 children as in a
/// township. Kept by difference in the transaction that writes the rows: the rows a write may
/// change are taken away before it and added back after.
pub(super) struct GroupCounts {
    pub counts: &'static str,
    pub rows: &'static str,
    /// Text columns of the rows (NULL allowed) the groups hold beside [`GROUP_CARE`].
    pub text: &'static [&'static str],
    /// Numeric columns of the counts: their names and the expressions over a row.
    pub numeric: &'static [(&'static str, &'static str)],
    /// Which rows count.
    pub counted: &'static str,
}

impl GroupCounts {
    /// Add (`sign` 1) or take away (-1) the rows matching `rows_where` in their groups.
    pub fn delta(
        &self,
        c: &dyn Db,
        rows_where: &str,
        params: &[V],
        sign: i64,
    ) -> Result<(), StoreError> {
        let columns: Vec<&str> = GROUP_CARE.iter().chain(self.text).copied().collect();
        let text = columns.join(", ");
        let names: Vec<&str> = self.numeric.iter().map(|(n, _)| *n).collect();
        let names = names.join(", ");
        let exprs: Vec<String> = self
            .numeric
            .iter()
            .map(|(n, e)| format!("{e} AS {n}"))
            .collect();
        // The group's columns in one value, NULLs included: the key an upsert finds.
        let key: Vec<String> = columns
            .iter()
            .map(|c| format!("COALESCE({c}, '∅')"))
            .chain(
                self.numeric
                    .iter()
                    .map(|(n, _)| format!("CAST({n} AS TEXT)")),
            )
            .collect();
        let counts = self.counts;
        c.execute(
            &format!(
                "INSERT INTO {counts}(gkey, {text}, {names}, n)
                 SELECT {key}, {text}, {names}, {sign} * count(*)
                 FROM (SELECT {text}, {exprs} FROM {rows} WHERE ({rows_where}) AND {counted}) g
                 WHERE true
                 GROUP BY {text}, {names}
                 ON CONFLICT (gkey) DO UPDATE SET n = {counts}.n + excluded.n",
                key = key.join(" || '|' || "),
                exprs = exprs.join(", "),
                rows = self.rows,
                counted = self.counted,
            ),
            params,
        )?;
        if sign > 0 {
            c.execute(&format!("DELETE FROM {counts} WHERE n = 0"), &[])?;
        }
        Ok(())
    }
}

/// Whether the row aliased `t` (a read model with `student` and the care columns) is about a
/// student in `care`: one of its students, in one of its households or schools, or living in one
/// of its areas (`area_sql`).
pub(super) fn care_where(care: &Care, t: &str, params: &mut Vec<V>) -> String {
    let arg = |params: &mut Vec<V>, v: V| {
        params.push(v);
        format!("${}", params.len())
    };
    let mut parts = Vec::new();
    if !care.students.is_empty() {
        let a = arg(params, V::list(&care.students));
        parts.push(format!("{t}.student = ANY({a})"));
    }
    if !care.households.is_empty() {
        let a = arg(params, V::list(&care.households));
        parts.push(format!("{t}.care_household = ANY({a})"));
    }
    if !care.schools.is_empty() {
        let a = arg(params, V::list(&care.schools));
        parts.push(format!("{t}.care_school = ANY({a})"));
    }
    for area in &care.areas {
        parts.push(area_sql(area, &format!("{t}.care_"), params));
    }
    if parts.is_empty() {
        return "(1 = 0)".into();
    }
    format!("({})", parts.join(" OR "))
}

/// The townships (non-empty, in order) of `table`'s rows about children in `care`: a page's
/// township filter.
pub(super) fn townships_of(
    c: &dyn Db,
    table: &str,
    care: &Care,
) -> Result<Vec<String>, StoreError> {
    let mut params = Vec::new();
    let scope = care_where(care, "t", &mut params);
    c.query(
        &format!("SELECT DISTINCT t.township FROM {table} t WHERE {scope} AND t.township <> '' ORDER BY 1"),
        &params,
    )?
    .into_iter()
    .map(|r| r.text(0))
    .collect()
}

/// Whether the divisions in the columns `{prefix}county_code` … `{prefix}village_name` lie
/// within `scope`: `AdminArea::within` — by code where both sides have one at a level, by name
/// otherwise.
pub(super) fn area_sql(
    scope: &baoxue_shared::area::AreaScope,
    prefix: &str,
    params: &mut Vec<V>,
) -> String {
    use baoxue_shared::area::{AreaScope, Division};
    let same = |level: &str, d: &Division, params: &mut Vec<V>| {
        params.push(V::from(&d.name));
        let name = params.len();
        match &d.code {
            Some(code) => {
                params.push(V::from(code.as_str()));
                let code = params.len();
                format!(
                    "(CASE WHEN {prefix}{level}_code IS NOT NULL THEN {prefix}{level}_code = ${code} ELSE {prefix}{level}_name = ${name} END)"
                )
            }
            None => format!("{prefix}{level}_name = ${name}"),
        }
    };
    let levels: Vec<String> = match scope {
        AreaScope::County(c) => vec![same("county", c, params)],
        AreaScope::Township { county, township } => vec![
            same("county", county, params),
            same("township", township, params),
        ],
        AreaScope::Village {
            county,
            township,
            village,
        } => vec![
            same("county", county, params),
            same("township", township, params),
            same("village", village, params),
        ],
    };
    format!("({})", levels.join(" AND "))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;
    use baoxue_shared::area::{AdminArea, AreaScope, Division};
    use baoxue_shared::author::Author;
    use baoxue_shared::ids::DeviceId;
    use baoxue_shared::replica::Replica;
    use baoxue_shared::sample;
    use proptest::prelude::*;

    /// A division from a small pool: two names, two codes, sometimes no code — so names and
    /// codes agree, disagree, or one side has no code.
    pub(crate) fn division(
        rng: &mut fastrand::Rng,
        names: [&str; 2],
        codes: [&str; 2],
    ) -> Division {
        let name = names[rng.usize(..2)];
        match rng.u8(..3) {
            0 => Division::named(name),
            _ => Division::coded(name, codes[rng.usize(..2)]).unwrap(),
        }
    }

    pub(crate) fn area(rng: &mut fastrand::Rng) -> AdminArea {
        AdminArea {
            county: division(rng, ["从江县", "榕江县"], ["522633", "522632"]),
            township: division(rng, ["加勉乡", "丙妹镇"], ["522633213", "522633100"]),
            village: division(rng, ["党翁村", "岜扒村"], ["522633213201", "522633213202"]),
            group: None,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// A reviewer's care selected in SQL is `AdminArea::within` household by household, at
        /// every level, whichever sides carry codes.
        #[test]
        fn an_area_in_sql_is_the_area_rule(seed in any::<u64>()) {
            let dir = tempfile::tempdir().unwrap();
            let store = SqliteStore::open(dir.path()).unwrap();
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut admin = Author::new(UserId::new(), DeviceId::new());
            let t = Utc::now();
            let empty = Replica::new();
            let mut ops = Vec::new();
            let mut homes = Vec::new();
            for _ in 0..24 {
                let mut h = sample::household(&mut rng);
                h.area = area(&mut rng);
                let s = sample::student(&mut rng, &h, baoxue_shared::time::china_date(t));
                ops.extend(admin.household_ops(&empty, &h, t));
                ops.extend(admin.student_ops(&empty, &s, t));
                homes.push((h, s.id));
            }
            crate::sync::push_trusted(&store, admin.user, admin.device, ops, t).unwrap();
            let everyone: Vec<StudentId> = homes.iter().map(|(_, s)| *s).collect();
            for _ in 0..12 {
                let a = area(&mut rng);
                let scope = match rng.u8(..3) {
                    0 => AreaScope::County(a.county),
                    1 => AreaScope::Township { county: a.county, township: a.township },
                    _ => AreaScope::Village { county: a.county, township: a.township, village: a.village },
                };
                let mut want: Vec<StudentId> = homes
                    .iter()
                    .filter(|(h, _)| h.area.within(&scope))
                    .map(|(_, s)| *s)
                    .collect();
                let care = Care { areas: vec![scope.clone()], ..Care::default() };
                let mut got = store.students_in_care(&care, &everyone).unwrap();
                want.sort();
                got.sort();
                prop_assert_eq!(got, want, "{:?}", scope);
            }
            store.close();
        }
    }
}
