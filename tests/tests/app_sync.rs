//! Two app cores, each with its own encrypted local store, sync through a real server: offline
//! edits on both, conflicting on one student, converge; a killed app loses nothing saved.

use baoxue_app::core::field::{EditError, FieldApp};
use baoxue_app::core::local::{LocalStore, derive_key};
use baoxue_app::core::sync::{SyncEngine, SyncError};
use baoxue_shared::file::DueWork;
use baoxue_shared::ids::DeviceId;
use baoxue_shared::observation::VisitKind;
use baoxue_shared::op::{GuardianField, Target};
use baoxue_shared::people::Guardian;
use baoxue_shared::phone::MobileNumber;
use baoxue_shared::sample;
use baoxue_shared::status::EnrolmentStatus;
use baoxue_tests::{PASSWORD, Seeder, TestServer};
use chrono::{Duration, Utc};
use std::path::Path;

async fn app(server: &TestServer, account: &str, dir: &Path, device: DeviceId) -> FieldApp {
    app_via(&server.url(""), account, dir, device).await
}

/// A phone that reaches the server at `url` (through a proxy, say).
async fn app_via(url: &str, account: &str, dir: &Path, device: DeviceId) -> FieldApp {
    let engine = SyncEngine::login(url, account, PASSWORD, device)
        .await
        .expect("login");
    let key = derive_key(PASSWORD, &[9u8; 16]);
    let store =
        LocalStore::open(&dir.join(format!("{account}.db")), &key).expect("open local store");
    FieldApp::new(store, engine).unwrap()
}

#[tokio::test]
async fn two_phones_with_conflicting_offline_edits_converge_through_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Seeder::open(&dir.path().join("data"));
    let mut rng = fastrand::Rng::with_seed(21);
    let (h, students) = s.household_with_students(&mut rng, 2);
    let g = Guardian {
        phone: MobileNumber::parse("13800000000").ok(),
        ..sample::guardian(&mut rng, students[0].id)
    };
    let world = s.world.clone();
    let ops = s
        .admin
        .guardian_ops(&world, &g, Utc::now() - Duration::days(20));
    s.roster(ops);
    s.teacher("class_teacher", &students);
    s.teacher("paired_teacher", &students[..1]);
    s.close();
    let server = TestServer::start(&dir.path().join("data")).await;

    let mut a = app(&server, "class_teacher", dir.path(), DeviceId::new()).await;
    let mut b = app(&server, "paired_teacher", dir.path(), DeviceId::new()).await;
    a.sync().await.unwrap();
    b.sync().await.unwrap();
    let kid = students[0].id;
    assert_eq!(a.caseload(Utc::now()).len(), 2);
    assert_eq!(b.caseload(Utc::now()).len(), 1);

    // Offline on the mountain: both record visits and change the same fields.
    let now = Utc::now();
    let v = sample::visit(
        &mut rng,
        VisitKind::HomeVisit,
        a.author().user,
        kid,
        &h,
        now - Duration::hours(3),
    );
    a.record_visit(v, now).unwrap();
    a.set_status(kid, EnrolmentStatus::SuspectedDropout, now)
        .unwrap();
    a.set_field(
        Target::Guardian {
            id: g.id,
            set: GuardianField::Phone(MobileNumber::parse("13911111111").ok()),
        },
        now,
    )
    .unwrap();
    let later = now + Duration::minutes(1);
    let v = sample::visit(
        &mut rng,
        VisitKind::HomeVisit,
        b.author().user,
        kid,
        &h,
        later - Duration::hours(2),
    );
    b.record_visit(v, later).unwrap();
    b.set_status(kid, EnrolmentStatus::TransferredOut, later)
        .unwrap();
    b.set_field(
        Target::Guardian {
            id: g.id,
            set: GuardianField::Phone(MobileNumber::parse("13922222222").ok()),
        },
        later,
    )
    .unwrap();
    assert_eq!(a.unsynced().unwrap(), 3);

    // Back in the township office: sync in turn, then once more so each sees the other's work.
    let ra = a.sync().await.unwrap();
    assert_eq!(ra.pushed, 3);
    b.sync().await.unwrap();
    a.sync().await.unwrap();
    assert_eq!((a.unsynced().unwrap(), b.unsynced().unwrap()), (0, 0));

    let fa = a.student_file(kid, Utc::now()).unwrap();
    let fb = b.student_file(kid, Utc::now()).unwrap();
    assert_eq!(fa, fb, "both phones show the same file");
    assert_eq!(
        fa.guardians[0].phone.as_ref().unwrap().as_str(),
        "13922222222",
        "the later number shows"
    );
    assert_eq!(fa.conflicts.len(), 1, "the status clash waits for a person");
    let visits = fa
        .timeline
        .iter()
        .filter(|e| matches!(e.event, baoxue_shared::file::Event::Visit { .. }))
        .count();
    assert_eq!(visits, 2);
    // The semester home visit is done for this student on both phones.
    assert!(
        !fa.due
            .iter()
            .any(|d| matches!(d, DueWork::SemesterHomeVisit { .. }))
    );
    server.stop().await;
}

