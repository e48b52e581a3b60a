//! The review queue and reviewers' actions. A reviewer's scope is loaded once per request into a
//! [`ScopeView`] (the merged ops of their caseload, the photos' metadata, the people and
//! schools), from which the queue, a student's file and the month's reports are computed with
//! the shared merge — the same answers a phone would get from the same ops.

pub mod evidence;

use crate::store::{Cursor, PhotoMeta, Session, Store, StoreError};
use crate::sync::{self, MAX_PULL_PAGE, SyncError};
use baoxue_shared::author::Author;
use baoxue_shared::file::{DueWork, Event, FileContext, ReviewNote, StudentFile, VoidNote};
use baoxue_shared::ids::{BatchId, RecordId, SchoolId, StudentId, UserId};
use baoxue_shared::location::GeoPoint;
use baoxue_shared::observation::{Sha256, Visit, VisitKind};
use baoxue_shared::op::{Op, OpBody, ReviewAction};
use baoxue_shared::people::{Household, School, User};
use baoxue_shared::replica::Replica;
use baoxue_shared::time::{TermCalendar, china_date};
use baoxue_shared::validation::FieldErrors;
use chrono::{DateTime, NaiveDate, Utc};
use evidence::{EvidenceSettings, Flag, PhotoEvidence, VisitFacts};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use thiserror::Error;

/// Everything in one user's scope, merged.
#[derive(Clone)]
pub struct ScopeView {
    pub user: User,
    pub replica: Replica,
    /// The caseload's students, in a fixed order.
    pub students: Vec<StudentId>,
    pub photos: HashMap<Sha256, PhotoMeta>,
    pub users: HashMap<UserId, User>,
    pub schools: HashMap<SchoolId, School>,
    /// Where the pull stands: a refresh fetches only what came after.
    cursor: Cursor,
    /// Photos the records cite whose bytes had not arrived at the last refresh.
    awaited: HashSet<Sha256>,
}

impl ScopeView {
    /// Load `user`'s scope: every op about their caseload (paged through the store's pull, so
    /// scoping is the phones' own), the photos those ops cite, every account and school.
    pub fn load(store: &dyn Store, user: &User) -> Result<Self, StoreError> {
        let mut v = Self {
            user: user.clone(),
            replica: Replica::new(),
            students: vec![],
            photos: HashMap::new(),
            users: HashMap::new(),
            schools: HashMap::new(),
            cursor: Cursor::default(),
            awaited: HashSet::new(),
        };
        v.refresh(store)?;
        Ok(v)
    }

    /// A view over ops already merged, every student in it in scope: for tests of what is
    /// computed from a view, without a store.
    #[cfg(test)]
    pub(crate) fn of_replica(user: User, replica: Replica) -> Self {
        Self {
            user,
            students: replica.student_ids().into_iter().collect(),
            replica,
            photos: HashMap::new(),
            users: HashMap::new(),
            schools: HashMap::new(),
            cursor: Cursor::default(),
            awaited: HashSet::new(),
        }
    }

    /// Whether anything arrived since the last refresh (one op is enough to know), or a photo
    /// the records cite is still awaited.
    fn is_stale(&self, store: &dyn Store) -> Result<bool, StoreError> {
        if !self.awaited.is_empty() {
            return Ok(true);
        }
        let user = store
            .user(self.user.id)?
            .unwrap_or_else(|| self.user.clone());
        let caseload = store.caseload(&user)?;
        // A reduced scope brings no new ops but must drop students at once.
        let same_students = caseload.students.len() == self.students.len()
            && self
                .students
                .iter()
                .all(|s| caseload.students.contains_key(s));
        Ok(!same_students || !store.pull(&caseload, self.cursor, 1)?.ops.is_empty())
    }

