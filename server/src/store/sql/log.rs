//! The op log: push, pull, the per-student queries, the projections used for scoping, and the
//! audit chain.

use super::db::{Db, V, p};
use super::{accounts, corrupt, insert_rows, next_counter, parse_id};
use crate::store::*;
use baoxue_shared::area::AdminArea;
use baoxue_shared::ids::{BatchId, DeviceId, GuardianId, HouseholdId, OpId, RecordId, StudentId};
use baoxue_shared::op::{EntityRef, Op, OpBody, StudentField, Target};
use baoxue_shared::people::{Assignment, User};
use baoxue_shared::replica::Replica;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256 as Sha};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

fn decode_op(body: &str) -> Result<Op, StoreError> {
    serde_json::from_str(body).map_err(|e| corrupt("stored op", e))
}

pub(super) fn caseload(c: &dyn Db, user: &User) -> Result<Caseload, StoreError> {
    let mut cl = Caseload::default();
    let assignments: Vec<(Assignment, i64)> = c
        .query(
            r#"SELECT kind, target, version FROM assignments WHERE "user" = $1"#,
            p![user.id.to_string()],
        )?
        .into_iter()
        .map(|r| {
            Ok((
                accounts::parse_assignment(&r.text(0)?, &r.text(1)?)?,
                r.int(2)?,
            ))
        })
        .collect::<Result<_, StoreError>>()?;
    let add_student = |cl: &mut Caseload, s: StudentId, v: i64| {
        let e = cl.students.entry(s).or_insert(v);
        *e = (*e).max(v);
    };
    let add_household = |cl: &mut Caseload, h: HouseholdId, v: i64| {
        let e = cl.households.entry(h).or_insert(v);
        *e = (*e).max(v);
    };
    // Paired students: one query for all their scope versions.
    let paired: HashMap<StudentId, i64> = assignments
        .iter()
        .filter_map(|(a, v)| match a {
            Assignment::Student { student } => Some((*student, *v)),
            _ => None,
        })
        .collect();
    if !paired.is_empty() {
        let known: HashMap<String, i64> = c
            .query(
                "SELECT id, scope_version FROM students WHERE id = ANY($1)",
                &[V::list(paired.keys())],
            )?
            .into_iter()
            .map(|r| Ok((r.text(0)?, r.int(1)?)))
            .collect::<Result<_, StoreError>>()?;
        for (s, v) in &paired {
            add_student(
                &mut cl,
                *s,
                (*v).max(known.get(&s.to_string()).copied().unwrap_or(0)),
            );
        }
    }
    let mut area_scopes = Vec::new();
    for (a, v) in &assignments {
        let v = *v;
        match a {
            Assignment::Student { .. } => {}
            Assignment::Household { household } => {
                add_household(&mut cl, *household, v);
                for r in c.query(
                    "SELECT id, scope_version FROM students WHERE household = $1",
                    p![household.to_string()],
                )? {
                    add_student(&mut cl, parse_id(&r.text(0)?)?, v.max(r.int(1)?));
                }
            }
            Assignment::School { school } => {
                for r in c.query(
                    "SELECT id, scope_version FROM students WHERE school = $1",
                    p![school.to_string()],
                )? {
                    add_student(&mut cl, parse_id(&r.text(0)?)?, v.max(r.int(1)?));
                }
            }
            Assignment::Area { area } => area_scopes.push((area.clone(), v)),
        }
    }
    if !area_scopes.is_empty() {
        let mut inside = Vec::new();
        for (scope, v) in &area_scopes {
            let mut params = Vec::new();
            let within = super::area_sql(scope, "h.", &mut params);
            c.each(
                &format!("SELECT h.id, h.scope_version FROM households h WHERE {within}"),
                &params,
                &mut |r| {
                    let h: HouseholdId = parse_id(&r.text(0)?)?;
                    add_household(&mut cl, h, (*v).max(r.int(1)?));
                    inside.push(h);
                    Ok(())
                },
            )?;
        }
        inside.sort();
        inside.dedup();
        for (h, students) in household_students(c, &inside)? {
            let v = cl.households[&h];
            for s in students {
                add_student(&mut cl, s, v);
            }
        }
    }
    // The households of the students in care come with them (address, location, poverty flag).
    let students: Vec<StudentId> = cl.students.keys().copied().collect();
    for (s, h) in student_households(c, &students)? {
        let v = cl.students[&s];
        cl.households.entry(h).or_insert(v);
    }
    Ok(cl)
}

