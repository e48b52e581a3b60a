//! Compliance: the 三个一 rhythm per teacher (a home visit each term, a phone call each month)
//! and device-check coverage of registered-poor households, from the same student files the
//! phones show.

use crate::review::ScopeView;
use baoxue_shared::file::{DueWork, StudentFile};
use baoxue_shared::ids::{HouseholdId, StudentId};
use baoxue_shared::observation::VisitKind;
use baoxue_shared::people::{Assignment, Role};
use baoxue_shared::status::EnrolmentStatus;
use baoxue_shared::time::{TermCalendar, YearMonth, china_date};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

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

/// The 三个一 rhythm of every teacher with paired students in the scope, weakest first.
pub fn three_ones(
    view: &ScopeView,
    files: &[StudentFile],
    now: DateTime<Utc>,
) -> Vec<TeacherRhythm> {
    let by_student: HashMap<StudentId, &StudentFile> =
        files.iter().map(|f| (f.student, f)).collect();
    let month = YearMonth::of(now);
    let mut out = Vec::new();
    let mut teachers: Vec<_> = view
        .users
        .values()
        .filter(|u| u.role == Role::Teacher)
        .collect();
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
            let Some(s) = &f.current else { continue };
            if !owes_contact(s.status) {
                continue;
            }
            row.home_visits_due += 1;
            if !f
                .due
                .iter()
                .any(|d| matches!(d, DueWork::SemesterHomeVisit { .. }))
            {
                row.home_visits_done += 1;
            }
            row.calls_due += 1;
            let called = f.live_visits().any(|v| {
                matches!(v.kind, VisitKind::PhoneCall | VisitKind::HomeVisit)
                    && YearMonth::of(v.started_at) == month
            });
            if called {
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
    let term = terms.current_or_last(china_date(now)).copied();
    let mut households: BTreeMap<HouseholdId, Vec<&StudentFile>> = BTreeMap::new();
    for f in files {
        if let Some(h) = &f.household
            && h.registered_poor
        {
            households.entry(h.id).or_default().push(f);
        }
    }
    let mut c = DeviceCoverage::default();
    for (hid, fs) in households {
        c.households += 1;
        let mut checks: Vec<&baoxue_shared::observation::Visit> = fs
            .iter()
            .flat_map(|f| f.live_visits())
            .filter(|v| {
                v.device_check.is_some()
                    && term.is_none_or(|t| t.contains(china_date(v.started_at)))
            })
            .collect();
        checks.sort_by_key(|v| (v.started_at, v.id));
        checks.dedup_by_key(|v| v.id);
        let Some(latest) = checks.last() else {
            let h = fs[0].household.as_ref().filter(|h| h.id == hid);
            c.unchecked.push((
                h.map(|h| h.head.clone()).unwrap_or_default(),
                h.map(|h| h.area.village.name.clone()).unwrap_or_default(),
            ));
            continue;
        };
        c.checked += 1;
        let dc = latest.device_check.as_ref().expect("filtered above");
        if dc.has_working_device() {
            c.working += 1;
        }
        c.problems_open += dc.open_problems().count() as u32;
        c.problems_fixed += checks
            .iter()
            .filter_map(|v| v.device_check.as_ref())
            .flat_map(|d| d.problems.iter())
            .filter(|p| p.remedy.as_ref().is_some_and(|r| r.done))
            .count() as u32;
    }
    c
}
