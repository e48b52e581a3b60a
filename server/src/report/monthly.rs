//! The monthly dropout-control report (控辍保学月报表) for a school, a township or the county.
//!
//! Reproducible by construction: the figures of month M "as of" a receipt cut C are a pure
//! function of the ops received by C whose event time (below) falls before the end of M's
//! period. The first filing stores C with the figures; asking again recomputes at C (same
//! figures), and what arrived after C is shown as amendments beside them — never a silent
//! change.
//!
//! # What each figure counts
//!
//! - **The period** of month M runs from the 22nd of M−1 at 00:00 China time (inclusive) to
//!   the 22nd of M at 00:00 (exclusive): an event at 22 November 00:00:00 belongs to
//!   December's report, one at 21 November 23:59:59 to November's.
//! - **An event's time** is what the phone said — a visit's start, a status write's device
//!   time — corrected for a clock found wrong: never later than the server received it (a
//!   clock running ahead cannot push an event into a later month), and moved forward by the
//!   gap when the phone's clock ran behind a time it had already seen (`ClockSkew::Behind`).
//!   [`event_time`].
//! - **The cut**: only ops the server had received by C count. A status is the merge's value
//!   over those ops whose event time is before the period's end.
//! - 6–15周岁在籍学生数 (`enrolled`): students in the unit whose status at the period's end is
//!   an active one (in school, returned, home or remote teaching, vocational class) and who are
//!   6 to 15 on the period's last day.
//! - 本月新发现疑似辍学 / 本月新确认辍学: students with a status write to suspected dropout /
//!   dropped out whose event time is in the period (a student counts once however many).
//! - 本月劝返复学合计 and its parts: students whose last status write in the period moves them
//!   from an out-of-school status (suspected, dropped out, persuading) to a placement, counted
//!   once under that placement (返校就读: returned or in school; 送教上门; 远程送教; 职初班; 缓学免学:
//!   exempt or deferred).
//! - 月末仍未返校 (`still_out`): students whose status at the period's end is suspected, dropped
//!   out or persuading.
//! - 本月劝返走访次数 (`persuasion_visits`): persuasion visits — the latest revision of each
//!   record, not voided — whose event time is in the period, **each counted once**, when a child
//!   it names is in the unit (a visit naming no child: when a child of its household is).
//!   Siblings do not multiply a visit.
//! - Typical cases: the children brought back in the period, with how many persuasion visits
//!   named them (or their household, naming no child) and the last one's method and notes.

use super::rows;
use crate::review::ScopeView;
use crate::store::{Care, ReportCountQuery, ReportUnit, Store, StoreError};
use baoxue_shared::area::AreaScope;
use baoxue_shared::file::{Event, FileContext, StudentFile};
use baoxue_shared::hlc::ClockSkew;
use baoxue_shared::ids::{RecordId, SchoolId, StudentId};
use baoxue_shared::observation::{PersuasionOutcome, VisitKind};
use baoxue_shared::op::{EntityRef, FieldKey, FieldWrite, OpBody, StudentField, Target};
use baoxue_shared::people::{Assignment, Role, School, Student, User};
use baoxue_shared::replica::Replica;
use baoxue_shared::status::EnrolmentStatus;
use baoxue_shared::time::{ReportMonth, TermCalendar, YearMonth, china_date};
use baoxue_shared::validation::{COMPULSORY_AGES, age_on};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// Whose report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "level", content = "of", rename_all = "snake_case")]
pub enum ReportScope {
    School(SchoolId),
    /// A township, by name.
    Township(String),
    /// Everything in the reviewer's scope.
    County,
}

impl ReportScope {
    /// The key filings are stored under.
    pub fn key(&self) -> String {
        match self {
            ReportScope::School(s) => format!("school:{s}"),
            ReportScope::Township(t) => format!("township:{t}"),
            ReportScope::County => "county".into(),
        }
    }

    /// Parse `school:<id>`, `township:<name>`, `county`.
    pub fn parse(s: &str) -> Option<Self> {
        if s == "county" {
            return Some(ReportScope::County);
        }
        if let Some(id) = s.strip_prefix("school:") {
            return id.parse().ok().map(ReportScope::School);
        }
        s.strip_prefix("township:")
            .filter(|t| !t.is_empty())
            .map(|t| ReportScope::Township(t.to_string()))
    }

    /// The heading: the school's or township's name.
    pub fn title(&self, view: &ScopeView) -> String {
        match self {
            ReportScope::School(s) => view.school_name(Some(*s)),
            ReportScope::Township(t) => t.clone(),
            ReportScope::County => view
                .students
                .iter()
                .find_map(|s| {
                    let st = view.replica.student(*s)?;
                    let h = view.replica.household(st.household?)?;
                    Some(h.area.county.name)
                })
                .unwrap_or_else(|| "全县".into()),
        }
    }

    /// Whether `s` (as `replica` has it) belongs to this scope.
    pub fn contains(&self, replica: &Replica, s: &Student) -> bool {
        match self {
            ReportScope::School(id) => s.school == Some(*id),
            ReportScope::Township(t) => s
                .household
                .and_then(|h| replica.household(h))
                .is_some_and(|h| h.area.township.name == *t),
            ReportScope::County => true,
        }
    }
}

