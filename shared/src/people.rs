//! People and places the work is about: students, their households and guardians, schools,
//! and the users who do the work with their roles and assignments (包人: a teacher answers for
//! named students; a liaison for named households; a supervisor for an area or a school).
//!
//! The structs here are *current state* — what the merge says now. The facts behind them are
//! field writes in the sync log (`op`), so a changed phone number keeps the old one in history.

use crate::area::{AdminArea, AreaScope};
use crate::ids::{GuardianId, HouseholdId, SchoolId, StudentId, UserId};
use crate::phone::MobileNumber;
use crate::resident_id::ResidentId;
use crate::status::EnrolmentStatus;
use crate::validation::{self, FieldError, FieldErrors, Reason, limits};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

crate::coded_enum! {
    /// Sex as recorded on the household register.
    pub enum Sex {
        Male = "male", "男", "male";
        Female = "female", "女", "female";
    }
}

crate::coded_enum! {
    /// The five focus groups (五类群体) a student may belong to, several at once.
    pub enum FocusGroup {
        /// 建档立卡: from a registered-poor household.
        RegisteredPoor = "registered_poor", "建档立卡", "registered poor";
        /// 留守儿童: left behind while parents work away.
        LeftBehind = "left_behind", "留守儿童", "left behind";
        /// 随迁子女: migrant workers' children.
        Migrant = "migrant", "随迁子女", "migrant";
        /// 学困生: learning difficulties.
        LearningDifficulty = "learning_difficulty", "学困生", "learning difficulty";
        /// 残疾: disabled.
        Disabled = "disabled", "残疾", "disabled";
    }
}

/// Grade 1–9 of compulsory education (小学一年级 … 初中三年级).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Grade(u8);

impl Grade {
    /// Grade `n`, 1 to 9.
    pub fn new(n: u8) -> Result<Self, Reason> {
        if (1..=9).contains(&n) {
            Ok(Self(n))
        } else {
            Err(Reason::OutOfRange { min: 1, max: 9 })
        }
    }

    /// The number, 1 to 9.
    pub fn number(self) -> u8 {
        self.0
    }

    /// "四年级" for primary, "初二" for junior secondary.
    pub fn zh(self) -> String {
        const N: [&str; 10] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
        if self.0 <= 6 {
            format!("{}年级", N[self.0 as usize])
        } else {
            format!("初{}", N[(self.0 - 6) as usize])
        }
    }

    /// Grades 6, 7 and 9 are the focus grades where dropping out peaks.
    pub fn is_focus(self) -> bool {
        matches!(self.0, 6 | 7 | 9)
    }
}

impl TryFrom<u8> for Grade {
    type Error = String;
    fn try_from(n: u8) -> Result<Self, String> {
        Self::new(n).map_err(|r| r.en())
    }
}

impl From<Grade> for u8 {
    fn from(g: Grade) -> u8 {
        g.0
    }
}

crate::coded_enum! {
    /// A guardian's relation to the student.
    pub enum Relation {
        Father = "father", "父亲", "father";
        Mother = "mother", "母亲", "mother";
        Grandfather = "grandfather", "祖父/外祖父", "grandfather";
        Grandmother = "grandmother", "祖母/外祖母", "grandmother";
        Sibling = "sibling", "兄弟姐妹", "sibling";
        OtherRelative = "other_relative", "其他亲属", "other relative";
        Other = "other", "其他", "other";
    }
}

/// A school.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct School {
    pub id: SchoolId,
    pub name: String,
    /// Where the school sits on the government line (its township is its supervisor's).
    pub area: AdminArea,
}

crate::coded_enum! {
    /// The role of a user; it decides which assignments make sense and what the console shows.
    pub enum Role {
        /// 班主任 / 帮扶教师: paired with named students.
        Teacher = "teacher", "帮扶教师", "teacher";
        /// 教育扶贫联络员: assigned registered-poor households.
        Liaison = "liaison", "教育扶贫联络员", "liaison";
        /// 学校管理员: a school's students.
        SchoolAdmin = "school_admin", "学校管理员", "school admin";
        /// 乡镇督导: a township.
        TownshipSupervisor = "township_supervisor", "乡镇督导", "township supervisor";
        /// 县级督导 / 教育局: a county.
        CountySupervisor = "county_supervisor", "县级督导", "county supervisor";
        /// 系统管理员: accounts and rosters; sees no field data by role alone.
        SystemAdmin = "system_admin", "系统管理员", "system admin";
    }
}

impl Role {
    /// Whether the role sees and writes full resident ID numbers: the school's registry work
    /// (学籍), the county, and the system admin who imports rosters. Teachers, liaisons and
    /// township supervisors identify a child by the masked form (PIPL: the least that does the job).
    pub fn sees_full_resident_id(self) -> bool {
        matches!(
            self,
            Role::SchoolAdmin | Role::CountySupervisor | Role::SystemAdmin
        )
    }

