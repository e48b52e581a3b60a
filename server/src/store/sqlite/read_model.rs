//! The read models' rows in SQLite (`crate::store::read_model`).

use super::{corrupt, ids_array, parse_id};
use crate::store::{
    Changes, QueueFrom, QueueKey, QueuePage, QueuePageQuery, ReadCursor, StoreError, VisitRow,
};
use baoxue_shared::ids::{RecordId, StudentId, UserId};
use baoxue_shared::observation::Sha256;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use std::collections::BTreeSet;

pub(super) fn cursor(c: &Connection) -> Result<ReadCursor, StoreError> {
    let get = |name: &str| -> Result<i64, StoreError> {
        Ok(
            c.query_row("SELECT value FROM rm_cursor WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?
            .unwrap_or(0),
        )
    };
    Ok(ReadCursor {
        op_seq: get("op_seq")?,
        photo_seq: get("photo_seq")?,
    })
}

fn set_cursor(c: &Connection, to: ReadCursor) -> Result<(), StoreError> {
    let mut st = c.prepare_cached(
        "INSERT INTO rm_cursor(name, value) VALUES (?1, ?2)
         ON CONFLICT(name) DO UPDATE SET value = max(value, excluded.value)",
    )?;
    st.execute(("op_seq", to.op_seq))?;
    st.execute(("photo_seq", to.photo_seq))?;
    Ok(())
}

pub(super) fn changes_after(
    c: &Connection,
    from: ReadCursor,
    limit: usize,
) -> Result<Changes, StoreError> {
    let limit = limit.max(1) as i64;
    let op_seq: i64 = c.query_row(
        "SELECT coalesce(max(seq), ?1) FROM (SELECT seq FROM ops WHERE seq > ?1 ORDER BY seq LIMIT ?2)",
        (from.op_seq, limit),
        |r| r.get(0),
    )?;
    let photo_seq: i64 = c.query_row(
        "SELECT coalesce(max(rowid), ?1) FROM (SELECT rowid FROM photos WHERE rowid > ?1 ORDER BY rowid LIMIT ?2)",
        (from.photo_seq, limit),
        |r| r.get(0),
    )?;
    let mut st = c.prepare_cached(
        "SELECT student FROM op_subjects WHERE seq > ?1 AND seq <= ?2 AND student IS NOT NULL
         UNION
         SELECT s.id FROM op_subjects o JOIN students s ON s.household = o.household
             WHERE o.seq > ?1 AND o.seq <= ?2 AND o.household IS NOT NULL
         UNION
         SELECT s.student FROM photos p JOIN photo_refs r ON r.sha256 = p.sha256
             JOIN op_subjects s ON s.seq = r.seq
             WHERE p.rowid > ?3 AND p.rowid <= ?4 AND s.student IS NOT NULL",
    )?;
    let students = st
        .query_map((from.op_seq, op_seq, from.photo_seq, photo_seq), |r| {
            r.get::<_, String>(0)
        })?
        .map(|s| parse_id::<StudentId>(&s?))
        .collect::<Result<BTreeSet<_>, _>>()?;
    Ok(Changes {
        students: students.into_iter().collect(),
        next: ReadCursor { op_seq, photo_seq },
    })
}

pub(super) fn visit_rows(
    c: &Connection,
    records: &[RecordId],
) -> Result<Vec<VisitRow>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT record, started_ms, kind, school, township, village, state, flags, open, detail
         FROM rm_visits WHERE record IN rarray(?1) ORDER BY record",
    )?;
    let mut students =
        c.prepare_cached("SELECT student FROM rm_visit_students WHERE record = ?1")?;
    let mut visitors =
        c.prepare_cached("SELECT worker, travel FROM rm_visit_visitors WHERE record = ?1")?;
    let mut photos =
        c.prepare_cached("SELECT sha256 FROM rm_visit_photos WHERE record = ?1 ORDER BY photo")?;
    let mut bands = c.prepare_cached(
        "SELECT photo, value FROM rm_photo_bands WHERE record = ?1 ORDER BY photo, band",
    )?;
    let rows = st
        .query_map([ids_array(records)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, String>(7)?,
                r.get::<_, bool>(8)?,
                r.get::<_, String>(9)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for (record, ms, kind, school, township, village, state, flags, open, detail) in rows {
        let studs = students
            .query_map([&record], |r| r.get::<_, String>(0))?
            .map(|s| parse_id(&s?))
            .collect::<Result<Vec<StudentId>, _>>()?;
        let mut who = Vec::new();
        let mut travels = false;
        for row in visitors.query_map([&record], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?))
        })? {
            let (w, t) = row?;
            who.push(parse_id::<UserId>(&w)?);
            travels |= t;
        }
        let mut cited = Vec::new();
        for sha in photos.query_map([&record], |r| r.get::<_, String>(0))? {
            let sha = sha?;
            cited.push((
                Sha256::parse(&sha).map_err(|e| corrupt("photo hash", e.en()))?,
                Vec::new(),
            ));
        }
        for row in bands.query_map([&record], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })? {
            let (i, value) = row?;
            if let Some(p) = cited.get_mut(i as usize) {
                p.1.push(value);
            }
        }
        let record: RecordId = parse_id(&record)?;
        out.push(VisitRow {
            record,
            started_at: DateTime::<Utc>::from_timestamp_millis(ms)
                .ok_or_else(|| corrupt("visit time", ms))?,
            kind: kind.parse().map_err(|_| corrupt("visit kind", &kind))?,
            students: studs,
            visitors: who,
            travel: travels,
            school: school.map(|s| parse_id(&s)).transpose()?,
            township,
            village,
            state,
            flags: flags
                .split(',')
                .filter(|f| !f.is_empty())
                .map(str::to_string)
                .collect(),
            open,
            photos: cited,
            detail,
        });
    }
    Ok(out)
}