    /// Bring the view up to date: pull what arrived since the last refresh (students newly in
    /// scope come with their whole history, as for a phone), look up photos that were awaited,
    /// reload the people and schools. Returns how many ops were new.
    pub fn refresh(&mut self, store: &dyn Store) -> Result<usize, StoreError> {
        if let Some(u) = store.user(self.user.id)? {
            self.user = u;
        }
        let caseload = store.caseload(&self.user)?;
        let mut new = 0;
        loop {
            let page = store.pull(&caseload, self.cursor, MAX_PULL_PAGE)?;
            for op in page.ops {
                if let OpBody::Record(v) = &op.body {
                    self.awaited.extend(
                        v.photos
                            .iter()
                            .map(|p| p.sha256)
                            .filter(|h| !self.photos.contains_key(h)),
                    );
                }
                new += 1;
                self.replica.apply(op)?;
            }
            self.cursor = page.next;
            if !page.more {
                break;
            }
        }
        if !self.awaited.is_empty() {
            let hashes: Vec<Sha256> = self.awaited.iter().copied().collect();
            let found = store.photos_meta(&hashes)?;
            self.awaited.retain(|h| !found.contains_key(h));
            self.photos.extend(found);
        }
        let mut students: Vec<StudentId> = caseload.students.keys().copied().collect();
        students.sort();
        self.students = students;
        self.users = store.users()?.into_iter().map(|u| (u.id, u)).collect();
        self.schools = store.schools()?.into_iter().map(|s| (s.id, s)).collect();
        Ok(new)
    }

    /// Every student's file, in `students` order.
    pub fn files(
        &self,
        replica: &Replica,
        terms: &TermCalendar,
        now: DateTime<Utc>,
    ) -> Vec<StudentFile> {
        let present = |h: &Sha256| self.photos.contains_key(h);
        let cx = FileContext {
            now,
            terms,
            photo_present: &present,
        };
        self.students
            .iter()
            .map(|s| StudentFile::build(replica, *s, &cx))
            .collect()
    }

    /// A user's display name (the account name if the account is gone).
    pub fn name_of(&self, id: UserId) -> String {
        self.users
            .get(&id)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    /// A school's name.
    pub fn school_name(&self, id: Option<SchoolId>) -> String {
        id.and_then(|i| self.schools.get(&i))
            .map(|s| s.name.clone())
            .unwrap_or_default()
    }
}

/// Each reviewer's [`ScopeView`], kept between requests and refreshed incrementally (the console
/// before the read models; the console bench measures it as the baseline), so a page
/// costs a pull of what is new instead of reloading the county. Readers hold an `Arc`; a
/// refresh that finds new ops updates in place when nobody is reading, or a copy otherwise.
#[derive(Clone, Default)]
pub struct ScopeCache(Arc<Mutex<HashMap<UserId, Arc<ScopeView>>>>);

impl ScopeCache {
    /// `user`'s view, brought up to date.
    pub fn get(&self, store: &dyn Store, user: &User) -> Result<Arc<ScopeView>, StoreError> {
        let cached = self.views().get(&user.id).cloned();
        let view = match cached {
            None => Arc::new(ScopeView::load(store, user)?),
            Some(mut v) => {
                if v.is_stale(store)? {
                    Arc::make_mut(&mut v).refresh(store)?;
                }
                v
            }
        };
        self.views().insert(user.id, view.clone());
        Ok(view)
    }

