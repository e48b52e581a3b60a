//! The monthly dropout-control report (控辍保学月报表) for a school, a township or the county.
//!
//! Reproducible by construction: the figures of month M "as of" a receipt cut C are a pure
//! function of the ops received by C whose device time falls before the end of M's period. The
//! first filing stores C with the figures; asking again recomputes at C (same figures), and
//! what arrived after C is shown as amendments beside them — never a silent change.

use crate::review::ScopeView;
use baoxue_shared::area::AreaScope;
use baoxue_shared::file::{FileContext, StudentFile};
use baoxue_shared::ids::{SchoolId, StudentId};
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

/// When an op's event happened: a visit's start, otherwise when the device made it.
fn event_time(op: &baoxue_shared::op::Op) -> DateTime<Utc> {
    match &op.body {
        OpBody::Record(v) => v.started_at,
        _ => op.device_time,
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
    let (r, (start, end)) = replica_for(view, month, cut);
    let last_day = china_date(end - Duration::seconds(1));
    let in_period = |t: DateTime<Utc>| start <= t && t < end;
    let mut f = Figures::default();
    let none = |_: &baoxue_shared::observation::Sha256| true;
    let cx = FileContext {
        now: end,
        terms,
        photo_present: &none,
    };
    for sid in &view.students {
        let Some(s) = r.student(*sid) else { continue };
        if !scope.contains(&r, &s) {
            continue;
        }
        if s.status.is_active() && COMPULSORY_AGES.contains(&age_on(s.birth_date, last_day)) {
            f.enrolled += 1;
        }
        if s.status.needs_persuasion() {
            f.still_out += 1;
        }
        let moves = status_moves(&r, *sid);
        let moved_to =
            |x: EnrolmentStatus| moves.iter().any(|(t, _, to)| in_period(*t) && *to == x);
        if moved_to(EnrolmentStatus::SuspectedDropout) {
            f.suspected_found += 1;
        }
        if moved_to(EnrolmentStatus::DroppedOut) {
            f.dropouts_found += 1;
        }
        // The last move back in the period counts once, under its placement.
        let back = moves.iter().rev().find(|(t, from, to)| {
            in_period(*t) && from.is_some_and(|x| x.needs_persuasion()) && is_placement(*to)
        });
        let file = StudentFile::build(&r, *sid, &cx);
        let persuasions: Vec<&baoxue_shared::observation::Visit> = file
            .live_visits()
            .filter(|v| v.kind == VisitKind::Persuasion)
            .collect();
        f.persuasion_visits += persuasions
            .iter()
            .filter(|v| in_period(v.started_at))
            .count() as u32;
        if let Some((_, _, to)) = back {
            f.persuaded_back += 1;
            match to {
                EnrolmentStatus::Returned | EnrolmentStatus::InSchool => f.returned += 1,
                EnrolmentStatus::HomeTeaching => f.home_teaching += 1,
                EnrolmentStatus::RemoteTeaching => f.remote_teaching += 1,
                EnrolmentStatus::VocationalClass => f.vocational += 1,
                _ => f.exempt += 1,
            }
            let last = persuasions.first();
            let how = last
                .map(|v| {
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
            f.cases.push(Case {
                student: *sid,
                name: s.name.clone(),
                school: view.school_name(s.school),
                village: s
                    .household
                    .and_then(|h| r.household(h))
                    .map(|h| h.area.village.name)
                    .unwrap_or_default(),
                placed: to.zh().to_string(),
                attempts: persuasions.len() as u32,
                how,
            });
        }
    }
    f.cases.sort_by(|a, b| {
        b.attempts
            .cmp(&a.attempts)
            .then(a.name.cmp(&b.name))
            .then(a.student.cmp(&b.student))
    });
    f.cases.truncate(10);
    f
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
            Some((op.device_time, from, to))
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
            let what = match &o.body {
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
            };
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
