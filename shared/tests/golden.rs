//! Golden tests of the frozen wire format. `tests/golden/batch_v1.json` was written by version
//! 1 of the protocol; every later build must still decode it to the same ops and encode those
//! ops to the same bytes. A phone that has not updated in a semester must still sync.
//!
//! To re-create the file after an *intentional* addition (never a change), run with
//! `BAOXUE_BLESS=1` and review the diff.

use baoxue_shared::hlc::Hlc;
use baoxue_shared::ids::*;
use baoxue_shared::location::{GeoPoint, Location, LocationSource};
use baoxue_shared::observation::*;
use baoxue_shared::op::*;
use baoxue_shared::phone::MobileNumber;
use baoxue_shared::status::EnrolmentStatus;
use baoxue_shared::wire::{Batch, decode_batch};
use chrono::{NaiveDate, TimeZone, Utc};
use uuid::Uuid;

fn id<T: From<Uuid>>(n: u128) -> T {
    T::from(Uuid::from_u128(
        0x0193_0000_0000_7000_8000_0000_0000_0000 | n,
    ))
}

fn golden_batch() -> Batch {
    let device: DeviceId = id(1);
    let author: UserId = id(2);
    let student: StudentId = id(3);
    let household: HouseholdId = id(4);
    let t = Utc.with_ymd_and_hms(2026, 11, 20, 1, 30, 0).unwrap();
    let op = |n: u128, c: u32, body: OpBody| Op {
        id: id(100 + n),
        hlc: Hlc {
            ms: (t + chrono::Duration::hours(1)).timestamp_millis() as u64 + n as u64,
            counter: c,
        },
        device,
        author,
        device_time: t + chrono::Duration::hours(1),
        received_at: None,
        body,
    };
    let visit = Visit {
        id: id(10),
        corrects: None,
        kind: VisitKind::Persuasion,
        visitors: vec![author],
        companions: vec![Companion {
            name: "龙支书".into(),
            role: CompanionRole::VillageCadre,
        }],
        students: vec![student],
        household: Some(household),
        guardians_met: vec![id(5)],
        started_at: t,
        ended_at: Some(t + chrono::Duration::minutes(50)),
        location: Some(Location {
            point: GeoPoint::new(25.7512, 108.9123).unwrap(),
            accuracy_m: Some(18.5),
            source: LocationSource::Device,
        }),
        notes: "孩子随父母在广东打工，电话沟通后同意月底返校。".into(),
        photos: vec![PhotoRef {
            sha256: Sha256::of(b"golden photo"),
            bytes: 231_004,
            width: 1600,
            height: 1200,
            captured_at: Some(t + chrono::Duration::minutes(10)),
            gps: Some(GeoPoint::new(25.7513, 108.9121).unwrap()),
        }],
        device_check: None,
        persuasion: Some(PersuasionAttempt {
            reason: DropoutReason::WorkingAway,
            method: MethodLevel::Administrative,
            notice: Some(Notice {
                kind: NoticeKind::DeadlineToReturn,
                number: "加勉乡〔2026〕12号".into(),
                issued_on: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
                deadline: NaiveDate::from_ymd_opt(2026, 11, 30),
            }),
            outcome: PersuasionOutcome::Promised,
            next_follow_up: NaiveDate::from_ymd_opt(2026, 11, 27),
        }),
        subsidy: None,
    };
    let mut check = visit.clone();
    check.id = id(11);
    check.kind = VisitKind::HouseholdVisit;
    check.companions.clear();
    check.persuasion = None;
    check.device_check = Some(DeviceCheck {
        devices_seen: [LearningDevice::Tv, LearningDevice::Smartphone].into(),
        device_works: Answer::Yes,
        can_get_online: Answer::No,
        can_attend_class: Answer::No,
        family_knows_how: Answer::Yes,
        child_proficient: Answer::Unknown,
        teacher_guidance: Answer::Yes,
        homework_on_time: Answer::No,
        problems: vec![DeviceProblem {
            kind: ProblemKind::NoTvSignal,
            note: "山区无信号".into(),
            remedy: Some(Remedy {
                kind: RemedyKind::AntennaInstalled,
                done: true,
                note: String::new(),
            }),
        }],
    });
    check.subsidy = Some(SubsidyVerification {
        programme: "生活补助".into(),
        amount_fen: Some(62_500),
        received: Answer::Yes,
        family_informed: true,
        statement_filed: false,
    });
    Batch {
        v: 1,
        batch: id(50),
        device,
        ops: vec![
            op(1, 0, OpBody::Record(Box::new(visit))),
            op(
                2,
                0,
                OpBody::Set(FieldWrite {
                    target: Target::Student {
                        id: student,
                        set: StudentField::Status(EnrolmentStatus::Persuading),
                    },
                    prev: vec![id(90)],
                }),
            ),
            op(
                3,
                1,
                OpBody::Set(FieldWrite {
                    target: Target::Guardian {
                        id: id(5),
                        set: GuardianField::Phone(Some(
                            MobileNumber::parse("13985012345").unwrap(),
                        )),
                    },
                    prev: vec![],
                }),
            ),
            op(4, 0, OpBody::Record(Box::new(check))),
            op(
                5,
                0,
                OpBody::Void {
                    record: id(12),
                    reason: "重复录入".into(),
                },
            ),
        ],
    }
}