#[tokio::test]
async fn a_killed_app_keeps_its_outbox_and_bad_input_is_refused_beside_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Seeder::open(&dir.path().join("data"));
    let mut rng = fastrand::Rng::with_seed(22);
    let (h, students) = s.household_with_students(&mut rng, 1);
    s.teacher("t", &students);
    s.close();
    let server = TestServer::start(&dir.path().join("data")).await;
    let device = DeviceId::new();
    let kid = students[0].id;
    {
        let mut a = app(&server, "t", dir.path(), device).await;
        a.sync().await.unwrap();
        let mut v = sample::visit(
            &mut rng,
            VisitKind::HomeVisit,
            a.author().user,
            kid,
            &h,
            Utc::now() - Duration::hours(1),
        );
        v.notes = "家".repeat(5000);
        let Err(EditError::Invalid(errs)) = a.record_visit(v.clone(), Utc::now()) else {
            panic!("a 5000-character note must be refused")
        };
        assert_eq!(
            errs.for_field("visit.notes").unwrap().reason.code(),
            "too_long"
        );
        let e = a.set_status(kid, EnrolmentStatus::Graduated, Utc::now());
        assert!(e.is_ok(), "in school → graduated is allowed");
        let Err(EditError::Invalid(errs)) =
            a.set_status(kid, EnrolmentStatus::DroppedOut, Utc::now())
        else {
            panic!("graduated → dropped out is illegal")
        };
        assert_eq!(errs.0[0].reason.code(), "illegal_transition");
        v.notes = "正常记录".into();
        a.record_visit(v, Utc::now()).unwrap();
        assert_eq!(a.unsynced().unwrap(), 2);
        // The app is killed here: no sync, no clean shutdown.
    }
    server.stop().await;
    // Offline: the server is gone; reopening the phone shows everything saved, and sync says why it waits.
    let key = derive_key(PASSWORD, &[9u8; 16]);
    let store = LocalStore::open(&dir.path().join("t.db"), &key).unwrap();
    assert_eq!(store.outbox_len().unwrap(), 2);
    let offline_engine = SyncEngine::resume(baoxue_app::core::sync::ServerSession {
        base_url: "http://127.0.0.1:9".into(),
        token: "x".into(),
        user: baoxue_shared::people::User {
            id: baoxue_shared::ids::UserId::new(),
            account: "t".into(),
            name: "t".into(),
            role: baoxue_shared::people::Role::Teacher,
            assignments: vec![],
        },
        device,
        expires_at: Utc::now() + Duration::days(1),
    });
    let mut a = FieldApp::new(store, offline_engine).unwrap();
    let e = a.sync().await.unwrap_err();
    assert!(matches!(e, SyncError::Offline(_)), "{e:?}");
    assert!(e.zh().contains("已保存在手机上"));
    assert_eq!(a.unsynced().unwrap(), 2, "nothing lost while offline");
    assert_eq!(
        a.student_file(kid, Utc::now())
            .unwrap()
            .current
            .unwrap()
            .status,
        EnrolmentStatus::Graduated
    );

    // The server comes back; the phone logs in again and the outbox drains.
    let server = TestServer::start(&dir.path().join("data")).await;
    let mut a = app(&server, "t", dir.path(), device).await;
    assert_eq!(a.unsynced().unwrap(), 2);
    let r = a.sync().await.unwrap();
    assert_eq!(r.pushed, 2);
    assert_eq!(a.unsynced().unwrap(), 0);
    server.stop().await;
}

