//! The rows of the read models (`crate::readmodel` computes them, pages read them): what a
//! console page needs, kept current as ops arrive instead of rebuilt from the op log per page.

use baoxue_shared::area::AreaScope;
use baoxue_shared::ids::{HouseholdId, OpId, RecordId, SchoolId, StudentId, UserId};
use baoxue_shared::observation::{
    Answer, DropoutReason, MethodLevel, ProblemKind, Sha256, VisitKind,
};
use baoxue_shared::people::{Grade, Sex};
use baoxue_shared::status::EnrolmentStatus;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// How far the read models have followed the store: the last op (server sequence) and the last
/// photo upload they include.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadCursor {
    pub op_seq: i64,
    pub photo_seq: i64,
}

/// What arrived after a cursor: the students whose files it touches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub students: Vec<StudentId>,
    /// The cursor once these are taken in.
    pub next: ReadCursor,
}

/// One visit as the review queue lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitRow {
    pub record: RecordId,
    pub started_at: DateTime<Utc>,
    pub kind: VisitKind,
    /// The students it concerns (the queue's scope is theirs).
    pub students: Vec<StudentId>,
    /// Everyone who went.
    pub visitors: Vec<UserId>,
    /// Counted in its visitors' travel check (an on-site visit with a position, not voided).
    pub travel: bool,
    pub school: Option<SchoolId>,
    pub township: String,
    pub village: String,
    /// The review state's code.
    pub state: String,
    /// The evidence flags' codes.
    pub flags: Vec<String>,
    /// Pending or answered: the reviewer still has to look.
    pub open: bool,
    /// The photos it cites with their perceptual-hash bands (empty until the bytes arrive),
    /// for finding the same picture elsewhere; none for a voided visit.
    pub photos: Vec<(Sha256, Vec<i64>)>,
    /// Everything the page shows (the review module's item, as JSON).
    pub detail: String,
}

/// A worker's visit, as a place on their timeline to find the visits either side of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TravelKey {
    pub worker: UserId,
    pub at: DateTime<Utc>,
    pub record: RecordId,
}

/// A worker's travel-checked visits either side of a [`TravelKey`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Neighbours {
    pub before: Option<RecordId>,
    pub after: Option<RecordId>,
}

/// Where a queue row sorts: open and flagged first (0), then open (1), then the rest (2); newest
/// first within each; the record breaks ties. Pages continue from a key (keyset pagination).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct QueueKey {
    pub rank: i64,
    /// Minus the visit's start in milliseconds, so that the key sorts ascending.
    pub newest: i64,
    pub record: RecordId,
}

impl QueueKey {
    /// The key as a short opaque string for a link.
    pub fn encode(&self) -> String {
        format!("{}.{}.{}", self.rank, self.newest, self.record)
    }

    /// [`QueueKey::encode`]'s output, or `None`.
    pub fn decode(s: &str) -> Option<Self> {
        let mut it = s.splitn(3, '.');
        Some(Self {
            rank: it.next()?.parse().ok()?,
            newest: it.next()?.parse().ok()?,
            record: it.next()?.parse().ok()?,
        })
    }
}

impl std::str::FromStr for QueueKey {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::decode(s).ok_or("not a page of the queue")
    }
}

/// Which part of the queue a page shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueFrom {
    First,
    /// The rows after this key.
    After(QueueKey),
    /// The rows before this key (the previous page).
    Before(QueueKey),
}

/// A page of the queue: the reviewer's scope (their students), the filters, where to start.
#[derive(Debug, Clone)]
pub struct QueuePageQuery {
    pub students: Care,
    pub township: Option<String>,
    pub village: Option<String>,
    pub school: Option<SchoolId>,
    pub worker: Option<UserId>,
    pub kind: Option<VisitKind>,
    /// Visits starting at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Visits starting before this instant.
    pub until: Option<DateTime<Utc>>,
    /// A flag code, or `any`.
    pub flag: Option<String>,
    /// A review state's code.
    pub state: Option<String>,
    pub from_key: QueueFrom,
    pub limit: usize,
}

