//! The sync server end to end: a real server on a loopback port over a real SQLite file, phones
//! pushing and pulling over HTTP.

use baoxue_shared::file::StudentFile;
use baoxue_shared::ids::{GuardianId, StudentId};
use baoxue_shared::observation::VisitKind;
use baoxue_shared::op::{EntityRef, FieldKey, GuardianField, OpBody, StudentField, Target};
use baoxue_shared::people::{Assignment, Role};
use baoxue_shared::phone::MobileNumber;
use baoxue_shared::sample;
use baoxue_shared::status::EnrolmentStatus;
use baoxue_tests::{Phone, Seeder, TestServer, jpeg};
use chrono::{Duration, Utc};
use std::path::Path;

struct World {
    shared_student: StudentId,
    other_student: StudentId,
    guardian: GuardianId,
}

/// Two teachers both paired with one student (a class teacher and a paired teacher), one of
/// them with a second student; a county supervisor.
fn seed(dir: &Path) -> World {
    let mut s = Seeder::open(dir);
    let mut rng = fastrand::Rng::with_seed(1);
    let today = baoxue_shared::time::today_in_china();
    let h = sample::household(&mut rng);
    let a = sample::student(&mut rng, &h, today);
    let b = sample::student(&mut rng, &h, today);
    let g = sample::guardian(&mut rng, a.id);
    let t0 = Utc::now() - Duration::days(30);
    let world = s.world.clone();
    let mut ops = s.admin.household_ops(&world, &h, t0);
    ops.extend(s.admin.student_ops(&world, &a, t0));
    ops.extend(s.admin.student_ops(&world, &b, t0));
    ops.extend(s.admin.guardian_ops(&world, &g, t0));
    s.roster(ops);
    s.user(
        "teacher_a",
        Role::Teacher,
        vec![Assignment::Student { student: a.id }],
    );
    s.user(
        "teacher_b",
        Role::Teacher,
        vec![
            Assignment::Student { student: a.id },
            Assignment::Student { student: b.id },
        ],
    );
    s.user(
        "county",
        Role::CountySupervisor,
        vec![baoxue_tests::county_area()],
    );
    s.user("liaison", Role::Liaison, vec![]);
    s.close();
    World {
        shared_student: a.id,
        other_student: b.id,
        guardian: g.id,
    }
}

fn status(id: StudentId, s: EnrolmentStatus) -> Target {
    Target::Student {
        id,
        set: StudentField::Status(s),
    }
}

/// One phone's offline edits of the shared student: the guardian's number and the status.
fn offline_edits(
    p: &mut Phone,
    w: &World,
    phone: &str,
    to: EnrolmentStatus,
    at: chrono::DateTime<Utc>,
) -> Vec<baoxue_shared::op::Op> {
    let number = MobileNumber::parse(phone).unwrap();
    vec![
        p.make(|au, r| {
            au.set(
                r,
                Target::Guardian {
                    id: w.guardian,
                    set: GuardianField::Phone(Some(number)),
                },
                at,
            )
        }),
        p.make(|au, r| au.set(r, status(w.shared_student, to), at)),
    ]
}