pub(super) fn care(c: &dyn Db, user: &User) -> Result<Care, StoreError> {
    let mut care = Care::default();
    for r in c.query(
        r#"SELECT kind, target FROM assignments WHERE "user" = $1"#,
        p![user.id.to_string()],
    )? {
        match accounts::parse_assignment(&r.text(0)?, &r.text(1)?)? {
            Assignment::Student { student } => care.students.push(student),
            Assignment::Household { household } => care.households.push(household),
            Assignment::School { school } => care.schools.push(school),
            Assignment::Area { area } => care.areas.push(area),
        }
    }
    Ok(care)
}

pub(super) fn guardian_students(
    c: &dyn Db,
    ids: &[GuardianId],
) -> Result<HashMap<GuardianId, StudentId>, StoreError> {
    c.query(
        "SELECT id, student FROM guardians WHERE id = ANY($1) AND student IS NOT NULL",
        &[V::list(ids)],
    )?
    .into_iter()
    .map(|r| Ok((parse_id(&r.text(0)?)?, parse_id(&r.text(1)?)?)))
    .collect()
}

pub(super) fn household_students(
    c: &dyn Db,
    ids: &[HouseholdId],
) -> Result<HashMap<HouseholdId, Vec<StudentId>>, StoreError> {
    let mut out: HashMap<HouseholdId, Vec<StudentId>> = HashMap::new();
    for r in c.query(
        "SELECT household, id FROM students WHERE household = ANY($1)",
        &[V::list(ids)],
    )? {
        out.entry(parse_id(&r.text(0)?)?)
            .or_default()
            .push(parse_id(&r.text(1)?)?);
    }
    Ok(out)
}

pub(super) fn student_households(
    c: &dyn Db,
    ids: &[StudentId],
) -> Result<HashMap<StudentId, HouseholdId>, StoreError> {
    c.query(
        "SELECT id, household FROM students WHERE id = ANY($1) AND household IS NOT NULL",
        &[V::list(ids)],
    )?
    .into_iter()
    .map(|r| Ok((parse_id(&r.text(0)?)?, parse_id(&r.text(1)?)?)))
    .collect()
}

pub(super) fn held_records(
    c: &dyn Db,
    ids: &[RecordId],
) -> Result<HashMap<RecordId, HeldRecord>, StoreError> {
    let mut out: HashMap<RecordId, HeldRecord> = HashMap::new();
    for r in c.query(
        "SELECT r.id, o.author, s.student, s.household FROM records r
         JOIN ops o ON o.seq = r.seq JOIN op_subjects s ON s.seq = r.seq WHERE r.id = ANY($1)",
        &[V::list(ids)],
    )? {
        let e = match out.entry(parse_id(&r.text(0)?)?) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(HeldRecord {
                author: parse_id(&r.text(1)?)?,
                subjects: Subjects::default(),
            }),
        };
        if let Some(s) = r.opt_text(2)? {
            e.subjects.students.push(parse_id(&s)?);
        }
        if let Some(h) = r.opt_text(3)? {
            e.subjects.households.push(parse_id(&h)?);
        }
    }
    Ok(out)
}

pub(super) fn ops_by_id(c: &dyn Db, ids: &[OpId]) -> Result<Vec<Op>, StoreError> {
    c.query("SELECT body FROM ops WHERE id = ANY($1)", &[V::list(ids)])?
        .iter()
        .map(|r| decode_op(&r.text(0)?))
        .collect()
}

pub(super) fn batch_receipt(
    c: &dyn Db,
    batch: BatchId,
    device: DeviceId,
) -> Result<Option<PushReceipt>, StoreError> {
    let Some(r) = c.query_opt(
        "SELECT receipt, device FROM batches WHERE id = $1",
        p![batch.to_string()],
    )?
    else {
        return Ok(None);
    };
    // Another device's batch: its receipt is not this caller's to see.
    if r.text(1)? != device.to_string() {
        return Err(StoreError::BatchIdTaken(batch));
    }
    Ok(Some(
        serde_json::from_str(&r.text(0)?).map_err(|e| corrupt("receipt", e))?,
    ))
}

