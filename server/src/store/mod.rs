//! Storage behind one narrow interface named in domain words. Handlers and services speak only
//! to [`Store`]; the embedded SQLite engine (`sqlite`) is the default, and a PostgreSQL engine
//! for deployments that outgrow one machine implements the same trait without touching a
//! handler.
//!
//! What does not belong here: policy. Who may see what (`scope`), what a batch must satisfy
//! (`sync`), and how fields merge (`baoxue_shared::replica`) are decided elsewhere; the store
//! keeps, finds and counts.

pub mod postgres;
pub mod read_model;
pub mod sql;
pub mod sqlite;

pub use read_model::{
    Care, Changes, DeviceCheckRow, DeviceCoverage, DropoutLine, LateOp, Ledger, LedgerLine,
    LedgerPage, LedgerQuery, LedgerRow, MonthBack, MonthRow, MonthVisit, Neighbours, OpEvent,
    PoorLine, QueueFrom, QueueKey, QueuePage, QueuePageQuery, ReadCursor, ReadModelWrite,
    ReportCountQuery, ReportCounts, ReportUnit, StatusSpan, StudentFrom, StudentPage,
    StudentPageQuery, StudentReportRows, StudentRhythm, StudentSummary, TeacherCounts, TravelKey,
    VisitRow,
};

// Rows the API sends as they are: declared with the protocol, in shared.
pub use baoxue_shared::api::{AccessAction, AccessEntry, PhotoMeta, StudentRow};

use baoxue_shared::divisions::CountyDivisions;
use baoxue_shared::ids::{
    BatchId, DeviceId, GuardianId, HouseholdId, OpId, RecordId, StudentId, UserId,
};
use baoxue_shared::observation::Sha256;
use baoxue_shared::op::Op;
use baoxue_shared::people::{Assignment, School, User};
use baoxue_shared::status::EnrolmentStatus;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use thiserror::Error;

/// What can go wrong in storage.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The storage engine failed (its own message; each engine converts its errors into this).
    #[error("database error: {0}")]
    Database(String),
    /// The machine gave no randomness for a token or a secret.
    #[error("no randomness available: {0}")]
    NoRandomness(String),
    /// A stored row that does not decode.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// Stored operations that the shared merge refuses together (one id, two contents).
    #[error("stored operations disagree: {0}")]
    Merge(#[from] baoxue_shared::replica::MergeError),
    #[error(
        "the database was written by a newer Baoxue (schema {found}, this build knows {known}); upgrade the server"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("account {0} already exists")]
    AccountExists(String),
    #[error("no account {0}")]
    NoSuchAccount(String),
    #[error("operation {0} was already stored with different content")]
    ConflictingDuplicate(OpId),
    #[error("record {0} is already held as another operation; records are never replaced")]
    RecordIdTaken(RecordId),
    #[error("batch id {0} was already used by another device")]
    BatchIdTaken(BatchId),
    #[error("the store is shutting down")]
    ShuttingDown,
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// An account with its credential, as the login needs it.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: User,
    /// PHC string (argon2id).
    pub password_hash: String,
    pub disabled: bool,
}

/// A device's login token, stored hashed: a lost phone is revoked by deleting its row.
#[derive(Debug, Clone)]
pub struct TokenRecord {
    pub hash: [u8; 32],
    pub user: UserId,
    pub device: DeviceId,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What failed logins are counted under: a keyed hash of the account name as typed, so the
/// store keeps neither a password typed into the account field nor an unbounded string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleKey(pub [u8; 32]);

/// Who is calling, resolved from a valid token.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub device: DeviceId,
    pub expires_at: DateTime<Utc>,
}

/// The students and households in a user's care, each with the scope version at which it
/// entered (so a pull can send the whole history of what is new to the caseload).
#[derive(Debug, Clone, Default)]
pub struct Caseload {
    pub students: HashMap<StudentId, i64>,
    pub households: HashMap<HouseholdId, i64>,
}

