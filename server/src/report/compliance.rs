//! Compliance: the 三个一 rhythm per teacher (a home visit each term, a phone call each month)
//! and device-check coverage of registered-poor households, from the same student files the
//! phones show.

use crate::review::ScopeView;
pub use crate::store::DeviceCoverage;
use crate::store::{DeviceCheckRow, StudentRhythm, TeacherCounts};
use baoxue_shared::file::{DueWork, StudentFile};
use baoxue_shared::ids::{HouseholdId, StudentId};
use baoxue_shared::observation::VisitKind;
use baoxue_shared::people::{Assignment, Role, User};
use baoxue_shared::status::EnrolmentStatus;
use baoxue_shared::time::{TermCalendar, YearMonth, china_date};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One teacher's rhythm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TeacherRhythm {
    pub name: String,
    pub account: String,
    /// Paired students in the reviewer's scope.
    pub students: u32,
    /// Students owed a home visit this term (in school or back in school).
    pub home_visits_due: u32,
    pub home_visits_done: u32,
    /// Students owed a phone call to the family this month.
    pub calls_due: u32,
    pub calls_done: u32,
}

impl TeacherRhythm {
    /// Share of home visits done, in percent (100 when none are owed).
    pub fn home_visit_rate(&self) -> u32 {
        rate(self.home_visits_done, self.home_visits_due)
    }
}

fn rate(done: u32, due: u32) -> u32 {
    (done * 100).checked_div(due).unwrap_or(100)
}

fn owes_contact(s: EnrolmentStatus) -> bool {
    use EnrolmentStatus::*;
    matches!(s, InSchool | Returned | RemoteTeaching)
}

/// The statuses that owe a teacher's home visit each term and a call each month.
pub fn owing_contact() -> Vec<EnrolmentStatus> {
    EnrolmentStatus::ALL
        .iter()
        .copied()
        .filter(|s| owes_contact(*s))
        .collect()
}

/// What the tables need of one file: the same as the read models keep (`rm_students`).
pub fn rhythm_of(f: &StudentFile) -> StudentRhythm {
    let months: BTreeSet<String> = f
        .live_visits()
        .filter(|v| matches!(v.kind, VisitKind::PhoneCall | VisitKind::HomeVisit))
        .map(|v| month_code(YearMonth::of(v.started_at)))
        .collect();
    StudentRhythm {
        student: f.student,
        status: f.current.as_ref().map(|s| s.status),
        home_visit_owed: f
            .due
            .iter()
            .any(|d| matches!(d, DueWork::SemesterHomeVisit { .. })),
        call_months: months.into_iter().collect(),
        poor_household: f
            .household
            .as_ref()
            .filter(|h| h.registered_poor)
            .map(|h| (h.id, h.head.clone(), h.area.village.name.clone())),
    }
}

/// The device checks in force in a file.
pub fn checks_of(f: &StudentFile) -> Vec<DeviceCheckRow> {
    f.live_visits()
        .filter_map(|v| {
            let dc = v.device_check.as_ref()?;
            Some(DeviceCheckRow {
                student: f.student,
                record: v.id,
                started_at: v.started_at,
                working: dc.has_working_device(),
                open_problems: dc.open_problems().count() as u32,
                fixed_problems: dc
                    .problems
                    .iter()
                    .filter(|p| p.remedy.as_ref().is_some_and(|r| r.done))
                    .count() as u32,
            })
        })
        .collect()
}

/// A month as the read models write it, `YYYY-MM`.
pub fn month_code(m: YearMonth) -> String {
    format!("{:04}-{:02}", m.year(), m.month())
}

/// The 三个一 rhythm of every teacher with paired students in the scope, weakest first.
pub fn three_ones(
    view: &ScopeView,
    files: &[StudentFile],
    now: DateTime<Utc>,
) -> Vec<TeacherRhythm> {
    let rhythm: Vec<StudentRhythm> = files.iter().map(rhythm_of).collect();
    three_ones_of(view.users.values(), &rhythm, now)
}