    /// The cached views. A request that panicked while holding the lock may have left one
    /// half-refreshed: forget them all (they are rebuilt from the store) rather than fail
    /// every later request.
    fn views(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, Arc<ScopeView>>> {
        self.0.lock().unwrap_or_else(|poisoned| {
            let mut views = poisoned.into_inner();
            views.clear();
            self.0.clear_poison();
            views
        })
    }
}

baoxue_shared::coded_enum! {
    /// Where a record stands with reviewers.
    pub enum ReviewState {
        /// Nobody has looked at it.
        Pending = "pending", "待审核", "pending";
        Approved = "approved", "已通过", "approved";
        Flagged = "flagged", "存疑", "flagged";
        EvidenceRequested = "evidence_requested", "待补充证据", "evidence requested";
        /// Flagged or asked for evidence, and the worker has since corrected it: look again.
        Answered = "answered", "已补充，待复核", "answered, to review again";
        Voided = "voided", "已作废", "voided";
    }
}

impl ReviewState {
    /// A reviewer still has to look at it.
    pub fn is_open(self) -> bool {
        matches!(self, ReviewState::Pending | ReviewState::Answered)
    }
}

/// One visit in the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueItem {
    pub record: RecordId,
    /// Who entered the (latest revision of the) visit; the other visitors went along.
    pub author: UserId,
    pub visit: Visit,
    pub revisions: usize,
    pub students: Vec<(StudentId, String)>,
    pub household: Option<Household>,
    pub school: Option<SchoolId>,
    pub flags: Vec<Flag>,
    pub state: ReviewState,
    pub reviews: Vec<ReviewNote>,
    pub voided: Option<VoidNote>,
}

impl QueueItem {
    /// The colleagues named as having gone along: every visitor but the author.
    pub fn colleagues(&self) -> impl Iterator<Item = UserId> + '_ {
        self.visit.colleagues(self.author)
    }

    pub fn village(&self) -> String {
        self.household
            .as_ref()
            .map(|h| h.area.village.name.clone())
            .unwrap_or_default()
    }

    pub fn township(&self) -> String {
        self.household
            .as_ref()
            .map(|h| h.area.township.name.clone())
            .unwrap_or_default()
    }
}

/// Queue filters; all optional, combined with AND.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct QueueFilter {
    pub township: Option<String>,
    pub village: Option<String>,
    pub school: Option<SchoolId>,
    pub worker: Option<UserId>,
    pub kind: Option<VisitKind>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// A flag code (`far_from_home` ...), or `any` for every flagged visit.
    pub flag: Option<String>,
    pub state: Option<ReviewState>,
}

impl QueueFilter {
    /// Whether `i` passes every filter.
    pub fn keeps(&self, i: &QueueItem) -> bool {
        let day = china_date(i.visit.started_at);
        self.township
            .as_ref()
            .is_none_or(|t| t.is_empty() || i.township() == *t)
            && self
                .village
                .as_ref()
                .is_none_or(|v| v.is_empty() || i.village() == *v)
            && self.school.is_none_or(|s| i.school == Some(s))
            && self.worker.is_none_or(|w| i.visit.visitors.contains(&w))
            && self.kind.is_none_or(|k| i.visit.kind == k)
            && self.from.is_none_or(|f| day >= f)
            && self.to.is_none_or(|t| day <= t)
            && self.state.is_none_or(|s| i.state == s)
            && match self.flag.as_deref() {
                None | Some("") => true,
                Some("any") => !i.flags.is_empty(),
                Some(code) => i.flags.iter().any(|f| f.code() == code),
            }
    }
}

/// Every visit in the scope with its evidence flags and review state, flagged and unreviewed
/// first, then newest first; filtered.
pub fn queue(
    view: &ScopeView,
    files: &[StudentFile],
    settings: &EvidenceSettings,
    filter: &QueueFilter,
) -> Vec<QueueItem> {
    let (items, answered) = entries(&view.replica, files);
    let facts: Vec<VisitFacts> = items
        .values()
        .filter(|i| i.voided.is_none())
        .map(|i| facts_of(i, &view.photos))
        .collect();
    let mut flags = evidence::check(&facts, settings);
    let mut out: Vec<QueueItem> = items
        .into_values()
        .map(|mut i| {
            i.flags = flags.remove(&i.record).unwrap_or_default();
            i.state = state_of(&i, answered.contains(&i.record));
            i
        })
        .filter(|i| filter.keeps(i))
        .collect();
    out.sort_by_key(queue_order);
    out
}

/// The queue's order: open and flagged first, then open, then newest first.
pub fn queue_order(i: &QueueItem) -> (bool, bool, std::cmp::Reverse<DateTime<Utc>>, RecordId) {
    let open = i.state.is_open();
    (
        !open || i.flags.is_empty(),
        !open,
        std::cmp::Reverse(i.visit.started_at),
        i.record,
    )
}