#[test]
fn version_1_batches_still_decode_and_encode_to_the_same_bytes() {
    let path = &format!(
        "{}/tests/golden/batch_v1.json",
        std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo")
    );
    let batch = golden_batch();
    let pretty = serde_json::to_string_pretty(&batch).unwrap() + "\n";
    if std::env::var_os("BAOXUE_BLESS").is_some() {
        std::fs::write(path, &pretty).unwrap();
    }
    let stored = std::fs::read_to_string(path).expect("golden file present");
    let decoded = decode_batch(stored.as_bytes()).expect("a stored v1 batch decodes");
    assert_eq!(decoded, batch);
    assert_eq!(
        pretty, stored,
        "encoding must not change; add fields, never rename"
    );
}

/// One of each request and response of the API, with fixed values.
fn golden_api() -> serde_json::Value {
    use baoxue_shared::api::*;
    use baoxue_shared::people::{Assignment, Role, User};
    use baoxue_shared::validation::FieldErrorBody;
    let t = Utc.with_ymd_and_hms(2026, 11, 20, 1, 30, 0).unwrap();
    let user = User {
        id: id(2),
        account: "teacher01".into(),
        name: "杨老师".into(),
        role: Role::Teacher,
        assignments: vec![Assignment::Student { student: id(3) }],
    };
    let sha = Sha256::of(b"photo");
    let batch = golden_batch();
    // The golden batch's student as a file, built with the shared function at a fixed time.
    let mut replica = baoxue_shared::replica::Replica::new();
    for op in batch.ops.clone() {
        replica.apply(op).unwrap();
    }
    let terms = baoxue_shared::time::TermCalendar::typical([2025, 2026]);
    let file = baoxue_shared::file::StudentFile::build(
        &replica,
        id(3),
        &baoxue_shared::file::FileContext {
            now: t + chrono::Duration::days(1),
            terms: &terms,
            photo_present: &|_| false,
        },
    );
    serde_json::json!({
        "login_request": LoginRequest { account: "teacher01".into(), password: "口令".into(), device: id(1) },
        "login_response": LoginResponse { token: "ab".repeat(32), expires_at: t, user: user.clone() },
        "logout_response": LogoutResponse { revoked: true },
        "me": Me { user, device: id(1), expires_at: t, students: 12, households: 9 },
        "push_receipt": PushReceipt { batch: batch.batch, stored: batch.ops.iter().map(|o| o.id).collect(), new: 4, received_at: t },
        "pull_page": PullPage { ops: batch.ops[1..3].to_vec(), cursor: "120.7".into(), more: true },
        "missing_photos_request": MissingPhotosRequest { sha256: vec![sha] },
        "missing_photos_response": MissingPhotosResponse { missing: vec![sha], out_of_scope: vec![] },
        "file_response": FileResponse { file, photos: vec![PhotoLink { sha256: sha, present: false, url: format!("/api/photos/{sha}"), thumb_url: format!("/api/photos/{sha}/thumb") }] },
        "student_row": StudentRow { id: id(3), name: "龙小花".into(), status: Some(EnrolmentStatus::Persuading), school: Some(id(6)), household: Some(id(4)), village: Some("长塘村".into()), grade: Some(8), focus_groups: vec![baoxue_shared::people::FocusGroup::RegisteredPoor] },
        "photo_meta": PhotoMeta { sha256: sha, bytes: 183_204, width: 1600, height: 1200, mime: "image/jpeg".into(), captured_at: Some(t), lat: Some(25.7512), lon: Some(108.9123), phash: "AAECAwQFBgc=".into(), uploaded_by: id(2), uploaded_at: t },
        "access_line": AccessLine { entry: AccessEntry { at: t, user: id(7), device: id(8), action: AccessAction::FileView, subject: id::<StudentId>(3).to_string() }, account: "county01".into(), name: "王督导".into() },
        "error_body": ErrorBody { error: ErrorDetail {
            code: "invalid_operation".into(),
            message: "operation 0 is refused".into(),
            zh: "记录内容有误，整批未保存".into(),
            fields: vec![FieldErrorBody { field: "ops[0].visit.visitors".into(), code: "author_not_visitor".into(), zh: "走访人中须有录入本记录的本人".into(), en: "the visitors must include the user who entered the visit".into() }],
            refused_op: None,
        } },
        "op_refused_body": ErrorBody { error: ErrorDetail {
            code: "out_of_scope".into(),
            message: "operation 1 concerns student 01930000-0000-7000-8000-000000000003, who is not in your caseload".into(),
            zh: "超出您的负责范围，整批未保存".into(),
            fields: vec![],
            refused_op: Some(id(101)),
        } },
    })
}

