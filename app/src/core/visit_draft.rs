//! A visit being filled in: every answer the form asks, as the teacher left it, and the one
//! conversion into the `Visit` the shared rules validate. The form holds one of these and
//! writes it field by field; nothing here knows about Dioxus, so the conversion is tested
//! alone.

use baoxue_shared::ids::{HouseholdId, RecordId, StudentId, UserId};
use baoxue_shared::location::Location;
use baoxue_shared::observation::{
    Answer, DeviceCheck, DropoutReason, MethodLevel, Notice, NoticeKind, PersuasionAttempt,
    PersuasionOutcome, PhotoRef, Placement, SubsidyVerification, Visit, VisitKind,
};
use chrono::{DateTime, NaiveDate, Utc};

baoxue_shared::coded_enum! {
    /// The outcomes a teacher picks from on a persuasion visit (a return is placed in the
    /// child's own class; other placements are the school's to record).
    pub enum OutcomeChoice {
        Promised = "promised", "答应返校", "promised to return";
        NotReturned = "not_returned", "未返校", "not returned";
        Returned = "returned", "已返校", "returned";
    }
}

impl OutcomeChoice {
    /// The outcome as the record states it.
    pub fn outcome(self) -> PersuasionOutcome {
        match self {
            OutcomeChoice::Promised => PersuasionOutcome::Promised,
            OutcomeChoice::NotReturned => PersuasionOutcome::NotReturned,
            OutcomeChoice::Returned => PersuasionOutcome::Returned(Placement::OwnClass),
        }
    }
}

/// The kinds of visit a field worker records from the phone, in the form's order (送教上门 is
/// recorded by the school, not on a door-to-door visit).
pub const FORM_KINDS: [VisitKind; 6] = [
    VisitKind::HomeVisit,
    VisitKind::HouseholdVisit,
    VisitKind::Persuasion,
    VisitKind::SubsidyVerification,
    VisitKind::PhoneCall,
    VisitKind::WeeklyTalk,
];

/// Every answer of the new-visit form.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitDraft {
    pub kind: VisitKind,
    pub notes: String,
    /// Photos already taken for this visit (processed and stored on the phone).
    pub photos: Vec<PhotoRef>,
    pub location: Option<Location>,
    /// A position being typed by hand, as typed.
    pub manual_lat: String,
    pub manual_lon: String,
    /// 一看: a device one can get online with was seen.
    pub device_check: bool,
    pub device_works: bool,
    pub reason: DropoutReason,
    pub method: MethodLevel,
    pub outcome: OutcomeChoice,
    /// The next follow-up date as the date input gives it (`YYYY-MM-DD`), or empty.
    pub follow_up: String,
    /// A deadline-to-return notice was issued on this persuasion visit.
    pub notice_issued: bool,
    pub notice_number: String,
    pub subsidy_programme: String,
    pub subsidy_received: bool,
}

impl Default for VisitDraft {
    fn default() -> Self {
        Self {
            kind: VisitKind::HomeVisit,
            notes: String::new(),
            photos: vec![],
            location: None,
            manual_lat: String::new(),
            manual_lon: String::new(),
            device_check: false,
            device_works: false,
            reason: DropoutReason::DislikesSchool,
            method: MethodLevel::Reasoning,
            outcome: OutcomeChoice::Promised,
            follow_up: String::new(),
            notice_issued: false,
            notice_number: String::new(),
            subsidy_programme: String::new(),
            subsidy_received: true,
        }
    }
}

impl VisitDraft {
    /// Whether the form shows the device check (一看二问三查) for this kind.
    pub fn asks_device_check(&self) -> bool {
        matches!(self.kind, VisitKind::HomeVisit | VisitKind::HouseholdVisit)
    }

