//! Realistic sample data: Chinese names, households in mountain villages, a teacher's day of
//! visits with device checks and persuasion attempts. Deterministic for a seed. Used by the
//! benchmarks, the property tests, the server's demo county and the app's screenshots — not by
//! any rule.

use crate::area::{AdminArea, Division};
use crate::author::Author;
use crate::ids::{GuardianId, HouseholdId, RecordId, StudentId, UserId};
use crate::location::{GeoPoint, Location, LocationSource};
use crate::observation::*;
use crate::op::Op;
use crate::people::{FocusGroup, Grade, Guardian, Household, Relation, Sex, Student};
use crate::phone::MobileNumber;
use crate::replica::Replica;
use crate::resident_id::{ResidentId, with_check_char};
use crate::status::EnrolmentStatus;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use fastrand::Rng;
use std::collections::BTreeSet;

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "韦", "潘", "蒙", "龙", "石", "杨", "吴",
];
const GIVEN_M: &[&str] = &[
    "浩", "宇", "俊", "杰", "磊", "涛", "鑫", "明", "强", "军", "伟", "勇", "斌", "昇", "犇", "堃",
    "喆", "晨", "阳", "鹏", "飞", "凯", "博", "文", "志", "国", "永", "海",
];
const GIVEN_F: &[&str] = &[
    "芳", "娟", "敏", "静", "丽", "燕", "玲", "婷", "雪", "梅", "兰", "霞", "琴", "玥", "赟", "萍",
    "欣", "怡", "佳", "悦", "颖", "瑶", "倩", "慧", "美", "春", "秀", "艳",
];
/// A sample county with codes (从江县, Guizhou) and some of its townships and villages.
pub const COUNTY: (&str, &str) = ("从江县", "522633");
/// Townships with codes, and village names in each.
pub const TOWNSHIPS: &[(&str, &str, &[&str])] = &[
    (
        "丙妹镇",
        "522633100",
        &["大歹村", "岜沙村", "银良村", "谷坪村"],
    ),
    (
        "加勉乡",
        "522633213",
        &["党扭村", "污扣村", "别鸠村", "加两村"],
    ),
    ("加鸠镇", "522633105", &["加鸠村", "加翁村", "摆翁村"]),
    (
        "停洞镇",
        "522633110",
        &["停洞村", "胜利村", "宰便村", "摆里村"],
    ),
    ("往洞镇", "522633114", &["往洞村", "朝利村", "德秋村"]),
];

