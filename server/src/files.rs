//! A student's file (一生一案) as both front ends show it: everything stored about the student,
//! merged with the shared function.

use crate::error::ApiError;
use crate::store::{AccessAction, AccessEntry, Session, Store, StoreError};
use baoxue_shared::author::Author;
use baoxue_shared::file::{FileContext, StudentFile};
use baoxue_shared::ids::{BatchId, OpId, StudentId};
use baoxue_shared::observation::Sha256;
use baoxue_shared::op::{EntityRef, OpBody, StudentField, Target};
use baoxue_shared::replica::Replica;
use baoxue_shared::time::TermCalendar;
use chrono::{DateTime, Utc};

/// Build a student's file from everything stored about them, with the shared function.
pub fn build(
    s: &dyn Store,
    student: StudentId,
    terms: &TermCalendar,
    now: DateTime<Utc>,
) -> Result<StudentFile, ApiError> {
    let ops = s.ops_about_student(student)?;
    let hashes: Vec<Sha256> = ops
        .iter()
        .filter_map(|o| match &o.body {
            OpBody::Record(v) => Some(v.photos.iter().map(|p| p.sha256)),
            _ => None,
        })
        .flatten()
        .collect();
    let present = s.photos_present(&hashes)?;
    let mut r = Replica::new();
    for op in ops {
        r.apply(op).map_err(StoreError::from)?;
    }
    let is_present = |h: &Sha256| present.contains(h);
    Ok(StudentFile::build(
        &r,
        student,
        &FileContext {
            now,
            terms,
            photo_present: &is_present,
        },
    ))
}

/// A student's file as `session` may see it: refused as not found when the student is outside
/// their scope (out of scope and nonexistent look the same: no probing for who exists), the
/// look written to the access log before anything is shown, and the full resident ID dropped
/// for roles that see only the masked form.
pub fn open_for(
    s: &dyn Store,
    session: &Session,
    student: StudentId,
    action: AccessAction,
    terms: &TermCalendar,
    now: DateTime<Utc>,
) -> Result<StudentFile, ApiError> {
    let cl = s.caseload(&session.user)?;
    if !crate::scope::may_read(&cl, student) {
        return Err(ApiError::not_found("student"));
    }
    s.log_access(&AccessEntry {
        at: now,
        user: session.user.id,
        device: session.device,
        action,
        subject: student.to_string(),
    })?;
    let mut file = build(s, student, terms, now)?;
    if !session.user.role.sees_full_resident_id()
        && let Some(current) = &mut file.current
    {
        // The masked form stays in `resident_id_masked`.
        current.resident_id = None;
    }
    Ok(file)
}

/// Settles a status conflict for `session` by choosing one of its candidates: the choice is
/// written as a new status write superseding every concurrent value (they stay in the
/// history), scope-checked like any push. Refused when the student is not the session's to
/// see, or the candidate is no longer one (settled meanwhile, or never a candidate).
pub fn settle_status_conflict(
    s: &dyn Store,
    session: &Session,
    student: StudentId,
    chosen: OpId,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let cl = s.caseload(&session.user)?;
    if !crate::scope::may_read(&cl, student) {
        return Err(ApiError::not_found("student"));
    }
    let mut r = Replica::new();
    for op in s.ops_about_student(student)? {
        r.apply(op).map_err(StoreError::from)?;
    }
    let heads = r.heads(EntityRef::Student(student), "status");
    let value = match r.op(chosen).map(|o| &o.body) {
        Some(OpBody::Set(w)) if heads.len() > 1 && heads.contains(&chosen) => match w.target {
            Target::Student {
                set: StudentField::Status(v),
                ..
            } => v,
            _ => return Err(ApiError::not_found("candidate")),
        },
        _ => {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "conflict_settled",
                "this conflict is already settled or the value is not one of its candidates",
                "该冲突已处理或所选值已不是候选值，请刷新页面",
            ));
        }
    };
    let mut author = Author::new(session.user.id, session.device);
    let op = author.set(
        &r,
        Target::Student {
            id: student,
            set: StudentField::Status(value),
        },
        now,
    );
    crate::sync::push_checked(s, session, BatchId::new(), vec![op], now)?;
    Ok(())
}