/// The visits in `files` as queue entries, without flags or state yet (names, household and
/// school looked up in `replica`), and the records whose reviewer's request the worker has
/// answered with a correction.
pub(crate) fn entries(
    replica: &Replica,
    files: &[StudentFile],
) -> (BTreeMap<RecordId, QueueItem>, HashSet<RecordId>) {
    let mut items: BTreeMap<RecordId, QueueItem> = BTreeMap::new();
    let mut answered: HashSet<RecordId> = HashSet::new();
    for f in files {
        let owed: HashSet<RecordId> = f
            .due
            .iter()
            .filter_map(|d| match d {
                DueWork::ReviewRequest { record, .. } => Some(*record),
                _ => None,
            })
            .collect();
        for e in &f.timeline {
            let Event::Visit {
                record,
                visit,
                revisions,
                voided,
                reviews,
            } = &e.event
            else {
                continue;
            };
            if reviews.last().is_some_and(|r| r.action.asks_worker()) && !owed.contains(record) {
                answered.insert(*record);
            }
            items.entry(*record).or_insert_with(|| {
                let household = visit.household.and_then(|h| replica.household(h));
                let students: Vec<(StudentId, String)> = visit
                    .students
                    .iter()
                    .map(|s| {
                        let name = replica.student(*s).map(|st| st.name).unwrap_or_default();
                        (*s, name)
                    })
                    .collect();
                let school = visit
                    .students
                    .iter()
                    .find_map(|s| replica.student(*s).and_then(|st| st.school));
                QueueItem {
                    record: *record,
                    author: e.by,
                    visit: (**visit).clone(),
                    revisions: *revisions,
                    students,
                    household,
                    school,
                    flags: vec![],
                    state: ReviewState::Pending,
                    reviews: reviews.clone(),
                    voided: voided.clone(),
                }
            });
        }
    }
    (items, answered)
}

/// What the evidence checks need of a (live) queue entry: its visit, the household's registered
/// place and its photos — the server's own reading of each photo once its bytes are here, what
/// the phone read until then.
pub(crate) fn facts_of<'a>(
    i: &'a QueueItem,
    photos: &HashMap<Sha256, PhotoMeta>,
) -> VisitFacts<'a> {
    VisitFacts {
        record: i.record,
        visit: &i.visit,
        household_location: i.household.as_ref().and_then(|h| h.location),
        photos: i
            .visit
            .photos
            .iter()
            .map(|p| {
                let meta = photos.get(&p.sha256);
                let (captured_at, gps) = match meta {
                    Some(m) => (
                        m.captured_at,
                        m.lat
                            .zip(m.lon)
                            .and_then(|(lat, lon)| GeoPoint::new(lat, lon).ok()),
                    ),
                    None => (p.captured_at, p.gps),
                };
                PhotoEvidence {
                    sha256: p.sha256,
                    captured_at,
                    gps,
                    phash: meta.and_then(|m| phash_bytes(&m.phash)),
                }
            })
            .collect(),
    }
}

/// A stored perceptual hash's bytes.
pub(crate) fn phash_bytes(b64: &str) -> Option<Vec<u8>> {
    image_hasher::ImageHash::<Box<[u8]>>::from_base64(b64)
        .ok()
        .map(|h| h.as_bytes().to_vec())
}

/// Where a record stands with reviewers.
pub(crate) fn state_of(i: &QueueItem, answered: bool) -> ReviewState {
    if i.voided.is_some() {
        ReviewState::Voided
    } else if answered {
        ReviewState::Answered
    } else {
        match i.reviews.last().map(|r| r.action) {
            None => ReviewState::Pending,
            Some(ReviewAction::Approve) => ReviewState::Approved,
            Some(ReviewAction::Flag) => ReviewState::Flagged,
            Some(ReviewAction::RequestEvidence) => ReviewState::EvidenceRequested,
        }
    }
}

