//! The per-student file (一生一案): everything merged about one student, shaped for review.
//! One pure function, [`StudentFile::build`], used by the app and the server alike, so a
//! teacher's phone and a supervisor's browser never disagree about what is due or missing.

use crate::hlc::ClockSkew;
use crate::ids::{DeviceId, OpId, RecordId, StudentId, UserId};
use crate::observation::{Answer, ProblemKind, Sha256, Visit, VisitKind};
use crate::op::{EntityRef, FieldKey, FieldWrite, Op, OpBody, ReviewAction, StudentField, Target};
use crate::people::{Guardian, Household, Student};
use crate::replica::Replica;
use crate::status::EnrolmentStatus;
use crate::time::{Term, TermCalendar, china_date};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How long after a persuasion attempt that set no date the next one is due.
pub const DEFAULT_FOLLOW_UP_DAYS: i64 = 14;

/// How long a dropout may wait for a first persuasion visit before it is overdue (a school
/// counts seven days' unexplained absence as dropping out; the visit should follow as fast).
pub const FIRST_ATTEMPT_DAYS: i64 = 7;

/// What the file is built against.
pub struct FileContext<'a> {
    /// The reader's clock: decides what is overdue.
    pub now: DateTime<Utc>,
    /// The county's school terms.
    pub terms: &'a TermCalendar,
    /// Whether a photo's bytes have arrived (the server knows; a phone knows its own).
    pub photo_present: &'a dyn Fn(&Sha256) -> bool,
}

/// One student's file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudentFile {
    pub student: StudentId,
    /// Current state; `None` until the roster entry (name, sex, birth date, status) arrives.
    pub current: Option<Student>,
    /// The resident ID, masked for display.
    pub resident_id_masked: Option<String>,
    pub household: Option<Household>,
    pub guardians: Vec<Guardian>,
    /// Visits, checks, attempts and status changes, newest first.
    pub timeline: Vec<TimelineEntry>,
    /// Work owed on this student, most urgent first.
    pub due: Vec<DueWork>,
    /// Concurrent edits a person must settle.
    pub conflicts: Vec<Conflict>,
    /// Evidence a reviewer would ask for.
    pub missing_evidence: Vec<MissingEvidence>,
}

/// One line of the timeline: when, who, on which device, and what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub by: UserId,
    pub device: DeviceId,
    /// Set when the device's clock was found wrong: `at` may be off by that much.
    pub skew: Option<ClockSkew>,
    pub event: Event,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A visit or contact, in its latest revision.
    Visit {
        record: RecordId,
        visit: Box<Visit>,
        /// How many revisions the record has (1 = never corrected).
        revisions: usize,
        voided: Option<VoidNote>,
        /// Reviewers' decisions on the record (any revision), oldest first.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reviews: Vec<ReviewNote>,
    },
    /// The enrolment status was set.
    StatusChange {
        op: OpId,
        from: Option<EnrolmentStatus>,
        to: EnrolmentStatus,
        /// Whether this is the value in force now.
        current: bool,
    },
}

/// A supervisor's void of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VoidNote {
    pub by: UserId,
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// A reviewer's decision on a record, with their comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewNote {
    pub op: OpId,
    pub by: UserId,
    pub at: DateTime<Utc>,
    pub action: ReviewAction,
    pub comment: String,
}

/// Work owed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DueWork {
    /// No home visit (家访) yet this term; overdue once the term has ended.
    SemesterHomeVisit { term: Term, overdue: bool },
    /// A persuasion visit is due by `due` (the first one, if `last_attempt` is none).
    PersuasionFollowUp {
        due: NaiveDate,
        overdue: bool,
        last_attempt: Option<RecordId>,
    },
    /// A device problem found and not yet remedied.
    DeviceProblem {
        record: RecordId,
        problem: ProblemKind,
    },
    /// A registered-poor household's subsidy not confirmed this term.
    SubsidyUnverified { term: Term, overdue: bool },
    /// A reviewer flagged the record or asked for more evidence, and no correction has
    /// answered it yet.
    ReviewRequest { record: RecordId, note: ReviewNote },
}

impl DueWork {
    /// The work in one Chinese sentence, as the app's caseload and file and the console show
    /// it. Work of the running term says 本学期; an overdue one names its term.
    pub fn zh(&self) -> String {
        let late = if self.is_overdue() {
            "（已逾期）"
        } else {
            ""
        };
        let term_zh = |term: &Term, overdue: bool| {
            if overdue {
                term.zh()
            } else {
                "本学期".to_string()
            }
        };
        match self {
            DueWork::SemesterHomeVisit { term, overdue } => {
                format!("{}家访未完成{late}", term_zh(term, *overdue))
            }
            DueWork::PersuasionFollowUp { due, .. } => format!("劝返回访，应于 {due} 前{late}"),
            DueWork::DeviceProblem { problem, .. } => {
                format!("学习设备问题未解决：{}", problem.zh())
            }
            DueWork::SubsidyUnverified { term, overdue } => {
                format!("{}资助未核实{late}", term_zh(term, *overdue))
            }
            DueWork::ReviewRequest { note, .. } => {
                format!("{}：{}", review_request_zh(note.action), note.comment)
            }
        }
    }

