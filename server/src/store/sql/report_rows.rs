//! The monthly report's read-model rows (`rm_report_*`): written per child, summed per unit.

use super::db::{Db, V};
use super::{care_where, corrupt, insert_rows, parse_id, stamp_care};
use crate::store::*;
use baoxue_shared::ids::SchoolId;
use baoxue_shared::status::EnrolmentStatus;

const TABLES: [&str; 4] = [
    "rm_report_spans",
    "rm_report_months",
    "rm_report_visits",
    "rm_report_events",
];

/// Replace the rows of these children.
pub(super) fn save(c: &dyn Db, rows: &[StudentReportRows]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let students = V::list(rows.iter().map(|r| r.student));
    for table in TABLES {
        c.execute(
            &format!("DELETE FROM {table} WHERE student = ANY($1)"),
            std::slice::from_ref(&students),
        )?;
    }
    let id = |r: &StudentReportRows| V::from(r.student.to_string());
    let school = |s: Option<SchoolId>| V::from(s.map(|s| s.to_string()));
    insert_rows(
        c,
        "INSERT INTO rm_report_spans(student, from_ms, to_ms, active, still_out, birth, name, school, township)",
        "",
        rows.iter()
            .flat_map(|r| {
                r.spans.iter().map(move |s| {
                    vec![
                        id(r),
                        s.from_ms.into(),
                        s.to_ms.into(),
                        s.status.is_active().into(),
                        s.status.needs_persuasion().into(),
                        s.birth.to_string().into(),
                        (&s.name).into(),
                        school(s.school),
                        s.township.clone().into(),
                    ]
                })
            })
            .collect(),
    )?;
    insert_rows(
        c,
        "INSERT INTO rm_report_months(student, month, school, township, suspected, dropped, placed, name, village, attempts, how)",
        "",
        rows.iter()
            .flat_map(|r| {
                r.months.iter().map(move |m| {
                    let b = m.back.as_ref();
                    vec![
                        id(r),
                        (&m.month).into(),
                        school(m.school),
                        m.township.clone().into(),
                        m.suspected.into(),
                        m.dropped.into(),
                        b.map(|b| b.placed.code()).into(),
                        b.map(|b| b.name.clone()).into(),
                        b.map(|b| b.village.clone()).into(),
                        b.map(|b| i64::from(b.attempts)).into(),
                        b.map(|b| b.how.clone()).into(),
                    ]
                })
            })
            .collect(),
    )?;
    insert_rows(
        c,
        "INSERT INTO rm_report_visits(student, month, record, school, township)",
        "",
        rows.iter()
            .flat_map(|r| {
                r.visits.iter().map(move |v| {
                    vec![
                        id(r),
                        (&v.month).into(),
                        v.record.to_string().into(),
                        school(v.school),
                        v.township.clone().into(),
                    ]
                })
            })
            .collect(),
    )?;
    insert_rows(
        c,
        "INSERT INTO rm_report_events(student, op, received_ms, event_ms)",
        "",
        rows.iter()
            .flat_map(|r| {
                r.events.iter().map(move |e| {
                    vec![
                        id(r),
                        e.op.to_string().into(),
                        e.received_ms.into(),
                        e.event_ms.into(),
                    ]
                })
            })
            .collect(),
    )?;
    for table in ["rm_report_spans", "rm_report_months", "rm_report_visits"] {
        stamp_care(c, table, &students)?;
    }
    Ok(())
}

pub(super) fn clear(c: &dyn Db) -> Result<(), StoreError> {
    for table in TABLES {
        c.empty(table)?;
    }
    Ok(())
}

/// The unit's students (in the reviewer's care, and of the school or township) as a condition
/// on the columns of table alias `t`, with the parameters.
fn unit_filter(unit: &ReportUnit, t: &str) -> (String, Vec<V>) {
    let mut params = Vec::new();
    let mut sql = care_where(&unit.students, t, &mut params);
    if let Some(s) = unit.school {
        params.push(s.to_string().into());
        sql.push_str(&format!(" AND {t}.school = ${}", params.len()));
    } else if let Some(township) = &unit.township {
        params.push(township.into());
        sql.push_str(&format!(" AND {t}.township = ${}", params.len()));
    }
    (sql, params)
}