async fn conflicting_edits(a_first: bool) -> (serde_json::Value, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let w = seed(dir.path());
    let server = TestServer::start(dir.path()).await;
    let mut a = Phone::login(&server, "teacher_a").await;
    let mut b = Phone::login(&server, "teacher_b").await;
    a.pull().await;
    b.pull().await;
    // Offline, both edit the same student: the guardian's phone and the status.
    let now = Utc::now();
    let a_ops = offline_edits(
        &mut a,
        &w,
        "13900000001",
        EnrolmentStatus::SuspectedDropout,
        now,
    );
    let later = now + Duration::seconds(5);
    let b_ops = offline_edits(
        &mut b,
        &w,
        "13900000002",
        EnrolmentStatus::TransferredOut,
        later,
    );
    if a_first {
        a.push(a_ops).await.unwrap();
        b.push(b_ops).await.unwrap();
    } else {
        b.push(b_ops).await.unwrap();
        a.push(a_ops).await.unwrap();
    }
    a.pull().await;
    b.pull().await;
    // Both phones converge on the same file for the student they share.
    let terms = baoxue_shared::time::TermCalendar::typical(2025..=2026);
    let present = |_: &baoxue_shared::observation::Sha256| true;
    let cx = baoxue_shared::file::FileContext {
        now: Utc::now(),
        terms: &terms,
        photo_present: &present,
    };
    assert_eq!(
        StudentFile::build(&a.replica, w.shared_student, &cx),
        StudentFile::build(&b.replica, w.shared_student, &cx)
    );
    let phone_key = FieldKey {
        entity: EntityRef::Guardian(w.guardian),
        field: "phone",
    };
    let history: Vec<String> = a
        .replica
        .register(&phone_key)
        .unwrap()
        .history()
        .filter_map(|id| match &a.replica.op(id).unwrap().body {
            OpBody::Set(fw) => match &fw.target {
                Target::Guardian {
                    set: GuardianField::Phone(Some(p)),
                    ..
                } => Some(p.as_str().to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let sup = Phone::login(&server, "county").await;
    let file = sup
        .get(&format!("/api/students/{}/file", w.shared_student))
        .await
        .unwrap();
    server.stop().await;
    (file["file"].clone(), history)
}

#[tokio::test]
async fn conflicting_offline_edits_converge_in_both_orders_and_keep_the_losers() {
    let (f1, h1) = conflicting_edits(true).await;
    let (f2, h2) = conflicting_edits(false).await;
    for (file, history) in [(&f1, &h1), (&f2, &h2)] {
        // The later write shows; the earlier stays in the field's history.
        assert_eq!(file["guardians"][0]["phone"], "13900000002");
        assert!(history.contains(&"13900000001".to_string()), "{history:?}");
        assert!(history.contains(&"13900000002".to_string()));
        // The status clash is surfaced for review, not silently decided.
        let conflicts = file["conflicts"].as_array().unwrap();
        assert_eq!(conflicts.len(), 1, "{file}");
        assert_eq!(conflicts[0]["field"], "status");
        let mut values: Vec<&str> = conflicts[0]["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["value"].as_str().unwrap())
            .collect();
        values.sort();
        assert_eq!(values, ["suspected_dropout", "transferred_out"]);
    }
    // Same decision whichever push came first.
    assert_eq!(f1["current"]["status"], f2["current"]["status"]);
}

#[tokio::test]
async fn a_repeated_push_gets_the_same_answer_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let w = seed(dir.path());
    let server = TestServer::start(dir.path()).await;
    let mut a = Phone::login(&server, "teacher_a").await;
    a.pull().await;
    let mut rng = fastrand::Rng::with_seed(5);
    let h = a.household_of(w.shared_student);
    let v = sample::visit(
        &mut rng,
        VisitKind::HomeVisit,
        a.author.user,
        w.shared_student,
        &h,
        Utc::now() - Duration::hours(2),
    );
    let op = a.make(|au, _| au.record(v, Utc::now()));
    let batch = baoxue_shared::wire::Batch::new(a.author.device, vec![op]);
    let first = a.push_batch(&batch).await.unwrap();
    let second = a.push_batch(&batch).await.unwrap();
    assert_eq!(first, second, "the same batch gets the same receipt");
    assert_eq!(first["new"], 1);
    // Another device cannot reuse the batch id (nor read the receipt through it).
    let mut b = Phone::login(&server, "teacher_b").await;
    b.pull().await;
    let bop = b.make(|au, r| {
        au.set(
            r,
            status(w.shared_student, EnrolmentStatus::SuspectedDropout),
            Utc::now(),
        )
    });
    let stolen = baoxue_shared::wire::Batch {
        v: 1,
        batch: batch.batch,
        device: b.author.device,
        ops: vec![bop],
    };
    let e = b.push_batch(&stolen).await.unwrap_err();
    assert_eq!((e.status, e.code()), (409, "batch_id_taken"));
    // The same op in a new batch is acknowledged but not stored twice.
    let again = a.push(batch.ops.clone()).await.unwrap();
    assert_eq!(again["new"], 0);
    assert_eq!(again["stored"], first["stored"]);
    let sup = Phone::login(&server, "county").await;
    let file = sup
        .get(&format!("/api/students/{}/file", w.shared_student))
        .await
        .unwrap();
    let visits = file["file"]["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"]["kind"] == "visit")
        .count();
    assert_eq!(visits, 1);
    server.stop().await;
}

#[tokio::test]
async fn out_of_scope_reads_and_writes_are_refused_and_nothing_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let w = seed(dir.path());
    let server = TestServer::start(dir.path()).await;
    let mut a = Phone::login(&server, "teacher_a").await;
    a.pull().await;
    assert!(
        a.replica.student(w.other_student).is_none(),
        "a pull carries only the caseload"
    );
    // One good op and one about a student not paired with teacher A: the whole batch is refused.
    let good = a.make(|au, r| {
        au.set(
            r,
            status(w.shared_student, EnrolmentStatus::SuspectedDropout),
            Utc::now(),
        )
    });
    let bad = a.make(|au, r| {
        au.set(
            r,
            status(w.other_student, EnrolmentStatus::DroppedOut),
            Utc::now(),
        )
    });
    let bad_id = bad.id;
    let e = a.push(vec![good, bad]).await.unwrap_err();
    assert_eq!((e.status, e.code()), (403, "out_of_scope"));
    assert_eq!(
        e.body["error"]["refused_op"],
        bad_id.to_string(),
        "the refusal names the op, so the phone can set it aside and push the rest"
    );
    assert!(
        e.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not in your caseload")
    );
    let e = a
        .get(&format!("/api/students/{}/file", w.other_student))
        .await
        .unwrap_err();
    assert_eq!(e.status, 404);
    let mine = a
        .get(&format!("/api/students/{}/file", w.shared_student))
        .await
        .unwrap();
    assert_eq!(
        mine["file"]["current"]["status"], "in_school",
        "the good half was not applied"
    );
    // (That a teacher may not void an existing record: `authz.rs`.)
    // A liaison with no households sees nobody.
    let l = Phone::login(&server, "liaison").await;
    let list = l.get("/api/students").await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 0);
    server.stop().await;
}

#[tokio::test]
async fn a_newly_paired_student_arrives_with_history_in_the_next_pull() {
    let dir = tempfile::tempdir().unwrap();
    let w = seed(dir.path());
    let server = TestServer::start(dir.path()).await;
    let mut a = Phone::login(&server, "teacher_a").await;
    a.pull().await;
    assert!(a.replica.student(w.other_student).is_none());
    // Pair teacher A with the other student while the server runs.
    let (store, _) = baoxue_tests::open_store(dir.path());
    let teacher = baoxue_server::store::Store::account(store.as_ref(), "teacher_a")
        .unwrap()
        .unwrap()
        .user;
    baoxue_server::store::Store::assign(
        store.as_ref(),
        teacher.id,
        &Assignment::Student {
            student: w.other_student,
        },
    )
    .unwrap();
    store.close();
    let n = a.pull().await;
    assert!(
        n >= 10,
        "the roster history of the new student came along ({n} ops)"
    );
    assert_eq!(
        a.replica.student(w.other_student).unwrap().status,
        EnrolmentStatus::InSchool
    );
    // And nothing is sent twice afterwards.
    assert_eq!(a.pull().await, 0);
    server.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_4xx_naming_the_problem_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let w = seed(dir.path());
    let server = TestServer::start(dir.path()).await;
    let mut a = Phone::login(&server, "teacher_a").await;
    a.pull().await;

    let e = a
        .push_raw(b"{\"v\":1,\"batch\":".to_vec())
        .await
        .unwrap_err();
    assert_eq!((e.status, e.code()), (400, "malformed_batch"));
    let e = a
        .push_raw(br#"{"v":1,"batch":"x","device":42,"ops":[]}"#.to_vec())
        .await
        .unwrap_err();
    assert_eq!((e.status, e.code()), (400, "malformed_batch"));
    assert!(
        e.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("column"),
        "{:?}",
        e.body
    );
    let e = a
        .push_raw(vec![b' '; baoxue_shared::wire::MAX_BATCH_BYTES + 10])
        .await
        .unwrap_err();
    assert_eq!(e.status, 413);
    // A field error names the field.
    let op = a.make(|au, r| {
        au.set(
            r,
            Target::Student {
                id: w.shared_student,
                set: StudentField::Name(String::new()),
            },
            Utc::now(),
        )
    });
    let e = a.push(vec![op]).await.unwrap_err();
    assert_eq!((e.status, e.code()), (422, "invalid_operation"));
    assert_eq!(e.body["error"]["fields"][0]["field"], "ops[0].set.name");
    assert_eq!(e.body["error"]["fields"][0]["zh"], "必填");
    // An illegal status move is refused against what the server knows.
    let grad = a.make(|au, r| {
        au.set(
            r,
            status(w.shared_student, EnrolmentStatus::Graduated),
            Utc::now(),
        )
    });
    a.push(vec![grad]).await.unwrap();
    let back = a.make(|au, r| {
        au.set(
            r,
            status(w.shared_student, EnrolmentStatus::DroppedOut),
            Utc::now(),
        )
    });
    let e = a.push(vec![back]).await.unwrap_err();
    assert_eq!(e.body["error"]["fields"][0]["code"], "illegal_transition");

    // Photos: a text file posing as a JPEG, and a wrong hash.
    let text = b"just text, named photo.jpg".to_vec();
    let sha = baoxue_shared::observation::Sha256::of(&text);
    let r = a
        .http
        .put(server.url(&format!("/api/photos/{sha}")))
        .bearer_auth(&a.token)
        .body(text)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 415);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "photo_not_an_image");
    let r = a
        .http
        .put(server.url(&format!(
            "/api/photos/{}",
            baoxue_shared::observation::Sha256::of(b"x")
        )))
        .bearer_auth(&a.token)
        .body(jpeg())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);

    // No token, a garbage token, an expired token.
    let r = a.http.get(server.url("/api/me")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let r = a
        .http
        .get(server.url("/api/me"))
        .bearer_auth("nonsense")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let (store, _) = baoxue_tests::open_store(dir.path());
    let user = baoxue_server::store::Store::account(store.as_ref(), "teacher_a")
        .unwrap()
        .unwrap()
        .user;
    let old = "ab".repeat(32);
    baoxue_server::store::Store::save_token(
        store.as_ref(),
        &baoxue_server::store::TokenRecord {
            hash: baoxue_server::auth::token_hash(&old),
            user: user.id,
            device: a.author.device,
            issued_at: Utc::now() - Duration::days(40),
            expires_at: Utc::now() - Duration::days(10),
        },
    )
    .unwrap();
    store.close();
    let r = a
        .http
        .get(server.url("/api/me"))
        .bearer_auth(&old)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_token");

    // After all that, the student is as the one good push left it.
    let file = a
        .get(&format!("/api/students/{}/file", w.shared_student))
        .await
        .unwrap();
    assert_eq!(file["file"]["current"]["status"], "graduated");
    assert!(!file["file"]["current"]["name"].as_str().unwrap().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn repeated_failed_logins_are_paused() {
    let dir = tempfile::tempdir().unwrap();
    seed(dir.path());
    let server = TestServer::start(dir.path()).await;
    let http = reqwest::Client::new();
    let device = baoxue_shared::ids::DeviceId::new();
    let mut last = 0;
    for _ in 0..6 {
        let r = http
            .post(server.url("/api/login"))
            .json(&serde_json::json!({ "account": "teacher_a", "password": "wrong-password", "device": device }))
            .send()
            .await
            .unwrap();
        last = r.status().as_u16();
    }
    assert_eq!(last, 429);
    // Even the right password waits now.
    let r = http
        .post(server.url("/api/login"))
        .json(&serde_json::json!({ "account": "teacher_a", "password": baoxue_tests::PASSWORD, "device": device }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.headers().get("retry-after").is_some());
    server.stop().await;
}

#[tokio::test]
async fn a_photo_uploaded_in_pieces_moves_from_pending_to_present() {
    let dir = tempfile::tempdir().unwrap();
    let w = seed(dir.path());
    let server = TestServer::start(dir.path()).await;
    let mut a = Phone::login(&server, "teacher_a").await;
    a.pull().await;
    let bytes = jpeg();
    let sha = baoxue_shared::observation::Sha256::of(&bytes);
    let mut rng = fastrand::Rng::with_seed(9);
    let h = a.household_of(w.shared_student);
    let mut v = sample::visit(
        &mut rng,
        VisitKind::HouseholdVisit,
        a.author.user,
        w.shared_student,
        &h,
        Utc::now() - Duration::hours(1),
    );
    v.photos = vec![baoxue_shared::observation::PhotoRef {
        sha256: sha,
        bytes: bytes.len() as u64,
        width: 64,
        height: 48,
        captured_at: None,
        gps: None,
    }];
    let op = a.make(|au, _| au.record(v, Utc::now()));
    a.push(vec![op]).await.unwrap();
    // The record arrived before its photo: pending.
    let file = a
        .get(&format!("/api/students/{}/file", w.shared_student))
        .await
        .unwrap();
    assert!(
        file["file"]["missing_evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["kind"] == "photo_pending")
    );
    let missing = a
        .post_json(
            "/api/photos/missing",
            &serde_json::json!({ "sha256": [sha] }),
        )
        .await
        .unwrap();
    assert_eq!(missing["missing"][0], sha.to_hex());
    // Upload in two pieces; the connection "drops" after the first, and the phone asks where to resume.
    let url = server.url(&format!("/api/photos/{sha}"));
    let total = bytes.len().to_string();
    let half = bytes.len() / 2;
    let r = a
        .http
        .patch(&url)
        .bearer_auth(&a.token)
        .header("upload-offset", "0")
        .header("upload-length", &total)
        .body(bytes[..half].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let r = a
        .http
        .head(&url)
        .bearer_auth(&a.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["upload-offset"].to_str().unwrap(),
        half.to_string()
    );
    let r = a
        .http
        .patch(&url)
        .bearer_auth(&a.token)
        .header("upload-offset", half.to_string())
        .header("upload-length", &total)
        .body(bytes[half..].to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // A retried whole upload is not a duplicate.
    let r = a
        .http
        .put(&url)
        .bearer_auth(&a.token)
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let file = a
        .get(&format!("/api/students/{}/file", w.shared_student))
        .await
        .unwrap();
    assert!(
        !file["file"]["missing_evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["kind"] == "photo_pending"),
        "{}",
        file["file"]["missing_evidence"]
    );
    assert_eq!(file["photos"][0]["present"], true);
    let thumb = a
        .http
        .get(server.url(file["photos"][0]["thumb_url"].as_str().unwrap()))
        .bearer_auth(&a.token)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(
        image::load_from_memory(&thumb).is_ok(),
        "the thumbnail is a real image"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_zstd_compressed_push_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let w = seed(dir.path());
    let server = TestServer::start(dir.path()).await;
    let mut a = Phone::login(&server, "teacher_a").await;
    a.pull().await;
    let op = a.make(|au, r| {
        au.set(
            r,
            status(w.shared_student, EnrolmentStatus::SuspectedDropout),
            Utc::now(),
        )
    });
    let body = baoxue_shared::wire::Batch::new(a.author.device, vec![op]).encode();
    let compressed = zstd::encode_all(&body[..], 3).unwrap();
    assert!(compressed.len() < body.len());
    let r = a
        .http
        .post(server.url("/api/sync/push"))
        .bearer_auth(&a.token)
        .header("content-type", "application/json")
        .header("content-encoding", "zstd")
        .body(compressed)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let receipt: serde_json::Value = r.json().await.unwrap();
    assert_eq!(receipt["new"], 1);
    // A compression bomb: 64 MB of spaces in a few kilobytes is cut off at the batch limit.
    let bomb = zstd::encode_all(&vec![b' '; 64 * 1024 * 1024][..], 19).unwrap();
    assert!(bomb.len() < 100_000);
    let r = a
        .http
        .post(server.url("/api/sync/push"))
        .bearer_auth(&a.token)
        .header("content-encoding", "zstd")
        .body(bomb)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    server.stop().await;
}