/// The unit `user` reports for: a school admin their school, a township supervisor their
/// township, a county supervisor the county. Only that unit's report is theirs to file, and
/// their scope holds the whole of it.
pub fn unit_of(user: &User) -> Option<ReportScope> {
    user.assignments.iter().find_map(|a| match (user.role, a) {
        (Role::SchoolAdmin, Assignment::School { school }) => Some(ReportScope::School(*school)),
        (
            Role::TownshipSupervisor,
            Assignment::Area {
                area: AreaScope::Township { township, .. },
            },
        ) => Some(ReportScope::Township(township.name.clone())),
        (
            Role::CountySupervisor,
            Assignment::Area {
                area: AreaScope::County(_),
            },
        ) => Some(ReportScope::County),
        _ => None,
    })
}

/// Whether `user` may file `scope`'s report: only for their own unit.
pub fn may_file(user: &User, scope: &ReportScope) -> bool {
    unit_of(user).as_ref() == Some(scope)
}

/// Whether `user` may read `scope`'s report: their own unit's, or one inside it (the county
/// reads every township and school; a township the schools that sit in it). A report of a
/// unit larger than one's scope would be partial figures under the unit's name.
pub fn may_view(user: &User, scope: &ReportScope, schools: &HashMap<SchoolId, School>) -> bool {
    match (unit_of(user), scope) {
        (Some(unit), s) if unit == *s => true,
        (Some(ReportScope::County), _) => true,
        (Some(ReportScope::Township(t)), ReportScope::School(s)) => {
            schools.get(s).is_some_and(|sc| sc.area.township.name == t)
        }
        _ => false,
    }
}

/// The figures of one report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// Students aged 6–15 on the roster and in the system at the end of the period.
    pub enrolled: u32,
    /// Became suspected dropouts during the period.
    pub suspected_found: u32,
    /// Confirmed as dropouts during the period.
    pub dropouts_found: u32,
    /// Brought back into education during the period (any placement below).
    pub persuaded_back: u32,
    pub returned: u32,
    pub home_teaching: u32,
    pub remote_teaching: u32,
    pub vocational: u32,
    /// 缓学 / 免学.
    pub exempt: u32,
    /// Suspected, confirmed or under persuasion at the end of the period.
    pub still_out: u32,
    /// Persuasion visits made during the period.
    pub persuasion_visits: u32,
    /// The month's typical cases (典型案例).
    pub cases: Vec<Case>,
}

/// A typical case: a child brought back, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub student: StudentId,
    pub name: String,
    pub school: String,
    pub village: String,
    pub placed: String,
    pub attempts: u32,
    /// The last persuasion visit's method and notes.
    pub how: String,
}

impl Figures {
    /// The figures as labelled rows, in the form's order.
    pub fn rows(&self) -> [(&'static str, u32); 11] {
        [
            ("6–15周岁在籍学生数", self.enrolled),
            ("本月新发现疑似辍学", self.suspected_found),
            ("本月新确认辍学", self.dropouts_found),
            ("本月劝返复学合计", self.persuaded_back),
            ("其中：返校就读", self.returned),
            ("其中：送教上门", self.home_teaching),
            ("其中：远程送教", self.remote_teaching),
            ("其中：职初班", self.vocational),
            ("其中：缓学免学", self.exempt),
            ("月末仍未返校", self.still_out),
            ("本月劝返走访次数", self.persuasion_visits),
        ]
    }
}

/// A figure that changed after filing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Amendment {
    pub label: &'static str,
    pub filed: u32,
    pub now: u32,
}

/// A record received after the filing that bears on the month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LateRecord {
    pub student: String,
    pub what: String,
    pub at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
}

/// The ops that count for `month` as of `cut`.
pub fn replica_for(
    view: &ScopeView,
    month: ReportMonth,
    cut: DateTime<Utc>,
) -> (Replica, (DateTime<Utc>, DateTime<Utc>)) {
    let period = month.period();
    let mut r = Replica::new();
    for op in view
        .replica
        .ops()
        .filter(|o| o.received_at.is_some_and(|t| t <= cut) && event_time(o) < period.1)
    {
        let _ = r.apply(op.clone());
    }
    (r, period)
}

/// When an op's event happened, for the report: the phone's claim (a visit's start, otherwise
/// the device time of the write), moved forward by the gap when the phone's clock ran behind
/// a time it had already seen, and never later than the server received it.
pub fn event_time(op: &baoxue_shared::op::Op) -> DateTime<Utc> {
    let claimed = match &op.body {
        OpBody::Record(v) => v.started_at,
        _ => op.device_time,
    };
    let corrected = match op.skew() {
        Some(ClockSkew::Behind(seconds)) => claimed
            .checked_add_signed(Duration::seconds(seconds))
            .unwrap_or(claimed),
        _ => claimed,
    };
    match op.received_at {
        Some(r) => corrected.min(r),
        None => corrected,
    }
}