    /// The visit this draft records, by `author` about `student` (of `household`), started
    /// `now`. Sections belong to their kinds: a persuasion section only on a persuasion visit,
    /// a subsidy section only on a subsidy check. Not validated here: the shared rules do
    /// that when the visit is saved, and name the field at fault.
    pub fn to_visit(
        &self,
        student: StudentId,
        author: UserId,
        household: Option<HouseholdId>,
        now: DateTime<Utc>,
    ) -> Visit {
        let today = baoxue_shared::time::china_date(now);
        let next = NaiveDate::parse_from_str(self.follow_up.trim(), "%Y-%m-%d").ok();
        let yes_no = |b: bool| if b { Answer::Yes } else { Answer::No };
        Visit {
            id: RecordId::new(),
            corrects: None,
            kind: self.kind,
            visitors: vec![author],
            companions: vec![],
            students: vec![student],
            household,
            guardians_met: vec![],
            started_at: now,
            ended_at: None,
            location: self.location,
            notes: self.notes.clone(),
            photos: self.photos.clone(),
            device_check: self.device_check.then(|| DeviceCheck {
                device_works: yes_no(self.device_works),
                ..Default::default()
            }),
            persuasion: (self.kind == VisitKind::Persuasion).then(|| PersuasionAttempt {
                reason: self.reason,
                method: self.method,
                notice: self.notice_issued.then(|| Notice {
                    kind: NoticeKind::DeadlineToReturn,
                    number: self.notice_number.trim().to_string(),
                    issued_on: today,
                    deadline: next,
                }),
                outcome: self.outcome.outcome(),
                next_follow_up: next,
            }),
            subsidy: (self.kind == VisitKind::SubsidyVerification).then(|| SubsidyVerification {
                programme: self.subsidy_programme.trim().to_string(),
                amount_fen: None,
                received: yes_no(self.subsidy_received),
                // Not asked yet on the form (the phone's data-path issue adds the question).
                family_informed: true,
                statement_filed: false,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ids() -> (StudentId, UserId, HouseholdId) {
        (StudentId::new(), UserId::new(), HouseholdId::new())
    }

    #[test]
    fn a_persuasion_draft_becomes_a_visit_with_its_section_and_nothing_else() {
        let (kid, me, hh) = ids();
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 17, 0, 0).unwrap(); // 01:00 on 1 Dec in China
        let d = VisitDraft {
            kind: VisitKind::Persuasion,
            notes: "与家长谈返校".into(),
            reason: DropoutReason::WorkingAway,
            method: MethodLevel::Administrative,
            outcome: OutcomeChoice::Returned,
            follow_up: " 2026-12-08 ".into(),
            notice_issued: true,
            notice_number: " 限返〔2026〕3号 ".into(),
            device_check: false,
            subsidy_programme: "ignored".into(),
            ..Default::default()
        };
        let v = d.to_visit(kid, me, Some(hh), now);
        assert_eq!(
            (v.kind, v.visitors.clone(), v.students.clone(), v.household),
            (VisitKind::Persuasion, vec![me], vec![kid], Some(hh))
        );
        let p = v.persuasion.expect("a persuasion section");
        assert_eq!(p.reason, DropoutReason::WorkingAway);
        assert_eq!(p.method, MethodLevel::Administrative);
        assert_eq!(p.outcome, PersuasionOutcome::Returned(Placement::OwnClass));
        let due = NaiveDate::from_ymd_opt(2026, 12, 8);
        assert_eq!(p.next_follow_up, due);
        let n = p.notice.expect("the notice");
        assert_eq!(n.number, "限返〔2026〕3号");
        assert_eq!(n.deadline, due);
        assert_eq!(
            n.issued_on,
            NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            "issued on the China date"
        );
        assert!(v.subsidy.is_none() && v.device_check.is_none());
    }

    #[test]
    fn a_home_visit_draft_carries_its_device_answers_and_a_subsidy_check_its_programme() {
        let (kid, me, _) = ids();
        let now = Utc::now();
        let home = VisitDraft {
            device_check: true,
            device_works: true,
            ..Default::default()
        };
        assert!(home.asks_device_check());
        let v = home.to_visit(kid, me, None, now);
        assert_eq!(v.device_check.unwrap().device_works, Answer::Yes);
        assert!(v.persuasion.is_none());
        let subsidy = VisitDraft {
            kind: VisitKind::SubsidyVerification,
            subsidy_programme: " 生活补助 ".into(),
            subsidy_received: false,
            ..Default::default()
        };
        assert!(!subsidy.asks_device_check());
        let s = subsidy.to_visit(kid, me, None, now).subsidy.unwrap();
        assert_eq!((s.programme.as_str(), s.received), ("生活补助", Answer::No));
    }

    #[test]
    fn options_are_chosen_by_code() {
        for &o in OutcomeChoice::ALL {
            assert_eq!(o.code().parse::<OutcomeChoice>(), Ok(o));
        }
        assert_eq!(
            "not_returned".parse::<OutcomeChoice>().unwrap().outcome(),
            PersuasionOutcome::NotReturned
        );
    }
}
