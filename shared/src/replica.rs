//! A replica: a set of ops and the state they imply. The phone's local store and the server
//! each keep one and feed it every op they hold; the server never re-implements the merge.
//!
//! Only this module decides a field's value or a record's standing. Its state depends only on
//! the set of ops delivered (and, per op, the earliest receipt time seen), never on delivery
//! order or repetition. `tests/convergence.rs` property-tests that.

use crate::hlc::Hlc;
use crate::ids::{DeviceId, GuardianId, HouseholdId, OpId, RecordId, StudentId};
use crate::observation::Visit;
use crate::op::{
    EntityRef, FieldKey, FieldWrite, GuardianField, HouseholdField, Op, OpBody, OrderKey,
    StudentField, Target,
};
use crate::people::{Guardian, Household, Student};
use crate::register::Register;
use crate::status::EnrolmentStatus;
use crate::validation::FieldErrors;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use thiserror::Error;

/// Why an op could not be merged.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MergeError {
    /// An op id arrived again with different content. Op ids are made once per change; a
    /// second, different op under the same id is a bug or an attack, and the first one stays.
    #[error("operation {0} was already received with different content")]
    ConflictingDuplicate(OpId),
}

/// What merging one op did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merged {
    /// A new op.
    New,
    /// Already held; nothing changed.
    Duplicate,
    /// Already held; its receipt time was learned now (it may reorder).
    ReceiptLearned,
}

/// The merged state of a set of ops.
#[derive(Debug, Clone, Default)]
pub struct Replica {
    ops: HashMap<OpId, Op>,
    registers: HashMap<FieldKey, Register>,
    /// Record id → the ops claiming it, by order key. Normally one; two ops claiming one
    /// record id (a bug) resolve to the lesser order key, the same everywhere.
    records: HashMap<RecordId, Vec<(OrderKey, OpId)>>,
    /// Record → the records that correct it.
    corrected_by: HashMap<RecordId, BTreeSet<RecordId>>,
    /// Record → void ops naming it.
    voids: HashMap<RecordId, BTreeSet<OpId>>,
    /// Record → review ops naming it.
    reviews: HashMap<RecordId, BTreeSet<OpId>>,
    by_student: HashMap<StudentId, BTreeSet<RecordId>>,
    by_household: HashMap<HouseholdId, BTreeSet<RecordId>>,
    /// Every guardian ever written as a student's (filter by current value when reading).
    guardians_of: HashMap<StudentId, BTreeSet<GuardianId>>,
    /// Every student ever written as a household's (filter likewise).
    students_of: HashMap<HouseholdId, BTreeSet<StudentId>>,
}

impl Replica {
    /// An empty replica.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of distinct ops held.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Holds no ops.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// An op by id.
    pub fn op(&self, id: OpId) -> Option<&Op> {
        self.ops.get(&id)
    }

    /// Every op held, in no particular order.
    pub fn ops(&self) -> impl Iterator<Item = &Op> {
        self.ops.values()
    }