/// Compute the report of `scope` for `month` from the ops received by `cut`.
pub fn figures(
    view: &ScopeView,
    scope: &ReportScope,
    month: ReportMonth,
    cut: DateTime<Utc>,
    terms: &TermCalendar,
) -> Figures {
    let (r, _) = replica_for(view, month, cut);
    let mut f = Figures::default();
    // Each persuasion visit once (its record's root), however many children of the unit it
    // concerns.
    let mut persuasion_records: BTreeSet<RecordId> = BTreeSet::new();
    for sid in &view.students {
        let Some(s) = r.student(*sid) else { continue };
        if !scope.contains(&r, &s) {
            continue;
        }
        let m = student_month(&r, *sid, month, terms);
        f.enrolled += u32::from(m.enrolled);
        f.still_out += u32::from(m.still_out);
        f.suspected_found += u32::from(m.suspected_found);
        f.dropouts_found += u32::from(m.dropouts_found);
        persuasion_records.extend(m.persuasions);
        if let Some(case) = m.back {
            f.count_back(case.placed);
            f.cases.push(Case {
                student: *sid,
                name: s.name.clone(),
                school: view.school_name(s.school),
                village: case.village,
                placed: case.placed.zh().to_string(),
                attempts: case.attempts,
                how: case.how,
            });
        }
    }
    f.finish_cases();
    f.persuasion_visits = persuasion_records.len() as u32;
    f
}

impl Figures {
    /// One child brought back, under its placement.
    pub fn count_back(&mut self, to: EnrolmentStatus) {
        self.persuaded_back += 1;
        match to {
            EnrolmentStatus::Returned | EnrolmentStatus::InSchool => self.returned += 1,
            EnrolmentStatus::HomeTeaching => self.home_teaching += 1,
            EnrolmentStatus::RemoteTeaching => self.remote_teaching += 1,
            EnrolmentStatus::VocationalClass => self.vocational += 1,
            _ => self.exempt += 1,
        }
    }

    /// The typical cases shown: the most persuasion visits first, ten at most.
    pub fn finish_cases(&mut self) {
        self.cases.sort_by(|a, b| {
            b.attempts
                .cmp(&a.attempts)
                .then(a.name.cmp(&b.name))
                .then(a.student.cmp(&b.student))
        });
        self.cases.truncate(CASES_SHOWN);
    }
}

/// How many typical cases a report shows.
pub const CASES_SHOWN: usize = 10;

/// What one child adds to their unit's report of a month.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StudentMonth {
    pub enrolled: bool,
    pub still_out: bool,
    pub suspected_found: bool,
    pub dropouts_found: bool,
    /// The persuasion visits about this child in the period (records).
    pub persuasions: Vec<RecordId>,
    /// Brought back in the period: how.
    pub back: Option<Back>,
}

/// A child brought back in the period, for the typical cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Back {
    pub placed: EnrolmentStatus,
    pub village: String,
    /// Live persuasion visits about the child up to the period's end.
    pub attempts: u32,
    /// The last one's method and notes.
    pub how: String,
}

/// What `sid` adds to `month`'s report, by `r`: a replica of the ops that count for the month
/// (received by the cut, events before the period's end) — at least this child's and their
/// household's. The one definition of a child's part in the figures, for the report computed
/// from a scope and for the read models kept per child.
pub fn student_month(
    r: &Replica,
    sid: StudentId,
    month: ReportMonth,
    terms: &TermCalendar,
) -> StudentMonth {
    let (start, end) = month.period();
    let mut m = StudentMonth::default();
    let Some(s) = r.student(sid) else { return m };
    let last_day = china_date(end - Duration::seconds(1));
    let in_period = |t: DateTime<Utc>| start <= t && t < end;
    m.enrolled = s.status.is_active() && COMPULSORY_AGES.contains(&age_on(s.birth_date, last_day));
    m.still_out = s.status.needs_persuasion();
    let moves = status_moves(r, sid);
    let moved_to = |x: EnrolmentStatus| moves.iter().any(|(t, _, to)| in_period(*t) && *to == x);
    m.suspected_found = moved_to(EnrolmentStatus::SuspectedDropout);
    m.dropouts_found = moved_to(EnrolmentStatus::DroppedOut);
    // The last move back in the period counts once, under its placement.
    let back = moves.iter().rev().find(|(t, from, to)| {
        in_period(*t) && from.is_some_and(|x| x.needs_persuasion()) && is_placement(*to)
    });
    let none = |_: &baoxue_shared::observation::Sha256| true;
    let cx = FileContext {
        now: end,
        terms,
        photo_present: &none,
    };
    let file = StudentFile::build(r, sid, &cx);
    // Live persuasion visits about this child (naming them, or their household naming no
    // child), newest first, with their record and event time.
    let persuasions: Vec<(RecordId, DateTime<Utc>, &baoxue_shared::observation::Visit)> = file
        .timeline
        .iter()
        .filter_map(|e| match &e.event {
            Event::Visit {
                record,
                visit,
                voided: None,
                ..
            } if visit.kind == VisitKind::Persuasion
                && (visit.students.is_empty() || visit.students.contains(&sid)) =>
            {
                let at = r
                    .record(visit.id)
                    .map_or(visit.started_at, |(op, _)| event_time(op));
                Some((*record, at, &**visit))
            }
            _ => None,
        })
        .collect();
    m.persuasions = persuasions
        .iter()
        .filter(|(_, at, _)| in_period(*at))
        .map(|(record, ..)| *record)
        .collect();
    if let Some((_, _, to)) = back {
        let how = persuasions
            .first()
            .map(|(_, _, v)| {
                let method = v
                    .persuasion
                    .as_ref()
                    .map(|p| {
                        let placed = match p.outcome {
                            PersuasionOutcome::Returned(_) => "，已劝返",
                            _ => "",
                        };
                        format!("{}{}：", p.method.zh(), placed)
                    })
                    .unwrap_or_default();
                format!("{method}{}", v.notes)
            })
            .unwrap_or_default();
        m.back = Some(Back {
            placed: *to,
            village: s
                .household
                .and_then(|h| r.household(h))
                .map(|h| h.area.village.name)
                .unwrap_or_default(),
            attempts: persuasions.len() as u32,
            how,
        });
    }
    m
}

