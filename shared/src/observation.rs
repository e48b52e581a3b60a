//! Observations: what a teacher or liaison saw and did, recorded once and never edited. A
//! visit carries optional sections — the device check (一看二问三查), the persuasion attempt
//! (劝返, 四个一批), the subsidy verification (资助核实) — because in the field they happen in
//! one trip to one house. A mistake is fixed by a new revision that names the record it
//! corrects; the original stays as evidence.
//!
//! Frozen wire format: field and variant names below are part of sync protocol version 1.

use crate::ids::{GuardianId, HouseholdId, RecordId, StudentId, UserId};
use crate::location::{GeoPoint, Location};
use crate::validation::{self, FieldError, FieldErrors, Reason, limits};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

crate::coded_enum! {
    /// The kinds of contact the work counts.
    pub enum VisitKind {
        /// 家访: a teacher's home visit, due once a semester for each paired student.
        HomeVisit = "home_visit", "家访", "home visit";
        /// 入户走访: a liaison's visit to a registered-poor household.
        HouseholdVisit = "household_visit", "入户走访", "household visit";
        /// 劝返: a visit to persuade a dropout back.
        Persuasion = "persuasion", "劝返", "persuasion";
        /// 送教上门: a lesson taught at home.
        HomeTeaching = "home_teaching", "送教上门", "home teaching";
        /// 资助核实: confirming a subsidy arrived.
        SubsidyVerification = "subsidy_verification", "资助核实", "subsidy check";
        /// 电话联系: the monthly phone call to the parents (三个一).
        PhoneCall = "phone_call", "电话联系", "phone call";
        /// 谈心: the weekly talk with the student (三个一).
        WeeklyTalk = "weekly_talk", "谈心", "weekly talk";
    }
}

impl VisitKind {
    /// Whether someone went to the house, so a location is expected.
    pub fn is_on_site(self) -> bool {
        !matches!(self, VisitKind::PhoneCall | VisitKind::WeeklyTalk)
    }
}

crate::coded_enum! {
    /// A yes / no answer that may not have been asked.
    #[derive(Default)]
    pub enum Answer {
        Yes = "yes", "是", "yes";
        No = "no", "否", "no";
        #[default]
        Unknown = "unknown", "未了解", "not asked";
    }
}

/// Someone who went along who is not a Baoxue user (a village cadre, a police officer ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Companion {
    pub name: String,
    pub role: CompanionRole,
}

crate::coded_enum! {
    /// The offices that join persuasion visits.
    pub enum CompanionRole {
        /// 村干部.
        VillageCadre = "village_cadre", "村干部", "village cadre";
        /// 乡镇干部.
        TownshipCadre = "township_cadre", "乡镇干部", "township cadre";
        /// 教师 (not using Baoxue).
        Teacher = "teacher", "教师", "teacher";
        /// 派出所.
        Police = "police", "派出所", "police";
        /// 司法所.
        Judicial = "judicial", "司法所", "judicial office";
        Other = "other", "其他", "other";
    }
}

crate::coded_enum! {
    /// A learning device one can see in the house.
    pub enum LearningDevice {
        Tv = "tv", "电视", "TV";
        Smartphone = "smartphone", "智能手机", "smartphone";
        Computer = "computer", "电脑", "computer";
        Tablet = "tablet", "平板电脑", "tablet";
    }
}

crate::coded_enum! {
    /// A problem found in a device check.
    pub enum ProblemKind {
        NoDevice = "no_device", "无学习设备", "no device";
        DeviceBroken = "device_broken", "设备损坏", "device broken";
        NoNetwork = "no_network", "无网络", "no network";
        NoTvSignal = "no_tv_signal", "无电视信号", "no TV signal";
        NoDataPlan = "no_data_plan", "无流量", "no data plan";
        DoesNotKnowHow = "does_not_know_how", "不会使用", "does not know how";
        Other = "other", "其他问题", "other problem";
    }
}

crate::coded_enum! {
    /// What was done about a problem (devices bought, antennas, network TV, data plans ...).
    pub enum RemedyKind {
        TvProvided = "tv_provided", "配发电视", "TV provided";
        PhoneProvided = "phone_provided", "配发手机", "phone provided";
        AntennaInstalled = "antenna_installed", "安装天线", "antenna installed";
        NetworkTvInstalled = "network_tv_installed", "安装网络电视", "network TV installed";
        DataPlanGiven = "data_plan_given", "赠送流量", "data plan given";
        Taught = "taught", "教会使用", "taught how";
        Other = "other", "其他", "other";
    }
}