pub(super) fn photo_partners(
    c: &Connection,
    photos: &[Sha256],
    bands: &[(usize, i64)],
    except: &[RecordId],
) -> Result<Vec<RecordId>, StoreError> {
    let mut out = BTreeSet::new();
    let mut by_sha = c.prepare_cached(
        "SELECT DISTINCT record FROM rm_visit_photos WHERE sha256 IN rarray(?1) AND record NOT IN rarray(?2)",
    )?;
    for r in by_sha.query_map(
        (
            ids_array(photos.iter().map(|h| h.to_hex())),
            ids_array(except),
        ),
        |r| r.get::<_, String>(0),
    )? {
        out.insert(parse_id::<RecordId>(&r?)?);
    }
    let mut by_band = c.prepare_cached(
        "SELECT DISTINCT record FROM rm_photo_bands WHERE band = ?1 AND value = ?2 AND record NOT IN rarray(?3)",
    )?;
    for (band, value) in bands {
        for r in by_band.query_map((*band as i64, value, ids_array(except)), |r| {
            r.get::<_, String>(0)
        })? {
            out.insert(parse_id::<RecordId>(&r?)?);
        }
    }
    Ok(out.into_iter().collect())
}

pub(super) fn travel_neighbours(
    c: &Connection,
    worker: UserId,
    at: DateTime<Utc>,
    record: RecordId,
    except: &[RecordId],
) -> Result<(Option<RecordId>, Option<RecordId>), StoreError> {
    let (w, ms, rec) = (
        worker.to_string(),
        at.timestamp_millis(),
        record.to_string(),
    );
    let mut before = c.prepare_cached(
        "SELECT record FROM rm_visit_visitors WHERE worker = ?1 AND travel = 1
             AND (started_ms, record) < (?2, ?3) AND record NOT IN rarray(?4)
         ORDER BY started_ms DESC, record DESC LIMIT 1",
    )?;
    let mut after = c.prepare_cached(
        "SELECT record FROM rm_visit_visitors WHERE worker = ?1 AND travel = 1
             AND (started_ms, record) > (?2, ?3) AND record NOT IN rarray(?4)
         ORDER BY started_ms, record LIMIT 1",
    )?;
    let one = |st: &mut rusqlite::CachedStatement| -> Result<Option<RecordId>, StoreError> {
        st.query_row((&w, ms, &rec, ids_array(except)), |r| r.get::<_, String>(0))
            .optional()?
            .map(|s| parse_id(&s))
            .transpose()
    };
    Ok((one(&mut before)?, one(&mut after)?))
}

