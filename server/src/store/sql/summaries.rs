//! The students' file summaries (`rm_students`): the console's student list, paged by key.

use super::db::{Db, Row, V};
use super::{
    GroupCounts, Toward, care_where, corrupt, insert_rows, keyset_page, parse_id, stamp_care,
    townships_of,
};
use crate::store::*;
use chrono::NaiveDate;

/// Replace these students' summaries.
pub(super) fn save(c: &dyn Db, rows: &[StudentSummary]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let students = V::list(rows.iter().map(|r| r.student));
    count_delta(c, &students, -1)?;
    for table in ["rm_students", "rm_device_checks"] {
        c.execute(
            &format!("DELETE FROM {table} WHERE student = ANY($1)"),
            std::slice::from_ref(&students),
        )?;
    }
    insert_rows(
        c,
        "INSERT INTO rm_students(student, name, status, school, township, village, due, overdue, conflicts, missing, last_visit_ms, recheck, home_visit_owed, call_months, poor_household, household_head, household_village, dropout_line, poor_line)",
        "",
        rows.iter()
            .map(|r| {
                let poor = r.rhythm.poor_household.as_ref();
                Ok(vec![
                    r.student.to_string().into(),
                    (&r.name).into(),
                    r.status.map(|s| s.code()).into(),
                    r.school.map(|s| s.to_string()).into(),
                    (&r.township).into(),
                    (&r.village).into(),
                    i64::from(r.due).into(),
                    i64::from(r.overdue).into(),
                    i64::from(r.conflicts).into(),
                    i64::from(r.missing).into(),
                    r.last_visit.map(|t| t.timestamp_millis()).into(),
                    r.recheck.map(|d| d.to_string()).into(),
                    r.rhythm.home_visit_owed.into(),
                    r.rhythm.call_months.join(",").into(),
                    poor.map(|p| p.0.to_string()).into(),
                    poor.map(|p| p.1.clone()).unwrap_or_default().into(),
                    poor.map(|p| p.2.clone()).unwrap_or_default().into(),
                    r.dropout.as_ref().map(json).transpose()?.into(),
                    r.poor.as_ref().map(json).transpose()?.into(),
                ])
            })
            .collect::<Result<_, StoreError>>()?,
    )?;
    insert_rows(
        c,
        "INSERT INTO rm_device_checks(student, record, started_ms, working, open_problems, fixed_problems)",
        "",
        rows.iter()
            .flat_map(|r| &r.checks)
            .map(|k| {
                vec![
                    k.student.to_string().into(),
                    k.record.to_string().into(),
                    k.started_at.timestamp_millis().into(),
                    k.working.into(),
                    i64::from(k.open_problems).into(),
                    i64::from(k.fixed_problems).into(),
                ]
            })
            .collect(),
    )?;
    stamp_care(c, "rm_students", &students)?;
    count_delta(c, &students, 1)
}

/// The student list's totals by group (`rm_student_counts`): the care columns a reviewer's
/// areas and schools are tested on and the columns the list filters by; every row of a group
/// answers each test alike, so a care of areas and schools counts by summing groups — a
/// county's list counts a few thousand groups instead of every child.
const COUNTS: GroupCounts = GroupCounts {
    counts: "rm_student_counts",
    rows: "rm_students",
    text: &["township", "village", "school", "status"],
    numeric: &[
        (
            "owing",
            "CASE WHEN overdue > 0 THEN 2 WHEN due > 0 THEN 1 ELSE 0 END",
        ),
        ("conflicted", "CASE WHEN conflicts > 0 THEN 1 ELSE 0 END"),
        (
            "dropout",
            "CASE WHEN dropout_line IS NOT NULL THEN 1 ELSE 0 END",
        ),
        ("poor", "CASE WHEN poor_line IS NOT NULL THEN 1 ELSE 0 END"),
    ],
    counted: "true",
};

/// Add (`sign` 1) or take away (-1) these students' summaries in their groups' counts.
fn count_delta(c: &dyn Db, students: &V, sign: i64) -> Result<(), StoreError> {
    COUNTS.delta(c, "student = ANY($1)", std::slice::from_ref(students), sign)
}