pub(super) fn push(
    c: &dyn Db,
    batch: CheckedBatch,
    now: DateTime<Utc>,
) -> Result<PushReceipt, StoreError> {
    if let Some(r) = batch_receipt(c, batch.batch, batch.device)? {
        return Ok(r);
    }
    for school in &batch.schools {
        accounts::save_school(c, school)?;
    }
    let mut stored = Vec::with_capacity(batch.ops.len());
    let mut new = 0;
    let mut touched: BTreeSet<EntityRef> = BTreeSet::new();
    let received = now.to_rfc3339();
    let batch_id = batch.batch.to_string();
    let ops: Vec<(Op, Subjects, String)> = batch
        .ops
        .into_iter()
        .map(|(mut op, subjects)| {
            op.received_at = Some(now);
            let body = serde_json::to_string(&op).map_err(|e| corrupt("op", e))?;
            Ok((op, subjects, body))
        })
        .collect::<Result<_, StoreError>>()?;
    // The ops in a few multi-row statements, not one statement per row: on PostgreSQL each
    // statement is a round trip. Those already held come back without a sequence number.
    let rows = ops
        .iter()
        .map(|(op, _, body)| {
            vec![
                V::Text(op.id.to_string()),
                V::Text(batch_id.clone()),
                V::Text(op.author.to_string()),
                V::Text(op.device.to_string()),
                V::from(match &op.body {
                    OpBody::Set(w) => Some(entity_id(w.target.entity())),
                    _ => None,
                }),
                V::Text(received.clone()),
                V::Text(body.clone()),
            ]
        })
        .collect();
    let mut seq_of: HashMap<String, i64> = HashMap::new();
    for r in insert_rows(
        c,
        "INSERT INTO ops(id, batch, author, device, entity, received_at, body)",
        " ON CONFLICT(id) DO NOTHING RETURNING id, seq",
        rows,
    )? {
        seq_of.insert(r.text(0)?, r.int(1)?);
    }
    // Already held (an earlier push, or twice in this batch): the same change, or refused.
    let held_ids: Vec<String> = ops
        .iter()
        .map(|(op, _, _)| op.id.to_string())
        .filter(|id| !seq_of.contains_key(id))
        .collect();
    let mut held: HashMap<String, String> = HashMap::new();
    if !held_ids.is_empty() {
        for mut r in c.query(
            "SELECT id, body FROM ops WHERE id = ANY($1)",
            &[V::List(held_ids)],
        )? {
            held.insert(r.text(0)?, r.take_text(1)?);
        }
    }
    let mut subject_rows = Vec::new();
    let mut chain_rows = Vec::new();
    let mut record_rows = Vec::new();
    let mut photo_rows = Vec::new();
    // The last chain link of each student touched, so each op extends it without a lookup.
    let mut heads: HashMap<StudentId, (i64, Vec<u8>)> = HashMap::new();
    for (op, subjects, body) in &ops {
        let id = op.id.to_string();
        // An op inserted now is new the first time it appears in the batch only.
        let Some(seq) = seq_of.remove(&id) else {
            let first = match held.get(&id) {
                Some(b) => decode_op(b)?,
                None => ops
                    .iter()
                    .find(|(o, _, _)| o.id == op.id)
                    .map(|(o, _, _)| o.clone())
                    .ok_or_else(|| corrupt("op", "neither stored nor in the batch"))?,
            };
            if !first.same_change(op) {
                return Err(StoreError::ConflictingDuplicate(op.id));
            }
            stored.push(op.id);
            continue;
        };
        if let OpBody::Set(w) = &op.body {
            touched.insert(w.target.entity());
        }
        for s in &subjects.students {
            subject_rows.push(vec![V::Int(seq), V::Text(s.to_string()), V::Null]);
            chain_rows.push(next_link(c, &mut heads, *s, seq, body)?);
        }
        for h in &subjects.households {
            subject_rows.push(vec![V::Int(seq), V::Null, V::Text(h.to_string())]);
        }
        if let OpBody::Record(v) = &op.body {
            record_rows.push(vec![V::Text(v.id.to_string()), V::Int(seq)]);
            for ph in &v.photos {
                photo_rows.push(vec![V::Text(ph.sha256.to_hex()), V::Int(seq)]);
            }
        }
        stored.push(op.id);
        new += 1;
    }
    insert_rows(
        c,
        "INSERT INTO op_subjects(seq, student, household)",
        "",
        subject_rows,
    )?;
    insert_rows(
        c,
        "INSERT INTO chain(student, position, seq, hash)",
        "",
        chain_rows,
    )?;
    insert_rows(c, "INSERT INTO photo_refs(sha256, seq)", "", photo_rows)?;
    // A record is immutable: a second op claiming its id (a replay with other content, or
    // another user's forgery) is refused, never merged behind the original.
    let claimed: Vec<String> = record_rows
        .iter()
        .map(|r| match &r[0] {
            V::Text(t) => t.clone(),
            _ => unreachable!("record ids are texts"),
        })
        .collect();
    let kept: HashSet<String> = insert_rows(
        c,
        "INSERT INTO records(id, seq)",
        " ON CONFLICT DO NOTHING RETURNING id",
        record_rows,
    )?
    .iter()
    .map(|r| r.text(0))
    .collect::<Result<_, _>>()?;
    let mut seen = HashSet::new();
    for id in claimed {
        if !kept.contains(&id) || !seen.insert(id.clone()) {
            return Err(StoreError::RecordIdTaken(parse_id(&id)?));
        }
    }
    for e in touched {
        refresh_projection(c, e)?;
    }
    let receipt = PushReceipt {
        batch: batch.batch,
        stored,
        new,
        received_at: now,
    };
    c.execute(
        r#"INSERT INTO batches(id, "user", device, received_at, op_count, new_count, receipt) VALUES ($1, $2, $3, $4, $5, $6, $7)"#,
        p![
            &batch_id,
            batch.user.to_string(),
            batch.device.to_string(),
            &received,
            receipt.stored.len() as i64,
            new as i64,
            serde_json::to_string(&receipt).map_err(|e| corrupt("receipt", e))?,
        ],
    )?;
    Ok(receipt)
}