#[test]
fn version_1_api_bodies_keep_their_shape() {
    use baoxue_shared::api::*;
    let path = &format!(
        "{}/tests/golden/api_v1.json",
        std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo")
    );
    let api = golden_api();
    let pretty = serde_json::to_string_pretty(&api).unwrap() + "\n";
    if std::env::var_os("BAOXUE_BLESS").is_some() {
        std::fs::write(path, &pretty).unwrap();
    }
    let stored = std::fs::read_to_string(path).expect("golden file present");
    assert_eq!(
        pretty, stored,
        "the API's bodies must not change; add fields, never rename"
    );
    // Each stored body still decodes into its type and back to the same JSON.
    let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    fn round<T: serde::Serialize + serde::de::DeserializeOwned>(v: &serde_json::Value) {
        let t: T = serde_json::from_value(v.clone()).expect("decodes");
        assert_eq!(&serde_json::to_value(&t).unwrap(), v);
    }
    round::<LoginRequest>(&stored["login_request"]);
    round::<LoginResponse>(&stored["login_response"]);
    round::<LogoutResponse>(&stored["logout_response"]);
    round::<Me>(&stored["me"]);
    round::<PushReceipt>(&stored["push_receipt"]);
    round::<PullPage>(&stored["pull_page"]);
    round::<MissingPhotosRequest>(&stored["missing_photos_request"]);
    round::<MissingPhotosResponse>(&stored["missing_photos_response"]);
    round::<ErrorBody>(&stored["error_body"]);
    round::<ErrorBody>(&stored["op_refused_body"]);
    round::<FileResponse>(&stored["file_response"]);
    round::<StudentRow>(&stored["student_row"]);
    round::<PhotoMeta>(&stored["photo_meta"]);
    round::<AccessLine>(&stored["access_line"]);
}

/// Every coded enum's wire codes, written out here once more on purpose: a code renamed in a
/// `coded_enum!` declaration would strand every phone that has not updated.
#[test]
fn version_1_enum_codes_are_frozen() {
    use baoxue_shared::location::LocationSource;
    use baoxue_shared::people::{FocusGroup, Relation, Role, Sex};
    let frozen: &[(&[&str], &[&str])] = &[
        (
            EnrolmentStatus::CODES,
            &[
                "in_school",
                "suspected_dropout",
                "dropped_out",
                "persuading",
                "returned",
                "home_teaching",
                "remote_teaching",
                "deferred_enrolment",
                "exempt",
                "transferred_out",
                "graduated",
                "vocational_class",
            ],
        ),
        (
            VisitKind::CODES,
            &[
                "home_visit",
                "household_visit",
                "persuasion",
                "home_teaching",
                "subsidy_verification",
                "phone_call",
                "weekly_talk",
            ],
        ),
        (Answer::CODES, &["yes", "no", "unknown"]),
        (
            CompanionRole::CODES,
            &[
                "village_cadre",
                "township_cadre",
                "teacher",
                "police",
                "judicial",
                "other",
            ],
        ),
        (
            LearningDevice::CODES,
            &["tv", "smartphone", "computer", "tablet"],
        ),
        (
            ProblemKind::CODES,
            &[
                "no_device",
                "device_broken",
                "no_network",
                "no_tv_signal",
                "no_data_plan",
                "does_not_know_how",
                "other",
            ],
        ),
        (
            RemedyKind::CODES,
            &[
                "tv_provided",
                "phone_provided",
                "antenna_installed",
                "network_tv_installed",
                "data_plan_given",
                "taught",
                "other",
            ],
        ),
        (
            DropoutReason::CODES,
            &[
                "poverty",
                "dislikes_school",
                "school_too_far",
                "early_marriage",
                "working_away",
                "illness_or_disability",
                "family",
                "other",
            ],
        ),
        (
            MethodLevel::CODES,
            &["reasoning", "special_care", "administrative", "legal"],
        ),
        (
            NoticeKind::CODES,
            &[
                "enrolment",
                "deferred_enrolment",
                "dropout_report",
                "deadline_to_return",
            ],
        ),
        (
            Placement::CODES,
            &[
                "own_class",
                "by_age",
                "vocational_junior",
                "home_teaching",
                "remote_teaching",
                "exempt",
            ],
        ),
        (Sex::CODES, &["male", "female"]),
        (
            FocusGroup::CODES,
            &[
                "registered_poor",
                "left_behind",
                "migrant",
                "learning_difficulty",
                "disabled",
            ],
        ),
        (
            Relation::CODES,
            &[
                "father",
                "mother",
                "grandfather",
                "grandmother",
                "sibling",
                "other_relative",
                "other",
            ],
        ),
        (
            Role::CODES,
            &[
                "teacher",
                "liaison",
                "school_admin",
                "township_supervisor",
                "county_supervisor",
                "system_admin",
            ],
        ),
        (
            ReviewAction::CODES,
            &["approve", "flag", "request_evidence"],
        ),
        (LocationSource::CODES, &["device", "photo_exif", "manual"]),
    ];
    for (codes, want) in frozen {
        assert_eq!(codes, want);
    }
}