/// The unit's children as the 三个一 and device-coverage tables count them — those paired
/// with someone and those in registered-poor households; no others count in either — and the
/// device checks in force of those in registered-poor households.
pub(super) fn three_ones(
    c: &dyn Db,
    unit: &ReportUnit,
    month: &str,
    owing: &[EnrolmentStatus],
) -> Result<Vec<TeacherCounts>, StoreError> {
    let mut params = Vec::new();
    let filter = unit_where(unit, "s", &mut params);
    params.push(V::list(owing.iter().map(|s| s.code())));
    let o = params.len();
    params.push(format!("%,{month},%").into());
    let m = params.len();
    let owes = format!("s.status = ANY(${o})");
    c.query(
        &format!(
            "SELECT a.\"user\", count(*),
                    count(*) FILTER (WHERE {owes}),
                    count(*) FILTER (WHERE {owes} AND s.home_visit_owed = 0),
                    count(*) FILTER (WHERE {owes} AND (',' || s.call_months || ',') LIKE ${m})
             FROM assignments a JOIN rm_students s ON s.student = a.target
             WHERE a.kind = 'student' AND {filter}
             GROUP BY a.\"user\""
        ),
        &params,
    )?
    .into_iter()
    .map(|r| {
        let n = |i| r.int(i).map(|v| v as u32);
        Ok(TeacherCounts {
            teacher: parse_id(&r.text(0)?)?,
            students: n(1)?,
            due: n(2)?,
            visited: n(3)?,
            called: n(4)?,
        })
    })
    .collect()
}

/// Coverage counted in the database (sums cast: PostgreSQL sums integers as numeric): a county's poor households are tens of thousands, its
/// checks as many, and a row each across to the server was most of the report page's time.
pub(super) fn device_coverage(
    c: &dyn Db,
    unit: &ReportUnit,
    checks_in: Option<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)>,
    shown: usize,
) -> Result<DeviceCoverage, StoreError> {
    let mut params = Vec::new();
    let filter = unit_where(unit, "s", &mut params);
    let mut within = String::new();
    if let Some((from, to)) = checks_in {
        params.push(from.timestamp_millis().into());
        params.push(to.timestamp_millis().into());
        within = format!(
            " AND k.started_ms >= ${} AND k.started_ms < ${}",
            params.len() - 1,
            params.len()
        );
    }
    // The households of the unit's children, and each household's checks (a visit to several
    // of its children is one check); the latest check decides working and open problems.
    let with = format!(
        "WITH hh AS (
             SELECT s.poor_household AS h, min(s.household_head) AS head, min(s.household_village) AS village
             FROM rm_students s WHERE {filter} AND s.poor_household IS NOT NULL
             GROUP BY s.poor_household),
         kk AS (
             SELECT s.poor_household AS h, k.record, max(k.started_ms) AS ms, max(k.working) AS working,
                    max(k.open_problems) AS open, max(k.fixed_problems) AS fixed
             FROM rm_device_checks k JOIN rm_students s ON s.student = k.student
             WHERE {filter} AND s.poor_household IS NOT NULL{within}
             GROUP BY s.poor_household, k.record),
         latest AS (
             SELECT h, working, open,
                    row_number() OVER (PARTITION BY h ORDER BY ms DESC, record DESC) AS n
             FROM kk) "
    );
    // One statement, so that each table above is made once: the counts (kind 0), then the
    // first `shown` households unchecked (kind 1).
    params.push((shown as i64).into());
    let rows = c.query(
        &format!(
            "{with}SELECT 0 AS kind, (SELECT count(*) FROM hh),
                    (SELECT count(*) FROM latest WHERE n = 1),
                    (SELECT count(*) FROM latest WHERE n = 1 AND working = 1),
                    (SELECT CAST(coalesce(sum(open), 0) AS BIGINT) FROM latest WHERE n = 1),
                    (SELECT CAST(coalesce(sum(fixed), 0) AS BIGINT) FROM kk),
                    NULL, NULL, NULL
             UNION ALL
             SELECT * FROM (
                 SELECT 1, 0, 0, 0, 0, 0, h, head, village FROM hh
                 WHERE NOT EXISTS (SELECT 1 FROM kk WHERE kk.h = hh.h)
                 ORDER BY h LIMIT ${}) AS u",
            params.len()
        ),
        &params,
    )?;
    let mut coverage = DeviceCoverage::default();
    let mut unchecked = Vec::new();
    for r in rows {
        if r.int(0)? == 0 {
            let n = |i| r.int(i).map(|v| v as u32);
            coverage = DeviceCoverage {
                households: n(1)?,
                checked: n(2)?,
                working: n(3)?,
                problems_open: n(4)?,
                problems_fixed: n(5)?,
                unchecked: Vec::new(),
            };
        } else {
            unchecked.push((r.text(6)?, r.text(7)?, r.text(8)?));
        }
    }
    unchecked.sort();
    coverage.unchecked = unchecked.into_iter().map(|(_, h, v)| (h, v)).collect();
    Ok(coverage)
}

