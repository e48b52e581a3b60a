//! Identifiers. Every record is named by a UUIDv7 made on the device that created it, so a
//! phone offline for a week can create records that never collide with anyone else's and
//! sort roughly by creation time. Each kind of thing has its own id type, so a household id
//! can never be passed where a student id is wanted.
//!
//! Frozen wire format: every id serializes as its hyphenated UUID string.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh time-ordered id (UUIDv7) from this device's clock.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The id as its UUID.
            pub fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }
    };
}

id_type!(
    /// A student (学生): one per child, for life (一生一案).
    StudentId
);
id_type!(
    /// A household (户), the unit the government line and the poverty register count.
    HouseholdId
);
id_type!(
    /// A guardian (监护人) of a student.
    GuardianId
);
id_type!(
    /// A school (学校).
    SchoolId
);
id_type!(
    /// A user account: teacher, liaison, admin or supervisor.
    UserId
);
id_type!(
    /// One installation of the app on one phone. Shared phones are common in villages, so the
    /// device and the user are recorded separately on every operation.
    DeviceId
);
id_type!(
    /// An observation record (a visit with its sections). A correction is a new `RecordId`
    /// pointing at the one it corrects.
    RecordId
);
id_type!(
    /// One operation in the sync log. Delivering the same `OpId` twice is a no-op.
    OpId
);
id_type!(
    /// One pushed batch. Pushing the same batch again gets the same answer.
    BatchId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_json() {
        let id = StudentId::new();
        let text = id.to_string();
        assert_eq!(text.parse::<StudentId>().unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<StudentId>(&json).unwrap(), id);
    }

    #[test]
    fn new_ids_are_version_7_and_increase() {
        let a = OpId::new();
        let b = OpId::new();
        assert_eq!(a.0.get_version_num(), 7);
        assert!(b > a, "v7 ids made later sort later");
    }
}
