//! Who may see and change what, following the two lines of responsibility: a teacher their
//! paired students, a liaison their assigned households, a school admin their school, a
//! supervisor their area. Every read and write passes through here; a push that touches
//! anything outside the caseload is refused whole.

use crate::store::{Caseload, HeldRecord, Store, StoreError, Subjects};
use baoxue_shared::ids::{GuardianId, RecordId, StudentId, UserId};
use baoxue_shared::op::{FieldWrite, GuardianField, Op, OpBody, StudentField, Target};
use baoxue_shared::people::User;
use std::collections::HashMap;
use thiserror::Error;

/// Why an op is out of bounds.
#[derive(Debug, Error)]
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
    #[error(
        "operation {index} corrects record {record}, which another user made; only its author or a reviewer may correct it"
    )]
    MayNotCorrect { index: usize, record: RecordId },
    #[error(
        "operation {index} writes a resident ID; only school admins and the county handle full ID numbers"
    )]
    MayNotWriteResidentId { index: usize },
    #[error("operation {index} concerns no student or household")]
    NoSubject { index: usize },
    /// The store could not say what an op concerns.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ScopeError {
    /// The index in the batch of the op refused.
    pub fn index(&self) -> Option<usize> {
        match self {
            ScopeError::StudentNotInCaseload { index, .. }
            | ScopeError::HouseholdNotInCaseload { index, .. }
            | ScopeError::UnknownGuardian { index, .. }
            | ScopeError::UnknownRecord { index, .. }
            | ScopeError::MayNotVoid { index }
            | ScopeError::MayNotCorrect { index, .. }
            | ScopeError::MayNotWriteResidentId { index }
            | ScopeError::NoSubject { index } => Some(*index),
            ScopeError::Store(_) => None,
        }
    }
}

/// What each op of a batch concerns, as the entities stand before the op (earlier ops of the
/// same batch first, then the store). A write that moves an entity — a student into another
/// household, a guardian to another student — concerns both where it was and where it goes,
/// so only someone who holds both may make it. A correction concerns the record it corrects
/// as well as itself, and is indexed under both (the original's file learns it was corrected).
pub fn subjects(store: &dyn Store, ops: &[Op]) -> Result<Vec<Subjects>, ScopeError> {
    Ok(resolve(store, ops)?
        .into_iter()
        .map(|r| r.indexed)
        .collect())
}

/// What one op concerns, as resolved.
struct Resolution {
    /// What the op is stored and indexed under.
    indexed: Subjects,
    /// What the author must hold to make it. The same, except that a correction by the
    /// original's own author needs only its own subjects: a teacher may correct their visit
    /// after the child moved house.
    checked: Subjects,
    /// For a correction, the author of the record it corrects.
    corrected_author: Option<UserId>,
}