/// A page in name order continuing from `from` (rows of `rm_students` aliased `t`): the ORDER
/// BY, the condition after the key (its parameter appended) and the direction read.
fn by_name(from: &StudentFrom, t: &str, params: &mut Vec<V>) -> (String, String, Toward) {
    let (key, toward) = match from {
        StudentFrom::Start => (None, Toward::Start),
        StudentFrom::After(s) => (Some((">", s)), Toward::After),
        StudentFrom::Before(s) => (Some(("<", s)), Toward::Before),
    };
    let order = match toward {
        Toward::Before => format!("{t}.name DESC, {t}.student DESC"),
        _ => format!("{t}.name, {t}.student"),
    };
    let mut cmp = String::new();
    if let Some((op, student)) = key {
        // The key is the student the page continues from, in name order as the list has it.
        params.push(student.to_string().into());
        let k = params.len();
        cmp = format!(
            " AND ({t}.name, {t}.student) {op} ((SELECT name FROM rm_students WHERE student = ${k}), ${k})"
        );
    }
    (order, cmp, toward)
}

/// The condition that a row of `rm_students` (as `alias`) is one of the unit's children.
fn unit_where(unit: &ReportUnit, alias: &str, params: &mut Vec<V>) -> String {
    let mut filter = care_where(&unit.students, alias, params);
    if let Some(school) = unit.school {
        params.push(school.to_string().into());
        filter.push_str(&format!(" AND {alias}.school = ${}", params.len()));
    } else if let Some(township) = &unit.township {
        params.push(township.into());
        filter.push_str(&format!(" AND {alias}.township = ${}", params.len()));
    }
    filter
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(format!("ledger line: {e}")))
}

