//! The read models' rows (`crate::store::read_model`).

use super::db::{Db, V, p};
use super::{GroupCounts, corrupt, insert_rows, parse_id, values_cte};
use crate::store::{
    Changes, Neighbours, QueueFrom, QueueKey, QueuePage, QueuePageQuery, ReadCursor, StoreError,
    TravelKey, VisitRow,
};
use baoxue_shared::ids::{RecordId, StudentId, UserId};
use baoxue_shared::observation::Sha256;
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap};

pub(super) fn cursor(c: &dyn Db) -> Result<ReadCursor, StoreError> {
    let get = |name: &str| -> Result<i64, StoreError> {
        Ok(
            c.query_opt("SELECT value FROM rm_cursor WHERE name = $1", p![name])?
                .map(|r| r.int(0))
                .transpose()?
                .unwrap_or(0),
        )
    };
    Ok(ReadCursor {
        op_seq: get("op_seq")?,
        photo_seq: get("photo_seq")?,
    })
}

pub(super) fn set_cursor(c: &dyn Db, to: ReadCursor) -> Result<(), StoreError> {
    for (name, value) in [("op_seq", to.op_seq), ("photo_seq", to.photo_seq)] {
        c.execute(
            "INSERT INTO rm_cursor(name, value) VALUES ($1, $2)
             ON CONFLICT(name) DO UPDATE SET value = excluded.value WHERE excluded.value > rm_cursor.value",
            p![name, value],
        )?;
    }
    Ok(())
}

pub(super) fn changes_after(
    c: &dyn Db,
    from: ReadCursor,
    limit: usize,
) -> Result<Changes, StoreError> {
    let limit = limit.max(1) as i64;
    let op_seq = c
        .one(
            "SELECT coalesce(max(seq), $1) FROM (SELECT seq FROM ops WHERE seq > $1 ORDER BY seq LIMIT $2) AS o",
            p![from.op_seq, limit],
        )?
        .int(0)?;
    // `photos.rowid`: SQLite's own row number; the PostgreSQL schema names its upload sequence so.
    let photo_seq = c
        .one(
            "SELECT coalesce(max(rowid), $1) FROM (SELECT rowid FROM photos WHERE rowid > $1 ORDER BY rowid LIMIT $2) AS p",
            p![from.photo_seq, limit],
        )?
        .int(0)?;
    let students = c
        .query(
            "SELECT student FROM op_subjects WHERE seq > $1 AND seq <= $2 AND student IS NOT NULL
             UNION
             SELECT s.id FROM op_subjects o JOIN students s ON s.household = o.household
                 WHERE o.seq > $1 AND o.seq <= $2 AND o.household IS NOT NULL
             UNION
             SELECT s.student FROM photos p JOIN photo_refs r ON r.sha256 = p.sha256
                 JOIN op_subjects s ON s.seq = r.seq
                 WHERE p.rowid > $3 AND p.rowid <= $4 AND s.student IS NOT NULL",
            p![from.op_seq, op_seq, from.photo_seq, photo_seq],
        )?
        .into_iter()
        .map(|r| parse_id::<StudentId>(&r.text(0)?))
        .collect::<Result<BTreeSet<_>, _>>()?;
    Ok(Changes {
        students: students.into_iter().collect(),
        next: ReadCursor { op_seq, photo_seq },
    })
}