/// A problem found, and the remedy when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceProblem {
    pub kind: ProblemKind,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remedy: Option<Remedy>,
}

/// A remedy, done on the spot or promised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remedy {
    pub kind: RemedyKind,
    /// Done (installed, handed over) rather than arranged.
    pub done: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// 一看二问三查: the learning-device check, as typed answers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DeviceCheck {
    // 一看 look
    pub devices_seen: BTreeSet<LearningDevice>,
    pub device_works: Answer,
    pub can_get_online: Answer,
    // 二问 ask
    pub can_attend_class: Answer,
    pub family_knows_how: Answer,
    // 三查 check
    pub child_proficient: Answer,
    pub teacher_guidance: Answer,
    pub homework_on_time: Answer,
    #[serde(default)]
    pub problems: Vec<DeviceProblem>,
}

impl DeviceCheck {
    /// Problems whose remedy is not done yet.
    pub fn open_problems(&self) -> impl Iterator<Item = &DeviceProblem> {
        self.problems
            .iter()
            .filter(|p| !p.remedy.as_ref().is_some_and(|r| r.done))
    }

    /// A working device that can get online was seen.
    pub fn has_working_device(&self) -> bool {
        !self.devices_seen.is_empty()
            && self.device_works == Answer::Yes
            && self.can_get_online == Answer::Yes
    }

    fn validate(&self) -> FieldErrors {
        let mut errs = FieldErrors::new();
        errs.check(validation::list_len(
            "problems",
            &self.problems,
            limits::LIST,
        ));
        for (i, p) in self.problems.iter().enumerate() {
            errs.check(validation::text(
                &format!("problems[{i}].note"),
                &p.note,
                limits::NOTES,
                false,
            ));
            if let Some(r) = &p.remedy {
                errs.check(validation::text(
                    &format!("problems[{i}].remedy.note"),
                    &r.note,
                    limits::NOTES,
                    false,
                ));
            }
        }
        errs
    }
}

crate::coded_enum! {
    /// Why a child left school, as the persuasion ledger classifies it.
    pub enum DropoutReason {
        /// 因贫.
        Poverty = "poverty", "因贫", "poverty";
        /// 厌学.
        DislikesSchool = "dislikes_school", "厌学", "dislikes school";
        /// 上学远.
        SchoolTooFar = "school_too_far", "上学远", "school too far";
        /// 早婚早育.
        EarlyMarriage = "early_marriage", "早婚早育", "early marriage";
        /// 外出务工.
        WorkingAway = "working_away", "外出务工", "working away";
        /// 因病因残.
        IllnessOrDisability = "illness_or_disability", "因病因残", "illness or disability";
        /// 家庭原因 (family breakdown, no one to care).
        Family = "family", "家庭原因", "family reasons";
        Other = "other", "其他", "other";
    }
}

crate::coded_enum! {
    /// 四个一批: the four escalating methods of persuasion.
    pub enum MethodLevel {
        /// 1 讲道理感召: reasoning with the family.
        Reasoning = "reasoning", "讲道理感召", "reasoning";
        /// 2 特殊关爱感化: special care — aid, transport, a boarding place.
        SpecialCare = "special_care", "特殊关爱感化", "special care";
        /// 3 行政措施劝返: administrative measures, formal notices.
        Administrative = "administrative", "行政措施劝返", "administrative measures";
        /// 4 法治手段兜底: legal means as the last resort.
        Legal = "legal", "法治手段兜底", "legal means";
    }
}

impl MethodLevel {
    /// 1 to 4.
    pub fn number(self) -> u8 {
        self as u8 + 1
    }
}

crate::coded_enum! {
    /// The formal notices along the way.
    pub enum NoticeKind {
        /// 入学通知书.
        Enrolment = "enrolment", "入学通知书", "enrolment notice";
        /// 延缓入学通知书.
        DeferredEnrolment = "deferred_enrolment", "延缓入学通知书", "deferred enrolment notice";
        /// 辍学情况报告单.
        DropoutReport = "dropout_report", "辍学情况报告单", "dropout report";
        /// 限期返校通知书.
        DeadlineToReturn = "deadline_to_return", "限期返校通知书", "deadline-to-return notice";
    }
}