pub(super) fn save_visit_rows(
    c: &Connection,
    rows: &[VisitRow],
    gone: &[RecordId],
    cursor: Option<ReadCursor>,
) -> Result<(), StoreError> {
    let records = ids_array(rows.iter().map(|r| r.record).chain(gone.iter().copied()));
    for table in [
        "rm_visits",
        "rm_visit_students",
        "rm_visit_visitors",
        "rm_visit_photos",
        "rm_photo_bands",
    ] {
        c.execute(
            &format!("DELETE FROM {table} WHERE record IN rarray(?1)"),
            [records.clone()],
        )?;
    }
    let mut visit = c.prepare_cached(
        "INSERT INTO rm_visits(record, started_ms, kind, school, township, village, state, flags, open, rank, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let mut student =
        c.prepare_cached("INSERT INTO rm_visit_students(record, student) VALUES (?1, ?2)")?;
    let mut visitor = c.prepare_cached(
        "INSERT INTO rm_visit_visitors(record, worker, started_ms, travel) VALUES (?1, ?2, ?3, ?4)",
    )?;
    let mut photo =
        c.prepare_cached("INSERT INTO rm_visit_photos(record, photo, sha256) VALUES (?1, ?2, ?3)")?;
    let mut band = c.prepare_cached(
        "INSERT INTO rm_photo_bands(record, photo, band, value) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for r in rows {
        let id = r.record.to_string();
        let ms = r.started_at.timestamp_millis();
        visit.execute((
            &id,
            ms,
            r.kind.code(),
            r.school.map(|s| s.to_string()),
            &r.township,
            &r.village,
            &r.state,
            r.flags.join(","),
            r.open,
            rank(r.open, !r.flags.is_empty()),
            &r.detail,
        ))?;
        for s in &r.students {
            student.execute((&id, s.to_string()))?;
        }
        for w in &r.visitors {
            visitor.execute((&id, w.to_string(), ms, r.travel))?;
        }
        for (i, (sha, bands)) in r.photos.iter().enumerate() {
            photo.execute((&id, i as i64, sha.to_hex()))?;
            for (b, v) in bands.iter().enumerate() {
                band.execute((&id, i as i64, b as i64, v))?;
            }
        }
    }
    if let Some(to) = cursor {
        set_cursor(c, to)?;
    }
    Ok(())
}

pub(super) fn clear(c: &Connection) -> Result<(), StoreError> {
    c.execute_batch(
        "DELETE FROM rm_visits; DELETE FROM rm_visit_students; DELETE FROM rm_visit_visitors;
         DELETE FROM rm_visit_photos; DELETE FROM rm_photo_bands; DELETE FROM rm_cursor;",
    )?;
    Ok(())
}

fn rank(open: bool, flagged: bool) -> i64 {
    match (open, flagged) {
        (true, true) => 0,
        (true, false) => 1,
        _ => 2,
    }
}

pub(super) fn queue_page(c: &Connection, q: &QueuePageQuery) -> Result<QueuePage, StoreError> {
    use rusqlite::ToSql;
    use std::rc::Rc;
    type Value = Rc<dyn ToSql>;
    fn v<T: ToSql + 'static>(x: T) -> Value {
        Rc::new(x)
    }
    let scope = "v.record IN (SELECT record FROM rm_visit_students WHERE student IN rarray(?1))";
    let mut filters = String::new();
    let mut params: Vec<Value> = vec![v(ids_array(&q.students))];
    let mut add = |sql: &str, v: Value, params: &mut Vec<Value>| {
        params.push(v);
        filters.push_str(&sql.replace('?', &format!("?{}", params.len())));
    };
    if let Some(t) = &q.township {
        add(" AND v.township = ?", v(t.clone()), &mut params);
    }
    if let Some(t) = &q.village {
        add(" AND v.village = ?", v(t.clone()), &mut params);
    }
    if let Some(s) = q.school {
        add(" AND v.school = ?", v(s.to_string()), &mut params);
    }
    if let Some(w) = q.worker {
        add(
            " AND v.record IN (SELECT record FROM rm_visit_visitors WHERE worker = ?)",
            v(w.to_string()),
            &mut params,
        );
    }
    if let Some(k) = q.kind {
        add(" AND v.kind = ?", v(k.code().to_string()), &mut params);
    }
    if let Some(f) = q.from {
        add(
            " AND v.started_ms >= ?",
            v(f.timestamp_millis()),
            &mut params,
        );
    }
    if let Some(u) = q.until {
        add(
            " AND v.started_ms < ?",
            v(u.timestamp_millis()),
            &mut params,
        );
    }
    match q.flag.as_deref() {
        None | Some("") => {}
        Some("any") => add(" AND v.flags <> ? ", v(String::new()), &mut params),
        Some(code) => add(
            " AND (',' || v.flags || ',') LIKE ?",
            v(format!("%,{code},%")),
            &mut params,
        ),
    }
    if let Some(st) = &q.state {
        add(" AND v.state = ?", v(st.clone()), &mut params);
    }
    let in_scope: i64 = c.query_row(
        &format!("SELECT count(*) FROM rm_visits v WHERE {scope}"),
        [v(ids_array(&q.students))],
        |r| r.get(0),
    )?;
    let (matching, open, flagged): (i64, Option<i64>, Option<i64>) = c.query_row(
        &format!(
            "SELECT count(*), sum(v.open), sum(v.flags <> '') FROM rm_visits v WHERE {scope}{filters}"
        ),
        rusqlite::params_from_iter(&params),
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut townships = Vec::new();
    {
        let mut st = c.prepare(&format!(
            "SELECT DISTINCT v.township FROM rm_visits v WHERE {scope} AND v.township <> '' ORDER BY 1"
        ))?;
        for t in st.query_map([v(ids_array(&q.students))], |r| r.get::<_, String>(0))? {
            townships.push(t?);
        }
    }
    let limit = q.limit.max(1);
    let (order, key) = match q.from_key {
        QueueFrom::First => ("v.rank, v.started_ms DESC, v.record", None),
        QueueFrom::After(k) => ("v.rank, v.started_ms DESC, v.record", Some(k)),
        QueueFrom::Before(k) => ("v.rank DESC, v.started_ms, v.record DESC", Some(k)),
    };
    let mut page_params = params.clone();
    let mut cmp_sql = String::new();
    if let Some(k) = key {
        let n = page_params.len();
        cmp_sql = format!(
            " AND (v.rank, -v.started_ms, v.record) {} (?{}, ?{}, ?{})",
            if matches!(q.from_key, QueueFrom::After(_)) {
                ">"
            } else {
                "<"
            },
            n + 1,
            n + 2,
            n + 3
        );
        page_params.push(v(k.rank));
        page_params.push(v(k.newest));
        page_params.push(v(k.record.to_string()));
    }
    page_params.push(v(limit as i64 + 1));
    let mut st = c.prepare(&format!(
        "SELECT v.rank, v.started_ms, v.record, v.detail FROM rm_visits v
         WHERE {scope}{filters}{cmp_sql} ORDER BY {order} LIMIT ?{}",
        page_params.len()
    ))?;
    let mut rows = st
        .query_map(rusqlite::params_from_iter(&page_params), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?
        .map(|row| {
            let (rank, ms, record, detail) = row?;
            Ok((
                QueueKey {
                    rank,
                    newest: -ms,
                    record: parse_id(&record)?,
                },
                detail,
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let beyond = rows.len() > limit;
    rows.truncate(limit);
    let (more_after, more_before) = match q.from_key {
        QueueFrom::First => (beyond, false),
        QueueFrom::After(_) => (beyond, true),
        QueueFrom::Before(_) => {
            rows.reverse();
            (true, beyond)
        }
    };
    Ok(QueuePage {
        rows,
        more_after,
        more_before,
        in_scope: in_scope as u64,
        matching: matching as u64,
        open: open.unwrap_or(0) as u64,
        flagged: flagged.unwrap_or(0) as u64,
        townships,
    })
}