pub(super) fn visit_rows(c: &dyn Db, records: &[RecordId]) -> Result<Vec<VisitRow>, StoreError> {
    let list = || [V::list(records)];
    let mut students: HashMap<String, Vec<StudentId>> = HashMap::new();
    for r in c.query(
        "SELECT record, student FROM rm_visit_students WHERE record = ANY($1)",
        &list(),
    )? {
        students
            .entry(r.text(0)?)
            .or_default()
            .push(parse_id(&r.text(1)?)?);
    }
    let mut visitors: HashMap<String, (Vec<UserId>, bool)> = HashMap::new();
    for r in c.query(
        "SELECT record, worker, travel FROM rm_visit_visitors WHERE record = ANY($1)",
        &list(),
    )? {
        let e = visitors.entry(r.text(0)?).or_default();
        e.0.push(parse_id(&r.text(1)?)?);
        e.1 |= r.flag(2)?;
    }
    let mut photos: HashMap<String, Vec<(Sha256, Vec<i64>)>> = HashMap::new();
    for r in c.query(
        "SELECT record, sha256 FROM rm_visit_photos WHERE record = ANY($1) ORDER BY record, photo",
        &list(),
    )? {
        photos.entry(r.text(0)?).or_default().push((
            Sha256::parse(&r.text(1)?).map_err(|e| corrupt("photo hash", e.en()))?,
            Vec::new(),
        ));
    }
    for r in c.query(
        "SELECT record, photo, value FROM rm_photo_bands WHERE record = ANY($1) ORDER BY record, photo, band",
        &list(),
    )? {
        let i = r.int(1)? as usize;
        if let Some(p) = photos.get_mut(&r.text(0)?).and_then(|ps| ps.get_mut(i)) {
            p.1.push(r.int(2)?);
        }
    }
    let mut out = Vec::with_capacity(records.len());
    for r in c.query(
        "SELECT record, started_ms, kind, school, township, village, state, flags, open, detail
         FROM rm_visits WHERE record = ANY($1) ORDER BY record",
        &list(),
    )? {
        let key = r.text(0)?;
        let ms = r.int(1)?;
        let kind = r.text(2)?;
        let (who, travel) = visitors.remove(&key).unwrap_or_default();
        out.push(VisitRow {
            record: parse_id(&key)?,
            started_at: DateTime::<Utc>::from_timestamp_millis(ms)
                .ok_or_else(|| corrupt("visit time", ms))?,
            kind: kind.parse().map_err(|_| corrupt("visit kind", &kind))?,
            students: students.remove(&key).unwrap_or_default(),
            visitors: who,
            travel,
            school: r.opt_text(3)?.map(|s| parse_id(&s)).transpose()?,
            township: r.text(4)?,
            village: r.text(5)?,
            state: r.text(6)?,
            flags: r
                .text(7)?
                .split(',')
                .filter(|f| !f.is_empty())
                .map(str::to_string)
                .collect(),
            open: r.flag(8)?,
            photos: photos.remove(&key).unwrap_or_default(),
            detail: r.text(9)?,
        });
    }
    Ok(out)
}

// `except` is filtered here, not in the query: a catch-up asks with the thousand records it is
// rewriting, and a list parameter that size costs more than the rows.
pub(super) fn photo_partners(
    c: &dyn Db,
    photos: &[Sha256],
    bands: &[(usize, i64)],
    except: &BTreeSet<RecordId>,
) -> Result<Vec<RecordId>, StoreError> {
    let mut out = BTreeSet::new();
    if !photos.is_empty() {
        for r in c.query(
            "SELECT DISTINCT record FROM rm_visit_photos WHERE sha256 = ANY($1)",
            &[V::list(photos.iter().map(|h| h.to_hex()))],
        )? {
            out.insert(parse_id::<RecordId>(&r.text(0)?)?);
        }
    }
    let bands: Vec<Vec<V>> = bands
        .iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|(b, v)| vec![V::Int(*b as i64), V::Int(*v)])
        .collect();
    for chunk in bands.chunks(10_000) {
        let (with, params) = values_cte(
            "k",
            &[("band", Some("BIGINT")), ("value", Some("BIGINT"))],
            chunk,
            1,
        );
        for r in c.query(
            &format!(
                "{with}SELECT DISTINCT b.record FROM k JOIN rm_photo_bands b ON b.band = k.band AND b.value = k.value"
            ),
            &params,
        )? {
            out.insert(parse_id::<RecordId>(&r.text(0)?)?);
        }
    }
    Ok(out.difference(except).copied().collect())
}

pub(super) fn travel_neighbours(
    c: &dyn Db,
    keys: &[TravelKey],
    except: &BTreeSet<RecordId>,
) -> Result<Vec<Neighbours>, StoreError> {
    let mut out = vec![Neighbours::default(); keys.len()];
    let except = V::list(except);
    // Each key's nearest visit either side, by the partial index on travel-checked visits.
    let nearest = |cmp: &str, order: &str, n: usize| {
        format!(
            "(SELECT v.record FROM rm_visit_visitors v WHERE v.worker = k.worker AND v.travel = 1
                 AND (v.started_ms, v.record) {cmp} (k.ms, k.record) AND v.record <> ALL(${n})
              ORDER BY {order} LIMIT 1)"
        )
    };
    let rows: Vec<Vec<V>> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            vec![
                V::Int(i as i64),
                k.worker.to_string().into(),
                k.at.timestamp_millis().into(),
                k.record.to_string().into(),
            ]
        })
        .collect();
    for chunk in rows.chunks(5_000) {
        let (with, mut params) = values_cte(
            "k",
            &[
                ("i", Some("BIGINT")),
                ("worker", None),
                ("ms", Some("BIGINT")),
                ("record", None),
            ],
            chunk,
            2,
        );
        params.insert(0, except.clone());
        let sql = format!(
            "{with}SELECT k.i, {}, {} FROM k",
            nearest("<", "v.started_ms DESC, v.record DESC", 1),
            nearest(">", "v.started_ms, v.record", 1),
        );
        for r in c.query(&sql, &params)? {
            let id = |i: usize| r.opt_text(i)?.map(|t| parse_id::<RecordId>(&t)).transpose();
            out[r.int(0)? as usize] = Neighbours {
                before: id(1)?,
                after: id(2)?,
            };
        }
    }
    Ok(out)
}

