//! Operations: the only way anything changes. Every change a phone or the console makes is an
//! [`Op`] stamped with a hybrid logical clock, the device and the author, and kept forever.
//! Replicas (a phone, the server) hold sets of ops; their state is a pure function of that set
//! (see `replica`).
//!
//! Three kinds of change:
//! * a field write on a student, household or guardian — merged field by field, last writer
//!   wins, losers kept in the field's history;
//! * an observation (a visit with its sections) — immutable; corrected by a new revision;
//! * a void — a supervisor withdraws a record, with a reason. Nothing is ever hard-deleted.
//!
//! Frozen wire format: names and shapes here are sync protocol version 1 (see `wire`). Add
//! variants and optional fields; never rename or remove.

use crate::area::AdminArea;
use crate::hlc::{self, ClockSkew, Hlc};
use crate::ids::{DeviceId, GuardianId, HouseholdId, OpId, RecordId, SchoolId, StudentId, UserId};
use crate::location::GeoPoint;
use crate::observation::Visit;
use crate::people::{FocusGroup, Grade, Relation, Sex};
use crate::phone::MobileNumber;
use crate::resident_id::ResidentId;
use crate::status::EnrolmentStatus;
use crate::validation::{self, FieldError, FieldErrors, limits};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One change, as made on one device by one user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Op {
    pub id: OpId,
    pub hlc: Hlc,
    pub device: DeviceId,
    pub author: UserId,
    /// The device's wall clock when the op was made, kept to judge clock skew.
    pub device_time: DateTime<Utc>,
    /// When the server first durably stored the op. Set by the server only; a phone's own
    /// ops have none until they come back in a pull.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<DateTime<Utc>>,
    pub body: OpBody,
}

/// What an op does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OpBody {
    /// Write one field of a student, household or guardian.
    Set(FieldWrite),
    /// Record an observation (or a correction of one).
    Record(Box<Visit>),
    /// Withdraw a record (and its corrections), with the reason. Supervisors only.
    Void { record: RecordId, reason: String },
    /// A supervisor's review of a record: approve it, flag it, or ask for more evidence.
    /// Flags and requests reach the worker's phone as due work on the student. Supervisors only.
    Review {
        record: RecordId,
        action: ReviewAction,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        comment: String,
    },
}

crate::coded_enum! {
    /// What a reviewer decided about a record.
    pub enum ReviewAction {
        /// The evidence is sufficient.
        Approve = "approve", "通过", "approve";
        /// Something is wrong; the comment says what.
        Flag = "flag", "存疑", "flag";
        /// More evidence is needed (a photo, a location); the comment says which.
        RequestEvidence = "request_evidence", "补充证据", "request evidence";
    }
}

impl ReviewAction {
    /// Whether the comment is required (anything but an approval must say why).
    pub fn needs_comment(self) -> bool {
        !matches!(self, ReviewAction::Approve)
    }

    /// Whether the worker owes something after this review.
    pub fn asks_worker(self) -> bool {
        self.needs_comment()
    }
}

/// A field write. `prev` names the writes to this field the author had seen (the heads of
/// the field's history on their device): the write supersedes those, whatever the clocks say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldWrite {
    pub target: Target,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prev: Vec<OpId>,
}

/// Which entity's field, and its new value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entity", rename_all = "snake_case")]
pub enum Target {
    Student {
        id: StudentId,
        set: StudentField,
    },
    Household {
        id: HouseholdId,
        set: HouseholdField,
    },
    Guardian {
        id: GuardianId,
        set: GuardianField,
    },
}

/// The mutable fields of a student.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "field", content = "value", rename_all = "snake_case")]
pub enum StudentField {
    Name(String),
    Sex(Sex),
    BirthDate(NaiveDate),
    ResidentId(Option<ResidentId>),
    School(Option<SchoolId>),
    Grade(Option<Grade>),
    Class(Option<String>),
    Status(EnrolmentStatus),
    FocusGroups(BTreeSet<FocusGroup>),
    Household(Option<HouseholdId>),
    /// A resident ID as sent to a role that sees only its masked form (`522633********1234`):
    /// the server writes it into pulls in place of [`StudentField::ResidentId`]; a phone never
    /// pushes it. The same register as `resident_id`.
    ResidentIdMasked(String),
}

/// The mutable fields of a household.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "field", content = "value", rename_all = "snake_case")]
pub enum HouseholdField {
    Head(String),
    Address(String),
    Area(AdminArea),
    RegisteredPoor(bool),
    Location(Option<GeoPoint>),
}

/// The mutable fields of a guardian.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "field", content = "value", rename_all = "snake_case")]
pub enum GuardianField {
    Student(StudentId),
    Name(String),
    Relation(Relation),
    Phone(Option<MobileNumber>),
}

/// Which entity a write is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "entity", content = "id", rename_all = "snake_case")]
pub enum EntityRef {
    Student(StudentId),
    Household(HouseholdId),
    Guardian(GuardianId),
}

/// One field of one entity: the unit the merge decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldKey {
    pub entity: EntityRef,
    pub field: &'static str,
}