    /// The same sentence in English.
    pub fn en(&self) -> String {
        let late = if self.is_overdue() { " (overdue)" } else { "" };
        let term_en = |term: &Term, overdue: bool| {
            if overdue {
                term.en()
            } else {
                "This term's".to_string()
            }
        };
        match self {
            DueWork::SemesterHomeVisit { term, overdue } => {
                format!("{} home visit not done{late}", term_en(term, *overdue))
            }
            DueWork::PersuasionFollowUp { due, .. } => {
                format!("Persuasion follow-up due by {due}{late}")
            }
            DueWork::DeviceProblem { problem, .. } => {
                format!("Device problem unresolved: {}", problem.en())
            }
            DueWork::SubsidyUnverified { term, overdue } => {
                format!("{} subsidy not verified{late}", term_en(term, *overdue))
            }
            DueWork::ReviewRequest { note, .. } => {
                let asks = match note.action {
                    ReviewAction::Approve => "Approved by reviewer",
                    ReviewAction::Flag => "Flagged by reviewer",
                    ReviewAction::RequestEvidence => "Reviewer asks for evidence",
                };
                format!("{asks}: {}", note.comment)
            }
        }
    }

    /// Overdue work sorts first.
    pub fn is_overdue(&self) -> bool {
        match self {
            DueWork::SemesterHomeVisit { overdue, .. }
            | DueWork::PersuasionFollowUp { overdue, .. }
            | DueWork::SubsidyUnverified { overdue, .. } => *overdue,
            DueWork::DeviceProblem { .. } | DueWork::ReviewRequest { .. } => false,
        }
    }
}

/// What a reviewer's decision asks of the worker, as a phrase.
pub fn review_request_zh(action: ReviewAction) -> &'static str {
    match action {
        ReviewAction::Approve => "督导已通过",
        ReviewAction::Flag => "督导存疑",
        ReviewAction::RequestEvidence => "督导要求补充证据",
    }
}

/// A field with concurrent values that a person must choose between.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    /// The field in conflict (`status`).
    pub field: String,
    pub candidates: Vec<Candidate>,
}

/// One of the concurrent values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub op: OpId,
    pub value: EnrolmentStatus,
    pub by: UserId,
    pub device: DeviceId,
    pub at: DateTime<Utc>,
    /// Shown now (the later stamp) until someone decides.
    pub showing: bool,
}

/// Evidence missing from a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MissingEvidence {
    /// A device check or persuasion visit without a photo.
    PhotoRequired { record: RecordId },
    /// A photo the record names whose bytes have not arrived yet.
    PhotoPending { record: RecordId, sha256: Sha256 },
    /// An on-site visit without a location.
    NoLocation { record: RecordId },
}

/// One visit chain (a record and its corrections) resolved to its latest revision.
struct Chain<'a> {
    record: RecordId,
    op: &'a Op,
    visit: &'a Visit,
    revisions: usize,
    voided: Option<VoidNote>,
    /// Reviews of any revision, oldest first, with the op that made each.
    reviews: Vec<(&'a Op, ReviewNote)>,
}

