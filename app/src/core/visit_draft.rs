//! A visit being filled in: every answer the form asks, as the teacher left it, and the one
//! conversion into the `Visit` the shared rules validate. The form holds one of these and
//! writes it field by field; nothing here knows about Dioxus, so the conversion is tested
//! alone.

use baoxue_shared::ids::{HouseholdId, RecordId, StudentId, UserId};
use baoxue_shared::location::Location;
use baoxue_shared::observation::{
    Answer, DeviceCheck, DeviceProblem, DropoutReason, LearningDevice, MethodLevel, Notice,
    NoticeKind, PersuasionAttempt, PersuasionOutcome, PhotoRef, Placement, ProblemKind, Remedy,
    RemedyKind, SubsidyVerification, Visit, VisitKind,
};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{BTreeMap, BTreeSet};

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

baoxue_shared::coded_enum! {
    /// The answers of 一看二问三查 beyond the devices seen, in the order the check asks them.
    pub enum DeviceQuestion {
        Works = "device_works", "一看：设备能正常使用", "Look: the device works";
        Online = "can_get_online", "一看：能上网或收到电视课程", "Look: it can get online";
        Attend = "can_attend_class", "二问：孩子能正常上网课", "Ask: the child can attend";
        FamilyKnows = "family_knows_how", "二问：家长会操作设备", "Ask: the family knows how";
        Proficient = "child_proficient", "三查：孩子能熟练使用", "Check: the child is proficient";
        Guidance = "teacher_guidance", "三查：老师指导到位", "Check: guidance is in place";
        Homework = "homework_on_time", "三查：作业按时提交并批改", "Check: homework handed in and marked";
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
    /// The learning-device check (一看二问三查) was done on this visit.
    pub device_check: bool,
    /// 一看: the devices seen, whether they work and can get online.
    pub devices_seen: BTreeSet<LearningDevice>,
    pub device_works: Answer,
    pub can_get_online: Answer,
    /// 二问: can the child attend online classes; does the family know how.
    pub can_attend_class: Answer,
    pub family_knows_how: Answer,
    /// 三查: is the child proficient; is the teacher's guidance in place; is homework handed
    /// in and marked.
    pub child_proficient: Answer,
    pub teacher_guidance: Answer,
    pub homework_on_time: Answer,
    /// Problems found, each with its remedy when one was arranged.
    pub problems: BTreeMap<ProblemKind, ProblemDraft>,
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
    /// The family was told of the subsidy (its amount and what it is for).
    pub family_informed: Answer,
}

/// A problem found in the device check, as the form takes it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProblemDraft {
    pub note: String,
    pub remedy: Option<RemedyKind>,
    /// The remedy was done on the spot (a device handed over, an antenna fixed).
    pub remedy_done: bool,
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
            devices_seen: BTreeSet::new(),
            device_works: Answer::Unknown,
            can_get_online: Answer::Unknown,
            can_attend_class: Answer::Unknown,
            family_knows_how: Answer::Unknown,
            child_proficient: Answer::Unknown,
            teacher_guidance: Answer::Unknown,
            homework_on_time: Answer::Unknown,
            problems: BTreeMap::new(),
            reason: DropoutReason::DislikesSchool,
            method: MethodLevel::Reasoning,
            outcome: OutcomeChoice::Promised,
            follow_up: String::new(),
            notice_issued: false,
            notice_number: String::new(),
            subsidy_programme: String::new(),
            subsidy_received: true,
            family_informed: Answer::Unknown,
        }
    }
}

impl VisitDraft {
    /// The answer to one of the check's questions.
    pub fn answer(&self, q: DeviceQuestion) -> Answer {
        match q {
            DeviceQuestion::Works => self.device_works,
            DeviceQuestion::Online => self.can_get_online,
            DeviceQuestion::Attend => self.can_attend_class,
            DeviceQuestion::FamilyKnows => self.family_knows_how,
            DeviceQuestion::Proficient => self.child_proficient,
            DeviceQuestion::Guidance => self.teacher_guidance,
            DeviceQuestion::Homework => self.homework_on_time,
        }
    }