pub(super) fn save_visit_rows(
    c: &dyn Db,
    rows: &[VisitRow],
    gone: &[RecordId],
) -> Result<(), StoreError> {
    let records = V::list(rows.iter().map(|r| r.record).chain(gone.iter().copied()));
    let students: BTreeSet<StudentId> = rows.iter().flat_map(|r| r.students.clone()).collect();
    let students = V::list(students);
    // The queue rows this write may change: the visits' own, and the other rows of their
    // students (`stamp_care` rewrites those).
    let touched = [records.clone(), students.clone()];
    QUEUE_COUNTS.delta(c, "record = ANY($1) OR student = ANY($2)", &touched, -1)?;
    for table in [
        "rm_visits",
        "rm_visit_students",
        "rm_queue",
        "rm_visit_visitors",
        "rm_visit_photos",
        "rm_photo_bands",
    ] {
        c.execute(
            &format!("DELETE FROM {table} WHERE record = ANY($1)"),
            std::slice::from_ref(&records),
        )?;
    }
    // Each table's rows in as few statements as the parameter limit allows: on PostgreSQL a
    // statement per row was most of a rebuild's time (a round trip each).
    let (mut visits, mut of_students, mut queue, mut visitors, mut photos, mut bands) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    for r in rows {
        let id = r.record.to_string();
        let ms = r.started_at.timestamp_millis();
        let rank = rank(r.open, !r.flags.is_empty());
        let flags = r.flags.join(",");
        let school = r.school.map(|s| s.to_string());
        visits.push(vec![
            V::from(&id),
            ms.into(),
            r.kind.code().into(),
            school.clone().into(),
            (&r.township).into(),
            (&r.village).into(),
            (&r.state).into(),
            (&flags).into(),
            r.open.into(),
            rank.into(),
            (&r.detail).into(),
        ]);
        for s in &r.students {
            of_students.push(vec![V::from(&id), s.to_string().into()]);
            queue.push(vec![
                V::from(&id),
                s.to_string().into(),
                (r.students.len() as i64).into(),
                rank.into(),
                ms.into(),
                r.open.into(),
                (&flags).into(),
                r.kind.code().into(),
                (&r.state).into(),
                school.clone().into(),
                (&r.township).into(),
                (&r.village).into(),
            ]);
        }
        for w in &r.visitors {
            visitors.push(vec![
                V::from(&id),
                w.to_string().into(),
                ms.into(),
                r.travel.into(),
            ]);
        }
        for (i, (sha, bs)) in r.photos.iter().enumerate() {
            photos.push(vec![V::from(&id), (i as i64).into(), sha.to_hex().into()]);
            for (b, v) in bs.iter().enumerate() {
                bands.push(vec![
                    V::from(&id),
                    (i as i64).into(),
                    (b as i64).into(),
                    (*v).into(),
                ]);
            }
        }
    }
    for (head, rows) in [
        (
            "INSERT INTO rm_visits(record, started_ms, kind, school, township, village, state, flags, open, rank, detail)",
            visits,
        ),
        (
            "INSERT INTO rm_visit_students(record, student)",
            of_students,
        ),
        (
            "INSERT INTO rm_queue(record, student, n, rank, started_ms, open, flags, kind, state, school, township, village)",
            queue,
        ),
        (
            "INSERT INTO rm_visit_visitors(record, worker, started_ms, travel)",
            visitors,
        ),
        ("INSERT INTO rm_visit_photos(record, photo, sha256)", photos),
        (
            "INSERT INTO rm_photo_bands(record, photo, band, value)",
            bands,
        ),
    ] {
        insert_rows(c, head, "", rows)?;
    }
    super::stamp_care(c, "rm_queue", &students)?;
    QUEUE_COUNTS.delta(c, "record = ANY($1) OR student = ANY($2)", &touched, 1)
}