impl Target {
    /// The entity written.
    pub fn entity(&self) -> EntityRef {
        match self {
            Target::Student { id, .. } => EntityRef::Student(*id),
            Target::Household { id, .. } => EntityRef::Household(*id),
            Target::Guardian { id, .. } => EntityRef::Guardian(*id),
        }
    }

    /// The field's name, as on the wire (`status`, `phone` ...).
    pub fn field_name(&self) -> &'static str {
        match self {
            Target::Student { set, .. } => match set {
                StudentField::Name(_) => "name",
                StudentField::Sex(_) => "sex",
                StudentField::BirthDate(_) => "birth_date",
                StudentField::ResidentId(_) | StudentField::ResidentIdMasked(_) => "resident_id",
                StudentField::School(_) => "school",
                StudentField::Grade(_) => "grade",
                StudentField::Class(_) => "class",
                StudentField::Status(_) => "status",
                StudentField::FocusGroups(_) => "focus_groups",
                StudentField::Household(_) => "household",
            },
            Target::Household { set, .. } => match set {
                HouseholdField::Head(_) => "head",
                HouseholdField::Address(_) => "address",
                HouseholdField::Area(_) => "area",
                HouseholdField::RegisteredPoor(_) => "registered_poor",
                HouseholdField::Location(_) => "location",
            },
            Target::Guardian { set, .. } => match set {
                GuardianField::Student(_) => "student",
                GuardianField::Name(_) => "name",
                GuardianField::Relation(_) => "relation",
                GuardianField::Phone(_) => "phone",
            },
        }
    }

    /// The register this write goes to.
    pub fn key(&self) -> FieldKey {
        FieldKey {
            entity: self.entity(),
            field: self.field_name(),
        }
    }

    fn validate(&self) -> Result<(), FieldError> {
        let name = self.field_name();
        match self {
            Target::Student {
                set: StudentField::Name(n),
                ..
            }
            | Target::Guardian {
                set: GuardianField::Name(n),
                ..
            }
            | Target::Household {
                set: HouseholdField::Head(n),
                ..
            } => validation::text(name, n, limits::NAME, true),
            Target::Student {
                set: StudentField::Class(Some(c)),
                ..
            } => validation::text(name, c, limits::SHORT, false),
            Target::Household {
                set: HouseholdField::Address(a),
                ..
            } => validation::text(name, a, limits::ADDRESS, false),
            Target::Household {
                set: HouseholdField::Area(a),
                ..
            } => a.validate().map_err(|e| e.under(name)),
            Target::Student {
                set: StudentField::BirthDate(d),
                ..
            } => validation::plausible_date(name, *d),
            Target::Student {
                set: StudentField::ResidentIdMasked(_),
                ..
            } => Err(FieldError::new(name, validation::Reason::NotAllowedHere)),
            _ => Ok(()),
        }
    }
}

impl Op {
    /// The stamp that orders this op: its HLC, clamped to its receipt (see [`hlc::effective`]).
    pub fn order_stamp(&self) -> Hlc {
        hlc::effective(self.hlc, self.received_at)
    }

    /// The total order used to break ties between concurrent writes: effective stamp, then
    /// device, then op id. The same on every replica.
    pub fn order_key(&self) -> OrderKey {
        OrderKey {
            stamp: self.order_stamp(),
            device: self.device,
            op: self.id,
        }
    }

    /// The record a void or review is about.
    pub fn judged_record(&self) -> Option<RecordId> {
        match &self.body {
            OpBody::Void { record, .. } | OpBody::Review { record, .. } => Some(*record),
            _ => None,
        }
    }

    /// Whether only a reviewer (school admin, supervisor) may make this op.
    pub fn needs_reviewer(&self) -> bool {
        matches!(self.body, OpBody::Void { .. } | OpBody::Review { .. })
    }

    /// Whether the device's clock was found wrong on this op.
    pub fn skew(&self) -> Option<ClockSkew> {
        ClockSkew::judge(self.device_time, self.hlc, self.received_at)
    }