    /// Merge one op.
    pub fn apply(&mut self, op: Op) -> Result<Merged, MergeError> {
        if let Some(held) = self.ops.get_mut(&op.id) {
            if !held.same_change(&op) {
                if !masked_forms(held, &op) {
                    return Err(MergeError::ConflictingDuplicate(op.id));
                }
                // One delivery masked the resident ID (the user's role then saw only that),
                // the other did not: keep the full one, whichever came first.
                if matches!(
                    &op.body,
                    OpBody::Set(FieldWrite {
                        target: Target::Student {
                            set: StudentField::ResidentId(_),
                            ..
                        },
                        ..
                    })
                ) {
                    held.body = op.body.clone();
                }
            }
            let joined = match (held.received_at, op.received_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if joined == held.received_at {
                return Ok(Merged::Duplicate);
            }
            let old = held.order_key();
            held.received_at = joined;
            let new = held.order_key();
            self.reorder(op.id, old, new);
            return Ok(Merged::ReceiptLearned);
        }
        self.index(&op);
        self.ops.insert(op.id, op);
        Ok(Merged::New)
    }

    /// Merge many ops; returns how many were new. Stops at the first conflicting duplicate.
    pub fn apply_all(&mut self, ops: impl IntoIterator<Item = Op>) -> Result<usize, MergeError> {
        let mut new = 0;
        for op in ops {
            if self.apply(op)? == Merged::New {
                new += 1;
            }
        }
        Ok(new)
    }

    fn index(&mut self, op: &Op) {
        let order = op.order_key();
        match &op.body {
            OpBody::Set(FieldWrite { target, prev }) => {
                self.registers
                    .entry(target.key())
                    .or_default()
                    .insert(order, op.id, prev);
                match target {
                    Target::Guardian {
                        id,
                        set: GuardianField::Student(s),
                    } => {
                        self.guardians_of.entry(*s).or_default().insert(*id);
                    }
                    Target::Student {
                        id,
                        set: StudentField::Household(Some(h)),
                    } => {
                        self.students_of.entry(*h).or_default().insert(*id);
                    }
                    _ => {}
                }
            }
            OpBody::Record(v) => {
                insert_sorted(self.records.entry(v.id).or_default(), (order, op.id));
                if let Some(orig) = v.corrects {
                    self.corrected_by.entry(orig).or_default().insert(v.id);
                }
                for s in &v.students {
                    self.by_student.entry(*s).or_default().insert(v.id);
                }
                if let Some(h) = v.household {
                    self.by_household.entry(h).or_default().insert(v.id);
                }
            }
            OpBody::Void { record, .. } => {
                self.voids.entry(*record).or_default().insert(op.id);
            }
            OpBody::Review { record, .. } => {
                self.reviews.entry(*record).or_default().insert(op.id);
            }
        }
    }

    fn reorder(&mut self, id: OpId, old: OrderKey, new: OrderKey) {
        if old == new {
            return;
        }
        let Some(op) = self.ops.get(&id) else { return };
        match &op.body {
            OpBody::Set(w) => {
                if let Some(r) = self.registers.get_mut(&w.target.key()) {
                    r.reorder(id, old, new);
                }
            }
            OpBody::Record(v) => {
                if let Some(claims) = self.records.get_mut(&v.id) {
                    claims.retain(|c| *c != (old, id));
                    insert_sorted(claims, (new, id));
                }
            }
            OpBody::Void { .. } | OpBody::Review { .. } => {}
        }
    }

    // ----- reading -----

    /// The register of one field, if anything was ever written to it.
    pub fn register(&self, key: &FieldKey) -> Option<&Register> {
        self.registers.get(key)
    }

    /// The current value of a field, as the write that set it.
    pub fn current(&self, entity: EntityRef, field: &'static str) -> Option<&Target> {
        let key = FieldKey { entity, field };
        let winner = self.registers.get(&key)?.winner()?;
        match &self.ops.get(&winner)?.body {
            OpBody::Set(w) => Some(&w.target),
            _ => None,
        }
    }

    /// The heads of a field's history: what a new write to it must name as `prev`.
    pub fn heads(&self, entity: EntityRef, field: &'static str) -> Vec<OpId> {
        self.registers
            .get(&FieldKey { entity, field })
            .map(|r| r.heads().collect())
            .unwrap_or_default()
    }

    /// A write of `target` that supersedes everything this replica has seen of that field.
    pub fn write_of(&self, target: Target) -> FieldWrite {
        let k = target.key();
        FieldWrite {
            prev: self.heads(k.entity, k.field),
            target,
        }
    }

    /// Check a write against what its author had seen: a status change must be a legal move
    /// from every value it supersedes — except a write that repeats one of those values, which
    /// settles a conflict by choosing between values already set rather than moving. Writes
    /// whose `prev` this replica has not seen pass.
    pub fn check_write(&self, w: &FieldWrite) -> Result<(), FieldErrors> {
        let mut errs = FieldErrors::new();
        if let Target::Student {
            set: StudentField::Status(to),
            ..
        } = &w.target
        {
            let status_of = |p: &OpId| match self.ops.get(p) {
                Some(Op {
                    body:
                        OpBody::Set(FieldWrite {
                            target:
                                Target::Student {
                                    set: StudentField::Status(from),
                                    ..
                                },
                            ..
                        }),
                    ..
                }) => Some(*from),
                _ => None,
            };
            let froms: Vec<EnrolmentStatus> = w.prev.iter().filter_map(status_of).collect();
            if !froms.contains(to)
                && let Some(e) = froms
                    .iter()
                    .find_map(|from| from.check_transition("set.status", *to).err())
            {
                errs.push(e);
            }
        }
        errs.into_result()
    }

    /// A student's current state, if its required fields (name, sex, birth date, status) have
    /// arrived.
    pub fn student(&self, id: StudentId) -> Option<Student> {
        let e = EntityRef::Student(id);
        let get = |f| match self.current(e, f) {
            Some(Target::Student { set, .. }) => Some(set),
            _ => None,
        };
        let name = match get("name")? {
            StudentField::Name(n) => n.clone(),
            _ => return None,
        };
        let sex = match get("sex")? {
            StudentField::Sex(s) => *s,
            _ => return None,
        };
        let birth_date = match get("birth_date")? {
            StudentField::BirthDate(d) => *d,
            _ => return None,
        };
        let status = match get("status")? {
            StudentField::Status(s) => *s,
            _ => return None,
        };
        let mut s = Student {
            id,
            name,
            sex,
            birth_date,
            resident_id: None,
            school: None,
            grade: None,
            class: None,
            status,
            focus_groups: BTreeSet::new(),
            household: None,
        };
        for f in [
            "resident_id",
            "school",
            "grade",
            "class",
            "focus_groups",
            "household",
        ] {
            match get(f) {
                Some(StudentField::ResidentId(v)) => s.resident_id = v.clone(),
                Some(StudentField::School(v)) => s.school = *v,
                Some(StudentField::Grade(v)) => s.grade = *v,
                Some(StudentField::Class(v)) => s.class = v.clone(),
                Some(StudentField::FocusGroups(v)) => s.focus_groups = v.clone(),
                Some(StudentField::Household(v)) => s.household = *v,
                _ => {}
            }
        }
        Some(s)
    }

    /// A student's resident ID as shown on screens, masked: from the full ID where this
    /// replica holds it, or as the server masked it for this user's role.
    pub fn resident_id_masked(&self, id: StudentId) -> Option<String> {
        match self.current(EntityRef::Student(id), "resident_id") {
            Some(Target::Student {
                set: StudentField::ResidentId(Some(r)),
                ..
            }) => Some(r.masked()),
            Some(Target::Student {
                set: StudentField::ResidentIdMasked(m),
                ..
            }) => Some(m.clone()),
            _ => None,
        }
    }

    /// A household's current state, if its head, area and address have arrived.
    pub fn household(&self, id: HouseholdId) -> Option<Household> {
        let e = EntityRef::Household(id);
        let get = |f| match self.current(e, f) {
            Some(Target::Household { set, .. }) => Some(set),
            _ => None,
        };
        let head = match get("head")? {
            HouseholdField::Head(h) => h.clone(),
            _ => return None,
        };
        let area = match get("area")? {
            HouseholdField::Area(a) => a.clone(),
            _ => return None,
        };
        let address = match get("address") {
            Some(HouseholdField::Address(a)) => a.clone(),
            _ => String::new(),
        };
        let registered_poor = matches!(
            get("registered_poor"),
            Some(HouseholdField::RegisteredPoor(true))
        );
        let location = match get("location") {
            Some(HouseholdField::Location(l)) => *l,
            _ => None,
        };
        Some(Household {
            id,
            head,
            address,
            area,
            registered_poor,
            location,
        })
    }

    /// A guardian's current state, if name, relation and student have arrived.
    pub fn guardian(&self, id: GuardianId) -> Option<Guardian> {
        let e = EntityRef::Guardian(id);
        let get = |f| match self.current(e, f) {
            Some(Target::Guardian { set, .. }) => Some(set),
            _ => None,
        };
        let student = match get("student")? {
            GuardianField::Student(s) => *s,
            _ => return None,
        };
        let name = match get("name")? {
            GuardianField::Name(n) => n.clone(),
            _ => return None,
        };
        let relation = match get("relation")? {
            GuardianField::Relation(r) => *r,
            _ => return None,
        };
        let phone = match get("phone") {
            Some(GuardianField::Phone(p)) => p.clone(),
            _ => None,
        };
        Some(Guardian {
            id,
            student,
            name,
            relation,
            phone,
        })
    }

    /// The student's guardians now.
    pub fn guardians_of(&self, student: StudentId) -> Vec<Guardian> {
        self.guardians_of
            .get(&student)
            .into_iter()
            .flatten()
            .filter_map(|g| self.guardian(*g))
            .filter(|g| g.student == student)
            .collect()
    }

    /// The students whose household is `household` now.
    pub fn students_of(&self, household: HouseholdId) -> Vec<StudentId> {
        self.students_of
            .get(&household)
            .into_iter()
            .flatten()
            .copied()
            .filter(|s| {
                matches!(self.current(EntityRef::Student(*s), "household"),
                    Some(Target::Student { set: StudentField::Household(Some(h)), .. }) if *h == household)
            })
            .collect()
    }

    /// Every student the replica knows of (written or visited).
    pub fn student_ids(&self) -> BTreeSet<StudentId> {
        let mut ids: BTreeSet<StudentId> = self.by_student.keys().copied().collect();
        ids.extend(self.registers.keys().filter_map(|k| match k.entity {
            EntityRef::Student(s) => Some(s),
            _ => None,
        }));
        ids
    }

    /// The records about a student: those naming the student, and those about the student's
    /// household as a whole (naming no student). A record naming a sibling belongs to the
    /// sibling's file, even when it names the shared household.
    pub fn records_about(&self, student: StudentId) -> BTreeSet<RecordId> {
        let mut ids = self.by_student.get(&student).cloned().unwrap_or_default();
        if let Some(Target::Student {
            set: StudentField::Household(Some(h)),
            ..
        }) = self.current(EntityRef::Student(student), "household")
            && let Some(more) = self.by_household.get(h)
        {
            ids.extend(
                more.iter()
                    .copied()
                    .filter(|r| self.record(*r).is_some_and(|(_, v)| v.students.is_empty())),
            );
        }
        ids
    }

    /// One record with the op that carried it.
    pub fn record(&self, id: RecordId) -> Option<(&Op, &Visit)> {
        let (_, owner) = self.records.get(&id)?.first()?;
        let op = self.ops.get(owner)?;
        match &op.body {
            OpBody::Record(v) => Some((op, v)),
            _ => None,
        }
    }

    /// The records that correct `id`.
    pub fn corrections_of(&self, id: RecordId) -> impl Iterator<Item = RecordId> + '_ {
        self.corrected_by.get(&id).into_iter().flatten().copied()
    }