/// The queue's totals by group (`rm_queue_counts`), as the student list's: the care columns
/// and the filters a reviewer can set but the worker and the dates (those count rows). Only
/// rows of visits about one student: a visit about several has a row for each, and those are
/// counted distinctly from the rows themselves (few: visits to siblings).
const QUEUE_COUNTS: GroupCounts = GroupCounts {
    counts: "rm_queue_counts",
    rows: "rm_queue",
    text: &["township", "village", "school", "kind", "state", "flags"],
    numeric: &[("open", "open")],
    counted: "n = 1",
};

pub(super) fn clear(c: &dyn Db) -> Result<(), StoreError> {
    for table in [
        "rm_visits",
        "rm_visit_students",
        "rm_visit_visitors",
        "rm_visit_photos",
        "rm_photo_bands",
        "rm_queue",
        "rm_queue_counts",
        "rm_cursor",
    ] {
        c.empty(table)?;
    }
    Ok(())
}

fn rank(open: bool, flagged: bool) -> i64 {
    match (open, flagged) {
        (true, true) => 0,
        (true, false) => 1,
        _ => 2,
    }
}

/// `count(*)` of the queue rows matching `cond`, each visit once: a visit about several
/// students has a row for each (`n` of them), and only those need the distinct count.
fn visits_counted(cond: &str) -> String {
    format!(
        "count(*) FILTER (WHERE q.n = 1{cond}) + count(DISTINCT q.record) FILTER (WHERE q.n > 1{cond})"
    )
}