    /// Every refusal for the op's content, field paths prefixed by the body's part. Times in
    /// a visit are checked against the device's own clock when it made the op: a phone whose
    /// clock runs days ahead still gets its visit stored (and flagged by [`Op::skew`]) rather
    /// than lost.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errs = FieldErrors::new();
        errs.check(validation::plausible_time("device_time", self.device_time));
        errs.check(validation::plausible_time("hlc", self.hlc.wall()));
        match &self.body {
            OpBody::Set(w) => {
                if let Err(e) = w.target.validate() {
                    errs.push(e.under("set"));
                }
                errs.check(validation::list_len("set.prev", &w.prev, limits::LIST));
            }
            OpBody::Record(v) => {
                if let Err(e) = v.validate(self.device_time) {
                    errs.extend_under("visit", e);
                }
                // Whoever enters a visit went on it; a visit naming only others would show as
                // theirs. Colleagues who went along are the other visitors.
                if !v.visitors.is_empty() && !v.visitors.contains(&self.author) {
                    errs.push(FieldError::new(
                        "visit.visitors",
                        validation::Reason::AuthorNotVisitor,
                    ));
                }
            }
            OpBody::Void { reason, .. } => {
                errs.check(validation::text(
                    "void.reason",
                    reason,
                    limits::REASON,
                    true,
                ));
            }
            OpBody::Review {
                action, comment, ..
            } => {
                errs.check(validation::text(
                    "review.comment",
                    comment,
                    limits::REASON,
                    action.needs_comment(),
                ));
            }
        }
        errs.into_result()
    }

    /// Whether `other` is this same change delivered again: equal in everything but the
    /// receipt time (which a replica learns, never the author). The one definition every
    /// replica and the server's store use.
    pub fn same_change(&self, other: &Op) -> bool {
        self.id == other.id
            && self.hlc == other.hlc
            && self.device == other.device
            && self.author == other.author
            && self.device_time == other.device_time
            && self.body == other.body
    }

    /// The op as a role that sees only masked resident IDs receives it: a resident-ID write
    /// carries the masked form; every other op is unchanged.
    pub fn with_resident_id_masked(mut self) -> Op {
        if let OpBody::Set(FieldWrite {
            target:
                Target::Student {
                    set: set @ StudentField::ResidentId(Some(_)),
                    ..
                },
            ..
        }) = &mut self.body
            && let StudentField::ResidentId(Some(id)) = set
        {
            *set = StudentField::ResidentIdMasked(id.masked());
        }
        self
    }

    /// Whether `other` is this op as delivered to a role that sees only the masked resident ID
    /// (or the reverse): the same change, told in less detail.
    pub fn is_masked_form_of(&self, other: &Op) -> bool {
        self.clone().with_resident_id_masked() == other.clone().with_resident_id_masked()
    }

    /// The students this op is directly about (for scoping and indexing). A household or
    /// guardian write names none; callers resolve those through the entity.
    pub fn students(&self) -> Vec<StudentId> {
        match &self.body {
            OpBody::Set(FieldWrite {
                target: Target::Student { id, .. },
                ..
            }) => vec![*id],
            OpBody::Set(FieldWrite {
                target:
                    Target::Guardian {
                        set: GuardianField::Student(s),
                        ..
                    },
                ..
            }) => vec![*s],
            OpBody::Record(v) => v.students.clone(),
            _ => vec![],
        }
    }
}

/// The replica-independent order of ops: `(effective stamp, device, op id)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrderKey {
    pub stamp: Hlc,
    pub device: DeviceId,
    pub op: OpId,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn op(body: OpBody) -> Op {
        let t = Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap();
        Op {
            id: OpId::new(),
            hlc: Hlc::at(t),
            device: DeviceId::new(),
            author: UserId::new(),
            device_time: t,
            received_at: None,
            body,
        }
    }

    #[test]
    fn a_status_write_reads_naturally_on_the_wire() {
        let sid = StudentId::new();
        let o = op(OpBody::Set(FieldWrite {
            target: Target::Student {
                id: sid,
                set: StudentField::Status(EnrolmentStatus::DroppedOut),
            },
            prev: vec![],
        }));
        let v = serde_json::to_value(&o).unwrap();
        assert_eq!(v["body"]["type"], "set");
        assert_eq!(v["body"]["target"]["entity"], "student");
        assert_eq!(v["body"]["target"]["set"]["field"], "status");
        assert_eq!(v["body"]["target"]["set"]["value"], "dropped_out");
        assert_eq!(serde_json::from_value::<Op>(v).unwrap(), o);
    }

    #[test]
    fn a_blank_name_and_a_blank_void_reason_are_refused() {
        let o = op(OpBody::Set(FieldWrite {
            target: Target::Guardian {
                id: GuardianId::new(),
                set: GuardianField::Name(" ".into()),
            },
            prev: vec![],
        }));
        let errs = o.validate().unwrap_err();
        assert_eq!(errs.0[0].field, "set.name");
        let v = op(OpBody::Void {
            record: RecordId::new(),
            reason: String::new(),
        });
        assert_eq!(v.validate().unwrap_err().0[0].field, "void.reason");
        let r = op(OpBody::Review {
            record: RecordId::new(),
            action: ReviewAction::RequestEvidence,
            comment: "  ".into(),
        });
        assert_eq!(r.validate().unwrap_err().0[0].field, "review.comment");
        let ok = op(OpBody::Review {
            record: RecordId::new(),
            action: ReviewAction::Approve,
            comment: String::new(),
        });
        assert!(ok.validate().is_ok(), "an approval needs no comment");
    }

    #[test]
    fn keys_separate_fields_and_entities() {
        let id = StudentId::new();
        let a = Target::Student {
            id,
            set: StudentField::Status(EnrolmentStatus::InSchool),
        };
        let b = Target::Student {
            id,
            set: StudentField::Status(EnrolmentStatus::DroppedOut),
        };
        let c = Target::Student {
            id,
            set: StudentField::Name("王芳".into()),
        };
        assert_eq!(a.key(), b.key());
        assert_ne!(a.key(), c.key());
    }
}