    /// Where the answer to one of the check's questions is kept, to write it.
    pub fn answer_mut(&mut self, q: DeviceQuestion) -> &mut Answer {
        match q {
            DeviceQuestion::Works => &mut self.device_works,
            DeviceQuestion::Online => &mut self.can_get_online,
            DeviceQuestion::Attend => &mut self.can_attend_class,
            DeviceQuestion::FamilyKnows => &mut self.family_knows_how,
            DeviceQuestion::Proficient => &mut self.child_proficient,
            DeviceQuestion::Guidance => &mut self.teacher_guidance,
            DeviceQuestion::Homework => &mut self.homework_on_time,
        }
    }

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
                devices_seen: self.devices_seen.clone(),
                device_works: self.device_works,
                can_get_online: self.can_get_online,
                can_attend_class: self.can_attend_class,
                family_knows_how: self.family_knows_how,
                child_proficient: self.child_proficient,
                teacher_guidance: self.teacher_guidance,
                homework_on_time: self.homework_on_time,
                problems: self
                    .problems
                    .iter()
                    .map(|(kind, p)| DeviceProblem {
                        kind: *kind,
                        note: p.note.trim().to_string(),
                        remedy: p.remedy.map(|kind| Remedy {
                            kind,
                            done: p.remedy_done,
                            note: String::new(),
                        }),
                    })
                    .collect(),
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
                family_informed: self.family_informed == Answer::Yes,
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
        let mut home = VisitDraft {
            device_check: true,
            devices_seen: [LearningDevice::Tv, LearningDevice::Smartphone].into(),
            device_works: Answer::Yes,
            can_get_online: Answer::Yes,
            can_attend_class: Answer::Yes,
            family_knows_how: Answer::No,
            child_proficient: Answer::Yes,
            teacher_guidance: Answer::Yes,
            homework_on_time: Answer::Unknown,
            ..Default::default()
        };
        home.problems.insert(
            ProblemKind::DoesNotKnowHow,
            ProblemDraft {
                note: " 奶奶不会切换频道 ".into(),
                remedy: Some(RemedyKind::Taught),
                remedy_done: true,
            },
        );
        assert!(home.asks_device_check());
        let v = home.to_visit(kid, me, None, now);
        let dc = v.device_check.unwrap();
        assert!(
            dc.has_working_device(),
            "counts as a working device: {dc:?}"
        );
        assert_eq!(dc.family_knows_how, Answer::No);
        assert_eq!(dc.problems.len(), 1);
        assert_eq!(dc.problems[0].note, "奶奶不会切换频道");
        assert!(dc.problems[0].remedy.as_ref().is_some_and(|r| r.done));
        assert_eq!(dc.open_problems().count(), 0, "remedied on the spot");
        assert!(v.persuasion.is_none());
        // Seen but not online: not a working device.
        home.can_get_online = Answer::No;
        let dc = home.to_visit(kid, me, None, now).device_check.unwrap();
        assert!(!dc.has_working_device());
        let subsidy = VisitDraft {
            kind: VisitKind::SubsidyVerification,
            subsidy_programme: " 生活补助 ".into(),
            subsidy_received: false,
            ..Default::default()
        };
        assert!(!subsidy.asks_device_check());
        let s = subsidy.to_visit(kid, me, None, now).subsidy.unwrap();
        assert_eq!((s.programme.as_str(), s.received), ("生活补助", Answer::No));
        assert!(!s.family_informed, "not asked is not informed");
        let told = VisitDraft {
            family_informed: Answer::Yes,
            ..subsidy
        };
        assert!(
            told.to_visit(kid, me, None, now)
                .subsidy
                .unwrap()
                .family_informed
        );
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