impl QueuePageQuery {
    /// The first `limit` rows of the whole queue of `students`, unfiltered.
    pub fn everything(students: Care, limit: usize) -> Self {
        Self {
            students,
            township: None,
            village: None,
            school: None,
            worker: None,
            kind: None,
            from: None,
            until: None,
            flag: None,
            state: None,
            from_key: QueueFrom::First,
            limit,
        }
    }
}

/// The rows of one page, in queue order, and the counts the page states.
#[derive(Debug, Clone, Default)]
pub struct QueuePage {
    pub rows: Vec<(QueueKey, String)>,
    /// Rows continue past the last one / before the first one.
    pub more_after: bool,
    pub more_before: bool,
    /// Visits in the scope; matching the filters; of those open; of those with a flag.
    pub in_scope: u64,
    pub matching: u64,
    pub open: u64,
    pub flagged: u64,
    /// The townships of the scope's visits, for the filter.
    pub townships: Vec<String>,
}

/// The monthly report's rows of one child (`crate::report::rows` computes them): replaced whole
/// whenever anything about the child arrives.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StudentReportRows {
    pub student: StudentId,
    pub spans: Vec<StatusSpan>,
    pub months: Vec<MonthRow>,
    pub visits: Vec<MonthVisit>,
    pub events: Vec<OpEvent>,
}

/// The child as the ops with event times up to `from` make them, which is how the report sees
/// them at the end of any period ending in `(from, to]` (milliseconds; `to` is `i64::MAX` for
/// the state now).
#[derive(Debug, Clone, PartialEq)]
pub struct StatusSpan {
    pub from_ms: i64,
    pub to_ms: i64,
    pub status: EnrolmentStatus,
    pub birth: NaiveDate,
    pub name: String,
    pub school: Option<SchoolId>,
    pub township: Option<String>,
}

/// What the child adds to a month's moves and typical cases (only months in which they have
/// some, and the child's unit at the period's end).
#[derive(Debug, Clone, PartialEq)]
pub struct MonthRow {
    /// `2026-11`.
    pub month: String,
    pub school: Option<SchoolId>,
    pub township: Option<String>,
    pub suspected: bool,
    pub dropped: bool,
    pub back: Option<MonthBack>,
}

/// A child brought back in a month, as the typical cases list them.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthBack {
    pub placed: EnrolmentStatus,
    pub name: String,
    pub village: String,
    pub attempts: u32,
    pub how: String,
}

/// A persuasion visit that counts in a month for this child's unit.
#[derive(Debug, Clone, PartialEq)]
pub struct MonthVisit {
    pub month: String,
    pub record: RecordId,
    pub school: Option<SchoolId>,
    pub township: Option<String>,
}

/// One op naming the child: when it was received and when its event happened (milliseconds),
/// for the records that arrive after a month was filed.
#[derive(Debug, Clone, PartialEq)]
pub struct OpEvent {
    pub op: OpId,
    pub received_ms: i64,
    pub event_ms: i64,
}

/// Which children a report counts: those of `students` (the reviewer's) in the unit — the
/// school or the township, as the child stood at the end of the period; neither is the whole
/// scope.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportUnit {
    pub students: Care,
    pub school: Option<SchoolId>,
    pub township: Option<String>,
}

/// One month's counts for a unit.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportCountQuery {
    pub unit: ReportUnit,
    /// `2026-11`.
    pub month: String,
    /// The period's end, in milliseconds.
    pub end_ms: i64,
    /// The birth dates (inclusive) of the ages the enrolment figure counts.
    pub births: (NaiveDate, NaiveDate),
    /// How many typical cases to return.
    pub cases: usize,
}

/// What the read models count for one month of one unit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportCounts {
    pub enrolled: u32,
    pub still_out: u32,
    pub suspected: u32,
    pub dropped: u32,
    /// Children brought back, by placement.
    pub back: Vec<(EnrolmentStatus, u32)>,
    pub visits: u32,
    /// The typical cases, most persuasion visits first.
    pub cases: Vec<(StudentId, Option<SchoolId>, MonthBack)>,
}