/// The sample county's divisions as the county keeps them: every township and village
/// [`area`] draws from, with the same codes.
pub fn county_divisions() -> crate::divisions::CountyDivisions {
    crate::divisions::CountyDivisions {
        county: Division::coded(COUNTY.0, COUNTY.1).expect("valid constant"),
        townships: TOWNSHIPS
            .iter()
            .map(|(tn, tc, villages)| crate::divisions::Township {
                division: Division::coded(*tn, tc).expect("valid constant"),
                villages: villages
                    .iter()
                    .enumerate()
                    .map(|(v, name)| {
                        Division::coded(*name, &format!("{tc}{:03}", 200 + v)).expect("valid")
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// A person's name: a surname and one or two given characters.
pub fn name(rng: &mut Rng, sex: Sex) -> String {
    let pool = if sex == Sex::Male { GIVEN_M } else { GIVEN_F };
    let mut s = SURNAMES[rng.usize(..SURNAMES.len())].to_string();
    for _ in 0..rng.usize(1..=2) {
        s.push_str(pool[rng.usize(..pool.len())]);
    }
    s
}

/// An area in the sample county.
pub fn area(rng: &mut Rng) -> AdminArea {
    let t = rng.usize(..TOWNSHIPS.len());
    let (tn, tc, villages) = TOWNSHIPS[t];
    let v = rng.usize(..villages.len());
    AdminArea {
        county: Division::coded(COUNTY.0, COUNTY.1).expect("valid constant"),
        township: Division::coded(tn, tc).expect("valid constant"),
        village: Division::coded(villages[v], &format!("{tc}{:03}", 200 + v)).expect("valid"),
        group: Some(format!("{}组", rng.u8(1..=9))),
    }
}

/// A household somewhere in the county's hills (lat 25.4–26.0, lon 108.5–109.2).
pub fn household(rng: &mut Rng) -> Household {
    let head = name(rng, Sex::Male);
    let area = area(rng);
    Household {
        id: HouseholdId::new(),
        address: format!(
            "{}{}{}号",
            area.village.name,
            area.group.clone().unwrap_or_default(),
            rng.u8(1..60)
        ),
        head,
        area,
        registered_poor: rng.u8(..10) < 4,
        location: Some(
            GeoPoint::new(25.4 + rng.f64() * 0.6, 108.5 + rng.f64() * 0.7).expect("in range"),
        ),
    }
}

/// A student of compulsory age on `today`, in `household`, with a valid resident ID.
pub fn student(rng: &mut Rng, household: &Household, today: NaiveDate) -> Student {
    let sex = if rng.bool() { Sex::Male } else { Sex::Female };
    let age = rng.i32(6..=15);
    let birth = NaiveDate::from_ymd_opt(today.year() - age, rng.u32(1..=12), rng.u32(1..=28))
        .expect("valid date")
        .min(today - Duration::days(6 * 366));
    let seq = rng.u32(0..50) * 2 + if sex == Sex::Male { 1 } else { 0 };
    let first17 = format!("522633{}{:03}", birth.format("%Y%m%d"), seq % 1000);
    let rid = ResidentId::parse_on(&with_check_char(&first17), today).ok();
    let grade = Grade::new((age - 5).clamp(1, 9) as u8).ok();
    let mut focus = BTreeSet::new();
    if household.registered_poor {
        focus.insert(FocusGroup::RegisteredPoor);
    }
    if rng.u8(..10) < 3 {
        focus.insert(FocusGroup::LeftBehind);
    }
    if rng.u8(..30) == 0 {
        focus.insert(FocusGroup::Disabled);
    }
    Student {
        id: StudentId::new(),
        name: format!(
            "{}{}",
            household.head.chars().next().unwrap_or('王'),
            &name(rng, sex)[3..]
        ),
        sex,
        birth_date: birth,
        resident_id: rid,
        school: None,
        grade,
        class: Some(format!("{}班", rng.u8(1..=4))),
        status: EnrolmentStatus::InSchool,
        focus_groups: focus,
        household: Some(household.id),
    }
}

/// A guardian of `student`.
pub fn guardian(rng: &mut Rng, student: StudentId) -> Guardian {
    let relation = [
        Relation::Mother,
        Relation::Father,
        Relation::Grandmother,
        Relation::Grandfather,
    ][rng.usize(..4)];
    let sex = if matches!(relation, Relation::Father | Relation::Grandfather) {
        Sex::Male
    } else {
        Sex::Female
    };
    Guardian {
        id: GuardianId::new(),
        student,
        name: name(rng, sex),
        relation,
        phone: MobileNumber::parse(&format!(
            "1{}{:09}",
            rng.u8(3..=9),
            rng.u32(..1_000_000_000)
        ))
        .ok(),
    }
}

/// A visit by `visitor` to `student` of `household` at `at`, with sections fitting its kind.
pub fn visit(
    rng: &mut Rng,
    kind: VisitKind,
    visitor: UserId,
    student: StudentId,
    household: &Household,
    at: DateTime<Utc>,
) -> Visit {
    let home = household
        .location
        .unwrap_or(GeoPoint::new(25.7, 108.9).expect("in range"));
    let near = GeoPoint::new(
        home.lat() + (rng.f64() - 0.5) * 0.002,
        home.lon() + (rng.f64() - 0.5) * 0.002,
    )
    .expect("in range");
    let photo = |rng: &mut Rng| PhotoRef {
        sha256: Sha256::of(&rng.u64(..).to_le_bytes()),
        bytes: 180_000 + rng.u64(..100_000),
        width: 1600,
        height: 1200,
        captured_at: Some(at + Duration::minutes(rng.i64(1..20))),
        gps: Some(near),
    };
    let mut v = Visit {
        id: RecordId::new(),
        corrects: None,
        kind,
        visitors: vec![visitor],
        companions: vec![],
        students: vec![student],
        household: Some(household.id),
        guardians_met: vec![],
        started_at: at,
        ended_at: Some(at + Duration::minutes(rng.i64(10..25))),
        location: kind.is_on_site().then(|| Location {
            point: near,
            accuracy_m: Some(5.0 + rng.f64() * 40.0),
            source: LocationSource::Device,
        }),
        notes: [
            "与家长交流孩子在校表现，家长表示支持。",
            "孩子在家由奶奶照顾，父母在广东打工，叮嘱按时上学。",
            "了解到家里电视信号不好，已联系村委协助安装天线。",
            "家长担心学费，讲解了两免一补和生活补助政策。",
        ][rng.usize(..4)]
        .to_string(),
        photos: vec![],
        device_check: None,
        persuasion: None,
        subsidy: None,
    };
    match kind {
        VisitKind::HouseholdVisit | VisitKind::HomeVisit if rng.bool() => {
            let broken = rng.u8(..4) == 0;
            v.device_check = Some(DeviceCheck {
                devices_seen: [LearningDevice::Tv, LearningDevice::Smartphone]
                    .into_iter()
                    .take(rng.usize(1..=2))
                    .collect(),
                device_works: if broken { Answer::No } else { Answer::Yes },
                can_get_online: Answer::Yes,
                can_attend_class: Answer::Yes,
                family_knows_how: if rng.bool() { Answer::Yes } else { Answer::No },
                child_proficient: Answer::Yes,
                teacher_guidance: Answer::Yes,
                homework_on_time: if rng.bool() {
                    Answer::Yes
                } else {
                    Answer::Unknown
                },
                problems: if broken {
                    vec![DeviceProblem {
                        kind: ProblemKind::NoTvSignal,
                        note: "山区信号弱".into(),
                        remedy: Some(Remedy {
                            kind: RemedyKind::AntennaInstalled,
                            done: rng.bool(),
                            note: "村委协助".into(),
                        }),
                    }]
                } else {
                    vec![]
                },
            });
            v.photos.push(photo(rng));
        }
        VisitKind::Persuasion => {
            v.companions.push(Companion {
                name: name(rng, Sex::Male),
                role: CompanionRole::VillageCadre,
            });
            let method = [
                MethodLevel::Reasoning,
                MethodLevel::SpecialCare,
                MethodLevel::Administrative,
            ][rng.usize(..3)];
            v.persuasion = Some(PersuasionAttempt {
                reason: [
                    DropoutReason::DislikesSchool,
                    DropoutReason::WorkingAway,
                    DropoutReason::Poverty,
                ][rng.usize(..3)],
                method,
                notice: (method == MethodLevel::Administrative).then(|| Notice {
                    kind: NoticeKind::DeadlineToReturn,
                    number: format!(
                        "{}〔{}〕{}号",
                        &household.area.township.name,
                        at.year(),
                        rng.u8(1..99)
                    ),
                    issued_on: crate::time::china_date(at),
                    deadline: Some(crate::time::china_date(at) + Duration::days(14)),
                }),
                outcome: PersuasionOutcome::Promised,
                next_follow_up: Some(crate::time::china_date(at) + Duration::days(7)),
            });
            v.photos.push(photo(rng));
        }
        VisitKind::SubsidyVerification => {
            v.subsidy = Some(SubsidyVerification {
                programme: "义务教育家庭经济困难学生生活补助".into(),
                amount_fen: Some(62_500),
                received: Answer::Yes,
                family_informed: true,
                statement_filed: true,
            });
            v.photos.push(photo(rng));
        }
        _ => {}
    }
    v
}

/// One teacher's realistic field day: 20 visits (home visits, several with device checks,
/// persuasion attempts with notices, a subsidy check), plus the status changes they lead to.
/// Returns the ops, in the order the phone made them.
pub fn teacher_day(rng: &mut Rng, author: &mut Author, day_start: DateTime<Utc>) -> Vec<Op> {
    let seen = Replica::new();
    let today = crate::time::china_date(day_start);
    let mut ops = Vec::new();
    for i in 0..20 {
        let h = household(rng);
        let s = student(rng, &h, today);
        let at = day_start + Duration::minutes(30 * i);
        let kind = match i % 5 {
            0 | 1 => VisitKind::HomeVisit,
            2 => VisitKind::HouseholdVisit,
            3 => VisitKind::Persuasion,
            _ => VisitKind::SubsidyVerification,
        };
        let v = visit(rng, kind, author.user, s.id, &h, at);
        let saved = v.ended_at.unwrap_or(at) + Duration::minutes(1);
        ops.push(author.record(v, saved));
        if kind == VisitKind::Persuasion {
            ops.push(author.set(
                &seen,
                crate::op::Target::Student {
                    id: s.id,
                    set: crate::op::StudentField::Status(EnrolmentStatus::Persuading),
                },
                saved + Duration::minutes(1),
            ));
        }
    }
    ops
}