    /// The void ops naming `id`, oldest first.
    pub fn voids_of(&self, id: RecordId) -> Vec<&Op> {
        self.ops_in_order(self.voids.get(&id))
    }

    /// The review ops naming `id`, oldest first.
    pub fn reviews_of(&self, id: RecordId) -> Vec<&Op> {
        self.ops_in_order(self.reviews.get(&id))
    }

    fn ops_in_order(&self, ids: Option<&BTreeSet<OpId>>) -> Vec<&Op> {
        let mut v: Vec<&Op> = ids
            .into_iter()
            .flatten()
            .filter_map(|o| self.ops.get(o))
            .collect();
        v.sort_by_key(|o| o.order_key());
        v
    }

    /// A canonical summary of the merged state: every register's history and winner, every
    /// record's owner, corrections and voids, with each op's order key. Two replicas that hold
    /// the same ops have equal snapshots; tests and the server's self-check compare them.
    pub fn snapshot(&self) -> Snapshot {
        let mut fields = BTreeMap::new();
        for (k, r) in &self.registers {
            fields.insert(
                *k,
                RegisterSnapshot {
                    history: r
                        .history()
                        .map(|o| (self.ops[&o].order_key().stamp, self.ops[&o].device, o))
                        .collect(),
                    winner: r.winner(),
                    conflicted: r.is_conflicted(),
                },
            );
        }
        let records = self
            .records
            .iter()
            .filter_map(|(r, claims)| {
                Some((
                    *r,
                    RecordSnapshot {
                        op: claims.first()?.1,
                        corrected_by: self.corrected_by.get(r).cloned().unwrap_or_default(),
                        voids: self.voids.get(r).cloned().unwrap_or_default(),
                        reviews: self.reviews.get(r).cloned().unwrap_or_default(),
                    },
                ))
            })
            .collect();
        let receipts = self
            .ops
            .values()
            .filter(|o| o.received_at.is_some())
            .count();
        Snapshot {
            fields,
            records,
            ops: self.ops.len(),
            receipts,
        }
    }
}