impl StudentFile {
    /// Build the file of `student` from everything `replica` holds.
    pub fn build(replica: &Replica, student: StudentId, cx: &FileContext<'_>) -> StudentFile {
        let current = replica.student(student);
        let household = current
            .as_ref()
            .and_then(|s| s.household)
            .and_then(|h| replica.household(h));
        let chains = chains(replica, student);
        let today = china_date(cx.now);

        let mut timeline: Vec<TimelineEntry> = chains
            .iter()
            .map(|c| TimelineEntry {
                at: c.visit.started_at,
                by: c.op.author,
                device: c.op.device,
                skew: c.op.skew(),
                event: Event::Visit {
                    record: c.record,
                    visit: Box::new(c.visit.clone()),
                    revisions: c.revisions,
                    voided: c.voided.clone(),
                    reviews: c.reviews.iter().map(|(_, n)| n.clone()).collect(),
                },
            })
            .collect();
        let status_key = FieldKey {
            entity: EntityRef::Student(student),
            field: "status",
        };
        let mut conflicts = Vec::new();
        if let Some(reg) = replica.register(&status_key) {
            let winner = reg.winner();
            for id in reg.history() {
                let Some((op, to, prev)) = status_write(replica, id) else {
                    continue;
                };
                let from = prev
                    .iter()
                    .filter_map(|p| status_write(replica, *p))
                    .map(|(_, s, _)| s)
                    .next();
                timeline.push(TimelineEntry {
                    at: op.device_time,
                    by: op.author,
                    device: op.device,
                    skew: op.skew(),
                    event: Event::StatusChange {
                        op: id,
                        from,
                        to,
                        current: Some(id) == winner,
                    },
                });
            }
            if reg.is_conflicted() {
                let candidates = reg
                    .heads()
                    .filter_map(|id| status_write(replica, id))
                    .map(|(op, value, _)| Candidate {
                        op: op.id,
                        value,
                        by: op.author,
                        device: op.device,
                        at: op.device_time,
                        showing: Some(op.id) == winner,
                    })
                    .collect();
                conflicts.push(Conflict {
                    field: "status".into(),
                    candidates,
                });
            }
        }
        // Stable sort over inputs in a fixed order: equal times keep one order on every replica.
        timeline.sort_by_key(|e| std::cmp::Reverse(e.at));

        let live: Vec<&Chain> = chains.iter().filter(|c| c.voided.is_none()).collect();
        let mut due = Vec::new();
        if let Some(s) = &current {
            due_home_visit(s.status, &live, cx, today, &mut due);
            due_persuasion(replica, s.status, &status_key, &live, today, &mut due);
        }
        due_devices(&live, &mut due);
        due_reviews(&live, &mut due);
        if let Some(h) = &household
            && h.registered_poor
        {
            due_subsidy(&live, cx, today, &mut due);
        }
        due.sort_by_key(|d| !d.is_overdue());

        let mut missing_evidence = Vec::new();
        for c in &live {
            if c.visit.lacks_required_photo() {
                missing_evidence.push(MissingEvidence::PhotoRequired { record: c.record });
            }
            for p in &c.visit.photos {
                if !(cx.photo_present)(&p.sha256) {
                    missing_evidence.push(MissingEvidence::PhotoPending {
                        record: c.record,
                        sha256: p.sha256,
                    });
                }
            }
            if c.visit.kind.is_on_site() && c.visit.location.is_none() {
                missing_evidence.push(MissingEvidence::NoLocation { record: c.record });
            }
        }

        StudentFile {
            student,
            resident_id_masked: replica.resident_id_masked(student),
            guardians: replica.guardians_of(student),
            current,
            household,
            timeline,
            due,
            conflicts,
            missing_evidence,
        }
    }
}

impl StudentFile {
    /// The first day after `today` on which this file's due work may read differently though
    /// nothing new arrives: a term starting or ending (what is owed this term, and what
    /// became overdue), a follow-up falling overdue. Until then a file built on `today` holds;
    /// a summary kept from it is recomputed on that day. `None`: never, by the calendar.
    pub fn due_changes_on(&self, terms: &TermCalendar, today: NaiveDate) -> Option<NaiveDate> {
        let calendar = terms
            .terms
            .iter()
            .flat_map(|t| [Some(t.first_day), t.last_day.succ_opt()])
            .flatten();
        let follow_ups = self.due.iter().filter_map(|d| match d {
            DueWork::PersuasionFollowUp { due, .. } => due.succ_opt(),
            _ => None,
        });
        calendar.chain(follow_ups).filter(|d| *d > today).min()
    }

    /// The visits in force (latest revisions, not voided), newest first.
    pub fn live_visits(&self) -> impl Iterator<Item = &Visit> {
        self.timeline.iter().filter_map(|e| match &e.event {
            Event::Visit {
                visit,
                voided: None,
                ..
            } => Some(&**visit),
            _ => None,
        })
    }
}

fn status_write(replica: &Replica, id: OpId) -> Option<(&Op, EnrolmentStatus, &[OpId])> {
    let op = replica.op(id)?;
    match &op.body {
        OpBody::Set(FieldWrite {
            target:
                Target::Student {
                    set: StudentField::Status(s),
                    ..
                },
            prev,
        }) => Some((op, *s, prev)),
        _ => None,
    }
}