/// A page of a ledger: the unit's children with a line in it, in name order.
pub(super) fn ledger_page(c: &dyn Db, q: &LedgerQuery) -> Result<LedgerPage, StoreError> {
    let mut params = Vec::new();
    let column = match q.ledger {
        Ledger::Dropouts => "dropout_line",
        Ledger::Poor => "poor_line",
    };
    let filter = format!(
        "{} AND s.{column} IS NOT NULL",
        unit_where(&q.unit, "s", &mut params)
    );
    let grouped = q.unit.students.is_of_places();
    let total = match (q.with_total, grouped) {
        (false, _) => 0,
        // The ledger's lines counted by group (`COUNTS`), as the student list counts.
        (true, true) => {
            let flag = match q.ledger {
                Ledger::Dropouts => "dropout",
                Ledger::Poor => "poor",
            };
            let mut params = Vec::new();
            let filter = unit_where(&q.unit, "s", &mut params);
            c.one(
                &format!(
                    "SELECT CAST(COALESCE(SUM(s.n), 0) AS BIGINT) FROM rm_student_counts s
                     WHERE {filter} AND s.{flag} = 1"
                ),
                &params,
            )?
            .int(0)?
        }
        (true, false) => c
            .one(
                &format!("SELECT count(*) FROM rm_students s WHERE {filter}"),
                &params,
            )?
            .int(0)?,
    };
    let limit = q.limit.max(1);
    let (order, cmp, toward) = by_name(&q.from, "s", &mut params);
    params.push((limit as i64 + 1).into());
    let rows = c
        .query(
            &format!(
                "SELECT s.student, s.name, s.school, s.{column} FROM rm_students s
                 WHERE {filter}{cmp} ORDER BY {order} LIMIT ${}",
                params.len()
            ),
            &params,
        )?
        .iter()
        .map(|r| {
            let text = r.text(3)?;
            let bad = |e: serde_json::Error| corrupt("ledger line", e);
            Ok(LedgerRow {
                student: parse_id(&r.text(0)?)?,
                name: r.text(1)?,
                school: r.opt_text(2)?.map(|s| parse_id(&s)).transpose()?,
                line: match q.ledger {
                    Ledger::Dropouts => {
                        LedgerLine::Dropout(serde_json::from_str(&text).map_err(bad)?)
                    }
                    Ledger::Poor => LedgerLine::Poor(serde_json::from_str(&text).map_err(bad)?),
                },
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let (rows, more_after, more_before) = keyset_page(rows, limit, toward);
    Ok(LedgerPage {
        rows,
        more_after,
        more_before,
        total: total as u64,
    })
}

pub(super) fn clear(c: &dyn Db) -> Result<(), StoreError> {
    c.empty("rm_students")?;
    c.empty("rm_student_counts")?;
    c.empty("rm_device_checks")
}

pub(super) fn to_recheck(
    c: &dyn Db,
    today: NaiveDate,
    after: Option<(NaiveDate, StudentId)>,
    limit: usize,
) -> Result<Vec<(NaiveDate, StudentId)>, StoreError> {
    let mut params: Vec<V> = vec![today.to_string().into(), (limit as i64).into()];
    let mut from = String::new();
    if let Some((day, student)) = after {
        params.push(day.to_string().into());
        params.push(student.to_string().into());
        from = " AND (recheck, student) > ($3, $4)".into();
    }
    c.query(
        &format!(
            "SELECT recheck, student FROM rm_students WHERE recheck <= $1{from}
             ORDER BY recheck, student LIMIT $2"
        ),
        &params,
    )?
    .into_iter()
    .map(|r| {
        let day = r.text(0)?;
        Ok((
            day.parse().map_err(|_| corrupt("recheck date", &day))?,
            parse_id(&r.text(1)?)?,
        ))
    })
    .collect()
}

pub(super) fn overdue(c: &dyn Db, students: &[StudentId]) -> Result<Vec<StudentId>, StoreError> {
    c.query(
        "SELECT student FROM rm_students WHERE student = ANY($1) AND overdue > 0",
        &[V::list(students)],
    )?
    .into_iter()
    .map(|r| parse_id(&r.text(0)?))
    .collect()
}

fn summary(r: &Row) -> Result<StudentSummary, StoreError> {
    let count = |i| r.int(i).map(|v| v as u32);
    let student = parse_id(&r.text(0)?)?;
    Ok(StudentSummary {
        student,
        name: r.text(1)?,
        status: r
            .opt_text(2)?
            .map(|s| s.parse().map_err(|e| corrupt("status", e)))
            .transpose()?,
        school: r.opt_text(3)?.map(|s| parse_id(&s)).transpose()?,
        township: r.text(4)?,
        village: r.text(5)?,
        due: count(6)?,
        overdue: count(7)?,
        conflicts: count(8)?,
        missing: count(9)?,
        last_visit: r
            .opt_int(10)?
            .and_then(chrono::DateTime::from_timestamp_millis),
        recheck: r
            .opt_text(11)?
            .map(|d| d.parse().map_err(|e| corrupt("recheck day", e)))
            .transpose()?,
        // The list shows neither; the report page reads them with `compliance`.
        rhythm: StudentRhythm {
            student,
            ..StudentRhythm::default()
        },
        checks: Vec::new(),
        dropout: None,
        poor: None,
    })
}

pub(super) fn page(c: &dyn Db, q: &StudentPageQuery) -> Result<StudentPage, StoreError> {
    // A care of areas and schools counts from the groups; one naming households or students
    // (a teacher's, a liaison's: a few children) counts its rows.
    let grouped = q.students.is_of_places();
    let (counts_from, owing_due, owing_overdue, conflicted) = if grouped {
        (
            "rm_student_counts",
            "owing >= 1",
            "owing = 2",
            "conflicted = 1",
        )
    } else {
        ("rm_students", "due > 0", "overdue > 0", "conflicts > 0")
    };
    let count = |what: &str| {
        if grouped {
            format!("CAST(COALESCE(SUM(n){what}, 0) AS BIGINT)")
        } else {
            format!("count(*){what}")
        }
    };
    let mut params: Vec<V> = Vec::new();
    let scope = care_where(&q.students, "t", &mut params);
    let care_params = params.len();
    let mut filters = String::new();
    let mut row_filters = String::new();
    let mut add = |sql: &str, v: V, params: &mut Vec<V>| {
        params.push(v);
        let f = sql.replace('?', &format!("${}", params.len()));
        filters.push_str(&f);
        row_filters.push_str(&f);
    };
    if let Some(t) = &q.township {
        add(" AND township = ?", t.into(), &mut params);
    }
    if let Some(v) = &q.village {
        add(" AND village = ?", v.into(), &mut params);
    }
    if let Some(s) = q.school {
        add(" AND school = ?", s.to_string().into(), &mut params);
    }
    if let Some(s) = q.status {
        add(" AND status = ?", s.code().into(), &mut params);
    }
    match q.owing {
        Some(true) => {
            filters.push_str(&format!(" AND {owing_overdue}"));
            row_filters.push_str(" AND overdue > 0");
        }
        Some(false) => {
            filters.push_str(&format!(" AND {owing_due}"));
            row_filters.push_str(" AND due > 0");
        }
        None => {}
    }
    if q.conflicted {
        filters.push_str(&format!(" AND {conflicted}"));
        row_filters.push_str(" AND conflicts > 0");
    }
    // Without filters the list is the whole care: one count of it serves both.
    let counts = c.one(
        &format!(
            "SELECT {}, {}, {} FROM {counts_from} t WHERE {scope}{filters}",
            count(""),
            count(&format!(" FILTER (WHERE {owing_due})")),
            count(&format!(" FILTER (WHERE {owing_overdue})")),
        ),
        &params,
    )?;
    let in_scope = if filters.is_empty() {
        counts.int(0)?
    } else {
        c.one(
            &format!("SELECT {} FROM {counts_from} t WHERE {scope}", count("")),
            &params[..care_params],
        )?
        .int(0)?
    };
    let townships = townships_of(c, counts_from, &q.students)?;
    let filters = row_filters;
    let limit = q.limit.max(1);
    let mut page_params = params.clone();
    let (order, cmp, toward) = by_name(&q.from, "t", &mut page_params);
    page_params.push((limit as i64 + 1).into());
    let rows = c
        .query(
            &format!(
                "SELECT student, name, status, school, township, village, due, overdue, conflicts, missing, last_visit_ms, recheck
                 FROM rm_students t WHERE {scope}{filters}{cmp} ORDER BY {order} LIMIT ${}",
                page_params.len()
            ),
            &page_params,
        )?
        .iter()
        .map(summary)
        .collect::<Result<Vec<_>, _>>()?;
    let (rows, more_after, more_before) = keyset_page(rows, limit, toward);
    Ok(StudentPage {
        rows,
        more_after,
        more_before,
        in_scope: in_scope as u64,
        matching: counts.int(0)? as u64,
        owing: counts.int(1)? as u64,
        overdue: counts.int(2)? as u64,
        townships,
    })
}