impl Caseload {
    /// The newest scope version in the caseload.
    pub fn version(&self) -> i64 {
        self.students
            .values()
            .chain(self.households.values())
            .copied()
            .max()
            .unwrap_or(0)
    }
}

/// What one op concerns, for scoping and indexing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subjects {
    pub students: Vec<StudentId>,
    pub households: Vec<HouseholdId>,
}

/// A stored record as scoping needs it: who made it and what it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldRecord {
    pub author: UserId,
    pub subjects: Subjects,
}

/// A batch that passed every check, ready to store.
#[derive(Debug, Clone)]
pub struct CheckedBatch {
    pub batch: BatchId,
    pub user: UserId,
    pub device: DeviceId,
    /// Each op with what it concerns.
    pub ops: Vec<(Op, Subjects)>,
    /// Schools a roster import names for the first time, stored in the same transaction so an
    /// import is kept whole or not at all.
    pub schools: Vec<School>,
}

/// The answer to a push (the protocol's own type), stored with the batch.
pub use baoxue_shared::api::PushReceipt;

/// Where a pull stands. Opaque to clients (`Cursor::encode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    /// Ops up to this sequence number have been sent.
    pub seq: i64,
    /// The caseload was complete up to this scope version.
    pub scope: i64,
    /// While sending the history of newly added students: the last sequence sent.
    pub backfill: Option<i64>,
}

impl Cursor {
    /// The cursor as a short opaque string.
    pub fn encode(&self) -> String {
        match self.backfill {
            Some(b) => format!("{}.{}.{}", self.seq, self.scope, b),
            None => format!("{}.{}", self.seq, self.scope),
        }
    }

    /// Parse [`Cursor::encode`]'s output; `None` if it is not one.
    pub fn decode(s: &str) -> Option<Self> {
        let mut it = s.split('.');
        let seq = it.next()?.parse().ok()?;
        let scope = it.next()?.parse().ok()?;
        let backfill = match it.next() {
            Some(b) => Some(b.parse().ok()?),
            None => None,
        };
        if it.next().is_some() || seq < 0 || scope < 0 {
            return None;
        }
        Some(Self {
            seq,
            scope,
            backfill,
        })
    }
}

/// One page of the op log for a caseload, with the store's typed cursor (the wire's page is
/// `baoxue_shared::api::PullPage`).
#[derive(Debug, Clone)]
pub struct LogPage {
    pub ops: Vec<Op>,
    pub next: Cursor,
    /// More pages follow; pull again with `next` at once.
    pub more: bool,
}

/// A monthly report as filed: the figures (JSON, as the report module writes them) and the
/// receipt time they were computed at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFiling {
    /// Which school, township or county (the report module's key).
    pub scope: String,
    /// `2026-11`.
    pub month: String,
    /// Only ops received at or before this instant were counted.
    pub cut: DateTime<Utc>,
    pub filed_by: UserId,
    pub figures: String,
}

/// Something wrong with the access log's chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessFault {
    pub seq: i64,
    pub problem: String,
}

/// One line of an audit-chain verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainFault {
    pub student: StudentId,
    pub position: i64,
    pub problem: String,
}

/// Result of verifying every student's hash chain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    pub students: usize,
    pub links: usize,
    pub faults: Vec<ChainFault>,
    /// Entries in the access log, and what is wrong with its chain.
    pub access_entries: usize,
    pub access_faults: Vec<AccessFault>,
}

impl ChainReport {
    /// Nothing altered, removed or unchained anywhere.
    pub fn is_clean(&self) -> bool {
        self.faults.is_empty() && self.access_faults.is_empty()
    }
}