/// What a reviewer decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Flag,
    RequestEvidence,
    Void,
}

/// Why a review action was refused.
#[derive(Debug, Error)]
pub enum ReviewError {
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Sync(#[from] SyncError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Record a reviewer's decision on `record` as an op from their browser session, scope-checked
/// like any push, into the audit trail and onto the worker's phone with the next pull.
pub fn act(
    store: &dyn Store,
    session: &Session,
    record: RecordId,
    decision: Decision,
    comment: &str,
    now: DateTime<Utc>,
) -> Result<Op, ReviewError> {
    let mut author = Author::new(session.user.id, session.device);
    let comment = comment.trim();
    let op = match decision {
        Decision::Void => author.void(record, comment, now),
        Decision::Approve => author.review(record, ReviewAction::Approve, comment, now),
        Decision::Flag => author.review(record, ReviewAction::Flag, comment, now),
        Decision::RequestEvidence => {
            author.review(record, ReviewAction::RequestEvidence, comment, now)
        }
    };
    op.validate().map_err(ReviewError::Invalid)?;
    sync::push_checked(store, session, BatchId::new(), vec![op.clone()], now)?;
    Ok(op)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;
    use crate::sync::push_trusted;
    use baoxue_shared::ids::DeviceId;
    use baoxue_shared::people::{Assignment, Role};
    use baoxue_shared::sample;

    #[test]
    fn the_cached_scope_follows_new_records_and_a_reduced_scope() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let mut rng = fastrand::Rng::with_seed(3);
        let mut admin = Author::new(UserId::new(), DeviceId::new());
        let now = chrono::Utc::now();
        let today = baoxue_shared::time::china_date(now);
        let h = sample::household(&mut rng);
        let a = sample::student(&mut rng, &h, today);
        let b = sample::student(&mut rng, &h, today);
        let empty = Replica::new();
        let mut ops = admin.household_ops(&empty, &h, now);
        ops.extend(admin.student_ops(&empty, &a, now));
        ops.extend(admin.student_ops(&empty, &b, now));
        push_trusted(&store, admin.user, admin.device, ops, now).unwrap();
        let reviewer = User {
            id: UserId::new(),
            account: "sup".into(),
            name: "督导".into(),
            role: Role::TownshipSupervisor,
            assignments: vec![
                Assignment::Student { student: a.id },
                Assignment::Student { student: b.id },
            ],
        };
        store.add_account(&reviewer, "x").unwrap();
        let cache = ScopeCache::default();
        let first = cache.get(&store, &reviewer).unwrap();
        assert_eq!(first.students.len(), 2);
        let again = cache.get(&store, &reviewer).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "nothing new: the same view");

        // A new visit arrives: the next request sees it.
        let mut teacher = Author::new(UserId::new(), DeviceId::new());
        let v = sample::visit(&mut rng, VisitKind::HomeVisit, teacher.user, a.id, &h, now);
        let id = v.id;
        let op = teacher.record(v, now);
        push_trusted(&store, teacher.user, teacher.device, vec![op], now).unwrap();
        assert!(
            cache
                .get(&store, &reviewer)
                .unwrap()
                .replica
                .record(id)
                .is_some()
        );

        // One student is taken out of the reviewer's scope: gone from the view at once.
        store
            .unassign(reviewer.id, &Assignment::Student { student: b.id })
            .unwrap();
        let after = cache.get(&store, &reviewer).unwrap();
        assert_eq!(after.students, vec![a.id]);

        // A request panics while holding the cache: later requests still get a view.
        let poisoner = cache.clone();
        let _ = std::thread::spawn(move || {
            let _held = poisoner.0.lock().unwrap();
            panic!("a request failed mid-refresh");
        })
        .join();
        assert!(cache.0.is_poisoned());
        let view = cache.get(&store, &reviewer).expect("the cache recovers");
        assert_eq!(view.students, vec![a.id]);
        assert!(!cache.0.is_poisoned());
        store.close();
    }
}