/// An op received after `cut` whose event falls before a period's end, about a child of the
/// unit (as the child stands now).
#[derive(Debug, Clone, PartialEq)]
pub struct LateOp {
    pub op: OpId,
    pub student: StudentId,
    pub name: String,
}

/// One step of a catch-up, written in one transaction with the cursor it reaches.
#[derive(Debug, Clone, Default)]
pub struct ReadModelWrite {
    /// Queue rows to replace.
    pub visits: Vec<VisitRow>,
    /// Records whose rows go (a correction superseded them).
    pub gone: Vec<RecordId>,
    /// Children whose report rows are replaced.
    pub reports: Vec<StudentReportRows>,
    /// Students whose summaries are replaced.
    pub summaries: Vec<StudentSummary>,
    pub cursor: Option<ReadCursor>,
}

/// A student as the console's student list shows them: their file's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct StudentSummary {
    pub student: StudentId,
    pub name: String,
    pub status: Option<EnrolmentStatus>,
    pub school: Option<SchoolId>,
    pub township: String,
    pub village: String,
    /// Work owed, and how much of it overdue.
    pub due: u32,
    pub overdue: u32,
    /// Fields with concurrent values awaiting a decision.
    pub conflicts: u32,
    /// Evidence a record lacks (a required photo, a photo whose bytes never came).
    pub missing: u32,
    pub last_visit: Option<DateTime<Utc>>,
    /// The first day the due work may read differently with nothing new arriving: the summary
    /// is recomputed then.
    pub recheck: Option<NaiveDate>,
    /// What the 三个一 and device-coverage tables need of this child.
    pub rhythm: StudentRhythm,
    pub checks: Vec<DeviceCheckRow>,
    /// The child's line in the 辍学台账, when they are or ever were out of school.
    pub dropout: Option<DropoutLine>,
    /// The child's line in the 建档立卡学生台账, when their household is registered poor.
    pub poor: Option<PoorLine>,
}

/// A line of the 辍学台账 (dropout ledger), as `crate::report::ledgers` reads it off a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DropoutLine {
    pub sex: Sex,
    pub birth_date: NaiveDate,
    pub resident_id_masked: Option<String>,
    pub grade: Option<Grade>,
    pub township: String,
    pub village: String,
    /// The first guardian on the file, and their phone.
    pub guardian: Option<String>,
    pub guardian_phone: Option<String>,
    /// The first day (China) the child's status said they were out of school.
    pub dropped_on: Option<NaiveDate>,
    pub attempts: u32,
    /// The latest persuasion attempt's reason, method and day.
    pub last_reason: Option<DropoutReason>,
    pub last_method: Option<MethodLevel>,
    pub last_attempt_on: Option<NaiveDate>,
    pub status: EnrolmentStatus,
}

/// A line of the 建档立卡学生台账 (registered-poor students' ledger).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoorLine {
    pub grade: Option<Grade>,
    pub head: String,
    pub township: String,
    pub village: String,
    /// The latest device check in force: its day and what it found.
    pub checked_on: Option<NaiveDate>,
    pub device_works: Option<Answer>,
    pub can_get_online: Option<Answer>,
    pub open_problems: Vec<ProblemKind>,
    /// The latest subsidy verification: the programme and whether the aid arrived.
    pub subsidy: Option<(String, Answer)>,
}

/// Which of the two ledgers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ledger {
    Dropouts,
    Poor,
}

/// A page of a ledger for a report unit, in name order.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerQuery {
    pub unit: ReportUnit,
    pub ledger: Ledger,
    pub from: StudentFrom,
    pub limit: usize,
    /// Count the whole ledger (a page shows it; a download reading it in chunks doesn't).
    pub with_total: bool,
}