/// A notice issued, with its number and, for a deadline notice, the deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub kind: NoticeKind,
    pub number: String,
    pub issued_on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<NaiveDate>,
}

crate::coded_enum! {
    /// Where a child is placed on return.
    pub enum Placement {
        /// Back in their own class.
        OwnClass = "own_class", "回原班", "own class";
        /// Placed by age into another grade (Zhaotong: 6–8 into grade 1, 10–12 upper primary).
        ByAge = "by_age", "按年龄插班", "placed by age";
        /// 职初班: a vocational-junior class for 13–15.
        VocationalJunior = "vocational_junior", "职初班", "vocational junior class";
        /// 送教上门.
        HomeTeaching = "home_teaching", "送教上门", "home teaching";
        /// 远程送教.
        RemoteTeaching = "remote_teaching", "远程送教", "remote teaching";
        /// 免于学习.
        Exempt = "exempt", "免于学习", "exempt";
    }
}

/// How the attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "result", content = "placement", rename_all = "snake_case")]
pub enum PersuasionOutcome {
    /// 未返校: not returned; another attempt is due.
    NotReturned,
    /// Agreed to return by a date, not yet back.
    Promised,
    /// 返校复学, placed as given.
    Returned(Placement),
}

/// One persuasion attempt (劝返).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersuasionAttempt {
    pub reason: DropoutReason,
    pub method: MethodLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
    pub outcome: PersuasionOutcome,
    /// When someone must go back, if the child has not returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_follow_up: Option<NaiveDate>,
}

/// 资助核实: did the aid arrive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubsidyVerification {
    /// The programme ("生活补助", "营养改善计划" ...).
    pub programme: String,
    /// Amount in fen (分), if stated: integers, because money is never a float.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount_fen: Option<u64>,
    pub received: Answer,
    pub family_informed: bool,
    /// A bank statement or passbook was photographed.
    pub statement_filed: bool,
}

/// A SHA-256 digest: how photos are named everywhere (content addressing).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
    /// Hash `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest;
        Self(sha2::Sha256::digest(bytes).into())
    }

    /// Parse 64 hex characters (either case).
    pub fn parse(s: &str) -> Result<Self, Reason> {
        let s = s.as_bytes();
        if s.len() != 64 {
            return Err(Reason::HashFormat);
        }
        let mut out = [0u8; 32];
        for (i, pair) in s.chunks(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16).ok_or(Reason::HashFormat)?;
            let lo = (pair[1] as char).to_digit(16).ok_or(Reason::HashFormat)?;
            out[i] = (hi * 16 + lo) as u8;
        }
        Ok(Self(out))
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({})", &self.to_hex()[..12])
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Serialize for Sha256 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Sha256 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Sha256::parse(&s).map_err(|r| serde::de::Error::custom(r.en()))
    }
}

/// A photo as a record refers to it: by content hash, with what the phone read from it. The
/// bytes travel separately, after the record, so a record may arrive before its photos.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoRef {
    pub sha256: Sha256,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
    /// EXIF DateTimeOriginal, if the camera wrote one (photos forwarded by WeChat lose it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured_at: Option<DateTime<Utc>>,
    /// EXIF GPS, if present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gps: Option<GeoPoint>,
}

/// A visit or contact, with whatever sections happened on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    pub id: RecordId,
    /// The record this revision corrects, if it is a correction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrects: Option<RecordId>,
    pub kind: VisitKind,
    /// Baoxue users who went (the author among them).
    pub visitors: Vec<UserId>,
    /// Others who went: cadres, police, judicial staff.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub companions: Vec<Companion>,
    /// The students it concerns.
    pub students: Vec<StudentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub household: Option<HouseholdId>,
    /// Guardians met or spoken to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guardians_met: Vec<GuardianId>,
    pub started_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<PhotoRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_check: Option<DeviceCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persuasion: Option<PersuasionAttempt>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subsidy: Option<SubsidyVerification>,
}