fn is_placement(s: EnrolmentStatus) -> bool {
    use EnrolmentStatus::*;
    matches!(
        s,
        Returned
            | InSchool
            | HomeTeaching
            | RemoteTeaching
            | VocationalClass
            | Exempt
            | DeferredEnrolment
    )
}

/// Every status write of a student in the order the merge keeps them: (when, from, to).
fn status_moves(
    r: &Replica,
    student: StudentId,
) -> Vec<(DateTime<Utc>, Option<EnrolmentStatus>, EnrolmentStatus)> {
    let key = FieldKey {
        entity: EntityRef::Student(student),
        field: "status",
    };
    let Some(reg) = r.register(&key) else {
        return vec![];
    };
    let status_of = |id| match r.op(id).map(|o| &o.body) {
        Some(OpBody::Set(FieldWrite {
            target:
                Target::Student {
                    set: StudentField::Status(s),
                    ..
                },
            ..
        })) => Some(*s),
        _ => None,
    };
    let mut out: Vec<_> = reg
        .history()
        .filter_map(|id| {
            let op = r.op(id)?;
            let to = status_of(id)?;
            let from = match &op.body {
                OpBody::Set(w) => w.prev.iter().find_map(|p| status_of(*p)),
                _ => None,
            };
            Some((event_time(op), from, to))
        })
        .collect();
    out.sort_by_key(|(t, ..)| *t);
    out
}

/// Figures that differ between a filing and now.
pub fn amendments(filed: &Figures, now: &Figures) -> Vec<Amendment> {
    filed
        .rows()
        .into_iter()
        .zip(now.rows())
        .filter(|((_, a), (_, b))| a != b)
        .map(|((label, a), (_, b))| Amendment {
            label,
            filed: a,
            now: b,
        })
        .collect()
}

/// Records received after `cut` that bear on `month` in `scope`.
pub fn late_records(
    view: &ScopeView,
    scope: &ReportScope,
    month: ReportMonth,
    cut: DateTime<Utc>,
) -> Vec<LateRecord> {
    let (_, end) = month.period();
    let in_scope: BTreeSet<StudentId> = view
        .students
        .iter()
        .copied()
        .filter(|s| {
            view.replica
                .student(*s)
                .is_some_and(|st| scope.contains(&view.replica, &st))
        })
        .collect();
    let mut out: Vec<LateRecord> = view
        .replica
        .ops()
        .filter(|o| o.received_at.is_some_and(|t| t > cut) && event_time(o) < end)
        .filter_map(|o| {
            let student = o.students().into_iter().find(|s| in_scope.contains(s))?;
            let what = late_what(o);
            Some(LateRecord {
                student: view
                    .replica
                    .student(student)
                    .map(|s| s.name)
                    .unwrap_or_default(),
                what,
                at: event_time(o),
                received_at: o.received_at?,
            })
        })
        .collect();
    out.sort_by_key(|l| (l.received_at, l.at));
    out
}

/// What a late record was, in a word.
fn late_what(o: &baoxue_shared::op::Op) -> String {
    match &o.body {
        OpBody::Record(v) => format!("{}记录", v.kind.zh()),
        OpBody::Set(FieldWrite {
            target:
                Target::Student {
                    set: StudentField::Status(s),
                    ..
                },
            ..
        }) => format!("学籍状态改为“{}”", s.zh()),
        OpBody::Set(_) => "信息修改".into(),
        OpBody::Void { .. } => "记录作废".into(),
        OpBody::Review { .. } => "审核意见".into(),
    }
}

/// The children `students` (a reviewer's) of `scope`, as the read models select them.
pub fn unit(students: Care, scope: &ReportScope) -> ReportUnit {
    ReportUnit {
        students,
        school: match scope {
            ReportScope::School(s) => Some(*s),
            _ => None,
        },
        township: match scope {
            ReportScope::Township(t) => Some(t.clone()),
            _ => None,
        },
    }
}

/// The report of `unit` for `month` from the read models — the ops received so far, as
/// [`figures`] computes them at a cut of now (`crate::report::rows`).
pub fn figures_now(
    store: &dyn Store,
    unit: ReportUnit,
    month: ReportMonth,
) -> Result<Figures, StoreError> {
    let c = store.report_counts(&ReportCountQuery {
        unit,
        month: month_key(month),
        end_ms: month.period().1.timestamp_millis(),
        births: rows::births_counted_on(rows::last_day(month)),
        cases: CASES_SHOWN,
    })?;
    let mut f = Figures {
        enrolled: c.enrolled,
        still_out: c.still_out,
        suspected_found: c.suspected,
        dropouts_found: c.dropped,
        persuasion_visits: c.visits,
        ..Figures::default()
    };
    for (placed, n) in c.back {
        for _ in 0..n {
            f.count_back(placed);
        }
    }
    let schools: HashMap<SchoolId, String> = if c.cases.is_empty() {
        HashMap::new()
    } else {
        store
            .schools()?
            .into_iter()
            .map(|s| (s.id, s.name))
            .collect()
    };
    f.cases = c
        .cases
        .into_iter()
        .map(|(student, school, b)| Case {
            student,
            name: b.name,
            school: school
                .and_then(|s| schools.get(&s).cloned())
                .unwrap_or_default(),
            village: b.village,
            placed: b.placed.zh().to_string(),
            attempts: b.attempts,
            how: b.how,
        })
        .collect();
    Ok(f)
}

