//! Enrolment status (学籍/在学状态) and the moves allowed between statuses. An illegal move
//! is an error, not a silent overwrite: a child does not go from 毕业 back to 辍学, and a
//! dropout is not "in school" again without passing through return or placement.
//!
//! Frozen wire format: the snake_case names below.

use crate::validation::{FieldError, Reason};

crate::coded_enum! {
    /// Where a child stands with compulsory education.
    pub enum EnrolmentStatus {
        /// 在校: attending.
        InSchool = "in_school", "在校", "in school";
        /// 疑似辍学: absent without reason, not yet confirmed (Zhaotong: 7 days absent = dropout).
        SuspectedDropout = "suspected_dropout", "疑似辍学", "suspected dropout";
        /// 辍学: confirmed dropout.
        DroppedOut = "dropped_out", "辍学", "dropped out";
        /// 劝返中: persuasion under way.
        Persuading = "persuading", "劝返中", "persuasion under way";
        /// 已返校: returned to school (返校复学).
        Returned = "returned", "已返校", "returned to school";
        /// 送教上门: taught at home (severe disability).
        HomeTeaching = "home_teaching", "送教上门", "home teaching";
        /// 远程送教: taught remotely (working away, via WeChat/QQ and posted books).
        RemoteTeaching = "remote_teaching", "远程送教", "remote teaching";
        /// 延缓入学: enrolment deferred, with a notice.
        DeferredEnrolment = "deferred_enrolment", "延缓入学", "enrolment deferred";
        /// 免于学习: exempt on medical grounds, with an assessment.
        Exempt = "exempt", "免于学习", "exempt";
        /// 转学: transferred to a school elsewhere.
        TransferredOut = "transferred_out", "转学", "transferred";
        /// 毕业: completed compulsory education.
        Graduated = "graduated", "毕业", "graduated";
        /// 职初班: placed in a vocational lower-secondary class (职业初中班), for older returners.
        VocationalClass = "vocational_class", "职初班", "vocational class";
    }
}

use EnrolmentStatus::*;

impl EnrolmentStatus {
    /// The statuses this one may move to. Staying the same is always allowed (a no-op).
    pub fn next(self) -> &'static [EnrolmentStatus] {
        match self {
            InSchool => &[
                SuspectedDropout,
                DroppedOut,
                HomeTeaching,
                RemoteTeaching,
                Exempt,
                TransferredOut,
                Graduated,
            ],
            SuspectedDropout => &[InSchool, DroppedOut, Persuading, TransferredOut],
            DroppedOut => &[
                Persuading,
                Returned,
                HomeTeaching,
                RemoteTeaching,
                VocationalClass,
                Exempt,
                TransferredOut,
            ],
            Persuading => &[
                Returned,
                DroppedOut,
                HomeTeaching,
                RemoteTeaching,
                VocationalClass,
                Exempt,
                TransferredOut,
            ],
            Returned => &[
                InSchool,
                SuspectedDropout,
                DroppedOut,
                TransferredOut,
                Graduated,
            ],
            HomeTeaching => &[InSchool, RemoteTeaching, Exempt, TransferredOut, Graduated],
            RemoteTeaching => &[Returned, InSchool, DroppedOut, Persuading, Graduated],
            DeferredEnrolment => &[InSchool, SuspectedDropout, DroppedOut, HomeTeaching, Exempt],
            Exempt => &[InSchool, HomeTeaching],
            TransferredOut => &[InSchool, SuspectedDropout],
            Graduated => &[],
            VocationalClass => &[SuspectedDropout, DroppedOut, TransferredOut, Graduated],
        }
    }

    /// Whether moving from `self` to `to` is allowed.
    pub fn can_become(self, to: EnrolmentStatus) -> bool {
        self == to || self.next().contains(&to)
    }

    /// Check a move, naming `field` in the error.
    pub fn check_transition(self, field: &str, to: EnrolmentStatus) -> Result<(), FieldError> {
        if self.can_become(to) {
            Ok(())
        } else {
            Err(FieldError::new(
                field,
                Reason::IllegalTransition {
                    from: self.zh(),
                    to: to.zh(),
                },
            ))
        }
    }

    /// The child is out of school and someone must act: suspected, confirmed, or under
    /// persuasion.
    pub fn needs_persuasion(self) -> bool {
        matches!(self, SuspectedDropout | DroppedOut | Persuading)
    }

    /// Still inside the compulsory-education system (counted in the enrolment ledger).
    pub fn is_active(self) -> bool {
        !matches!(self, TransferredOut | Graduated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropout_returns_through_persuasion() {
        assert!(InSchool.can_become(SuspectedDropout));
        assert!(SuspectedDropout.can_become(DroppedOut));
        assert!(DroppedOut.can_become(Persuading));
        assert!(Persuading.can_become(Returned));
        assert!(Returned.can_become(InSchool));
    }

    #[test]
    fn illegal_moves_are_errors_in_chinese() {
        let e = Graduated
            .check_transition("status", DroppedOut)
            .unwrap_err();
        assert_eq!(e.field, "status");
        assert_eq!(e.reason.code(), "illegal_transition");
        assert_eq!(e.reason.zh(), "学籍状态不能从“毕业”直接变为“辍学”");
        assert!(
            !DroppedOut.can_become(InSchool),
            "a dropout returns via 已返校, not straight back"
        );
    }

    #[test]
    fn staying_the_same_is_not_a_move() {
        for &s in EnrolmentStatus::ALL {
            assert!(s.can_become(s));
        }
    }

    #[test]
    fn every_status_but_graduation_has_a_way_forward() {
        for &s in EnrolmentStatus::ALL {
            assert_eq!(s.next().is_empty(), s == Graduated, "{s:?}");
            assert!(!s.next().contains(&s), "{s:?} lists itself");
        }
    }

    #[test]
    fn wire_names_are_frozen() {
        assert_eq!(
            serde_json::to_string(&SuspectedDropout).unwrap(),
            "\"suspected_dropout\""
        );
        assert!(serde_json::from_str::<EnrolmentStatus>("\"on_vacation\"").is_err());
    }
}