fn entity_id(e: EntityRef) -> String {
    match e {
        EntityRef::Student(i) => i.to_string(),
        EntityRef::Household(i) => i.to_string(),
        EntityRef::Guardian(i) => i.to_string(),
    }
}

fn chain_hash(prev: &[u8], seq: i64, body: &str) -> Vec<u8> {
    let mut h = Sha::new();
    h.update(prev);
    h.update(seq.to_le_bytes());
    h.update(body.as_bytes());
    h.finalize().to_vec()
}

/// The chain link `seq` adds to `student`'s chain, as a row of `chain`.
fn next_link(
    c: &dyn Db,
    heads: &mut HashMap<StudentId, (i64, Vec<u8>)>,
    student: StudentId,
    seq: i64,
    body: &str,
) -> Result<Vec<V>, StoreError> {
    let sid = student.to_string();
    let (pos, prev) = match heads.remove(&student) {
        Some(h) => h,
        None => match c.query_opt(
            "SELECT position, hash FROM chain WHERE student = $1 ORDER BY position DESC LIMIT 1",
            p![&sid],
        )? {
            Some(r) => (r.int(0)?, r.blob(1)?),
            None => (0, Vec::new()),
        },
    };
    let hash = chain_hash(&prev, seq, body);
    heads.insert(student, (pos + 1, hash.clone()));
    Ok(vec![
        V::Text(sid),
        V::Int(pos + 1),
        V::Int(seq),
        V::Blob(hash),
    ])
}

