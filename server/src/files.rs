//! A student's file (一生一案) as both front ends show it: everything stored about the student,
//! merged with the shared function.

use crate::error::ApiError;
use crate::store::Store;
use baoxue_shared::file::{FileContext, StudentFile};
use baoxue_shared::ids::StudentId;
use baoxue_shared::observation::Sha256;
use baoxue_shared::op::OpBody;
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
        r.apply(op)
            .map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?;
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
