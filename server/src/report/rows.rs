//! The monthly report as read models: what one child adds to every month's figures, kept per
//! child by `crate::readmodel` so that a unit's report is a few indexed sums instead of the
//! unit's whole history merged per page.
//!
//! Computed from the child's ops (their own and their household's) with the report's own
//! definitions ([`monthly::student_month`], [`monthly::event_time`]), and only with them:
//!
//! - **Spans**: the child's state (status, unit, birth date) after the ops of each event time.
//!   The state-at-period-end figures (enrolled, still out) of *any* month are the spans holding
//!   the period's end: the ops that count for a month are those with events before its end, so
//!   the state changes only at an event time.
//! - **Month rows and visits**: for each month whose period holds one of the child's events —
//!   the only months in which a status move or a persuasion visit of theirs can count —
//!   `student_month` on the ops before the period's end.
//! - **Events**: each op naming the child, with its receipt and event time, for what arrives
//!   after a month was filed.
//!
//! The read models follow every op the server holds (the cut is "now"): a draft report reads
//! them; a filed one shows the figures stored at its cut, and these as amendments.

use super::monthly::{event_time, month_key, student_month};
use crate::store::{MonthBack, MonthRow, MonthVisit, OpEvent, StatusSpan, StudentReportRows};
use baoxue_shared::ids::StudentId;
use baoxue_shared::op::Op;
use baoxue_shared::replica::Replica;
use baoxue_shared::time::{ReportMonth, TermCalendar, china_date};
use baoxue_shared::validation::{COMPULSORY_AGES, age_on};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::collections::BTreeSet;

/// The report's rows of `student` from `ops`: every op about the child and their household.
pub fn student_rows(student: StudentId, ops: &[Op], terms: &TermCalendar) -> StudentReportRows {
    let mut timed: Vec<(DateTime<Utc>, &Op)> = ops.iter().map(|o| (event_time(o), o)).collect();
    timed.sort_by_key(|(t, o)| (*t, o.id));
    let months: BTreeSet<ReportMonth> = timed
        .iter()
        .map(|(t, _)| ReportMonth::containing(*t))
        .collect();
    let mut months = months.into_iter().peekable();
    let mut rows = StudentReportRows {
        student,
        events: ops
            .iter()
            .filter(|o| o.students().contains(&student))
            .filter_map(|o| {
                Some(OpEvent {
                    op: o.id,
                    received_ms: o.received_at?.timestamp_millis(),
                    event_ms: event_time(o).timestamp_millis(),
                })
            })
            .collect(),
        ..Default::default()
    };
    // Applied in event order: after the ops up to `t`, the replica is what counts for a period
    // ending just after `t` (the merge does not depend on the order ops arrive in).
    let mut r = Replica::new();
    let mut i = 0;
    while i < timed.len() {
        let t = timed[i].0;
        while let Some(m) = months.next_if(|m| m.period().1 <= t) {
            month_rows(&mut rows, &r, m, terms);
        }
        while i < timed.len() && timed[i].0 == t {
            // An op the merge refuses counts nowhere, as in the report computed from a scope.
            let _ = r.apply(timed[i].1.clone());
            i += 1;
        }
        span(&mut rows.spans, &r, student, t.timestamp_millis());
    }
    for m in months {
        month_rows(&mut rows, &r, m, terms);
    }
    rows
}

/// The child's state after the ops up to `at`, extending the last span when nothing the
/// report reads changed.
fn span(spans: &mut Vec<StatusSpan>, r: &Replica, student: StudentId, at: i64) {
    let Some(s) = r.student(student) else { return };
    let next = StatusSpan {
        from_ms: at,
        to_ms: i64::MAX,
        status: s.status,
        birth: s.birth_date,
        name: s.name,
        school: s.school,
        township: s
            .household
            .and_then(|h| r.household(h))
            .map(|h| h.area.township.name),
    };
    if let Some(last) = spans.last_mut() {
        let same = StatusSpan {
            from_ms: last.from_ms,
            to_ms: last.to_ms,
            ..next.clone()
        };
        if *last == same {
            return;
        }
        last.to_ms = at;
    }
    spans.push(next);
}

/// What the child adds to month `m`'s moves, cases and visits, by `r` (the ops before the
/// period's end).
fn month_rows(rows: &mut StudentReportRows, r: &Replica, m: ReportMonth, terms: &TermCalendar) {
    let Some(s) = r.student(rows.student) else {
        return;
    };
    let township = s
        .household
        .and_then(|h| r.household(h))
        .map(|h| h.area.township.name);
    let sm = student_month(r, rows.student, m, terms);
    let month = month_key(m);
    for record in &sm.persuasions {
        rows.visits.push(MonthVisit {
            month: month.clone(),
            record: *record,
            school: s.school,
            township: township.clone(),
        });
    }
    if sm.suspected_found || sm.dropouts_found || sm.back.is_some() {
        rows.months.push(MonthRow {
            month,
            school: s.school,
            township,
            suspected: sm.suspected_found,
            dropped: sm.dropouts_found,
            back: sm.back.map(|b| MonthBack {
                placed: b.placed,
                name: s.name.clone(),
                village: b.village,
                attempts: b.attempts,
                how: b.how,
            }),
        });
    }
}

/// The birth dates (first, last) of the children the enrolment figure counts on `day`: aged
/// 6 to 15 by [`age_on`], the same rule the report applies child by child.
pub fn births_counted_on(day: NaiveDate) -> (NaiveDate, NaiveDate) {
    // Age falls as the birth date moves later: the dates counted are one run, found by
    // scanning the few days around each edge with the rule itself.
    let counted = |b: NaiveDate| COMPULSORY_AGES.contains(&age_on(b, day));
    let years_before = |y: i32| {
        day.checked_sub_signed(Duration::days(i64::from(y) * 365 + i64::from(y) / 4))
            .unwrap_or(NaiveDate::MIN)
    };
    let around =
        |d: NaiveDate| (-5..=5).filter_map(move |k| d.checked_add_signed(Duration::days(k)));
    let first = around(years_before(*COMPULSORY_AGES.end() + 1))
        .find(|b| counted(*b))
        .unwrap_or(NaiveDate::MAX);
    let last = around(years_before(*COMPULSORY_AGES.start()))
        .rev()
        .find(|b| counted(*b))
        .unwrap_or(NaiveDate::MIN);
    (first, last)
}

/// The last day of `month`'s period, in China.
pub fn last_day(month: ReportMonth) -> NaiveDate {
    china_date(month.period().1 - Duration::seconds(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ages_counted_are_six_to_fifteen_on_the_day_leap_days_included() {
        for day in [
            NaiveDate::from_ymd_opt(2026, 11, 21).unwrap(),
            NaiveDate::from_ymd_opt(2028, 2, 29).unwrap(),
            NaiveDate::from_ymd_opt(2027, 3, 1).unwrap(),
        ] {
            let (first, last) = births_counted_on(day);
            let mut b = first - Duration::days(800);
            while b < last + Duration::days(800) {
                let inside = first <= b && b <= last;
                assert_eq!(
                    inside,
                    COMPULSORY_AGES.contains(&age_on(b, day)),
                    "born {b}, on {day}"
                );
                b += Duration::days(1);
            }
        }
    }
}