/// Rebuild one entity's projection row from its field writes, through the shared merge.
fn refresh_projection(c: &dyn Db, e: EntityRef) -> Result<(), StoreError> {
    let id = entity_id(e);
    let mut r = Replica::new();
    c.each(
        "SELECT body FROM ops WHERE entity = $1",
        p![&id],
        &mut |row| {
            r.apply(decode_op(&row.text(0)?)?)
                .map_err(|e| corrupt("merge", e))?;
            Ok(())
        },
    )?;
    let cur = |f| r.current(e, f);
    match e {
        EntityRef::Student(_) => {
            // name, status, school, household, grade, focus groups (JSON)
            let mut row = (
                None::<String>,
                None::<String>,
                None::<String>,
                None::<String>,
                None::<i64>,
                None::<String>,
            );
            let resident_id = match cur("resident_id") {
                Some(Target::Student {
                    set: StudentField::ResidentId(Some(r)),
                    ..
                }) => Some(r.as_str().to_string()),
                _ => None,
            };
            for f in [
                "name",
                "status",
                "school",
                "household",
                "grade",
                "focus_groups",
            ] {
                if let Some(Target::Student { set, .. }) = cur(f) {
                    match set {
                        StudentField::Name(n) => row.0 = Some(n.clone()),
                        StudentField::Status(s) => row.1 = Some(s.code().to_string()),
                        StudentField::School(s) => row.2 = s.map(|s| s.to_string()),
                        StudentField::Household(h) => row.3 = h.map(|h| h.to_string()),
                        StudentField::Grade(g) => row.4 = g.map(|g| g.number() as i64),
                        StudentField::FocusGroups(f) => row.5 = serde_json::to_string(f).ok(),
                        _ => {}
                    }
                }
            }
            let old = c.query_opt(
                "SELECT school, household, scope_version FROM students WHERE id = $1",
                p![&id],
            )?;
            let version = match old {
                Some(o) if o.opt_text(0)? == row.2 && o.opt_text(1)? == row.3 => o.int(2)?,
                _ => next_counter(c, "scope")?,
            };
            c.execute(
                "INSERT INTO students(id, name, status, school, household, grade, focus, scope_version, resident_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                 ON CONFLICT(id) DO UPDATE SET name = $2, status = $3, school = $4, household = $5,
                     grade = $6, focus = $7, scope_version = $8, resident_id = $9",
                p![&id, row.0, row.1, row.2, row.3, row.4, row.5, version, resident_id],
            )?;
        }
        EntityRef::Household(h) => {
            let area = match cur("area") {
                Some(Target::Household {
                    set: baoxue_shared::op::HouseholdField::Area(a),
                    ..
                }) => Some(a.clone()),
                _ => None,
            };
            let hh = r.household(h);
            let area_json = area
                .as_ref()
                .map(|a| serde_json::to_string(a).expect("areas serialize"));
            let old = c.query_opt(
                "SELECT area, scope_version FROM households WHERE id = $1",
                p![&id],
            )?;
            let version = match old {
                Some(o) if o.opt_text(0)? == area_json => o.int(1)?,
                _ => next_counter(c, "scope")?,
            };
            // The area's divisions in columns of their own, for scopes selected in SQL.
            let division = |f: fn(&AdminArea) -> &baoxue_shared::area::Division| {
                let d = area.as_ref().map(f);
                (
                    d.and_then(|d| d.code.as_ref().map(|c| c.as_str().to_string())),
                    d.map(|d| d.name.clone()),
                )
            };
            let (county_code, county_name) = division(|a| &a.county);
            let (township_code, township_name) = division(|a| &a.township);
            let (village_code, village_name) = division(|a| &a.village);
            c.execute(
                "INSERT INTO households(id, head, area, village, registered_poor, scope_version,
                     county_code, county_name, township_code, township_name, village_code, village_name)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                 ON CONFLICT(id) DO UPDATE SET head = $2, area = $3, village = $4, registered_poor = $5, scope_version = $6,
                     county_code = $7, county_name = $8, township_code = $9, township_name = $10, village_code = $11, village_name = $12",
                p![
                    &id,
                    hh.as_ref().map(|h| h.head.clone()),
                    area_json,
                    area.as_ref().map(|a| a.village.name.clone()),
                    hh.map(|h| h.registered_poor as i64),
                    version,
                    county_code,
                    county_name,
                    township_code,
                    township_name,
                    village_code,
                    village_name,
                ],
            )?;
        }
        EntityRef::Guardian(_) => {
            let student = match cur("student") {
                Some(Target::Guardian {
                    set: baoxue_shared::op::GuardianField::Student(s),
                    ..
                }) => Some(s.to_string()),
                _ => None,
            };
            c.execute(
                "INSERT INTO guardians(id, student) VALUES ($1, $2) ON CONFLICT(id) DO UPDATE SET student = $2",
                p![&id, student],
            )?;
        }
    }
    Ok(())
}