/// One child's line in a ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerLine {
    Dropout(DropoutLine),
    Poor(PoorLine),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRow {
    pub student: StudentId,
    pub name: String,
    pub school: Option<SchoolId>,
    pub line: LedgerLine,
}

/// A page of a ledger, with the number of lines in the whole ledger.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LedgerPage {
    pub rows: Vec<LedgerRow>,
    pub more_after: bool,
    pub more_before: bool,
    pub total: u64,
}

/// One child as the 三个一 and device-coverage tables count them (`crate::report::compliance`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StudentRhythm {
    pub student: StudentId,
    pub status: Option<EnrolmentStatus>,
    /// The file owes this term's home visit.
    pub home_visit_owed: bool,
    /// Months with a phone call or home visit in force, `YYYY-MM`.
    pub call_months: Vec<String>,
    /// The child's household, when it is registered poor: its id, head and village.
    pub poor_household: Option<(HouseholdId, String, String)>,
}

/// A teacher's 三个一 counts over their paired children of a unit (`Store::three_ones`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeacherCounts {
    pub teacher: UserId,
    pub students: u32,
    /// Children whose status owes contact (a term's home visit, a call a month).
    pub due: u32,
    /// Of those, visited at home this term.
    pub visited: u32,
    /// Of those, called or visited in the month.
    pub called: u32,
}

/// Device-check coverage of the registered-poor households of a unit, this term.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DeviceCoverage {
    pub households: u32,
    /// Checked at least once this term.
    pub checked: u32,
    /// The latest check found a working device.
    pub working: u32,
    /// Problems the latest check left open.
    pub problems_open: u32,
    /// Problems remedied this term.
    pub problems_fixed: u32,
    /// The first households (in the order of their ids) not yet checked this term: head and
    /// village. All of them number `households - checked`.
    pub unchecked: Vec<(String, String)>,
}

/// A device check in force in a child's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCheckRow {
    pub student: StudentId,
    pub record: RecordId,
    pub started_at: DateTime<Utc>,
    pub working: bool,
    pub open_problems: u32,
    pub fixed_problems: u32,
}

/// Which students a page of the student list shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StudentPageQuery {
    /// The reviewer's students.
    pub students: Care,
    pub township: Option<String>,
    pub village: Option<String>,
    pub school: Option<SchoolId>,
    pub status: Option<EnrolmentStatus>,
    /// Only students owing work (`Some(false)`) or owing overdue work (`Some(true)`).
    pub owing: Option<bool>,
    /// Only students with a value conflict.
    pub conflicted: bool,
    /// Continue after or before a student (the list is in name order).
    pub from: StudentFrom,
    pub limit: usize,
}

/// Where a page of the student list starts.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum StudentFrom {
    #[default]
    Start,
    After(StudentId),
    Before(StudentId),
}

/// A page of the student list, with the counts of the whole list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StudentPage {
    pub rows: Vec<StudentSummary>,
    pub more_after: bool,
    pub more_before: bool,
    pub in_scope: u64,
    pub matching: u64,
    pub owing: u64,
    pub overdue: u64,
    /// The townships of the reviewer's students, for the filter.
    pub townships: Vec<String>,
}

/// Whose rows a reviewer's page reads: the students in their care, as their assignments name
/// them. The store turns it into a condition of the query itself, so a county's care is not a
/// list of a hundred thousand ids carried into every page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Care {
    pub students: Vec<StudentId>,
    pub households: Vec<HouseholdId>,
    pub schools: Vec<SchoolId>,
    pub areas: Vec<AreaScope>,
}

impl Care {
    /// Only areas and schools, no households or children by name: every row of a place and
    /// school answers for the care alike, so counts kept by group answer for it
    /// (`store::sql::GroupCounts`).
    pub fn is_of_places(&self) -> bool {
        self.students.is_empty() && self.households.is_empty()
    }

    /// Exactly these students.
    pub fn of_students(students: Vec<StudentId>) -> Self {
        Care {
            students,
            ..Care::default()
        }
    }
}