/// `params` and then `more`, numbered after them.
fn with(params: &[V], more: impl IntoIterator<Item = V>) -> Vec<V> {
    params.iter().cloned().chain(more).collect()
}

pub(super) fn counts(c: &dyn Db, q: &ReportCountQuery) -> Result<ReportCounts, StoreError> {
    let (unit, params) = unit_filter(&q.unit, "r");
    let n = params.len();
    let count = |r: &super::db::Row, i| r.int(i).map(|v| v as u32);
    let state = c.one(
        &format!(
            "SELECT count(*) FILTER (WHERE active = 1 AND birth >= ${a} AND birth <= ${b}),
                    count(*) FILTER (WHERE still_out = 1)
             FROM rm_report_spans r WHERE {unit} AND from_ms < ${e} AND to_ms >= ${e}",
            a = n + 1,
            b = n + 2,
            e = n + 3
        ),
        &with(
            &params,
            [
                q.births.0.to_string().into(),
                q.births.1.to_string().into(),
                q.end_ms.into(),
            ],
        ),
    )?;
    let month = |more: Vec<V>| with(&params, std::iter::once(V::from(&q.month)).chain(more));
    let m = n + 1;
    let moves = c.one(
        &format!(
            "SELECT count(*) FILTER (WHERE suspected = 1), count(*) FILTER (WHERE dropped = 1)
             FROM rm_report_months r WHERE {unit} AND month = ${m}"
        ),
        &month(vec![]),
    )?;
    let mut back = Vec::new();
    for r in c.query(
        &format!(
            "SELECT placed, count(*) FROM rm_report_months r
             WHERE {unit} AND month = ${m} AND placed IS NOT NULL GROUP BY placed ORDER BY placed"
        ),
        &month(vec![]),
    )? {
        let placed: EnrolmentStatus = r.text(0)?.parse().map_err(|e| corrupt("placement", e))?;
        back.push((placed, count(&r, 1)?));
    }
    let visits = c.one(
        &format!(
            "SELECT count(DISTINCT record) FROM rm_report_visits r WHERE {unit} AND month = ${m}"
        ),
        &month(vec![]),
    )?;
    let mut cases = Vec::new();
    for r in c.query(
        &format!(
            "SELECT student, school, placed, name, village, attempts, how FROM rm_report_months r
             WHERE {unit} AND month = ${m} AND placed IS NOT NULL
             ORDER BY attempts DESC, name, student LIMIT ${l}",
            l = m + 1
        ),
        &month(vec![(q.cases as i64).into()]),
    )? {
        cases.push((
            parse_id(&r.text(0)?)?,
            r.opt_text(1)?.map(|s| parse_id(&s)).transpose()?,
            MonthBack {
                placed: r.text(2)?.parse().map_err(|e| corrupt("placement", e))?,
                name: r.text(3)?,
                village: r.text(4)?,
                attempts: count(&r, 5)?,
                how: r.text(6)?,
            },
        ));
    }
    Ok(ReportCounts {
        enrolled: count(&state, 0)?,
        still_out: count(&state, 1)?,
        suspected: count(&moves, 0)?,
        dropped: count(&moves, 1)?,
        back,
        visits: count(&visits, 0)?,
        cases,
    })
}

/// Ops received after `cut_ms` with events before `end_ms`, about children of the unit as they
/// stand now, in the order received.
pub(super) fn late(
    c: &dyn Db,
    unit: &ReportUnit,
    cut_ms: i64,
    end_ms: i64,
) -> Result<Vec<LateOp>, StoreError> {
    let (filter, params) = unit_filter(unit, "s");
    let n = params.len();
    c.query(
        &format!(
            "SELECT e.op, e.student, s.name FROM rm_report_events e
                 JOIN rm_report_spans s ON s.student = e.student AND s.to_ms = ${now}
             WHERE {filter} AND e.received_ms > ${a} AND e.event_ms < ${b}
             ORDER BY e.received_ms, e.event_ms, e.op",
            now = n + 1,
            a = n + 2,
            b = n + 3,
        ),
        &with(&params, [i64::MAX.into(), cut_ms.into(), end_ms.into()]),
    )?
    .into_iter()
    .map(|r| {
        Ok(LateOp {
            op: parse_id(&r.text(0)?)?,
            student: parse_id(&r.text(1)?)?,
            name: r.text(2)?,
        })
    })
    .collect()
}