pub(super) fn pull(
    c: &dyn Db,
    cl: &Caseload,
    cursor: Cursor,
    limit: usize,
) -> Result<LogPage, StoreError> {
    let current = cl.version();
    let fresh_students: Vec<&StudentId> = cl
        .students
        .iter()
        .filter(|(_, v)| **v > cursor.scope)
        .map(|(k, _)| k)
        .collect();
    let fresh_households: Vec<&HouseholdId> = cl
        .households
        .iter()
        .filter(|(_, v)| **v > cursor.scope)
        .map(|(k, _)| k)
        .collect();
    let query = |students: Vec<String>,
                 households: Vec<String>,
                 after: i64,
                 upto: i64|
     -> Result<Vec<(i64, Op)>, StoreError> {
        c.query(
            "SELECT o.seq, o.body FROM ops o WHERE o.seq IN (
                 SELECT seq FROM op_subjects WHERE student = ANY($1) AND seq > $3 AND seq <= $4
                 UNION
                 SELECT s.seq FROM op_subjects s WHERE s.household = ANY($2) AND s.seq > $3 AND s.seq <= $4
                     AND NOT EXISTS (SELECT 1 FROM op_subjects t WHERE t.seq = s.seq AND t.student IS NOT NULL))
             ORDER BY o.seq LIMIT $5",
            &[
                V::List(students),
                V::List(households),
                V::Int(after),
                V::Int(upto),
                V::Int(limit as i64),
            ],
        )?
        .into_iter()
        .map(|mut r| Ok((r.int(0)?, decode_op(&r.take_text(1)?)?)))
        .collect()
    };
    if cursor.seq > 0 && (!fresh_students.is_empty() || !fresh_households.is_empty()) {
        // Newly in care since the last pull: send their history up to where the cursor stands,
        // then continue as usual.
        let rows = query(
            fresh_students.iter().map(|s| s.to_string()).collect(),
            fresh_households.iter().map(|h| h.to_string()).collect(),
            cursor.backfill.unwrap_or(0),
            cursor.seq,
        )?;
        let next = if rows.len() < limit {
            Cursor {
                seq: cursor.seq,
                scope: current,
                backfill: None,
            }
        } else {
            Cursor {
                seq: cursor.seq,
                scope: cursor.scope,
                backfill: rows.last().map(|(s, _)| *s),
            }
        };
        return Ok(LogPage {
            ops: rows.into_iter().map(|(_, o)| o).collect(),
            next,
            more: true,
        });
    }
    let rows = query(
        cl.students.keys().map(|s| s.to_string()).collect(),
        cl.households.keys().map(|h| h.to_string()).collect(),
        cursor.seq,
        i64::MAX,
    )?;
    let more = rows.len() == limit;
    let next = Cursor {
        seq: rows.last().map(|(s, _)| *s).unwrap_or(cursor.seq),
        scope: current,
        backfill: None,
    };
    Ok(LogPage {
        ops: rows.into_iter().map(|(_, o)| o).collect(),
        next,
        more,
    })
}

pub(super) fn ops_about_student(c: &dyn Db, student: StudentId) -> Result<Vec<Op>, StoreError> {
    Ok(ops_about_students(c, &[student])?
        .remove(&student)
        .unwrap_or_default())
}

/// Each student's ops (theirs, and their household's that name no student), in server order.
pub(super) fn ops_about_students(
    c: &dyn Db,
    students: &[StudentId],
) -> Result<BTreeMap<StudentId, Vec<Op>>, StoreError> {
    let mut out: BTreeMap<StudentId, Vec<Op>> = BTreeMap::new();
    c.each(
        "SELECT x.student, o.body FROM (
             SELECT student, seq FROM op_subjects WHERE student = ANY($1)
             UNION
             SELECT st.id, s.seq FROM students st JOIN op_subjects s ON s.household = st.household
                 WHERE st.id = ANY($1)
                 AND NOT EXISTS (SELECT 1 FROM op_subjects t WHERE t.seq = s.seq AND t.student IS NOT NULL)
         ) AS x JOIN ops o ON o.seq = x.seq
         ORDER BY x.student, o.seq",
        &[V::list(students)],
        &mut |mut r| {
            let student: StudentId = parse_id(&r.text(0)?)?;
            out.entry(student)
                .or_default()
                .push(decode_op(&r.take_text(1)?)?);
            Ok(())
        },
    )?;
    Ok(out)
}