impl Visit {
    /// Every refusal for this visit, each naming its field. `now` is the checker's clock: a
    /// visit cannot end in the future.
    pub fn validate(&self, now: DateTime<Utc>) -> Result<(), FieldErrors> {
        let mut errs = FieldErrors::new();
        if self.visitors.is_empty() {
            errs.push(FieldError::new("visitors", Reason::Required));
        }
        if self.students.is_empty() && self.household.is_none() {
            errs.push(FieldError::new("students", Reason::Required));
        }
        errs.check(validation::list_len(
            "visitors",
            &self.visitors,
            limits::LIST,
        ));
        errs.check(validation::list_len(
            "students",
            &self.students,
            limits::LIST,
        ));
        errs.check(validation::list_len(
            "companions",
            &self.companions,
            limits::LIST,
        ));
        errs.check(validation::list_len(
            "guardians_met",
            &self.guardians_met,
            limits::LIST,
        ));
        errs.check(validation::list_len("photos", &self.photos, limits::LIST));
        for (i, c) in self.companions.iter().enumerate() {
            errs.check(validation::text(
                &format!("companions[{i}].name"),
                &c.name,
                limits::NAME,
                true,
            ));
        }
        errs.check(validation::plausible_time("started_at", self.started_at));
        errs.check(validation::not_in_future(
            "started_at",
            self.started_at,
            now,
        ));
        if let Some(end) = self.ended_at {
            errs.check(validation::plausible_time("ended_at", end));
            if end < self.started_at {
                errs.push(FieldError::new("ended_at", Reason::EndBeforeStart));
            }
            errs.check(validation::not_in_future("ended_at", end, now));
        }
        if let Some(loc) = &self.location
            && let Err(e) = loc.validate()
        {
            errs.push(e.under("location"));
        }
        errs.check(validation::text("notes", &self.notes, limits::NOTES, false));
        for (i, p) in self.photos.iter().enumerate() {
            if let Some(t) = p.captured_at {
                errs.check(validation::plausible_time(
                    &format!("photos[{i}].captured_at"),
                    t,
                ));
                errs.check(validation::not_in_future(
                    &format!("photos[{i}].captured_at"),
                    t,
                    now,
                ));
            }
        }
        if let Some(dc) = &self.device_check {
            if !matches!(self.kind, VisitKind::HomeVisit | VisitKind::HouseholdVisit) {
                errs.push(FieldError::new("device_check", Reason::NotAllowedHere));
            }
            errs.extend_under("device_check", dc.validate());
        }
        if let Some(p) = &self.persuasion {
            if self.kind != VisitKind::Persuasion {
                errs.push(FieldError::new("persuasion", Reason::NotAllowedHere));
            }
            if let Some(n) = &p.notice {
                errs.check(validation::plausible_date(
                    "persuasion.notice.issued_on",
                    n.issued_on,
                ));
                if let Some(d) = n.deadline {
                    errs.check(validation::plausible_date("persuasion.notice.deadline", d));
                }
                errs.check(validation::text(
                    "persuasion.notice.number",
                    &n.number,
                    limits::SHORT,
                    true,
                ));
                if n.deadline.is_some_and(|d| d < n.issued_on) {
                    errs.push(FieldError::new(
                        "persuasion.notice.deadline",
                        Reason::EndBeforeStart,
                    ));
                }
            }
            if let Some(d) = p.next_follow_up {
                errs.check(validation::plausible_date("persuasion.next_follow_up", d));
            }
            // Only a plausible start has a China date (chrono panics at its range's edge).
            if validation::plausible_time("started_at", self.started_at).is_ok()
                && p.next_follow_up
                    .is_some_and(|d| d < crate::time::china_date(self.started_at))
            {
                errs.push(FieldError::new(
                    "persuasion.next_follow_up",
                    Reason::EndBeforeStart,
                ));
            }
        }
        if let Some(s) = &self.subsidy {
            if !matches!(
                self.kind,
                VisitKind::SubsidyVerification | VisitKind::HouseholdVisit
            ) {
                errs.push(FieldError::new("subsidy", Reason::NotAllowedHere));
            }
            errs.check(validation::text(
                "subsidy.programme",
                &s.programme,
                limits::SHORT,
                true,
            ));
        }
        errs.into_result()
    }