/// Server storage, in domain words. Methods block: the HTTP layer runs them on the blocking
/// pool. Every method is atomic: it happens entirely or not at all.
pub trait Store: Send + Sync + 'static {
    /// Finish queued writes before the process ends; later writes fail with `ShuttingDown`.
    fn close(&self);

    // ----- accounts -----
    /// Add an account. Refuses an account name already taken.
    fn add_account(&self, user: &User, password_hash: &str) -> Result<(), StoreError>;
    /// An account by login name.
    fn account(&self, account: &str) -> Result<Option<Account>, StoreError>;
    /// A user by id.
    fn user(&self, id: UserId) -> Result<Option<User>, StoreError>;
    /// Every account, by login name.
    fn users(&self) -> Result<Vec<User>, StoreError>;
    /// Replace an account's password and revoke its tokens.
    fn set_password(&self, account: &str, password_hash: &str) -> Result<(), StoreError>;
    /// Add an assignment to a user (idempotent).
    fn assign(&self, user: UserId, assignment: &Assignment) -> Result<(), StoreError>;
    /// Remove an assignment.
    fn unassign(&self, user: UserId, assignment: &Assignment) -> Result<(), StoreError>;
    /// Remember a token.
    fn save_token(&self, token: &TokenRecord) -> Result<(), StoreError>;
    /// The session of a token hash, if it is valid at `now`.
    fn session(
        &self,
        token_hash: &[u8; 32],
        now: DateTime<Utc>,
    ) -> Result<Option<Session>, StoreError>;
    /// Revoke one token; `false` if there was none.
    fn revoke_token(&self, token_hash: &[u8; 32], now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Record a failed login.
    fn note_login_failure(&self, key: &ThrottleKey, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Failed logins under `key` since `since`.
    fn login_failures_since(
        &self,
        key: &ThrottleKey,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError>;
    /// Forget failed logins after a success.
    fn clear_login_failures(&self, key: &ThrottleKey) -> Result<(), StoreError>;
    /// A random secret of this server's, made on first use and kept (login throttling keys).
    fn secret(&self, name: &'static str) -> Result<[u8; 32], StoreError>;

    /// Add or rename a school.
    fn save_school(&self, school: &School) -> Result<(), StoreError>;
    /// Every school.
    fn schools(&self) -> Result<Vec<School>, StoreError>;
    /// Keep a county's known townships and villages (replacing what was kept for it).
    fn save_divisions(&self, divisions: &CountyDivisions) -> Result<(), StoreError>;
    /// Every county's known divisions.
    fn divisions(&self) -> Result<Vec<CountyDivisions>, StoreError>;
    /// Whether any account exists (an empty database gets the demo county).
    fn has_accounts(&self) -> Result<bool, StoreError>;

    // ----- sync -----
    /// The students and households in `user`'s care.
    fn caseload(&self, user: &User) -> Result<Caseload, StoreError>;
    /// `user`'s care as their assignments name it, for the read models' pages.
    fn care(&self, user: &User) -> Result<Care, StoreError>;
    /// Those of `students` in `care`.
    fn students_in_care(
        &self,
        care: &Care,
        students: &[StudentId],
    ) -> Result<Vec<StudentId>, StoreError>;
    /// The students (now) of each guardian, for guardians the server knows.
    fn guardian_students(
        &self,
        guardians: &[GuardianId],
    ) -> Result<HashMap<GuardianId, StudentId>, StoreError>;
    /// The students of each household (now).
    fn household_students(
        &self,
        households: &[HouseholdId],
    ) -> Result<HashMap<HouseholdId, Vec<StudentId>>, StoreError>;
    /// The household (now) of each student.
    fn student_households(
        &self,
        students: &[StudentId],
    ) -> Result<HashMap<StudentId, HouseholdId>, StoreError>;
    /// Each stored record's author and what it concerns.
    fn held_records(
        &self,
        records: &[RecordId],
    ) -> Result<HashMap<RecordId, HeldRecord>, StoreError>;
    /// Stored ops by id.
    fn ops_by_id(&self, ids: &[OpId]) -> Result<Vec<Op>, StoreError>;
    /// The answer already given to `device`'s batch, if it was stored. A batch id already
    /// used by another device is refused ([`StoreError::BatchIdTaken`]).
    fn batch_receipt(
        &self,
        batch: BatchId,
        device: DeviceId,
    ) -> Result<Option<PushReceipt>, StoreError>;
    /// Store a checked batch atomically: all of it or nothing. New ops get `received_at`; ops
    /// already held are acknowledged; an op id held with different content refuses the batch.
    fn push(&self, batch: CheckedBatch, now: DateTime<Utc>) -> Result<PushReceipt, StoreError>;
    /// The next page of ops about `caseload` after `cursor`.
    fn pull(
        &self,
        caseload: &Caseload,
        cursor: Cursor,
        limit: usize,
    ) -> Result<LogPage, StoreError>;
    /// Every op about a student (roster, guardians, household, visits, voids).
    fn ops_about_student(&self, student: StudentId) -> Result<Vec<Op>, StoreError>;
    /// [`Store::ops_about_student`] for several students in one round trip.
    fn ops_about_students(
        &self,
        students: &[StudentId],
    ) -> Result<BTreeMap<StudentId, Vec<Op>>, StoreError>;
    /// The students already on the roster with these resident IDs.
    fn students_by_resident_id(
        &self,
        ids: &[baoxue_shared::resident_id::ResidentId],
    ) -> Result<HashMap<baoxue_shared::resident_id::ResidentId, StudentId>, StoreError>;
    /// Every student on the roster.
    fn all_student_ids(&self) -> Result<Vec<StudentId>, StoreError>;
    /// The students of a caseload as lists show them.
    fn student_rows(&self, ids: &HashSet<StudentId>) -> Result<Vec<StudentRow>, StoreError>;

    // ----- photos -----
    /// Which of these photos are stored.
    fn photos_present(&self, hashes: &[Sha256]) -> Result<HashSet<Sha256>, StoreError>;
    /// A stored photo's metadata.
    fn photo(&self, sha256: &Sha256) -> Result<Option<PhotoMeta>, StoreError>;
    /// What each record citing a photo concerns, one entry per citing record.
    fn photo_citations(&self, sha256: &Sha256) -> Result<Vec<Subjects>, StoreError>;
    /// Record a photo whose bytes are in place (idempotent).
    fn save_photo(&self, meta: &PhotoMeta) -> Result<(), StoreError>;

    /// Metadata of the stored photos among `hashes`.
    fn photos_meta(&self, hashes: &[Sha256]) -> Result<HashMap<Sha256, PhotoMeta>, StoreError>;

    // ----- reports -----
    /// Keep a filed report; a report already filed for the scope and month is kept as it was
    /// and returned instead (filing is once).
    fn file_report(&self, filing: &ReportFiling) -> Result<ReportFiling, StoreError>;
    /// The filed report of a scope and month, if any.
    fn report_filing(&self, scope: &str, month: &str) -> Result<Option<ReportFiling>, StoreError>;

    // ----- audit -----
    /// Add a line to the access log (atomically extending its chain).
    fn log_access(&self, entry: &AccessEntry) -> Result<(), StoreError>;
    /// The newest `limit` access-log lines, newest first; only about `subject` or by `user`
    /// when given.
    fn access_log(
        &self,
        subject: Option<&str>,
        user: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<AccessEntry>, StoreError>;
    /// Recompute every student's hash chain against the stored records, and the access log's.
    fn verify_chains(&self) -> Result<ChainReport, StoreError>;

    // ----- read models (`crate::readmodel`) -----
    /// How far the read models have followed the store.
    fn read_cursor(&self) -> Result<ReadCursor, StoreError>;
    /// The students touched by what arrived after `cursor` (at most `limit` ops and as many
    /// photo uploads): a household's ops touch its students, a photo the students of the records
    /// citing it.
    fn changes_after(&self, cursor: ReadCursor, limit: usize) -> Result<Changes, StoreError>;
    /// The stored rows of these visits.
    fn visit_rows(&self, records: &[RecordId]) -> Result<Vec<VisitRow>, StoreError>;
    /// Visits (not among `except`) citing one of `photos` or sharing one of the perceptual-hash
    /// `bands` (band number, value).
    fn photo_partners(
        &self,
        photos: &[Sha256],
        bands: &[(usize, i64)],
        except: &BTreeSet<RecordId>,
    ) -> Result<Vec<RecordId>, StoreError>;
    /// For each key, its worker's travel-checked visits just before and just after `(at,
    /// record)`, not among `except`: in one round trip for all of them.
    fn travel_neighbours(
        &self,
        keys: &[TravelKey],
        except: &BTreeSet<RecordId>,
    ) -> Result<Vec<Neighbours>, StoreError>;
    /// Replace these visits' and children's rows, drop the rows of `gone` and, when given,
    /// move the cursor: all in one transaction.
    fn save_read_models(&self, w: ReadModelWrite) -> Result<(), StoreError>;
    /// Forget every read-model row and rewind the cursor (a rebuild follows).
    fn clear_read_models(&self) -> Result<(), StoreError>;
    /// A page of the student list, with its counts.
    fn student_page(&self, q: &StudentPageQuery) -> Result<StudentPage, StoreError>;
    /// Students whose summaries are to be recomputed by `today`, with the day they were due
    /// to be: at most `limit`, in that order, continuing after `after`.
    fn summaries_to_recheck(
        &self,
        today: NaiveDate,
        after: Option<(NaiveDate, StudentId)>,
        limit: usize,
    ) -> Result<Vec<(NaiveDate, StudentId)>, StoreError>;
    /// Of these students, those owing overdue work by their summaries.
    fn overdue_students(&self, students: &[StudentId]) -> Result<Vec<StudentId>, StoreError>;
    /// A page of a ledger (辍学台账 or 建档立卡学生台账) for a report unit, in name order, with
    /// the number of lines in the whole ledger.
    fn ledger_page(&self, q: &LedgerQuery) -> Result<LedgerPage, StoreError>;
    /// Each teacher's 三个一 counts over their paired children of `unit`: calls in `month`
    /// (a month as `StudentRhythm::call_months` holds it), due from the children whose status
    /// is one of `owing`.
    fn three_ones(
        &self,
        unit: &ReportUnit,
        month: &str,
        owing: &[EnrolmentStatus],
    ) -> Result<Vec<TeacherCounts>, StoreError>;
    /// Device-check coverage of `unit`'s registered-poor households by their checks within
    /// `checks_in` (all, if none), naming the first `shown` households unchecked.
    fn device_coverage(
        &self,
        unit: &ReportUnit,
        checks_in: Option<(DateTime<Utc>, DateTime<Utc>)>,
        shown: usize,
    ) -> Result<DeviceCoverage, StoreError>;
    /// The townships of the children in `care`, in order.
    fn townships_in_care(&self, care: &Care) -> Result<Vec<String>, StoreError>;
    /// One month's report counts for a unit.
    fn report_counts(&self, q: &ReportCountQuery) -> Result<ReportCounts, StoreError>;
    /// Ops about the unit's children received after `cut` with events before `end`.
    fn report_late(
        &self,
        unit: &ReportUnit,
        cut: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<Vec<LateOp>, StoreError>;
    /// A page of the review queue, with its counts.
    fn queue_page(&self, q: &QueuePageQuery) -> Result<QueuePage, StoreError>;
    /// Run `work` (a catch-up of the read models) while no other server over this database
    /// runs one: two would write the same rows from different moments of the log.
    fn one_catch_up_at_a_time(
        &self,
        work: &mut dyn FnMut() -> Result<usize, StoreError>,
    ) -> Result<usize, StoreError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        for c in [
            Cursor::default(),
            Cursor {
                seq: 12,
                scope: 3,
                backfill: Some(7),
            },
        ] {
            assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }
        for bad in ["", "1", "a.b", "1.2.3.4", "-1.0", "1.2.x"] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}