pub(super) fn students_by_resident_id(
    c: &dyn Db,
    ids: &[baoxue_shared::resident_id::ResidentId],
) -> Result<HashMap<baoxue_shared::resident_id::ResidentId, StudentId>, StoreError> {
    let mut out = HashMap::new();
    for r in c.query(
        "SELECT resident_id, id FROM students WHERE resident_id = ANY($1)",
        &[V::list(ids.iter().map(|r| r.as_str()))],
    )? {
        let rid: baoxue_shared::resident_id::ResidentId = r
            .text(0)?
            .try_into()
            .map_err(|e: String| corrupt("resident id", e))?;
        out.insert(rid, parse_id(&r.text(1)?)?);
    }
    Ok(out)
}

pub(super) fn student_rows(
    c: &dyn Db,
    ids: &HashSet<StudentId>,
) -> Result<Vec<StudentRow>, StoreError> {
    c.query(
        "SELECT s.id, s.name, s.status, s.school, s.household, h.village, s.grade, s.focus
         FROM students s LEFT JOIN households h ON h.id = s.household
         WHERE s.id = ANY($1) ORDER BY h.village, s.name, s.id",
        &[V::list(ids.iter())],
    )?
    .into_iter()
    .map(|r| {
        Ok(StudentRow {
            id: parse_id(&r.text(0)?)?,
            name: r.opt_text(1)?.unwrap_or_default(),
            status: r
                .opt_text(2)?
                .map(|s| s.parse())
                .transpose()
                .map_err(|e| corrupt("status", e))?,
            school: r.opt_text(3)?.map(|s| parse_id(&s)).transpose()?,
            household: r.opt_text(4)?.map(|h| parse_id(&h)).transpose()?,
            village: r.opt_text(5)?,
            grade: r.opt_int(6)?.map(|g| g as u8),
            focus_groups: r
                .opt_text(7)?
                .map(|f| serde_json::from_str(&f))
                .transpose()
                .map_err(|e| corrupt("focus", e))?
                .unwrap_or_default(),
        })
    })
    .collect()
}

pub(super) fn verify_chains(c: &dyn Db) -> Result<ChainReport, StoreError> {
    let mut report = ChainReport::default();
    let mut current: Option<(String, i64, Vec<u8>)> = None;
    c.each(
        "SELECT ch.student, ch.position, ch.seq, ch.hash, o.body FROM chain ch LEFT JOIN ops o ON o.seq = ch.seq
         ORDER BY ch.student, ch.position",
        p![],
        &mut |r| {
            let (student, position, seq, hash, body) =
                (r.text(0)?, r.int(1)?, r.int(2)?, r.blob(3)?, r.opt_text(4)?);
            report.links += 1;
            let (expected_pos, prev) = match &current {
                Some((s, p, h)) if *s == student => (p + 1, h.clone()),
                _ => {
                    report.students += 1;
                    (1, Vec::new())
                }
            };
            let sid: StudentId = parse_id(&student)?;
            let mut fault = |problem: String| {
                report.faults.push(ChainFault {
                    student: sid,
                    position,
                    problem,
                })
            };
            if position != expected_pos {
                fault(format!("link {expected_pos} is missing (found {position})"));
            }
            match body {
                None => fault(format!("record #{seq} has been removed")),
                Some(b) if chain_hash(&prev, seq, &b) != hash => {
                    fault(format!("record #{seq} has been altered"))
                }
                Some(_) => {}
            }
            current = Some((student, position, hash));
            Ok(())
        },
    )?;
    // Ops about a student that no link covers were inserted behind the chain's back.
    for r in c.query(
        "SELECT s.student, s.seq FROM op_subjects s LEFT JOIN chain ch ON ch.student = s.student AND ch.seq = s.seq
         WHERE s.student IS NOT NULL AND ch.seq IS NULL",
        p![],
    )? {
        report.faults.push(ChainFault {
            student: parse_id(&r.text(0)?)?,
            position: 0,
            problem: format!("record #{} is not in the chain", r.int(1)?),
        });
    }
    Ok(report)
}