pub(super) fn queue_page(c: &dyn Db, q: &QueuePageQuery) -> Result<QueuePage, StoreError> {
    let mut params: Vec<V> = Vec::new();
    let scope = super::care_where(&q.students, "q", &mut params);
    let care_params = params.len();
    let mut filters = String::new();
    let mut any_flag = false;
    let mut add = |sql: &str, v: V, params: &mut Vec<V>| {
        params.push(v);
        filters.push_str(&sql.replace('?', &format!("${}", params.len())));
    };
    if let Some(t) = &q.township {
        add(" AND q.township = ?", V::from(t), &mut params);
    }
    if let Some(t) = &q.village {
        add(" AND q.village = ?", V::from(t), &mut params);
    }
    if let Some(s) = q.school {
        add(" AND q.school = ?", V::from(s.to_string()), &mut params);
    }
    if let Some(w) = q.worker {
        add(
            " AND q.record IN (SELECT record FROM rm_visit_visitors WHERE worker = ?)",
            V::from(w.to_string()),
            &mut params,
        );
    }
    if let Some(k) = q.kind {
        add(" AND q.kind = ?", V::from(k.code()), &mut params);
    }
    if let Some(f) = q.from {
        add(
            " AND q.started_ms >= ?",
            V::Int(f.timestamp_millis()),
            &mut params,
        );
    }
    if let Some(u) = q.until {
        add(
            " AND q.started_ms < ?",
            V::Int(u.timestamp_millis()),
            &mut params,
        );
    }
    match q.flag.as_deref() {
        None | Some("") => {}
        Some("any") => any_flag = true,
        Some(code) => add(
            " AND (',' || q.flags || ',') LIKE ?",
            V::from(format!("%,{code},%")),
            &mut params,
        ),
    }
    if let Some(st) = &q.state {
        add(" AND q.state = ?", V::from(st), &mut params);
    }
    if any_flag {
        // Written out, not a parameter, so the flagged rows' own index serves it.
        filters.push_str(" AND q.flags <> ''");
    }
    // A care of areas and schools, filtered by what the groups hold, sums the groups; the
    // rest counts rows.
    let grouped =
        q.students.is_of_places() && q.worker.is_none() && q.from.is_none() && q.until.is_none();
    let count = |filters: &str, params: &[V]| -> Result<[i64; 3], StoreError> {
        let r = if grouped {
            let sum = |cond: &str| format!("CAST(COALESCE(SUM(q.n){cond}, 0) AS BIGINT)");
            let distinct = |cond: &str| format!("count(DISTINCT q.record){cond}");
            let single = c.one(
                &format!(
                    "SELECT {}, {}, {} FROM rm_queue_counts q WHERE {scope}{filters}",
                    sum(""),
                    sum(" FILTER (WHERE q.open = 1)"),
                    sum(" FILTER (WHERE q.flags <> '')"),
                ),
                params,
            )?;
            let multi = c.one(
                &format!(
                    "SELECT {}, {}, {} FROM rm_queue q WHERE q.n > 1 AND {scope}{filters}",
                    distinct(""),
                    distinct(" FILTER (WHERE q.open = 1)"),
                    distinct(" FILTER (WHERE q.flags <> '')"),
                ),
                params,
            )?;
            [
                single.int(0)? + multi.int(0)?,
                single.int(1)? + multi.int(1)?,
                single.int(2)? + multi.int(2)?,
            ]
        } else {
            let r = c.one(
                &format!(
                    "SELECT {}, {}, {} FROM rm_queue q WHERE {scope}{filters}",
                    visits_counted(""),
                    visits_counted(" AND q.open = 1"),
                    visits_counted(" AND q.flags <> ''"),
                ),
                params,
            )?;
            [r.int(0)?, r.int(1)?, r.int(2)?]
        };
        Ok(r)
    };
    let counts = count(&filters, &params)?;
    // Without filters the matching rows are the whole care: one count serves both.
    let in_scope = if filters.is_empty() {
        counts[0]
    } else {
        count("", &params[..care_params])?[0]
    };
    let townships = if grouped {
        let cols = format!("township, {}", super::GROUP_CARE.join(", "));
        super::townships_of(
            c,
            &format!(
                "(SELECT {cols} FROM rm_queue_counts UNION ALL SELECT {cols} FROM rm_queue WHERE n > 1)"
            ),
            &q.students,
        )?
    } else {
        super::townships_of(c, "rm_queue", &q.students)?
    };
    let limit = q.limit.max(1);
    let (order, key) = match q.from_key {
        QueueFrom::First => ("q.rank, q.started_ms DESC, q.record", None),
        QueueFrom::After(k) => ("q.rank, q.started_ms DESC, q.record", Some(k)),
        QueueFrom::Before(k) => ("q.rank DESC, q.started_ms, q.record DESC", Some(k)),
    };
    let mut page_params = params.clone();
    let mut cmp_sql = String::new();
    if let Some(k) = key {
        let n = page_params.len();
        cmp_sql = format!(
            " AND (q.rank, -q.started_ms, q.record) {} (${}, ${}, ${})",
            if matches!(q.from_key, QueueFrom::After(_)) {
                ">"
            } else {
                "<"
            },
            n + 1,
            n + 2,
            n + 3
        );
        page_params.push(V::Int(k.rank));
        page_params.push(V::Int(k.newest));
        page_params.push(V::Text(k.record.to_string()));
    }
    page_params.push(V::Int(limit as i64 + 1));
    // The page's keys from the narrow rows, then the details of just those visits.
    let keys = c
        .query(
            &format!(
                "SELECT DISTINCT q.rank, q.started_ms, q.record FROM rm_queue q
                 WHERE {scope}{filters}{cmp_sql} ORDER BY {order} LIMIT ${}",
                page_params.len()
            ),
            &page_params,
        )?
        .into_iter()
        .map(|r| {
            Ok(QueueKey {
                rank: r.int(0)?,
                newest: -r.int(1)?,
                record: parse_id(&r.text(2)?)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let mut details: HashMap<String, String> = HashMap::new();
    for mut r in c.query(
        "SELECT record, detail FROM rm_visits WHERE record = ANY($1)",
        &[V::list(keys.iter().map(|k| k.record))],
    )? {
        details.insert(r.text(0)?, r.take_text(1)?);
    }
    let rows = keys
        .into_iter()
        .map(|k| {
            let detail = details
                .remove(&k.record.to_string())
                .ok_or_else(|| corrupt("queue row without its visit", k.record))?;
            Ok((k, detail))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let toward = match q.from_key {
        QueueFrom::First => super::Toward::Start,
        QueueFrom::After(_) => super::Toward::After,
        QueueFrom::Before(_) => super::Toward::Before,
    };
    let (rows, more_after, more_before) = super::keyset_page(rows, limit, toward);
    Ok(QueuePage {
        rows,
        more_after,
        more_before,
        in_scope: in_scope as u64,
        matching: counts[0] as u64,
        open: counts[1] as u64,
        flagged: counts[2] as u64,
        townships,
    })
}