/// Group the student's records into correction chains and resolve each to its latest revision.
fn chains(replica: &Replica, student: StudentId) -> Vec<Chain<'_>> {
    let ids = replica.records_about(student);
    let home = replica.student(student).and_then(|s| s.household);
    let mut groups: BTreeMap<RecordId, BTreeSet<RecordId>> = BTreeMap::new();
    for id in &ids {
        groups.entry(root_of(replica, *id)).or_default().insert(*id);
    }
    // Corrections may name records outside `ids` (e.g. a correction moved a visit to another
    // student); only what this student's records hold is shown.
    let mut out = Vec::new();
    for (root, members) in groups {
        let latest = members
            .iter()
            .filter(|m| !replica.corrections_of(**m).any(|c| members.contains(&c)))
            .filter_map(|m| {
                replica
                    .record(*m)
                    .map(|(op, v)| (op.order_key(), *m, op, v))
            })
            .max_by_key(|(k, ..)| *k)
            .or_else(|| {
                members
                    .iter()
                    .filter_map(|m| {
                        replica
                            .record(*m)
                            .map(|(op, v)| (op.order_key(), *m, op, v))
                    })
                    .max_by_key(|(k, ..)| *k)
            });
        let Some((_, record, op, visit)) = latest else {
            continue;
        };
        let voided = std::iter::once(root)
            .chain(members.iter().copied())
            .flat_map(|m| replica.voids_of(m))
            .min_by_key(|o| o.order_key())
            .and_then(|o| match &o.body {
                OpBody::Void { reason, .. } => Some(VoidNote {
                    by: o.author,
                    at: o.device_time,
                    reason: reason.clone(),
                }),
                _ => None,
            });
        let mut reviews: Vec<(&Op, ReviewNote)> = std::iter::once(root)
            .chain(members.iter().copied())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .flat_map(|m| replica.reviews_of(m))
            .filter_map(|o| match &o.body {
                OpBody::Review {
                    action, comment, ..
                } => Some((
                    o,
                    ReviewNote {
                        op: o.id,
                        by: o.author,
                        at: o.device_time,
                        action: *action,
                        comment: comment.clone(),
                    },
                )),
                _ => None,
            })
            .collect();
        reviews.sort_by_key(|(o, _)| o.order_key());
        // A chain whose latest revision no longer names this student or their household (a
        // correction moved it) is not this student's.
        let about_household = visit.household.is_some() && visit.household == home;
        if !(visit.students.contains(&student) || about_household) {
            continue;
        }
        out.push(Chain {
            record,
            op,
            visit,
            revisions: members.len(),
            voided,
            reviews,
        });
    }
    out
}

/// Follow `corrects` links to the original record. Bounded, so a hostile cycle ends.
fn root_of(replica: &Replica, mut id: RecordId) -> RecordId {
    let mut seen = BTreeSet::new();
    while seen.insert(id) {
        match replica.record(id).and_then(|(_, v)| v.corrects) {
            Some(orig) => id = orig,
            None => break,
        }
    }
    id
}

fn due_home_visit(
    status: EnrolmentStatus,
    live: &[&Chain],
    cx: &FileContext,
    today: NaiveDate,
    due: &mut Vec<DueWork>,
) {
    use EnrolmentStatus::*;
    if !matches!(status, InSchool | Returned | RemoteTeaching) {
        return;
    }
    let Some(term) = cx.terms.current_or_last(today) else {
        return;
    };
    let (start, end) = term.period();
    let done = live.iter().any(|c| {
        c.visit.kind == VisitKind::HomeVisit && (start..end).contains(&c.visit.started_at)
    });
    if !done {
        due.push(DueWork::SemesterHomeVisit {
            term: *term,
            overdue: today > term.last_day,
        });
    }
}

fn due_persuasion(
    replica: &Replica,
    status: EnrolmentStatus,
    status_key: &FieldKey,
    live: &[&Chain],
    today: NaiveDate,
    due: &mut Vec<DueWork>,
) {
    if !status.needs_persuasion() {
        return;
    }
    let last = live
        .iter()
        .filter(|c| c.visit.kind == VisitKind::Persuasion)
        .max_by_key(|c| c.visit.started_at);
    let (due_on, last_attempt) = match last {
        Some(c) => {
            let d = c
                .visit
                .persuasion
                .as_ref()
                .and_then(|p| p.next_follow_up)
                .unwrap_or_else(|| {
                    china_date(c.visit.started_at) + Duration::days(DEFAULT_FOLLOW_UP_DAYS)
                });
            (d, Some(c.record))
        }
        None => {
            // Due a week after the status first became one that needs persuasion.
            let since = replica
                .register(status_key)
                .and_then(|r| r.winner())
                .and_then(|w| replica.op(w))
                .map(|o| china_date(o.device_time.min(o.received_at.unwrap_or(o.device_time))))
                .unwrap_or(today);
            (since + Duration::days(FIRST_ATTEMPT_DAYS), None)
        }
    };
    due.push(DueWork::PersuasionFollowUp {
        due: due_on,
        overdue: today > due_on,
        last_attempt,
    });
}