/// Records received after `cut` that bear on `month` in `unit`, from the read models.
pub fn late_now(
    store: &dyn Store,
    unit: &ReportUnit,
    month: ReportMonth,
    cut: DateTime<Utc>,
) -> Result<Vec<LateRecord>, StoreError> {
    let late = store.report_late(unit, cut, month.period().1)?;
    let mut names: HashMap<baoxue_shared::ids::OpId, HashMap<StudentId, String>> = HashMap::new();
    for l in late {
        names.entry(l.op).or_default().insert(l.student, l.name);
    }
    let ids: Vec<_> = names.keys().copied().collect();
    let mut out: Vec<LateRecord> = store
        .ops_by_id(&ids)?
        .into_iter()
        .filter_map(|o| {
            // An op about two of the unit's children is one late record, under the first it
            // names.
            let of = names.get(&o.id)?;
            let student = o.students().into_iter().find_map(|s| of.get(&s))?.clone();
            Some(LateRecord {
                student,
                what: late_what(&o),
                at: event_time(&o),
                received_at: o.received_at?,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (a.received_at, a.at, &a.student, &a.what).cmp(&(b.received_at, b.at, &b.student, &b.what))
    });
    Ok(out)
}

/// "2026年11月（10月22日至11月21日）".
pub fn period_zh(month: ReportMonth) -> String {
    let (start, end) = month.period();
    let last = china_date(end - Duration::seconds(1));
    format!(
        "{}（{}至{}）",
        month.0,
        china_date(start).format("%-m月%-d日"),
        last.format("%-m月%-d日")
    )
}

/// Parse `2026-11`.
pub fn parse_month(s: &str) -> Option<ReportMonth> {
    let (y, m) = s.split_once('-')?;
    YearMonth::new(y.parse().ok()?, m.parse().ok()?).map(ReportMonth)
}

/// `2026-11`.
pub fn month_key(m: ReportMonth) -> String {
    format!("{:04}-{:02}", m.0.year(), m.0.month())
}

#[cfg(test)]
mod tests {
    //! Every figure against a recomputation from the raw ops, written plainly from the
    //! definitions in the module's documentation, on generated histories: siblings, status
    //! writes at the period's edges (22nd 00:00 China time), phones whose clocks run ahead or
    //! behind, records arriving after the cut, visits voided.

    use super::*;
    use crate::review::ScopeView;
    use baoxue_shared::author::Author;
    use baoxue_shared::hlc::{CLOCK_BOUND, Hlc};
    use baoxue_shared::ids::{DeviceId, UserId};
    use baoxue_shared::observation::{
        DropoutReason, MethodLevel, PersuasionAttempt, PersuasionOutcome, Visit,
    };
    use baoxue_shared::op::Op;
    use baoxue_shared::people::{Household, Student};
    use baoxue_shared::sample;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use std::collections::HashSet;

    /// A generated county month: the ops as the server holds them, the cut, the people.
    struct History {
        ops: Vec<Op>,
        cut: DateTime<Utc>,
        households: Vec<(Household, Vec<Student>)>,
    }

    fn county() -> User {
        User {
            id: UserId::new(),
            account: "county".into(),
            name: "县督导".into(),
            role: Role::CountySupervisor,
            assignments: vec![],
        }
    }

    fn november() -> ReportMonth {
        ReportMonth::containing(Utc.with_ymd_and_hms(2026, 11, 10, 4, 0, 0).unwrap())
    }

    /// An event's time by the definition, written out again from the raw fields.
    fn defined_time(op: &Op) -> DateTime<Utc> {
        let claimed = match &op.body {
            OpBody::Record(v) => v.started_at,
            _ => op.device_time,
        };
        let behind = op.hlc.wall() - op.device_time;
        let claimed = if behind > CLOCK_BOUND {
            claimed + behind
        } else {
            claimed
        };
        claimed.min(
            op.received_at
                .expect("the server's ops carry their receipt"),
        )
    }

    /// The phone's clock when it made an op: right, days ahead, or days behind a time it had
    /// already seen; and when the server received it.
    fn stamp(rng: &mut fastrand::Rng, op: &mut Op, actual: DateTime<Utc>) {
        let delay = Duration::seconds(rng.i64(0..3 * 86_400));
        match rng.u8(..6) {
            0 => {
                let ahead = Duration::seconds(rng.i64(3_600..10 * 86_400));
                op.device_time = actual + ahead;
                op.hlc = Hlc::at(actual + ahead);
            }
            1 => {
                let behind = Duration::seconds(rng.i64(3_600..10 * 86_400));
                op.device_time = actual - behind;
                op.hlc = Hlc::at(actual);
            }
            _ => {
                op.device_time = actual;
                op.hlc = Hlc::at(actual);
            }
        }
        if let OpBody::Record(v) = &mut op.body {
            // The visit started a little before it was saved, by the same clock.
            v.started_at = op.device_time - Duration::minutes(30);
        }
        op.received_at = Some(actual + delay);
    }

    fn generate(seed: u64) -> History {
        let mut rng = fastrand::Rng::with_seed(seed);
        let (start, end) = november().period();
        let t0 = start - Duration::days(60);
        let today = china_date(end);
        let mut admin = Author::new(UserId::new(), DeviceId::new());
        let mut teacher = Author::new(UserId::new(), DeviceId::new());
        let mut supervisor = Author::new(UserId::new(), DeviceId::new());
        let empty = Replica::new();
        let mut ops = vec![];
        let mut households = vec![];
        // A time around the period: mostly inside, some at its very edges.
        let when = |rng: &mut fastrand::Rng| match rng.u8(..8) {
            0 => end,
            1 => end - Duration::seconds(1),
            2 => start,
            3 => start - Duration::seconds(1),
            _ => start - Duration::days(5) + Duration::seconds(rng.i64(0..45 * 86_400)),
        };
        for _ in 0..rng.usize(2..=5) {
            let h = sample::household(&mut rng);
            let kids: Vec<Student> = (0..rng.usize(1..=3))
                .map(|_| sample::student(&mut rng, &h, today))
                .collect();
            let mut roster = admin.household_ops(&empty, &h, t0);
            for k in &kids {
                roster.extend(admin.student_ops(&empty, k, t0));
            }
            for op in &mut roster {
                op.received_at = Some(t0);
            }
            ops.extend(roster);
            for k in &kids {
                // Status writes one after another, each superseding the one before.
                let mut seen = Replica::new();
                seen.apply_all(ops.iter().cloned()).unwrap();
                let mut times: Vec<DateTime<Utc>> =
                    (0..rng.usize(0..=3)).map(|_| when(&mut rng)).collect();
                times.sort();
                times.dedup();
                for t in times {
                    let status = EnrolmentStatus::ALL[rng.usize(..EnrolmentStatus::ALL.len())];
                    let mut op = teacher.set(
                        &seen,
                        Target::Student {
                            id: k.id,
                            set: StudentField::Status(status),
                        },
                        t,
                    );
                    stamp(&mut rng, &mut op, t);
                    seen.apply(op.clone()).unwrap();
                    ops.push(op);
                }
            }
            // Persuasion visits naming one child, several, or (rarely) only the household.
            for _ in 0..rng.usize(0..=3) {
                let named: Vec<_> = match rng.u8(..6) {
                    0 => vec![],
                    1 => kids.iter().map(|k| k.id).collect(),
                    _ => vec![kids[rng.usize(..kids.len())].id],
                };
                let t = when(&mut rng);
                let visit = Visit {
                    students: named,
                    kind: VisitKind::Persuasion,
                    persuasion: Some(PersuasionAttempt {
                        reason: DropoutReason::WorkingAway,
                        method: MethodLevel::Reasoning,
                        notice: None,
                        outcome: PersuasionOutcome::Promised,
                        next_follow_up: None,
                    }),
                    ..sample::visit(
                        &mut rng,
                        VisitKind::Persuasion,
                        teacher.user,
                        kids[0].id,
                        &h,
                        t,
                    )
                };
                let record = visit.id;
                let mut op = teacher.record(visit, t);
                stamp(&mut rng, &mut op, t);
                ops.push(op);
                if rng.u8(..5) == 0 {
                    let later = t + Duration::seconds(rng.i64(0..20 * 86_400));
                    let mut void = supervisor.void(record, "重复录入", later);
                    stamp(&mut rng, &mut void, later);
                    ops.push(void);
                }
            }
            households.push((h, kids));
        }
        let cut = end - Duration::days(2) + Duration::seconds(rng.i64(0..12 * 86_400));
        History {
            ops,
            cut,
            households,
        }
    }

    /// The figures recomputed from the raw ops for the children `in_unit` names.
    fn recompute(h: &History, in_unit: &dyn Fn(&Household) -> bool) -> Figures {
        let (start, end) = november().period();
        let last_day = china_date(end - Duration::seconds(1));
        let in_period = |t: DateTime<Utc>| start <= t && t < end;
        let counted: Vec<&Op> = h
            .ops
            .iter()
            .filter(|o| o.received_at.unwrap() <= h.cut && defined_time(o) < end)
            .collect();
        // The merge judges the values (statuses) of what counts.
        let mut r = Replica::new();
        r.apply_all(counted.iter().map(|o| (*o).clone())).unwrap();
        let status_of = |op: &Op| match &op.body {
            OpBody::Set(FieldWrite {
                target:
                    Target::Student {
                        set: StudentField::Status(s),
                        ..
                    },
                ..
            }) => Some(*s),
            _ => None,
        };
        let by_id: HashMap<_, _> = counted.iter().map(|o| (o.id, *o)).collect();
        let mut f = Figures::default();
        let mut unit_kids = HashSet::new();
        let mut unit_households = HashSet::new();
        for (home, kids) in &h.households {
            if !in_unit(home) {
                continue;
            }
            unit_households.insert(home.id);
            for k in kids {
                unit_kids.insert(k.id);
                let now = r.student(k.id).expect("on the roster").status;
                if now.is_active() && COMPULSORY_AGES.contains(&age_on(k.birth_date, last_day)) {
                    f.enrolled += 1;
                }
                if now.needs_persuasion() {
                    f.still_out += 1;
                }
                // This child's status writes in the period: (time, from, to).
                let mut moves: Vec<(DateTime<Utc>, Option<EnrolmentStatus>, EnrolmentStatus)> =
                    counted
                        .iter()
                        .filter(|o| {
                            matches!(&o.body, OpBody::Set(FieldWrite { target: Target::Student { id, .. }, .. }) if *id == k.id)
                        })
                        .filter_map(|o| {
                            let to = status_of(o)?;
                            let OpBody::Set(w) = &o.body else { return None };
                            let from = w.prev.iter().find_map(|p| by_id.get(p).and_then(|p| status_of(p)));
                            Some((defined_time(o), from, to))
                        })
                        .filter(|(t, ..)| in_period(*t))
                        .collect();
                moves.sort_by_key(|(t, ..)| *t);
                if moves
                    .iter()
                    .any(|m| m.2 == EnrolmentStatus::SuspectedDropout)
                {
                    f.suspected_found += 1;
                }
                if moves.iter().any(|m| m.2 == EnrolmentStatus::DroppedOut) {
                    f.dropouts_found += 1;
                }
                let back = moves.iter().rev().find(|(_, from, to)| {
                    from.is_some_and(|x| x.needs_persuasion()) && is_placement(*to)
                });
                if let Some((_, _, to)) = back {
                    f.persuaded_back += 1;
                    match to {
                        EnrolmentStatus::Returned | EnrolmentStatus::InSchool => f.returned += 1,
                        EnrolmentStatus::HomeTeaching => f.home_teaching += 1,
                        EnrolmentStatus::RemoteTeaching => f.remote_teaching += 1,
                        EnrolmentStatus::VocationalClass => f.vocational += 1,
                        _ => f.exempt += 1,
                    }
                }
            }
        }
        let voided: HashSet<RecordId> = counted
            .iter()
            .filter_map(|o| match &o.body {
                OpBody::Void { record, .. } => Some(*record),
                _ => None,
            })
            .collect();
        f.persuasion_visits = counted
            .iter()
            .filter(|o| match &o.body {
                OpBody::Record(v) => {
                    v.kind == VisitKind::Persuasion
                        && !voided.contains(&v.id)
                        && in_period(defined_time(o))
                        && if v.students.is_empty() {
                            v.household.is_some_and(|hh| unit_households.contains(&hh))
                        } else {
                            v.students.iter().any(|s| unit_kids.contains(s))
                        }
                }
                _ => false,
            })
            .count() as u32;
        f
    }

    fn without_cases(mut f: Figures) -> Figures {
        f.cases.clear();
        f
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn every_figure_is_its_definition_over_the_raw_records(seed in any::<u64>()) {
            let h = generate(seed);
            let mut all = Replica::new();
            all.apply_all(h.ops.iter().cloned()).unwrap();
            let view = ScopeView::of_replica(county(), all);
            let terms = TermCalendar::typical([2025, 2026]);
            let got = figures(&view, &ReportScope::County, november(), h.cut, &terms);
            prop_assert_eq!(without_cases(got.clone()), recompute(&h, &|_| true));
            prop_assert_eq!(got.cases.len() as u32, got.persuaded_back.min(10));
            let townships: BTreeSet<String> = h
                .households
                .iter()
                .map(|(hh, _)| hh.area.township.name.clone())
                .collect();
            for t in townships {
                let got = figures(&view, &ReportScope::Township(t.clone()), november(), h.cut, &terms);
                prop_assert_eq!(
                    without_cases(got),
                    recompute(&h, &|hh: &Household| hh.area.township.name == t)
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// The report read from the read models — kept per child as the ops arrive, in
        /// batches, and rebuilt — is the report the shared merge computes from the whole log,
        /// figure by figure and case by case, for every unit and every month the history
        /// touches.
        #[test]
        fn the_read_models_report_what_the_log_says(seed in any::<u64>()) {
            use crate::review::evidence::EvidenceSettings;
            use crate::store::sqlite::SqliteStore;
            let h = generate(seed);
            let dir = tempfile::tempdir().unwrap();
            let store = SqliteStore::open(dir.path()).unwrap();
            let terms = TermCalendar::typical([2025, 2026]);
            let settings = EvidenceSettings::default();
            // The server holds a void only after the record it voids: one received earlier
            // (a record held up in an outbox) is received with it.
            let received: HashMap<RecordId, DateTime<Utc>> = h
                .ops
                .iter()
                .filter_map(|o| match &o.body {
                    OpBody::Record(v) => Some((v.id, o.received_at.unwrap())),
                    _ => None,
                })
                .collect();
            let mut ops = h.ops.clone();
            for o in &mut ops {
                if let OpBody::Void { record, .. } = &o.body {
                    o.received_at = o.received_at.max(received.get(record).copied());
                }
            }
            ops.sort_by_key(|o| o.received_at);
            let mut rng = fastrand::Rng::with_seed(seed);
            for group in ops.chunk_by(|a, b| a.received_at == b.received_at) {
                let who = group[0].author;
                crate::sync::push_trusted(
                    &store,
                    who,
                    group[0].device,
                    group.to_vec(),
                    group[0].received_at.unwrap(),
                )
                .unwrap();
                if rng.bool() {
                    crate::readmodel::catch_up(&store, &settings, &terms).unwrap();
                }
            }
            crate::readmodel::catch_up(&store, &settings, &terms).unwrap();
            let students: Vec<StudentId> = store.all_student_ids().unwrap();
            let mut all = Replica::new();
            for s in &students {
                for op in store.ops_about_student(*s).unwrap() {
                    let _ = all.apply(op);
                }
            }
            let view = ScopeView::of_replica(county(), all);
            let never = DateTime::<Utc>::MAX_UTC;
            let mut scopes = vec![ReportScope::County];
            for (hh, kids) in &h.households {
                scopes.push(ReportScope::Township(hh.area.township.name.clone()));
                scopes.extend(kids.iter().filter_map(|k| k.school).map(ReportScope::School));
            }
            let months = [november().0.prev(), november().0, november().0.next()].map(ReportMonth);
            let report = |store: &SqliteStore, scope: &ReportScope, m: ReportMonth| {
                figures_now(store, unit(Care::of_students(students.clone()), scope), m).unwrap()
            };
            for scope in &scopes {
                for m in months {
                    let want = figures(&view, scope, m, never, &terms);
                    prop_assert_eq!(&report(&store, scope, m), &want, "{:?} {}", scope, m.0);
                }
            }
            crate::readmodel::rebuild(&store, &settings, &terms).unwrap();
            for scope in &scopes {
                for m in months {
                    let want = figures(&view, scope, m, never, &terms);
                    prop_assert_eq!(&report(&store, scope, m), &want, "rebuilt {:?} {}", scope, m.0);
                }
            }
            // What arrived after a cut is listed, once, as the report computed from the
            // scope lists it.
            let cut = h.cut;
            for scope in &scopes {
                let m = november();
                let mut want = late_records(&view, scope, m, cut);
                let mut got = late_now(&store, &unit(Care::of_students(students.clone()), scope), m, cut).unwrap();
                let key = |l: &LateRecord| (l.received_at, l.at, l.student.clone(), l.what.clone());
                want.sort_by_key(key);
                got.sort_by_key(key);
                prop_assert_eq!(got, want);
            }
            store.close();
        }
    }

    #[test]
    fn one_visit_about_one_child_counts_once_whatever_the_siblings() {
        let mut rng = fastrand::Rng::with_seed(3);
        let (start, _) = november().period();
        let t = start + Duration::days(3);
        let h = sample::household(&mut rng);
        let kids: Vec<Student> = (0..3)
            .map(|_| sample::student(&mut rng, &h, china_date(t)))
            .collect();
        let mut admin = Author::new(UserId::new(), DeviceId::new());
        let mut teacher = Author::new(UserId::new(), DeviceId::new());
        let empty = Replica::new();
        let mut ops = admin.household_ops(&empty, &h, t - Duration::days(30));
        for k in &kids {
            ops.extend(admin.student_ops(&empty, k, t - Duration::days(30)));
        }
        // One visit naming the eldest, one naming no child (about the household).
        for named in [vec![kids[0].id], vec![]] {
            let v = Visit {
                students: named,
                ..sample::visit(
                    &mut rng,
                    VisitKind::Persuasion,
                    teacher.user,
                    kids[0].id,
                    &h,
                    t,
                )
            };
            ops.push(teacher.record(v, t));
        }
        for op in &mut ops {
            op.received_at = Some(t);
        }
        let mut r = Replica::new();
        r.apply_all(ops).unwrap();
        let view = ScopeView::of_replica(county(), r);
        let f = figures(
            &view,
            &ReportScope::County,
            november(),
            t + Duration::days(30),
            &TermCalendar::typical([2026]),
        );
        assert_eq!(f.persuasion_visits, 2, "two visits, three siblings");
    }

    #[test]
    fn the_22nd_at_midnight_china_time_opens_the_next_period_and_a_fast_clock_cannot_move_an_event_later()
     {
        let (_, end) = november().period();
        assert_eq!(
            end,
            Utc.with_ymd_and_hms(2026, 11, 21, 16, 0, 0).unwrap(),
            "22 November 00:00 in China"
        );
        let mut a = Author::new(UserId::new(), DeviceId::new());
        let r = Replica::new();
        let write = |a: &mut Author, t| {
            a.set(
                &r,
                Target::Student {
                    id: StudentId::new(),
                    set: StudentField::Status(EnrolmentStatus::DroppedOut),
                },
                t,
            )
        };
        // Made at 23:59 on the 21st by a phone three days fast, received at 23:59:30.
        let actual = end - Duration::minutes(1);
        let mut fast = write(&mut a, actual + Duration::days(3));
        fast.received_at = Some(actual + Duration::seconds(30));
        assert!(event_time(&fast) < end, "{}", event_time(&fast));
        // Made at 00:00 on the 22nd by a phone a day slow that had seen the server's time.
        let mut slow = write(&mut a, end - Duration::days(1));
        slow.hlc = Hlc::at(end);
        slow.received_at = Some(end + Duration::hours(1));
        assert_eq!(event_time(&slow), end, "the next period");
    }
}