/// [`three_ones`] from the children's rows: `students` are the scope's children.
pub fn three_ones_of<'a>(
    users: impl Iterator<Item = &'a User>,
    students: &[StudentRhythm],
    now: DateTime<Utc>,
) -> Vec<TeacherRhythm> {
    let by_student: HashMap<StudentId, &StudentRhythm> =
        students.iter().map(|f| (f.student, f)).collect();
    let month = month_code(YearMonth::of(now));
    let users: Vec<&User> = users.collect();
    let mut counts = Vec::new();
    for u in &users {
        let mut row = TeacherCounts {
            teacher: u.id,
            ..TeacherCounts::default()
        };
        for a in &u.assignments {
            let Assignment::Student { student } = a else {
                continue;
            };
            let Some(f) = by_student.get(student) else {
                continue;
            };
            row.students += 1;
            if !f.status.is_some_and(owes_contact) {
                continue;
            }
            row.due += 1;
            if !f.home_visit_owed {
                row.visited += 1;
            }
            if f.call_months.contains(&month) {
                row.called += 1;
            }
        }
        counts.push(row);
    }
    three_ones_from(users.into_iter(), &counts)
}

/// The 三个一 table from each teacher's counts (`Store::three_ones`): teachers with paired
/// children, the lowest home-visit rate first.
pub fn three_ones_from<'a>(
    users: impl Iterator<Item = &'a User>,
    counts: &[TeacherCounts],
) -> Vec<TeacherRhythm> {
    let by_teacher: HashMap<_, &TeacherCounts> = counts.iter().map(|c| (c.teacher, c)).collect();
    let mut out: Vec<TeacherRhythm> = users
        .filter(|u| u.role == Role::Teacher)
        .filter_map(|t| {
            let c = by_teacher.get(&t.id).filter(|c| c.students > 0)?;
            Some(TeacherRhythm {
                name: t.name.clone(),
                account: t.account.clone(),
                students: c.students,
                home_visits_due: c.due,
                home_visits_done: c.visited,
                calls_due: c.due,
                calls_done: c.called,
            })
        })
        .collect();
    out.sort_by_key(|r| (r.home_visit_rate(), r.account.clone()));
    out
}

impl DeviceCoverage {
    pub fn coverage_rate(&self) -> u32 {
        rate(self.checked, self.households)
    }
}

/// Coverage of registered-poor households by device checks in the term containing `now`.
pub fn device_coverage(
    files: &[StudentFile],
    terms: &TermCalendar,
    now: DateTime<Utc>,
) -> DeviceCoverage {
    let rhythm: Vec<StudentRhythm> = files.iter().map(rhythm_of).collect();
    let checks: Vec<DeviceCheckRow> = files.iter().flat_map(checks_of).collect();
    device_coverage_of(&rhythm, &checks, terms, now)
}

/// [`device_coverage`] from the children's rows and their device checks in force.
pub fn device_coverage_of(
    students: &[StudentRhythm],
    checks: &[DeviceCheckRow],
    terms: &TermCalendar,
    now: DateTime<Utc>,
) -> DeviceCoverage {
    let term = terms.current_or_last(china_date(now)).copied();
    let mut households: BTreeMap<HouseholdId, (&str, &str, Vec<StudentId>)> = BTreeMap::new();
    for s in students {
        if let Some((h, head, village)) = &s.poor_household {
            households
                .entry(*h)
                .or_insert((head, village, Vec::new()))
                .2
                .push(s.student);
        }
    }
    let mut by_student: HashMap<StudentId, Vec<&DeviceCheckRow>> = HashMap::new();
    for k in checks {
        by_student.entry(k.student).or_default().push(k);
    }
    let mut c = DeviceCoverage::default();
    for (head, village, children) in households.into_values() {
        c.households += 1;
        let mut found: Vec<&DeviceCheckRow> = children
            .iter()
            .flat_map(|s| by_student.get(s).into_iter().flatten().copied())
            .filter(|k| term.is_none_or(|t| t.contains(china_date(k.started_at))))
            .collect();
        // A visit to several children of the household is one check.
        found.sort_by_key(|k| (k.started_at, k.record));
        found.dedup_by_key(|k| k.record);
        let Some(latest) = found.last() else {
            c.unchecked.push((head.to_string(), village.to_string()));
            continue;
        };
        c.checked += 1;
        if latest.working {
            c.working += 1;
        }
        c.problems_open += latest.open_problems;
        c.problems_fixed += found.iter().map(|k| k.fixed_problems).sum::<u32>();
    }
    c
}