    /// The colleagues named as having gone along with `author` (who entered the visit).
    pub fn colleagues(&self, author: UserId) -> impl Iterator<Item = UserId> + '_ {
        self.visitors.iter().copied().filter(move |u| *u != author)
    }

    /// Whether this visit needs a photo as evidence (a device check, or a persuasion visit) and
    /// has none.
    pub fn lacks_required_photo(&self) -> bool {
        self.photos.is_empty()
            && (self.device_check.is_some() || self.kind == VisitKind::Persuasion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    pub(crate) fn visit(kind: VisitKind) -> Visit {
        Visit {
            id: RecordId::new(),
            corrects: None,
            kind,
            visitors: vec![UserId::new()],
            companions: vec![],
            students: vec![StudentId::new()],
            household: None,
            guardians_met: vec![],
            started_at: Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap(),
            ended_at: None,
            location: None,
            notes: String::new(),
            photos: vec![],
            device_check: None,
            persuasion: None,
            subsidy: None,
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 0, 0, 0).unwrap()
    }

    #[test]
    fn a_plain_home_visit_passes() {
        assert_eq!(visit(VisitKind::HomeVisit).validate(now()), Ok(()));
    }

    #[test]
    fn errors_name_nested_fields() {
        let mut v = visit(VisitKind::HomeVisit);
        v.ended_at = Some(v.started_at - Duration::hours(1));
        v.persuasion = Some(PersuasionAttempt {
            reason: DropoutReason::WorkingAway,
            method: MethodLevel::Administrative,
            notice: Some(Notice {
                kind: NoticeKind::DeadlineToReturn,
                number: String::new(),
                issued_on: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
                deadline: None,
            }),
            outcome: PersuasionOutcome::NotReturned,
            next_follow_up: None,
        });
        v.device_check = Some(DeviceCheck {
            problems: vec![DeviceProblem {
                kind: ProblemKind::NoNetwork,
                note: "网".repeat(limits::NOTES + 1),
                remedy: None,
            }],
            ..Default::default()
        });
        let errs = v.validate(now()).unwrap_err();
        assert_eq!(
            errs.for_field("ended_at").unwrap().reason,
            Reason::EndBeforeStart
        );
        assert_eq!(
            errs.for_field("persuasion").unwrap().reason,
            Reason::NotAllowedHere
        );
        assert_eq!(
            errs.for_field("persuasion.notice.number").unwrap().reason,
            Reason::Required
        );
        assert_eq!(
            errs.for_field("device_check.problems[0].note")
                .unwrap()
                .reason
                .code(),
            "too_long"
        );
    }

    #[test]
    fn a_visit_dated_next_week_is_refused() {
        let mut v = visit(VisitKind::HomeVisit);
        v.started_at = now() + Duration::days(7);
        let errs = v.validate(now()).unwrap_err();
        assert_eq!(
            errs.for_field("started_at").unwrap().reason.code(),
            "in_future"
        );
    }

    #[test]
    fn device_checks_and_persuasion_need_a_photo() {
        let mut v = visit(VisitKind::HouseholdVisit);
        assert!(!v.lacks_required_photo());
        v.device_check = Some(DeviceCheck::default());
        assert!(v.lacks_required_photo());
        v.photos.push(PhotoRef {
            sha256: Sha256::of(b"jpeg"),
            bytes: 4,
            width: 1,
            height: 1,
            captured_at: None,
            gps: None,
        });
        assert!(!v.lacks_required_photo());
        assert!(visit(VisitKind::Persuasion).lacks_required_photo());
    }

    #[test]
    fn open_problems_are_those_not_yet_remedied() {
        let dc = DeviceCheck {
            problems: vec![
                DeviceProblem {
                    kind: ProblemKind::NoTvSignal,
                    note: String::new(),
                    remedy: Some(Remedy {
                        kind: RemedyKind::AntennaInstalled,
                        done: true,
                        note: String::new(),
                    }),
                },
                DeviceProblem {
                    kind: ProblemKind::NoDataPlan,
                    note: String::new(),
                    remedy: Some(Remedy {
                        kind: RemedyKind::DataPlanGiven,
                        done: false,
                        note: String::new(),
                    }),
                },
                DeviceProblem {
                    kind: ProblemKind::NoDevice,
                    note: String::new(),
                    remedy: None,
                },
            ],
            ..Default::default()
        };
        let open: Vec<_> = dc.open_problems().map(|p| p.kind).collect();
        assert_eq!(open, vec![ProblemKind::NoDataPlan, ProblemKind::NoDevice]);
    }

    #[test]
    fn hashes_round_trip_as_hex() {
        let h = Sha256::of(b"abc");
        assert_eq!(
            h.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Sha256::parse(&h.to_hex().to_uppercase()).unwrap(), h);
        assert_eq!(Sha256::parse("zz"), Err(Reason::HashFormat));
        assert_eq!(Sha256::parse(&"g".repeat(64)), Err(Reason::HashFormat));
    }
}
