//! Who may see and change what, following the two lines of responsibility: a teacher their
//! paired students, a liaison their assigned households, a school admin their school, a
//! supervisor their area. Every read and write passes through here; a push that touches
//! anything outside the caseload is refused whole.

use crate::store::{Caseload, Store, StoreError, Subjects};
use baoxue_shared::ids::{GuardianId, RecordId, StudentId};
use baoxue_shared::op::{FieldWrite, GuardianField, Op, OpBody, Target};
use baoxue_shared::people::User;
use std::collections::HashMap;
use thiserror::Error;

/// Why an op is out of bounds.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ScopeError {
    #[error("operation {index} concerns student {student}, who is not in your caseload")]
    StudentNotInCaseload { index: usize, student: StudentId },
    #[error("operation {index} concerns household {household}, which is not in your caseload")]
    HouseholdNotInCaseload {
        index: usize,
        household: baoxue_shared::ids::HouseholdId,
    },
    #[error(
        "operation {index} changes guardian {guardian}, whose student is unknown; send the guardian's student first"
    )]
    UnknownGuardian { index: usize, guardian: GuardianId },
    #[error("operation {index} voids record {record}, which the server does not have")]
    UnknownRecord { index: usize, record: RecordId },
    #[error("operation {index} voids or reviews a record; only supervisors and school admins may")]
    MayNotVoid { index: usize },
    #[error("operation {index} concerns no student or household")]
    NoSubject { index: usize },
}

/// What each op of a batch concerns, resolving guardians and records through earlier ops of
/// the same batch first, then the store.
pub fn subjects(
    store: &dyn Store,
    ops: &[Op],
) -> Result<Result<Vec<Subjects>, ScopeError>, StoreError> {
    let mut guardian_of: HashMap<GuardianId, StudentId> = HashMap::new();
    let mut record_of: HashMap<RecordId, Subjects> = HashMap::new();
    let guardians: Vec<GuardianId> = ops
        .iter()
        .filter_map(|o| match &o.body {
            OpBody::Set(FieldWrite {
                target: Target::Guardian { id, .. },
                ..
            }) => Some(*id),
            _ => None,
        })
        .collect();
    let known_guardians = store.guardian_students(&guardians)?;
    let voided: Vec<RecordId> = ops.iter().filter_map(Op::judged_record).collect();
    let known_records = store.record_subjects(&voided)?;
    let mut out = Vec::with_capacity(ops.len());
    for (index, op) in ops.iter().enumerate() {
        let s = match &op.body {
            OpBody::Set(FieldWrite { target, .. }) => match target {
                Target::Student { id, .. } => Subjects {
                    students: vec![*id],
                    households: vec![],
                },
                Target::Household { id, .. } => Subjects {
                    students: vec![],
                    households: vec![*id],
                },
                Target::Guardian { id, set } => {
                    let student = match set {
                        GuardianField::Student(s) => Some(*s),
                        _ => guardian_of.get(id).or(known_guardians.get(id)).copied(),
                    };
                    let Some(student) = student else {
                        return Ok(Err(ScopeError::UnknownGuardian {
                            index,
                            guardian: *id,
                        }));
                    };
                    guardian_of.insert(*id, student);
                    Subjects {
                        students: vec![student],
                        households: vec![],
                    }
                }
            },
            OpBody::Record(v) => {
                let s = Subjects {
                    students: v.students.clone(),
                    households: v.household.into_iter().collect(),
                };
                record_of.insert(v.id, s.clone());
                s
            }
            OpBody::Void { record, .. } | OpBody::Review { record, .. } => {
                match record_of.get(record).or(known_records.get(record)) {
                    Some(s) => s.clone(),
                    None => {
                        return Ok(Err(ScopeError::UnknownRecord {
                            index,
                            record: *record,
                        }));
                    }
                }
            }
        };
        out.push(s);
    }
    Ok(Ok(out))
}

/// Refuse the first op that reaches outside `caseload` or that `user`'s role may not make.
pub fn check_writes(
    user: &User,
    caseload: &Caseload,
    ops: &[Op],
    subjects: &[Subjects],
) -> Result<(), ScopeError> {
    for (index, (op, s)) in ops.iter().zip(subjects).enumerate() {
        if op.needs_reviewer() && !user.role.may_review() {
            return Err(ScopeError::MayNotVoid { index });
        }
        if s.students.is_empty() && s.households.is_empty() {
            return Err(ScopeError::NoSubject { index });
        }
        if let Some(student) = s
            .students
            .iter()
            .find(|st| !caseload.students.contains_key(st))
        {
            return Err(ScopeError::StudentNotInCaseload {
                index,
                student: *student,
            });
        }
        if let Some(household) = s
            .households
            .iter()
            .find(|h| !caseload.households.contains_key(h))
        {
            return Err(ScopeError::HouseholdNotInCaseload {
                index,
                household: *household,
            });
        }
    }
    Ok(())
}

/// Whether `student` may be read by the owner of `caseload`.
pub fn may_read(caseload: &Caseload, student: StudentId) -> bool {
    caseload.students.contains_key(&student)
}
