//! Making ops: the one place that stamps a change with its author, device and clock. The app
//! uses it for every edit, the server for console actions and imports, tests and benchmarks
//! for their data.

use crate::hlc::Clock;
use crate::ids::{DeviceId, GuardianId, HouseholdId, OpId, RecordId, StudentId, UserId};
use crate::observation::Visit;
use crate::op::{GuardianField, HouseholdField, Op, OpBody, ReviewAction, StudentField, Target};
use crate::people::{Guardian, Household, Student};
use crate::replica::Replica;
use chrono::{DateTime, Utc};

/// A user on a device, with the device's clock.
#[derive(Debug, Clone)]
pub struct Author {
    pub user: UserId,
    pub device: DeviceId,
    pub clock: Clock,
}

impl Author {
    /// An author with a fresh clock.
    pub fn new(user: UserId, device: DeviceId) -> Self {
        Self {
            user,
            device,
            clock: Clock::new(),
        }
    }

    /// An op with `body`, stamped at wall time `now`.
    pub fn op(&mut self, body: OpBody, now: DateTime<Utc>) -> Op {
        Op {
            id: OpId::new(),
            hlc: self.clock.tick(now),
            device: self.device,
            author: self.user,
            device_time: now,
            received_at: None,
            body,
        }
    }

    /// Write a field, superseding every write to it that `seen` holds.
    pub fn set(&mut self, seen: &Replica, target: Target, now: DateTime<Utc>) -> Op {
        self.op(OpBody::Set(seen.write_of(target)), now)
    }

    /// Record an observation.
    pub fn record(&mut self, visit: Visit, now: DateTime<Utc>) -> Op {
        self.op(OpBody::Record(Box::new(visit)), now)
    }

    /// Void a record with a reason.
    pub fn void(&mut self, record: RecordId, reason: &str, now: DateTime<Utc>) -> Op {
        self.op(
            OpBody::Void {
                record,
                reason: reason.to_string(),
            },
            now,
        )
    }

    /// Review a record: approve, flag or ask for evidence, with a comment.
    pub fn review(
        &mut self,
        record: RecordId,
        action: ReviewAction,
        comment: &str,
        now: DateTime<Utc>,
    ) -> Op {
        self.op(
            OpBody::Review {
                record,
                action,
                comment: comment.to_string(),
            },
            now,
        )
    }

    /// The writes that put a whole student on the roster (or bring every field up to `s`).
    pub fn student_ops(&mut self, seen: &Replica, s: &Student, now: DateTime<Utc>) -> Vec<Op> {
        let id: StudentId = s.id;
        let fields = [
            StudentField::Name(s.name.clone()),
            StudentField::Sex(s.sex),
            StudentField::BirthDate(s.birth_date),
            StudentField::ResidentId(s.resident_id.clone()),
            StudentField::School(s.school),
            StudentField::Grade(s.grade),
            StudentField::Class(s.class.clone()),
            StudentField::Status(s.status),
            StudentField::FocusGroups(s.focus_groups.clone()),
            StudentField::Household(s.household),
        ];
        fields
            .into_iter()
            .map(|set| self.set(seen, Target::Student { id, set }, now))
            .collect()
    }

    /// The writes that put a household on the roster.
    pub fn household_ops(&mut self, seen: &Replica, h: &Household, now: DateTime<Utc>) -> Vec<Op> {
        let id: HouseholdId = h.id;
        let fields = [
            HouseholdField::Head(h.head.clone()),
            HouseholdField::Address(h.address.clone()),
            HouseholdField::Area(h.area.clone()),
            HouseholdField::RegisteredPoor(h.registered_poor),
            HouseholdField::Location(h.location),
        ];
        fields
            .into_iter()
            .map(|set| self.set(seen, Target::Household { id, set }, now))
            .collect()
    }

    /// The writes that put a guardian on the roster.
    pub fn guardian_ops(&mut self, seen: &Replica, g: &Guardian, now: DateTime<Utc>) -> Vec<Op> {
        let id: GuardianId = g.id;
        let fields = [
            GuardianField::Student(g.student),
            GuardianField::Name(g.name.clone()),
            GuardianField::Relation(g.relation),
            GuardianField::Phone(g.phone.clone()),
        ];
        fields
            .into_iter()
            .map(|set| self.set(seen, Target::Guardian { id, set }, now))
            .collect()
    }
}
