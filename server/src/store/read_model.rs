//! The rows of the read models (`crate::readmodel` computes them, pages read them): what a
//! console page needs, kept current as ops arrive instead of rebuilt from the op log per page.

use baoxue_shared::ids::{RecordId, SchoolId, StudentId, UserId};
use baoxue_shared::observation::{Sha256, VisitKind};
use chrono::{DateTime, Utc};

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
    pub students: Vec<StudentId>,
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
    pub fn everything(students: Vec<StudentId>, limit: usize) -> Self {
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