fn insert_sorted(v: &mut Vec<(OrderKey, OpId)>, item: (OrderKey, OpId)) {
    if let Err(at) = v.binary_search(&item) {
        v.insert(at, item);
    }
}

/// Two deliveries of one op that differ only in how much of a resident ID they show.
fn masked_forms(a: &Op, b: &Op) -> bool {
    let strip = |o: &Op| Op {
        received_at: None,
        ..o.clone()
    };
    strip(a).is_masked_form_of(&strip(b))
}

/// See [`Replica::snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub fields: BTreeMap<FieldKey, RegisterSnapshot>,
    pub records: BTreeMap<RecordId, RecordSnapshot>,
    pub ops: usize,
    pub receipts: usize,
}

/// One register in a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterSnapshot {
    pub history: Vec<(Hlc, DeviceId, OpId)>,
    pub winner: Option<OpId>,
    pub conflicted: bool,
}

/// One record in a [`Snapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSnapshot {
    pub op: OpId,
    pub corrected_by: BTreeSet<RecordId>,
    pub voids: BTreeSet<OpId>,
    pub reviews: BTreeSet<OpId>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::author::Author;
    use crate::ids::{DeviceId, UserId};
    use chrono::{TimeZone, Utc};

    #[test]
    fn a_masked_and_a_full_delivery_of_one_resident_id_write_are_one_change() {
        use crate::resident_id::ResidentId;
        let t = chrono::Utc::now();
        let mut author = crate::author::Author::new(crate::ids::UserId::new(), DeviceId::new());
        let id = StudentId::new();
        let rid = ResidentId::parse("11010519491231002X").unwrap();
        let full = author.set(
            &Replica::new(),
            Target::Student {
                id,
                set: StudentField::ResidentId(Some(rid.clone())),
            },
            t,
        );
        let masked = full.clone().with_resident_id_masked();
        assert_ne!(full, masked);
        for order in [[&masked, &full], [&full, &masked]] {
            let mut r = Replica::new();
            for o in order {
                r.apply(o.clone())
                    .expect("one change, told in more or less detail");
            }
            assert_eq!(r.resident_id_masked(id), Some(rid.masked()));
            assert!(
                matches!(
                    r.current(EntityRef::Student(id), "resident_id"),
                    Some(Target::Student {
                        set: StudentField::ResidentId(Some(_)),
                        ..
                    })
                ),
                "the full form is kept"
            );
        }
        // A different ID under the same op id is still a conflict.
        let mut other = full.clone();
        other.body = OpBody::Set(FieldWrite {
            target: Target::Student {
                id,
                set: StudentField::ResidentIdMasked("999999********0000".into()),
            },
            prev: vec![],
        });
        let mut r = Replica::new();
        r.apply(full).unwrap();
        assert!(r.apply(other).is_err());
    }

    #[test]
    fn a_move_must_be_legal_but_choosing_between_concurrent_values_is_not_a_move() {
        let t = Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap();
        let student = StudentId::new();
        let status = |s| Target::Student {
            id: student,
            set: StudentField::Status(s),
        };
        let mut r = Replica::new();
        let mut admin = Author::new(UserId::new(), DeviceId::new());
        let base = admin.set(&r, status(EnrolmentStatus::Persuading), t);
        r.apply(base).unwrap();
        // Two phones, offline, from 劝返中: one records 已返校, the other 辍学.
        let mut a = Author::new(UserId::new(), DeviceId::new());
        let mut b = Author::new(UserId::new(), DeviceId::new());
        let seen = r.clone();
        r.apply(a.set(&seen, status(EnrolmentStatus::Returned), t))
            .unwrap();
        r.apply(b.set(&seen, status(EnrolmentStatus::DroppedOut), t))
            .unwrap();
        // 辍学 → 在校 is not a move anyone may make…
        let bad = r.write_of(status(EnrolmentStatus::InSchool));
        assert_eq!(
            r.check_write(&bad).unwrap_err().0[0].reason.code(),
            "illegal_transition"
        );
        // …but choosing 已返校 over 辍学 settles the conflict, whatever the move would be.
        let choose = r.write_of(status(EnrolmentStatus::Returned));
        assert_eq!(choose.prev.len(), 2);
        assert!(r.check_write(&choose).is_ok());
    }
}