#[tokio::test]
async fn a_photo_goes_up_after_its_record_and_the_server_file_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Seeder::open(&dir.path().join("data"));
    let mut rng = fastrand::Rng::with_seed(23);
    let (h, students) = s.household_with_students(&mut rng, 1);
    s.teacher("t", &students);
    s.close();
    let server = TestServer::start(&dir.path().join("data")).await;
    let mut a = app(&server, "t", dir.path(), DeviceId::new()).await;
    a.sync().await.unwrap();
    let kid = students[0].id;
    let facts = baoxue_shared::exif::PhotoFacts {
        captured_at: Some(Utc::now() - Duration::minutes(50)),
        gps: h.location,
        orientation: Some(6),
    };
    let original = baoxue_app::core::photo::camera_like(2400, 1800, &facts, 3);
    let photo = a.take_photo(&original).unwrap();
    assert!(photo.bytes <= 300 * 1024);
    let mut v = sample::visit(
        &mut rng,
        VisitKind::HouseholdVisit,
        a.author().user,
        kid,
        &h,
        Utc::now() - Duration::hours(1),
    );
    v.photos = vec![photo.clone()];
    a.record_visit(v, Utc::now()).unwrap();
    let r = a.sync().await.unwrap();
    assert_eq!((r.pushed, r.photos), (1, 1));
    assert_eq!(r.photo_bytes, photo.bytes);
    // Again: nothing left to send.
    let r = a.sync().await.unwrap();
    assert_eq!((r.pushed, r.photos), (0, 0));
    let t = baoxue_tests::Phone::login(&server, "t").await;
    let file = t.file(kid).await.unwrap();
    assert_eq!(file.photos[0].sha256, photo.sha256);
    assert!(file.photos[0].present);
    server.stop().await;
}

#[tokio::test]
async fn after_one_login_the_phone_unlocks_offline_with_the_password() {
    use baoxue_app::core::install::{Installation, LoginError};
    let dir = tempfile::tempdir().unwrap();
    let mut s = Seeder::open(&dir.path().join("data"));
    let mut rng = fastrand::Rng::with_seed(24);
    let (_, students) = s.household_with_students(&mut rng, 1);
    s.teacher("t", &students);
    s.teacher("t2", &students);
    s.close();
    let server = TestServer::start(&dir.path().join("data")).await;
    let phone_dir = dir.path().join("phone");
    let inst = Installation::open(&phone_dir).unwrap();
    let mut a = inst.log_in(&server.url(""), "t", PASSWORD).await.unwrap();
    a.sync().await.unwrap();
    assert_eq!(a.caseload(Utc::now()).len(), 1);
    drop(a);
    server.stop().await;

    // No network now. The same phone (same device id) unlocks with the password.
    let inst = Installation::open(&phone_dir).unwrap();
    let a = inst.unlock("t", PASSWORD).await.unwrap();
    assert_eq!(a.author().device, inst.device());
    assert_eq!(
        a.caseload(Utc::now()).len(),
        1,
        "the caseload is there offline"
    );
    assert!(!a.needs_login(Utc::now()));
    assert!(
        a.needs_login(Utc::now() + Duration::days(31)),
        "the session's end is known offline"
    );
    let e = inst.unlock("t", "wrong-password").await.err().unwrap();
    assert_eq!(e.zh(), "密码错误");
    let e = inst.unlock("t2", PASSWORD).await.err().unwrap();
    assert!(
        matches!(e, LoginError::NeverLoggedIn),
        "another user of a shared phone needs their own first login"
    );
    let e = inst
        .log_in("http://127.0.0.1:9", "t2", PASSWORD)
        .await
        .err()
        .unwrap();
    assert!(e.zh().contains("无法连接服务器"));
}

