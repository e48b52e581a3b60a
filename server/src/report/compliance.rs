//! Compliance: the 三个一 rhythm per teacher (a home visit each term, a phone call each month)
//! and device-check coverage of registered-poor households, from the same student files the
//! phones show.

use crate::review::ScopeView;
use crate::store::{DeviceCheckRow, StudentRhythm};
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
    let mut out = Vec::new();
    let mut teachers: Vec<_> = users.filter(|u| u.role == Role::Teacher).collect();
    teachers.sort_by(|a, b| a.account.cmp(&b.account));
    for t in teachers {
        let mut row = TeacherRhythm {
            name: t.name.clone(),
            account: t.account.clone(),
            students: 0,
            home_visits_due: 0,
            home_visits_done: 0,
            calls_due: 0,
            calls_done: 0,
        };
        for a in &t.assignments {
            let Assignment::Student { student } = a else {
                continue;
            };
            let Some(f) = by_student.get(student) else {
                continue;
            };
            row.students += 1;
            let Some(status) = f.status else { continue };
            if !owes_contact(status) {
                continue;
            }
            row.home_visits_due += 1;
            if !f.home_visit_owed {
                row.home_visits_done += 1;
            }
            row.calls_due += 1;
            if f.call_months.contains(&month) {
                row.calls_done += 1;
            }
        }
        if row.students > 0 {
            out.push(row);
        }
    }
    out.sort_by_key(|r| (r.home_visit_rate(), r.account.clone()));
    out
}

/// Device-check coverage of the registered-poor households in scope, this term.
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
    /// Households not yet checked this term: head and village.
    pub unchecked: Vec<(String, String)>,
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