fn due_devices(live: &[&Chain], due: &mut Vec<DueWork>) {
    // The latest check decides: a problem fixed and re-checked is no longer owed.
    if let Some(c) = live
        .iter()
        .filter(|c| c.visit.device_check.is_some())
        .max_by_key(|c| c.visit.started_at)
        && let Some(dc) = &c.visit.device_check
    {
        for p in dc.open_problems() {
            due.push(DueWork::DeviceProblem {
                record: c.record,
                problem: p.kind,
            });
        }
    }
}

/// The latest review decides: a flag or request stays owed until a correction made after it
/// (the worker's answer) or a later approval.
fn due_reviews(live: &[&Chain], due: &mut Vec<DueWork>) {
    for c in live {
        let Some((op, note)) = c.reviews.last() else {
            continue;
        };
        let answered = c.op.order_key() > op.order_key();
        if note.action.asks_worker() && !answered {
            due.push(DueWork::ReviewRequest {
                record: c.record,
                note: note.clone(),
            });
        }
    }
}

fn due_subsidy(live: &[&Chain], cx: &FileContext, today: NaiveDate, due: &mut Vec<DueWork>) {
    let Some(term) = cx.terms.current_or_last(today) else {
        return;
    };
    let (start, end) = term.period();
    let verified = live.iter().any(|c| {
        (start..end).contains(&c.visit.started_at)
            && c.visit
                .subsidy
                .as_ref()
                .is_some_and(|s| s.received == Answer::Yes)
    });
    if !verified {
        due.push(DueWork::SubsidyUnverified {
            term: *term,
            overdue: today > term.last_day,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::area::{AdminArea, Division};
    use crate::author::Author;
    use crate::ids::{DeviceId, GuardianId, HouseholdId};
    use crate::location::{GeoPoint, Location, LocationSource};
    use crate::observation::*;
    use crate::people::{Relation, Sex};
    use crate::phone::MobileNumber;
    use chrono::TimeZone;

    struct World {
        replica: Replica,
        admin: Author,
        teacher: Author,
        student: StudentId,
        household: HouseholdId,
        terms: TermCalendar,
    }

    fn at(m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, m, d, h, 0, 0).unwrap()
    }

    fn world() -> World {
        let mut replica = Replica::new();
        let mut admin = Author::new(UserId::new(), DeviceId::new());
        let teacher = Author::new(UserId::new(), DeviceId::new());
        let household = HouseholdId::new();
        let student = StudentId::new();
        let t0 = at(9, 1, 1);
        let h = Household {
            id: household,
            head: "吴老三".into(),
            address: "党扭村3组12号".into(),
            area: AdminArea {
                county: Division::named("从江县"),
                township: Division::named("加勉乡"),
                village: Division::named("党扭村"),
                group: Some("3组".into()),
            },
            registered_poor: true,
            location: Some(GeoPoint::new(25.75, 108.90).unwrap()),
        };
        for op in admin.household_ops(&replica.clone(), &h, t0) {
            replica.apply(op).unwrap();
        }
        let s = Student {
            id: student,
            name: "吴小花".into(),
            sex: Sex::Female,
            birth_date: NaiveDate::from_ymd_opt(2013, 4, 2).unwrap(),
            resident_id: None,
            school: None,
            grade: None,
            class: None,
            status: EnrolmentStatus::InSchool,
            focus_groups: BTreeSet::new(),
            household: Some(household),
        };
        for op in admin.student_ops(&replica.clone(), &s, t0) {
            replica.apply(op).unwrap();
        }
        let g = Guardian {
            id: GuardianId::new(),
            student,
            name: "吴奶奶".into(),
            relation: Relation::Grandmother,
            phone: Some(MobileNumber::parse("13800138000").unwrap()),
        };
        for op in admin.guardian_ops(&replica.clone(), &g, t0) {
            replica.apply(op).unwrap();
        }
        World {
            replica,
            admin,
            teacher,
            student,
            household,
            terms: TermCalendar::typical(2025..=2026),
        }
    }

    fn visit(w: &World, kind: VisitKind, when: DateTime<Utc>) -> Visit {
        Visit {
            id: RecordId::new(),
            corrects: None,
            kind,
            visitors: vec![w.teacher.user],
            companions: vec![],
            students: vec![w.student],
            household: Some(w.household),
            guardians_met: vec![],
            started_at: when,
            ended_at: None,
            location: Some(Location {
                point: GeoPoint::new(25.7501, 108.9001).unwrap(),
                accuracy_m: Some(15.0),
                source: LocationSource::Device,
            }),
            notes: "与奶奶谈了孩子的学习情况".into(),
            photos: vec![],
            device_check: None,
            persuasion: None,
            subsidy: None,
        }
    }

    fn build(w: &World, now: DateTime<Utc>) -> StudentFile {
        let all = |_: &Sha256| true;
        StudentFile::build(
            &w.replica,
            w.student,
            &FileContext {
                now,
                terms: &w.terms,
                photo_present: &all,
            },
        )
    }

    fn add(w: &mut World, op: Op) {
        w.replica.apply(op).unwrap();
    }

    #[test]
    fn a_new_term_owes_a_home_visit_and_a_subsidy_check() {
        let w = world();
        let f = build(&w, at(11, 22, 2));
        assert_eq!(f.current.as_ref().unwrap().name, "吴小花");
        assert_eq!(
            f.guardians[0].phone.as_ref().unwrap().as_str(),
            "13800138000"
        );
        assert_eq!(f.household.as_ref().unwrap().head, "吴老三");
        assert!(
            matches!(
                f.due[..],
                [
                    DueWork::SemesterHomeVisit { overdue: false, .. },
                    DueWork::SubsidyUnverified { .. }
                ]
            ),
            "{:?}",
            f.due
        );
        // After the term ends (holiday, 1 Feb) the home visit is overdue, listed first.
        let f = build(&w, Utc.with_ymd_and_hms(2027, 2, 1, 2, 0, 0).unwrap());
        assert!(matches!(
            f.due[0],
            DueWork::SemesterHomeVisit { overdue: true, .. }
        ));
    }

    /// A summary kept from a file holds until the day the file names: built on each day before
    /// it, the file owes the same work; on that day, something differs (in these histories).
    #[test]
    fn a_file_says_when_its_due_work_next_changes() {
        let mut w = world();
        let mut changed_somewhere = 0;
        let mut check = |w: &World, from: DateTime<Utc>| {
            let f = build(w, from);
            let today = china_date(from);
            let next = f.due_changes_on(&w.terms, today).expect("terms ahead");
            let mut day = today;
            while day.succ_opt().unwrap() < next {
                day = day.succ_opt().unwrap();
                let g = build(w, crate::time::start_of_china_day(day) + Duration::hours(9));
                assert_eq!(g.due, f.due, "on {day}, before {next}");
            }
            let g = build(
                w,
                crate::time::start_of_china_day(next) + Duration::hours(9),
            );
            if g.due != f.due {
                changed_somewhere += 1;
            }
        };
        check(&w, at(11, 22, 2));
        check(&w, Utc.with_ymd_and_hms(2027, 1, 25, 2, 0, 0).unwrap());
        // Out of school, with a follow-up set: the follow-up's day matters too.
        let t = at(10, 20, 2);
        let op = w.teacher.set(
            &w.replica,
            Target::Student {
                id: w.student,
                set: StudentField::Status(EnrolmentStatus::DroppedOut),
            },
            t,
        );
        add(&mut w, op);
        check(&w, at(10, 21, 2));
        check(&w, at(11, 22, 2));
        assert!(changed_somewhere >= 3, "{changed_somewhere}");
    }

    #[test]
    fn a_home_visit_clears_the_due_visit_and_shows_in_the_timeline() {
        let mut w = world();
        let v = visit(&w, VisitKind::HomeVisit, at(10, 15, 2));
        let op = w.teacher.record(v.clone(), at(10, 15, 3));
        add(&mut w, op);
        let f = build(&w, at(11, 22, 2));
        assert!(
            !f.due
                .iter()
                .any(|d| matches!(d, DueWork::SemesterHomeVisit { .. }))
        );
        let Event::Visit {
            record,
            revisions,
            voided,
            ..
        } = &f.timeline[0].event
        else {
            panic!("{:?}", f.timeline[0])
        };
        assert_eq!((*record, *revisions, voided.is_none()), (v.id, 1, true));
        assert!(f.missing_evidence.is_empty(), "{:?}", f.missing_evidence);
    }

    #[test]
    fn a_device_check_without_photo_or_location_shows_what_is_missing_and_owed() {
        let mut w = world();
        let mut v = visit(&w, VisitKind::HouseholdVisit, at(11, 3, 2));
        v.location = None;
        v.device_check = Some(DeviceCheck {
            devices_seen: [LearningDevice::Tv].into(),
            device_works: Answer::Yes,
            can_get_online: Answer::No,
            problems: vec![DeviceProblem {
                kind: ProblemKind::NoTvSignal,
                note: "山区无信号".into(),
                remedy: None,
            }],
            ..Default::default()
        });
        let op = w.teacher.record(v.clone(), at(11, 3, 3));
        add(&mut w, op);
        let f = build(&w, at(11, 22, 2));
        assert!(f.due.contains(&DueWork::DeviceProblem {
            record: v.id,
            problem: ProblemKind::NoTvSignal
        }));
        assert!(
            f.missing_evidence
                .contains(&MissingEvidence::PhotoRequired { record: v.id })
        );
        assert!(
            f.missing_evidence
                .contains(&MissingEvidence::NoLocation { record: v.id })
        );

        // A later check with the antenna installed and a photo clears both.
        let mut fixed = visit(&w, VisitKind::HouseholdVisit, at(11, 10, 2));
        fixed.device_check = Some(DeviceCheck {
            problems: vec![DeviceProblem {
                kind: ProblemKind::NoTvSignal,
                note: String::new(),
                remedy: Some(Remedy {
                    kind: RemedyKind::AntennaInstalled,
                    done: true,
                    note: String::new(),
                }),
            }],
            ..Default::default()
        });
        let photo = Sha256::of(b"photo of the antenna");
        fixed.photos.push(PhotoRef {
            sha256: photo,
            bytes: 20,
            width: 1600,
            height: 1200,
            captured_at: None,
            gps: None,
        });
        let op = w.teacher.record(fixed.clone(), at(11, 10, 3));
        add(&mut w, op);
        let f = build(&w, at(11, 22, 2));
        assert!(
            !f.due
                .iter()
                .any(|d| matches!(d, DueWork::DeviceProblem { .. })),
            "{:?}",
            f.due
        );
        // Until its bytes arrive, the photo is pending.
        let none = |_: &Sha256| false;
        let f = StudentFile::build(
            &w.replica,
            w.student,
            &FileContext {
                now: at(11, 22, 2),
                terms: &w.terms,
                photo_present: &none,
            },
        );
        assert!(f.missing_evidence.contains(&MissingEvidence::PhotoPending {
            record: fixed.id,
            sha256: photo
        }));
    }

    #[test]
    fn a_dropout_owes_persuasion_then_the_follow_up_the_attempt_set() {
        let mut w = world();
        let op = w.teacher.set(
            &w.replica,
            Target::Student {
                id: w.student,
                set: StudentField::Status(EnrolmentStatus::DroppedOut),
            },
            at(11, 1, 2),
        );
        add(&mut w, op);
        let f = build(&w, at(11, 5, 2));
        assert_eq!(
            f.current.as_ref().unwrap().status,
            EnrolmentStatus::DroppedOut
        );
        assert!(f.due.contains(&DueWork::PersuasionFollowUp {
            due: NaiveDate::from_ymd_opt(2026, 11, 8).unwrap(),
            overdue: false,
            last_attempt: None
        }));
        let f = build(&w, at(11, 9, 2));
        assert!(matches!(
            f.due[0],
            DueWork::PersuasionFollowUp { overdue: true, .. }
        ));
        // The status change is on the timeline with where it came from.
        assert!(f.timeline.iter().any(|e| matches!(
            e.event,
            Event::StatusChange {
                from: Some(EnrolmentStatus::InSchool),
                to: EnrolmentStatus::DroppedOut,
                current: true,
                ..
            }
        )));

        let mut v = visit(&w, VisitKind::Persuasion, at(11, 7, 2));
        v.persuasion = Some(PersuasionAttempt {
            reason: DropoutReason::WorkingAway,
            method: MethodLevel::Administrative,
            notice: Some(Notice {
                kind: NoticeKind::DeadlineToReturn,
                number: "加勉乡〔2026〕12号".into(),
                issued_on: NaiveDate::from_ymd_opt(2026, 11, 7).unwrap(),
                deadline: NaiveDate::from_ymd_opt(2026, 11, 20),
            }),
            outcome: PersuasionOutcome::Promised,
            next_follow_up: NaiveDate::from_ymd_opt(2026, 11, 21),
        });
        let op = w.teacher.record(v.clone(), at(11, 7, 3));
        add(&mut w, op);
        let f = build(&w, at(11, 9, 2));
        assert!(f.due.contains(&DueWork::PersuasionFollowUp {
            due: NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
            overdue: false,
            last_attempt: Some(v.id)
        }));
        assert!(
            f.missing_evidence
                .contains(&MissingEvidence::PhotoRequired { record: v.id })
        );
    }

    #[test]
    fn concurrent_status_changes_are_a_conflict_until_someone_decides() {
        let mut w = world();
        let seen = w.replica.clone();
        let a = w.teacher.set(
            &seen,
            Target::Student {
                id: w.student,
                set: StudentField::Status(EnrolmentStatus::SuspectedDropout),
            },
            at(11, 2, 2),
        );
        let mut other = Author::new(UserId::new(), DeviceId::new());
        let b = other.set(
            &seen,
            Target::Student {
                id: w.student,
                set: StudentField::Status(EnrolmentStatus::TransferredOut),
            },
            at(11, 2, 3),
        );
        add(&mut w, a.clone());
        add(&mut w, b.clone());
        let f = build(&w, at(11, 5, 2));
        assert_eq!(f.conflicts.len(), 1);
        let values: BTreeSet<_> = f.conflicts[0].candidates.iter().map(|c| c.value).collect();
        assert_eq!(
            values,
            [
                EnrolmentStatus::SuspectedDropout,
                EnrolmentStatus::TransferredOut
            ]
            .into()
        );
        assert_eq!(
            f.conflicts[0]
                .candidates
                .iter()
                .filter(|c| c.showing)
                .count(),
            1
        );
        // A supervisor who saw both decides; the conflict is gone and both values stay in the timeline.
        let op = w.admin.set(
            &w.replica,
            Target::Student {
                id: w.student,
                set: StudentField::Status(EnrolmentStatus::TransferredOut),
            },
            at(11, 6, 2),
        );
        add(&mut w, op);
        let f = build(&w, at(11, 7, 2));
        assert!(f.conflicts.is_empty());
        let changes = f
            .timeline
            .iter()
            .filter(|e| matches!(e.event, Event::StatusChange { .. }))
            .count();
        assert_eq!(changes, 4, "initial, two concurrent, the decision");
    }

    #[test]
    fn corrections_replace_and_voids_withdraw_without_deleting() {
        let mut w = world();
        let v1 = visit(&w, VisitKind::HomeVisit, at(10, 15, 2));
        let op = w.teacher.record(v1.clone(), at(10, 15, 3));
        add(&mut w, op);
        let mut v2 = v1.clone();
        v2.id = RecordId::new();
        v2.corrects = Some(v1.id);
        v2.notes = "更正：与父亲电话确认".into();
        let op = w.teacher.record(v2.clone(), at(10, 16, 3));
        add(&mut w, op);
        let f = build(&w, at(11, 22, 2));
        let visits: Vec<_> = f
            .timeline
            .iter()
            .filter_map(|e| match &e.event {
                Event::Visit {
                    record,
                    revisions,
                    visit,
                    ..
                } => Some((*record, *revisions, visit.notes.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(visits, vec![(v2.id, 2, "更正：与父亲电话确认".to_string())]);
        // Voiding the original withdraws the whole chain: it no longer counts as this term's visit.
        let op = w.admin.void(v1.id, "虚假家访，照片为网图", at(11, 20, 2));
        add(&mut w, op);
        let f = build(&w, at(11, 22, 2));
        let Event::Visit {
            voided: Some(note), ..
        } = &f
            .timeline
            .iter()
            .find(|e| matches!(e.event, Event::Visit { .. }))
            .unwrap()
            .event
        else {
            panic!()
        };
        assert_eq!(note.reason, "虚假家访，照片为网图");
        assert!(
            f.due
                .iter()
                .any(|d| matches!(d, DueWork::SemesterHomeVisit { .. }))
        );
    }

    #[test]
    fn a_request_for_evidence_is_owed_until_a_correction_answers_it() {
        let mut w = world();
        let v = visit(&w, VisitKind::HomeVisit, at(11, 3, 2));
        let op = w.teacher.record(v.clone(), at(11, 3, 3));
        add(&mut w, op);
        let review = w.admin.review(
            v.id,
            ReviewAction::RequestEvidence,
            "请补拍与家长的合影",
            at(11, 5, 2),
        );
        add(&mut w, review);
        let f = build(&w, at(11, 22, 2));
        let Some(DueWork::ReviewRequest { record, note }) = f
            .due
            .iter()
            .find(|d| matches!(d, DueWork::ReviewRequest { .. }))
        else {
            panic!("no review request in {:?}", f.due)
        };
        assert_eq!(*record, v.id);
        assert_eq!(note.comment, "请补拍与家长的合影");
        let Event::Visit { reviews, .. } = &f.timeline[0].event else {
            panic!()
        };
        assert_eq!(reviews.len(), 1);

        // The teacher corrects the record (adds the photo): the request is answered.
        let mut fixed = v.clone();
        fixed.id = RecordId::new();
        fixed.corrects = Some(v.id);
        let op = w.teacher.record(fixed, at(11, 6, 2));
        add(&mut w, op);
        let f = build(&w, at(11, 22, 2));
        assert!(
            !f.due
                .iter()
                .any(|d| matches!(d, DueWork::ReviewRequest { .. })),
            "{:?}",
            f.due
        );

        // An approval is never owed work.
        let v2 = visit(&w, VisitKind::HomeVisit, at(11, 8, 2));
        let op = w.teacher.record(v2.clone(), at(11, 8, 3));
        add(&mut w, op);
        let ok = w
            .admin
            .review(v2.id, ReviewAction::Approve, "", at(11, 9, 2));
        add(&mut w, ok);
        let f = build(&w, at(11, 22, 2));
        assert!(
            !f.due
                .iter()
                .any(|d| matches!(d, DueWork::ReviewRequest { .. }))
        );
    }
}