    /// Whether the role reads the access log (who looked at which child's file): the county.
    pub fn reads_access_log(self) -> bool {
        matches!(self, Role::CountySupervisor)
    }

    /// Supervisors and school admins review evidence and may void records; field users may not.
    pub fn may_review(self) -> bool {
        matches!(
            self,
            Role::SchoolAdmin | Role::TownshipSupervisor | Role::CountySupervisor
        )
    }
}

/// What one assignment puts in a user's care.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Assignment {
    /// A teacher paired with a student (教师包人).
    Student { student: StudentId },
    /// A liaison assigned a household.
    Household { household: HouseholdId },
    /// A school admin's or supervisor's school.
    School { school: SchoolId },
    /// A supervisor's area.
    Area { area: AreaScope },
}

/// A user account as the rest of the system sees it (no credentials here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    /// Login name.
    pub account: String,
    pub name: String,
    pub role: Role,
    #[serde(default)]
    pub assignments: Vec<Assignment>,
}

/// A student's current state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Student {
    pub id: StudentId,
    pub name: String,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resident_id: Option<ResidentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub school: Option<SchoolId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<Grade>,
    /// Class name as the school writes it ("3班").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    pub status: EnrolmentStatus,
    #[serde(default)]
    pub focus_groups: BTreeSet<FocusGroup>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub household: Option<HouseholdId>,
}

impl Student {
    /// Every refusal for this student, with the cross-checks between fields: the resident ID
    /// must encode the recorded birth date and sex, and the age must be plausible for
    /// compulsory education (3–18, wider than 6–15 because over-age pupils and early
    /// enrolment exist; the 6–15 rule is the ledger's, see [`validation::compulsory_age`]).
    pub fn validate(&self, today: NaiveDate) -> Result<(), FieldErrors> {
        let mut errs = FieldErrors::new();
        errs.check(validation::text("name", &self.name, limits::NAME, true));
        if let Some(id) = &self.resident_id {
            errs.check(id.check_against("resident_id", self.birth_date, self.sex));
        }
        let age = validation::age_on(self.birth_date, today);
        if !(3..=18).contains(&age) {
            errs.push(FieldError::new(
                "birth_date",
                Reason::AgeOutOfRange {
                    age,
                    min: 3,
                    max: 18,
                },
            ));
        }
        if let Some(c) = &self.class {
            errs.check(validation::text("class", c, limits::SHORT, false));
        }
        errs.into_result()
    }
}

/// A household's current state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Household {
    pub id: HouseholdId,
    /// Head of household (户主).
    pub head: String,
    pub address: String,
    pub area: AdminArea,
    /// 建档立卡户: on the poverty register.
    pub registered_poor: bool,
    /// Where the house is, for checking that a visit was really made there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<crate::location::GeoPoint>,
}

/// A guardian's current state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Guardian {
    pub id: GuardianId,
    pub student: StudentId,
    pub name: String,
    pub relation: Relation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<MobileNumber>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resident_id::with_check_char;

    fn student() -> Student {
        Student {
            id: StudentId::new(),
            name: "杨玥".into(),
            sex: Sex::Female,
            birth_date: NaiveDate::from_ymd_opt(2014, 5, 6).unwrap(),
            resident_id: Some(
                ResidentId::parse_on(
                    &with_check_char("52263320140506002"),
                    NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                )
                .unwrap(),
            ),
            school: None,
            grade: Some(Grade::new(6).unwrap()),
            class: Some("2班".into()),
            status: EnrolmentStatus::InSchool,
            focus_groups: [FocusGroup::LeftBehind].into(),
            household: None,
        }
    }

    #[test]
    fn a_consistent_student_passes() {
        assert_eq!(
            student().validate(NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()),
            Ok(())
        );
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let mut s = student();
        s.name = String::new();
        s.sex = Sex::Male;
        s.birth_date = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
        let errs = s
            .validate(NaiveDate::from_ymd_opt(2026, 11, 22).unwrap())
            .unwrap_err();
        assert_eq!(errs.for_field("name").unwrap().reason.code(), "required");
        assert_eq!(
            errs.for_field("resident_id").unwrap().reason.code(),
            "resident_id_birth_mismatch"
        );
        assert_eq!(
            errs.for_field("birth_date").unwrap().reason.code(),
            "age_out_of_range"
        );
    }

    #[test]
    fn grades_read_the_way_schools_write_them() {
        assert_eq!(Grade::new(4).unwrap().zh(), "四年级");
        assert_eq!(Grade::new(8).unwrap().zh(), "初二");
        assert!(Grade::new(0).is_err());
        assert!(Grade::new(10).is_err());
        assert!(serde_json::from_str::<Grade>("12").is_err());
    }
}