fn resolve(store: &dyn Store, ops: &[Op]) -> Result<Vec<Resolution>, ScopeError> {
    let mut guardian_of: HashMap<GuardianId, StudentId> = HashMap::new();
    let mut record_of: HashMap<RecordId, HeldRecord> = HashMap::new();
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
    let named: Vec<RecordId> = ops
        .iter()
        .filter_map(|o| match &o.body {
            OpBody::Record(v) => v.corrects,
            _ => o.judged_record(),
        })
        .collect();
    let known_records = store.held_records(&named)?;
    let mut out = Vec::with_capacity(ops.len());
    for (index, op) in ops.iter().enumerate() {
        let mut corrected_author = None;
        let mut checked = None;
        let s = match &op.body {
            OpBody::Set(FieldWrite { target, .. }) => match target {
                Target::Student { id, set } => Subjects {
                    students: vec![*id],
                    households: match set {
                        StudentField::Household(Some(h)) => vec![*h],
                        _ => vec![],
                    },
                },
                Target::Household { id, .. } => Subjects {
                    students: vec![],
                    households: vec![*id],
                },
                Target::Guardian { id, set } => {
                    let before = guardian_of.get(id).or(known_guardians.get(id)).copied();
                    let mut students: Vec<StudentId> = before.into_iter().collect();
                    match set {
                        GuardianField::Student(s) => {
                            if before != Some(*s) {
                                students.push(*s);
                            }
                            guardian_of.insert(*id, *s);
                        }
                        _ if before.is_none() => {
                            return Err(ScopeError::UnknownGuardian {
                                index,
                                guardian: *id,
                            });
                        }
                        _ => {}
                    }
                    Subjects {
                        students,
                        households: vec![],
                    }
                }
            },
            OpBody::Record(v) => {
                let mut s = Subjects {
                    students: v.students.clone(),
                    households: v.household.into_iter().collect(),
                };
                if let Some(orig) = v.corrects {
                    let Some(held) = record_of.get(&orig).or(known_records.get(&orig)) else {
                        return Err(ScopeError::UnknownRecord {
                            index,
                            record: orig,
                        });
                    };
                    corrected_author = Some(held.author);
                    if held.author == op.author {
                        checked = Some(s.clone());
                    }
                    for st in &held.subjects.students {
                        if !s.students.contains(st) {
                            s.students.push(*st);
                        }
                    }
                    for h in &held.subjects.households {
                        if !s.households.contains(h) {
                            s.households.push(*h);
                        }
                    }
                }
                record_of.insert(
                    v.id,
                    HeldRecord {
                        author: op.author,
                        subjects: s.clone(),
                    },
                );
                s
            }
            OpBody::Void { record, .. } | OpBody::Review { record, .. } => {
                match record_of.get(record).or(known_records.get(record)) {
                    Some(h) => h.subjects.clone(),
                    None => {
                        return Err(ScopeError::UnknownRecord {
                            index,
                            record: *record,
                        });
                    }
                }
            }
        };
        out.push(Resolution {
            checked: checked.unwrap_or_else(|| s.clone()),
            indexed: s,
            corrected_author,
        });
    }
    Ok(out)
}

/// Resolve the subjects of `ops` made by `user` and refuse the first op that reaches outside
/// `caseload` or that the user's role may not make. The subjects are returned for storing.
pub fn check_batch(
    store: &dyn Store,
    user: &User,
    caseload: &Caseload,
    ops: &[Op],
) -> Result<Vec<Subjects>, ScopeError> {
    let resolved = resolve(store, ops)?;
    for (index, (op, r)) in ops.iter().zip(&resolved).enumerate() {
        if let (Some(orig_author), OpBody::Record(v)) = (r.corrected_author, &op.body)
            && orig_author != op.author
            && !user.role.may_review()
        {
            return Err(ScopeError::MayNotCorrect {
                index,
                record: v.corrects.expect("a correction names its record"),
            });
        }
    }
    let checked: Vec<Subjects> = resolved.iter().map(|r| r.checked.clone()).collect();
    check_writes(user, caseload, ops, &checked)?;
    Ok(resolved.into_iter().map(|r| r.indexed).collect())
}

/// Refuse the first op that reaches outside `caseload` or that `user`'s role may not make.
fn check_writes(
    user: &User,
    caseload: &Caseload,
    ops: &[Op],
    subjects: &[Subjects],
) -> Result<(), ScopeError> {
    for (index, (op, s)) in ops.iter().zip(subjects).enumerate() {
        if op.needs_reviewer() && !user.role.may_review() {
            return Err(ScopeError::MayNotVoid { index });
        }
        if writes_resident_id(op) && !user.role.sees_full_resident_id() {
            return Err(ScopeError::MayNotWriteResidentId { index });
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

fn writes_resident_id(op: &Op) -> bool {
    matches!(
        &op.body,
        OpBody::Set(FieldWrite {
            target: Target::Student {
                set: StudentField::ResidentId(_) | StudentField::ResidentIdMasked(_),
                ..
            },
            ..
        })
    )
}

/// Whether `student` may be read by the owner of `caseload`.
pub fn may_read(caseload: &Caseload, student: StudentId) -> bool {
    caseload.students.contains_key(&student)
}

/// Whether an op or record concerning `subjects` may be seen by the owner of `caseload`: one of
/// its students is in care, or it concerns no student and its household is in care. A sibling
/// outside the caseload shares the household's own facts (address, location, poverty flag),
/// not their file: records and writes about the sibling stay with the sibling's caseload.
pub fn may_see(caseload: &Caseload, subjects: &Subjects) -> bool {
    if subjects.students.is_empty() {
        subjects
            .households
            .iter()
            .any(|h| caseload.households.contains_key(h))
    } else {
        subjects
            .students
            .iter()
            .any(|s| caseload.students.contains_key(s))
    }
}