#[tokio::test]
async fn a_device_check_entered_through_the_form_counts_in_the_countys_compliance_figure() {
    use baoxue_app::core::visit_draft::VisitDraft;
    use baoxue_shared::observation::{Answer, LearningDevice};
    use baoxue_shared::op::HouseholdField;
    let dir = tempfile::tempdir().unwrap();
    let mut s = Seeder::open(&dir.path().join("data"));
    let mut rng = fastrand::Rng::with_seed(31);
    let (h, students) = s.household_with_students(&mut rng, 1);
    let world = s.world.clone();
    let poor = s.admin.set(
        &world,
        Target::Household {
            id: h.id,
            set: HouseholdField::RegisteredPoor(true),
        },
        Utc::now() - Duration::days(20),
    );
    s.roster(vec![poor]);
    s.teacher("t", &students);
    s.user(
        "county",
        baoxue_shared::people::Role::CountySupervisor,
        vec![baoxue_tests::county_area()],
    );
    s.close();
    let server = TestServer::start(&dir.path().join("data")).await;
    let mut a = app(&server, "t", dir.path(), DeviceId::new()).await;
    a.sync().await.unwrap();

    // What the form holds after a teacher answered 一看二问三查 (the screens test drives the
    // form into this state), saved and synced.
    let now = Utc::now();
    let draft = VisitDraft {
        notes: "电视和手机都能收看网课".into(),
        device_check: true,
        devices_seen: [LearningDevice::Tv, LearningDevice::Smartphone].into(),
        device_works: Answer::Yes,
        can_get_online: Answer::Yes,
        can_attend_class: Answer::Yes,
        ..Default::default()
    };
    let visit = draft.to_visit(students[0].id, a.author().user, Some(h.id), now);
    a.record_visit(visit, now).unwrap();
    assert_eq!(a.sync().await.unwrap().pushed, 1);

    let b = baoxue_tests::Browser::login(&server, "county").await;
    let (status, page) = b.get("/console/reports").await;
    assert_eq!(status, 200);
    let table = &page[page.find("id=\"coverage\"").expect("the coverage table")..];
    let cells: Vec<&str> = table
        .split("<td class=\"num\">")
        .skip(1)
        .take(4)
        .map(|c| c.split('<').next().unwrap())
        .collect();
    assert_eq!(
        cells,
        ["1", "1", "100%", "1"],
        "one registered-poor household, checked, with a working device"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_photo_cut_off_mid_upload_goes_on_from_where_it_broke_after_the_app_restarts() {
    use baoxue_app::core::sync::PHOTO_CHUNK;
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let mut s = Seeder::open(&dir.path().join("data"));
    let mut rng = fastrand::Rng::with_seed(41);
    let (h, students) = s.household_with_students(&mut rng, 1);
    s.teacher("t", &students);
    s.close();
    let server = TestServer::start(&dir.path().join("data")).await;
    // The signal drops after 90 KB of the photo.
    let proxy = baoxue_tests::CuttingProxy::start(&server, 90 * 1024).await;
    let device = DeviceId::new();
    let mut a = app_via(&proxy.url, "t", dir.path(), device).await;
    a.sync().await.unwrap();
    let facts = baoxue_shared::exif::PhotoFacts {
        captured_at: Some(Utc::now() - Duration::minutes(30)),
        gps: h.location,
        orientation: Some(1),
    };
    let photo = a
        .take_photo(&baoxue_app::core::photo::camera_like(2400, 1800, &facts, 5))
        .unwrap();
    assert!(
        photo.bytes > 2 * PHOTO_CHUNK,
        "a photo of several pieces ({} bytes)",
        photo.bytes
    );
    let mut v = sample::visit(
        &mut rng,
        VisitKind::HouseholdVisit,
        a.author().user,
        students[0].id,
        &h,
        Utc::now() - Duration::hours(1),
    );
    v.photos = vec![photo.clone()];
    a.record_visit(v, Utc::now()).unwrap();
    let e = a.sync().await.unwrap_err();
    assert!(matches!(e, SyncError::Offline(_)), "{e}");

    // The server kept the pieces that arrived whole.
    let t = baoxue_tests::Phone::login(&server, "t").await;
    let url = server.url(&format!("/api/photos/{}", photo.sha256));
    let head = t
        .http
        .head(&url)
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 404, "not complete yet");
    let held: u64 = head.headers()["upload-offset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        held >= PHOTO_CHUNK && held.is_multiple_of(PHOTO_CHUNK),
        "{held}"
    );

    // The app is killed and started again on the same store; its next sync sends the rest.
    drop(a);
    let mut b = app_via(&proxy.url, "t", dir.path(), device).await;
    let before = proxy.upload_bytes.load(Ordering::SeqCst);
    let r = b.sync().await.unwrap();
    assert_eq!((r.photos, r.photo_bytes), (1, photo.bytes - held));
    let again = proxy.upload_bytes.load(Ordering::SeqCst) - before;
    assert!(
        again < photo.bytes,
        "only the rest went over the line ({again} of {} bytes)",
        photo.bytes
    );
    let got = t
        .http
        .get(&url)
        .bearer_auth(&t.token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        baoxue_shared::observation::Sha256::of(&got),
        photo.sha256,
        "the server ends with the right bytes"
    );
    server.stop().await;
}

/// The Android app keeps its store in its private folder, which no one can copy a file out of;
/// a refused record's export for the school admin goes to the shared folder the shell names.
#[tokio::test]
async fn an_installation_exports_to_the_folder_its_shell_names_and_not_beside_its_store() {
    use baoxue_app::core::install::Installation;
    use baoxue_app::core::sync::SyncHost;
    let dir = tempfile::tempdir().unwrap();
    let mut s = Seeder::open(&dir.path().join("data"));
    let mut rng = fastrand::Rng::with_seed(25);
    let (_, students) = s.household_with_students(&mut rng, 1);
    s.teacher("t", &students);
    s.close();
    let server = TestServer::start(&dir.path().join("data")).await;
    let (private, shared) = (dir.path().join("files"), dir.path().join("Download"));
    std::fs::create_dir_all(&shared).unwrap();
    let inst = Installation::open(&private)
        .unwrap()
        .with_exports_in(&shared);
    let mut a = inst.log_in(&server.url(""), "t", PASSWORD).await.unwrap();
    a.sync().await.unwrap();
    let now = Utc::now();
    a.set_status(students[0].id, EnrolmentStatus::SuspectedDropout, now)
        .unwrap();
    let op = a.store().outbox(10).unwrap()[0].id;
    let a = std::cell::RefCell::new(a);
    a.with_store(|s, _| s.set_aside(op, "out_of_scope", "已不在您的负责范围内", now))
        .unwrap();
    let path = a.borrow().export_set_aside_here(now).unwrap();
    assert_eq!(path.parent(), Some(shared.as_path()), "{}", path.display());
    let batch = baoxue_shared::wire::decode_batch(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(batch.ops[0].id, op);
    let beside_store = std::fs::read_dir(&private)
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().starts_with("未上传记录-"));
    assert!(!beside_store, "nothing left in the private folder");
    server.stop().await;
}

#[tokio::test]
async fn after_a_password_reset_the_old_password_asked_once_moves_the_phones_data_over() {
    use baoxue_app::core::install::{Installation, LoginError};
    use baoxue_app::core::local::LocalError;
    let dir = tempfile::tempdir().unwrap();
    // The school admin reset the teacher's password after the phone saved a change offline.
    let new = "新密码-2026-winter";
    let server =
        baoxue_tests::phone_with_an_unsynced_change_then_a_password_reset(dir.path(), new).await;
    let inst = Installation::open(&dir.path().join("phone")).unwrap();
    // The new password logs in, and the phone says its data is still under the old one.
    let e = inst.log_in(&server.url(""), "t", new).await.err().unwrap();
    assert!(matches!(e, LoginError::PasswordChanged), "{e}");
    assert!(e.zh().contains("旧密码"), "{}", e.zh());
    // The old password, asked once: the data, the outbox with it, is under the new one now.
    let mut a = inst
        .change_password(&server.url(""), "t", PASSWORD, new)
        .await
        .unwrap();
    assert_eq!(a.unsynced().unwrap(), 1, "nothing lost");
    assert_eq!(a.sync().await.unwrap().pushed, 1);
    drop(a);
    assert!(
        inst.unlock("t", new).await.is_ok(),
        "offline with the new password"
    );
    assert!(matches!(
        inst.unlock("t", PASSWORD).await.err().unwrap(),
        LoginError::Local(LocalError::WrongKey)
    ));
    server.stop().await;
}

#[test]
fn a_damaged_key_salt_is_reported_and_never_replaced() {
    use baoxue_app::core::install::{Installation, LoginError};
    let dir = tempfile::tempdir().unwrap();
    let inst = Installation::open(dir.path()).unwrap();
    let device = inst.device();
    std::fs::write(dir.path().join("key-salt"), b"abc").unwrap();
    let e = Installation::open(dir.path()).err().unwrap();
    assert!(
        matches!(
            e,
            LoginError::DamagedInstallation {
                file: "key-salt",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.zh().contains("key-salt"), "{}", e.zh());
    assert_eq!(
        std::fs::read(dir.path().join("key-salt")).unwrap(),
        b"abc",
        "the damaged file is left for whoever can repair it"
    );
    std::fs::write(dir.path().join("device-id"), b"not an id").unwrap();
    std::fs::write(dir.path().join("key-salt"), [7u8; 16]).unwrap();
    assert!(matches!(
        Installation::open(dir.path()).err().unwrap(),
        LoginError::DamagedInstallation {
            file: "device-id",
            ..
        }
    ));
    assert_ne!(device.to_string(), "not an id");
}

/// Put `student` in or out of `account`'s care, as the school admin does on the server.
fn assign(data: &Path, account: &str, student: baoxue_shared::ids::StudentId, remove: bool) {
    baoxue_server::admin::user(
        data,
        baoxue_tests::test_database(data).as_deref(),
        baoxue_server::admin::UserCommand::Assign {
            account: account.into(),
            student: vec![student],
            household: vec![],
            school: None,
            county: None,
            township: None,
            remove,
        },
    )
    .unwrap();
}

#[tokio::test]
async fn a_record_the_server_refuses_is_set_aside_with_its_reason_and_the_rest_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = Seeder::open(&data);
    let mut rng = fastrand::Rng::with_seed(51);
    let (h, students) = s.household_with_students(&mut rng, 2);
    let (moved, stays) = (students[0].id, students[1].id);
    s.teacher("t", &students);
    s.teacher("colleague", &students[1..]);
    s.close();
    let server = TestServer::start(&data).await;
    let mut a = app(&server, "t", dir.path(), DeviceId::new()).await;
    a.sync().await.unwrap();

    // Offline on the mountain: a visit to the first child, a status change for the second.
    let now = Utc::now();
    let photo = a
        .take_photo(&baoxue_app::core::photo::camera_like(
            800,
            600,
            &baoxue_shared::exif::PhotoFacts::default(),
            9,
        ))
        .unwrap();
    let mut v = sample::visit(
        &mut rng,
        VisitKind::HomeVisit,
        a.author().user,
        moved,
        &h,
        now - Duration::hours(2),
    );
    v.photos = vec![photo.clone()];
    let visit_id = v.id;
    a.record_visit(v, now).unwrap();
    a.set_status(stays, EnrolmentStatus::SuspectedDropout, now)
        .unwrap();
    // Meanwhile the first child is paired with someone else, and a colleague records a visit
    // to the second.
    assign(&data, "t", moved, true);
    let mut colleague = baoxue_tests::Phone::login(&server, "colleague").await;
    colleague.pull().await;
    let theirs = colleague.make(|au, _| {
        au.record(
            sample::visit(
                &mut rng,
                VisitKind::HomeVisit,
                au.user,
                stays,
                &h,
                now - Duration::hours(1),
            ),
            now,
        )
    });
    colleague.push(vec![theirs]).await.unwrap();

    // The sync goes through: the refused visit is set aside, the rest pushed, news pulled; its
    // photo waits on the phone with it (no record the server holds cites it yet).
    let r = a.sync().await.unwrap();
    assert_eq!((r.pushed, r.set_aside, r.photos), (1, 1, 0));
    assert_eq!(a.usage().unwrap().2, 1, "the photo still waits to go up");
    let held = a.set_aside().unwrap();
    assert_eq!(held.len(), 1);
    assert!(matches!(&held[0].op.body, baoxue_shared::op::OpBody::Record(v) if v.id == visit_id));
    assert!(
        held[0].reason.contains("已不在您的负责范围内") && held[0].reason.contains("重新提交"),
        "{}",
        held[0].reason
    );
    assert_eq!(
        a.unsynced().unwrap(),
        1,
        "still on the phone, still unsynced"
    );
    let file = a.student_file(stays, Utc::now()).unwrap();
    assert_eq!(
        file.live_visits().count(),
        1,
        "the colleague's visit arrived"
    );
    // Syncing again does not send it again and does not stop.
    let r = a.sync().await.unwrap();
    assert_eq!((r.pushed, r.set_aside), (0, 0));

    // It can be handed to the school admin as a batch file.
    let out = dir.path().join("set-aside.json");
    assert_eq!(a.export_set_aside(&out).unwrap(), 1);
    let batch = baoxue_shared::wire::decode_batch(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(batch.ops[0].id, held[0].op.id);

    // The admin cannot take the file in while the child is outside the author's care: a file
    // carries nothing its author could not have written.
    let import = || {
        baoxue_server::admin::ops(
            &data,
            baoxue_tests::test_database(&data).as_deref(),
            baoxue_server::admin::OpsCommand::Import {
                file: out.clone(),
                account: "admin".into(),
            },
        )
    };
    let e = import().unwrap_err();
    assert!(e.to_string().contains("not in your caseload"), "{e}");
    // The pairing is put right: the admin takes the file in, and the teacher's retry finds the
    // record already there.
    assign(&data, "t", moved, false);
    import().unwrap();
    a.retry_set_aside(held[0].op.id).unwrap();
    let r = a.sync().await.unwrap();
    assert_eq!(
        (r.pushed, r.set_aside, r.photos),
        (1, 0, 1),
        "the photo follows it"
    );
    assert_eq!(a.unsynced().unwrap(), 0);
    let t = baoxue_tests::Phone::login(&server, "t").await;
    let file = t.file(moved).await.unwrap();
    assert!(
        file.file.live_visits().any(|v| v.id == visit_id),
        "nothing was dropped"
    );
    server.stop().await;
}
