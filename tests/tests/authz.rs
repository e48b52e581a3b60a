//! Authorization and integrity, driven from outside as each role would, with requests built
//! from the wire format: no user writes or reads what another's scope owns.

use baoxue_shared::area::AreaScope;
use baoxue_shared::hlc::Hlc;
use baoxue_shared::ids::RecordId;
use baoxue_shared::observation::{PhotoRef, Sha256, Visit, VisitKind};
use baoxue_shared::op::{GuardianField, HouseholdField, StudentField, Target};
use baoxue_shared::people::{Assignment, Guardian, Household, Role, Student};
use baoxue_shared::phone::MobileNumber;
use baoxue_shared::sample;
use baoxue_tests::{Browser, Phone, Seeder, TestServer, jpeg};
use chrono::{Duration, Utc};
use std::path::Path;

/// Two households of the county. H1: student `a` (teacher_a; liaison1). H2: student `b`
/// (teacher_b, and teacher_b2 as co-paired class teacher) with guardian `gb`, and b's sibling
/// `c` (teacher_c; liaison2). A county supervisor holds both.
struct World {
    h1: Household,
    h2: Household,
    a: Student,
    b: Student,
    c: Student,
    gb: Guardian,
}

fn seed(dir: &Path) -> World {
    let mut s = Seeder::open(dir);
    let mut rng = fastrand::Rng::with_seed(21);
    let (mut h1, a) = s.household_with_students(&mut rng, 1);
    let (mut h2, bc) = s.household_with_students(&mut rng, 2);
    // The sample may make either household poor; the forgery is seen on a poor household.
    h1.registered_poor = false;
    h2.registered_poor = true;
    let world = s.world.clone();
    let t0 = Utc::now() - Duration::days(29);
    let mut ops = s.admin.household_ops(&world, &h1, t0);
    ops.extend(s.admin.household_ops(&world, &h2, t0));
    let gb = sample::guardian(&mut rng, bc[0].id);
    ops.extend(s.admin.guardian_ops(&world, &gb, t0));
    s.roster(ops);
    s.teacher("teacher_a", &a);
    s.teacher("teacher_b", &bc[..1]);
    s.teacher("teacher_b2", &bc[..1]);
    s.teacher("teacher_c", &bc[1..]);
    s.user(
        "liaison1",
        Role::Liaison,
        vec![Assignment::Household { household: h1.id }],
    );
    s.user(
        "liaison2",
        Role::Liaison,
        vec![Assignment::Household { household: h2.id }],
    );
    s.user(
        "county",
        Role::CountySupervisor,
        vec![baoxue_tests::county_area()],
    );
    s.user(
        "township1",
        Role::TownshipSupervisor,
        vec![Assignment::Area {
            area: AreaScope::Township {
                county: h1.area.county.clone(),
                township: h1.area.township.clone(),
            },
        }],
    );
    s.user(
        "school1",
        Role::SchoolAdmin,
        vec![Assignment::School {
            school: baoxue_shared::ids::SchoolId::new(),
        }],
    );
    s.close();
    World {
        h1,
        h2,
        a: a[0].clone(),
        b: bc[0].clone(),
        c: bc[1].clone(),
        gb,
    }
}

async fn start(dir: &Path) -> (World, TestServer) {
    let w = seed(dir);
    (w, TestServer::start(dir).await)
}

async fn phone(server: &TestServer, account: &str) -> Phone {
    let mut p = Phone::login(server, account).await;
    p.pull().await;
    p
}

async fn file(p: &Phone, student: &Student) -> serde_json::Value {
    p.get(&format!("/api/students/{}/file", student.id))
        .await
        .expect("the file")
}

/// Push a visit made on `p`, as the app would; panics in a test if it is refused.
async fn push_visit(p: &mut Phone, v: Visit) {
    let op = p.make(|au, _| au.record(v, Utc::now()));
    p.push(vec![op]).await.expect("the visit is accepted");
}

fn visit_by(p: &Phone, student: &Student, household: &Household, notes: &str) -> Visit {
    let mut rng = fastrand::Rng::with_seed(3);
    let mut v = sample::visit(
        &mut rng,
        VisitKind::HomeVisit,
        p.author.user,
        student.id,
        household,
        Utc::now() - Duration::hours(2),
    );
    v.notes = notes.into();
    v
}

#[tokio::test]
async fn moving_a_student_into_another_teachers_household_is_refused_and_its_facts_stay() {
    let dir = tempfile::tempdir().unwrap();
    let (w, server) = start(dir.path()).await;
    let mut a = phone(&server, "teacher_a").await;
    let now = Utc::now();

    // Teacher A re-points their own student at household H2 ...
    let moved = a.make(|au, r| {
        au.set(
            r,
            Target::Student {
                id: w.a.id,
                set: StudentField::Household(Some(w.h2.id)),
            },
            now,
        )
    });
    let e = a.push(vec![moved.clone()]).await.unwrap_err();
    assert_eq!((e.status, e.code()), (403, "out_of_scope"), "{:?}", e.body);
    // ... and, in the same batch, forges H2's address and poverty flag: refused whole.
    let forged = [
        HouseholdField::Address("伪造的地址".into()),
        HouseholdField::RegisteredPoor(false),
    ]
    .into_iter()
    .map(|set| a.make(|au, r| au.set(r, Target::Household { id: w.h2.id, set }, now)))
    .collect::<Vec<_>>();
    let mut batch = vec![moved];
    batch.extend(forged.clone());
    let e = a.push(batch).await.unwrap_err();
    assert_eq!(e.status, 403);
    let e = a.push(forged).await.unwrap_err();
    assert_eq!((e.status, e.code()), (403, "out_of_scope"));

    // Guardian gb of teacher B's student, re-pointed at teacher A's student, then its phone.
    let repoint = a.make(|au, r| {
        au.set(
            r,
            Target::Guardian {
                id: w.gb.id,
                set: GuardianField::Student(w.a.id),
            },
            now,
        )
    });
    let e = a.push(vec![repoint.clone()]).await.unwrap_err();
    assert_eq!((e.status, e.code()), (403, "out_of_scope"), "{:?}", e.body);
    let phone_change = a.make(|au, r| {
        au.set(
            r,
            Target::Guardian {
                id: w.gb.id,
                set: GuardianField::Phone(Some(MobileNumber::parse("13900001111").unwrap())),
            },
            now,
        )
    });
    let e = a.push(vec![repoint, phone_change]).await.unwrap_err();
    assert_eq!(e.status, 403);

    // Teacher B's student's file is as it was.
    let b = phone(&server, "teacher_b").await;
    let f = file(&b, &w.b).await;
    assert_eq!(f["file"]["household"]["address"], w.h2.address.as_str());
    assert_eq!(f["file"]["household"]["registered_poor"], true);
    assert_eq!(
        f["file"]["guardians"][0]["phone"],
        serde_json::json!(w.gb.phone)
    );

    // Someone who holds both households may record that the child moved.
    let mut county = phone(&server, "county").await;
    let moved = county.make(|au, r| {
        au.set(
            r,
            Target::Student {
                id: w.a.id,
                set: StudentField::Household(Some(w.h2.id)),
            },
            now,
        )
    });
    county.push(vec![moved]).await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_record_id_is_never_taken_over_and_only_its_author_or_a_reviewer_corrects_it() {
    let dir = tempfile::tempdir().unwrap();
    let (w, server) = start(dir.path()).await;
    let mut b = phone(&server, "teacher_b").await;
    let original = visit_by(&b, &w.b, &w.h2, "孩子在家，家长支持返校。");
    push_visit(&mut b, original.clone()).await;

    // Teacher A pushes a record under the same id, about their own student, with a clock from
    // long ago so it would order first.
    let mut a = phone(&server, "teacher_a").await;
    let mut forged = visit_by(&a, &w.a, &w.h1, "伪造的走访情况");
    forged.id = original.id;
    let mut op = a.make(|au, _| au.record(forged, Utc::now()));
    op.hlc = Hlc::at(Utc::now() - Duration::days(300));
    let e = a.push(vec![op]).await.unwrap_err();
    assert_eq!(
        (e.status, e.code()),
        (409, "record_id_taken"),
        "{:?}",
        e.body
    );

    // The console shows the original's notes.
    let console = Browser::login(&server, "county").await;
    let (status, page) = console
        .get(&format!("/console/visits/{}", original.id))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("孩子在家，家长支持返校。"), "{page}");
    assert!(!page.contains("伪造的走访情况"));

    // A co-paired teacher may not correct B's record; B may; so may a reviewer in scope.
    let mut b2 = phone(&server, "teacher_b2").await;
    let mut fix = visit_by(&b2, &w.b, &w.h2, "同事改写的记录");
    fix.id = RecordId::new();
    fix.corrects = Some(original.id);
    let op = b2.make(|au, _| au.record(fix, Utc::now()));
    let e = b2.push(vec![op]).await.unwrap_err();
    assert_eq!(
        (e.status, e.code()),
        (403, "may_not_correct"),
        "{:?}",
        e.body
    );
    let mut fix = visit_by(&b, &w.b, &w.h2, "补充：家长签字确认");
    fix.id = RecordId::new();
    fix.corrects = Some(original.id);
    push_visit(&mut b, fix).await;
    // The child moves house; their teacher may still correct the visit made at the old one.
    let mut county = phone(&server, "county").await;
    let moved = county.make(|au, r| {
        au.set(
            r,
            Target::Student {
                id: w.b.id,
                set: StudentField::Household(Some(w.h1.id)),
            },
            Utc::now(),
        )
    });
    county.push(vec![moved]).await.unwrap();
    b.pull().await;
    let mut fix = visit_by(&b, &w.b, &w.h1, "补充：孩子已随家长搬到新家");
    fix.corrects = Some(original.id);
    let op = b.make(|au, _| au.record(fix, Utc::now()));
    b.push(vec![op]).await.unwrap();
    // A correction of a record the server does not hold is refused, not stored as an orphan.
    let mut orphan = visit_by(&b, &w.b, &w.h2, "更正不存在的记录");
    orphan.corrects = Some(RecordId::new());
    let op = b.make(|au, _| au.record(orphan, Utc::now()));
    let e = b.push(vec![op]).await.unwrap_err();
    assert_eq!((e.status, e.code()), (422, "unknown_record"));
    server.stop().await;
}

#[tokio::test]
async fn a_visit_must_list_its_author_and_colleagues_show_as_companions() {
    let dir = tempfile::tempdir().unwrap();
    let (w, server) = start(dir.path()).await;
    let mut b = phone(&server, "teacher_b").await;
    let b2 = phone(&server, "teacher_b2").await;
    // Teacher B enters a visit naming only teacher B2 as visitor.
    let mut v = visit_by(&b, &w.b, &w.h2, "只写了同事");
    v.visitors = vec![b2.author.user];
    let op = b.make(|au, _| au.record(v, Utc::now()));
    let e = b.push(vec![op]).await.unwrap_err();
    assert_eq!(e.status, 422);
    assert_eq!(
        e.body["error"]["fields"][0]["field"], "ops[0].visit.visitors",
        "{:?}",
        e.body
    );
    assert_eq!(e.body["error"]["fields"][0]["code"], "author_not_visitor");

    // B with B2 along: shown as B's visit with B2 as a companion.
    let mut v = visit_by(&b, &w.b, &w.h2, "与同事一同走访");
    v.visitors = vec![b2.author.user, b.author.user];
    let record = v.id;
    push_visit(&mut b, v).await;
    let console = Browser::login(&server, "county").await;
    let (_, page) = console.get(&format!("/console/visits/{record}")).await;
    let author = page
        .split("id=\"author\">")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or_default();
    assert_eq!(author, "teacher_b", "{page}");
    assert!(page.contains("teacher_b2（同事）"), "{page}");
    server.stop().await;
}

#[tokio::test]
async fn a_photo_is_read_only_by_those_who_may_see_a_record_citing_it() {
    let dir = tempfile::tempdir().unwrap();
    let (w, server) = start(dir.path()).await;
    let mut l1 = phone(&server, "liaison1").await;
    let bytes = jpeg();
    let sha = Sha256::of(&bytes);
    let mut v = visit_by(&l1, &w.a, &w.h1, "设备检查");
    v.kind = VisitKind::HouseholdVisit;
    v.photos = vec![PhotoRef {
        sha256: sha,
        bytes: bytes.len() as u64,
        width: 64,
        height: 48,
        captured_at: None,
        gps: None,
    }];
    push_visit(&mut l1, v).await;
    let r = l1
        .http
        .put(server.url(&format!("/api/photos/{sha}")))
        .bearer_auth(&l1.token)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);

    let l2 = phone(&server, "liaison2").await;
    for path in [
        format!("/api/photos/{sha}"),
        format!("/api/photos/{sha}/thumb"),
    ] {
        let ok = l1.http.get(server.url(&path)).bearer_auth(&l1.token);
        assert_eq!(ok.send().await.unwrap().status().as_u16(), 200, "{path}");
        let other = l2.http.get(server.url(&path)).bearer_auth(&l2.token);
        let r = other.send().await.unwrap();
        assert_eq!(r.status().as_u16(), 403, "{path}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "photo_out_of_scope");
    }
    let head = l2
        .http
        .head(server.url(&format!("/api/photos/{sha}")))
        .bearer_auth(&l2.token)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 403);
    assert!(head.headers().get("upload-offset").is_none());
    let missing = l2
        .post_json(
            "/api/photos/missing",
            &serde_json::json!({ "sha256": [sha] }),
        )
        .await
        .unwrap();
    // Nothing is told of another's photo: it is "missing" whether the server holds it or
    // not, so a phone never drops a copy on the strength of a silence.
    assert_eq!(missing["missing"][0], sha.to_hex());
    assert_eq!(missing["out_of_scope"][0], sha.to_hex());
    let unknown = Sha256::of(b"a photo nobody has sent");
    let answer = l2
        .post_json(
            "/api/photos/missing",
            &serde_json::json!({ "sha256": [unknown] }),
        )
        .await
        .unwrap();
    assert_eq!(
        answer,
        serde_json::json!({ "missing": [unknown], "out_of_scope": [unknown] }),
        "a held photo and an unknown one get the same answer"
    );
    // The county sees it; so does teacher A, whose student the record concerns.
    for account in ["county", "teacher_a"] {
        let p = phone(&server, account).await;
        let r = p
            .http
            .get(server.url(&format!("/api/photos/{sha}")))
            .bearer_auth(&p.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{account}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_teacher_sees_a_siblings_household_but_not_the_siblings_records() {
    let dir = tempfile::tempdir().unwrap();
    let (w, server) = start(dir.path()).await;
    let mut c = phone(&server, "teacher_c").await;
    let v = visit_by(&c, &w.c, &w.h2, "妹妹的家访记录");
    let sibling_record = v.id;
    push_visit(&mut c, v).await;
    // A household fact written by the liaison of H2 reaches both teachers.
    let mut l2 = phone(&server, "liaison2").await;
    let op = l2.make(|au, r| {
        au.set(
            r,
            Target::Household {
                id: w.h2.id,
                set: HouseholdField::Address("长塘村3组56号（新房）".into()),
            },
            Utc::now(),
        )
    });
    l2.push(vec![op]).await.unwrap();

    let b = phone(&server, "teacher_b").await;
    assert!(
        b.replica.record(sibling_record).is_none(),
        "the sibling's visit is not in teacher B's pull"
    );
    assert_eq!(
        b.replica.household(w.h2.id).unwrap().address,
        "长塘村3组56号（新房）"
    );
    let f = file(&b, &w.b).await;
    let timeline = f["file"]["timeline"].as_array().unwrap();
    assert!(
        !timeline
            .iter()
            .any(|e| e["event"]["record"] == sibling_record.to_string()),
        "{timeline:?}"
    );
    assert_eq!(f["file"]["household"]["address"], "长塘村3组56号（新房）");
    // The sibling's own file has it, and the liaison of the household sees it.
    let f = file(&c, &w.c).await;
    assert!(
        f["file"]["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["event"]["record"] == sibling_record.to_string())
    );
    assert!(
        l2.replica.record(sibling_record).is_some(),
        "the household's liaison holds every child of it"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_teacher_may_not_void_or_review_an_existing_record() {
    let dir = tempfile::tempdir().unwrap();
    let (w, server) = start(dir.path()).await;
    let mut b = phone(&server, "teacher_b").await;
    let v = visit_by(&b, &w.b, &w.h2, "家访");
    let record = v.id;
    push_visit(&mut b, v).await;
    let void = b.make(|au, _| au.void(record, "重复", Utc::now()));
    let e = b.push(vec![void]).await.unwrap_err();
    assert_eq!((e.status, e.code()), (403, "may_not_void"), "{:?}", e.body);
    let f = file(&b, &w.b).await;
    assert!(f["file"]["timeline"][0]["event"]["voided"].is_null());
    server.stop().await;
}

#[tokio::test]
async fn a_time_at_the_end_of_the_calendar_is_a_field_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let (w, server) = start(dir.path()).await;
    let mut b = phone(&server, "teacher_b").await;
    let v = visit_by(&b, &w.b, &w.h2, "时间错乱的手机");
    let mut op = b.make(|au, _| au.record(v, Utc::now()));
    op.device_time = chrono::DateTime::<Utc>::MAX_UTC - Duration::minutes(1);
    let e = b.push(vec![op]).await.unwrap_err();
    assert_eq!(e.status, 422, "{:?}", e.body);
    assert_eq!(e.body["error"]["fields"][0]["field"], "ops[0].device_time");
    assert_eq!(e.body["error"]["fields"][0]["code"], "time_out_of_range");
    // The server is still there.
    b.get("/api/me").await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn logout_revokes_the_credential_it_was_called_with() {
    let dir = tempfile::tempdir().unwrap();
    let (_, server) = start(dir.path()).await;
    // The console's cookie.
    let b = Browser::login(&server, "county").await;
    let r = b
        .send(
            b.http
                .post(server.url("/api/logout"))
                .header("origin", server.url("")),
        )
        .await;
    assert_eq!(r.status().as_u16(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["revoked"], true);
    let r = b.send(b.http.get(server.url("/api/me"))).await;
    assert_eq!(r.status().as_u16(), 401, "the cookie no longer works");
    let (status, _) = b.get("/console/queue").await;
    assert_eq!(status, 303, "back to the login page");
    // A phone's bearer token.
    let p = Phone::login(&server, "teacher_a").await;
    let r = p
        .http
        .post(server.url("/api/logout"))
        .bearer_auth(&p.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(p.get("/api/me").await.unwrap_err().status, 401);
    server.stop().await;
}

#[tokio::test]
async fn a_console_action_from_another_site_is_refused_and_pages_are_not_framed_or_cached() {
    let dir = tempfile::tempdir().unwrap();
    let (w, server) = start(dir.path()).await;
    let mut t = phone(&server, "teacher_b").await;
    let v = visit_by(&t, &w.b, &w.h2, "待审核的家访");
    let record = v.id;
    push_visit(&mut t, v).await;

    let b = Browser::login(&server, "county").await;
    let path = server.url(&format!("/console/visits/{record}/review"));
    let form = [("decision", "approve"), ("comment", "")];
    let attempts = [
        Some(("origin", "http://evil.example")),
        Some(("origin", "null")),
        Some(("referer", "http://evil.example/page")),
        None,
    ];
    for header in attempts {
        let mut req = b.http.post(&path).form(&form);
        if let Some((k, v)) = header {
            req = req.header(k, v);
        }
        let r = b.send(req).await;
        assert_eq!(r.status().as_u16(), 403, "{header:?}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "cross_origin");
    }
    let (_, page) = b.get(&format!("/console/visits/{record}")).await;
    assert!(page.contains("待审核"), "nothing was approved");
    // The API, reached with the cookie from another site, is refused the same way — also
    // when some other Authorization scheme rides along and the cookie is what authenticates.
    for auth in [None, Some("Basic eDp5")] {
        let mut req = b
            .http
            .post(server.url("/api/sync/push"))
            .header("origin", "http://evil.example")
            .body("{}");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = b.send(req).await;
        assert_eq!(r.status().as_u16(), 403, "{auth:?}");
    }
    // From the console's own page it goes through.
    let (status, _) = b
        .post(&format!("/console/visits/{record}/review"), &form)
        .await;
    assert_eq!(status, 303);
    let (_, page) = b.get(&format!("/console/visits/{record}")).await;
    assert!(page.contains("已通过"));

    let r = b.send(b.http.get(server.url("/console/queue"))).await;
    let h = r.headers();
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["cache-control"], "no-store");
    // Behind a TLS proxy the cookie is Secure; on plain HTTP it cannot be.
    let login = |proto: Option<&'static str>| {
        let mut req = b
            .http
            .post(server.url("/console/login"))
            .header("origin", server.url(""))
            .form(&[("account", "county"), ("password", baoxue_tests::PASSWORD)]);
        if let Some(p) = proto {
            req = req.header("x-forwarded-proto", p);
        }
        req.send()
    };
    let cookie = |r: &reqwest::Response| r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie(&login(Some("https")).await.unwrap()).contains("; Secure"));
    assert!(!cookie(&login(None).await.unwrap()).contains("Secure"));
    server.stop().await;
}

#[tokio::test]
async fn a_resumed_upload_refused_as_not_an_image_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let (w, server) = start(dir.path()).await;
    let mut b = phone(&server, "teacher_b").await;
    let text = "这是一份改了扩展名的文本。".repeat(30).into_bytes();
    let sha = Sha256::of(&text);
    let mut v = visit_by(&b, &w.b, &w.h2, "照片上传失败");
    v.photos = vec![PhotoRef {
        sha256: sha,
        bytes: text.len() as u64,
        width: 1,
        height: 1,
        captured_at: None,
        gps: None,
    }];
    push_visit(&mut b, v).await;
    let url = server.url(&format!("/api/photos/{sha}"));
    let total = text.len().to_string();
    let chunk = |from: usize, to: usize| {
        b.http
            .patch(&url)
            .bearer_auth(&b.token)
            .header("upload-offset", from.to_string())
            .header("upload-length", &total)
            .body(text[from..to].to_vec())
            .send()
    };
    assert_eq!(chunk(0, 100).await.unwrap().status().as_u16(), 202);
    let r = chunk(100, text.len()).await.unwrap();
    assert_eq!(r.status().as_u16(), 415);
    let head = b
        .http
        .head(&url)
        .bearer_auth(&b.token)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status().as_u16(), 404);
    assert_eq!(head.headers()["upload-offset"], "0", "refused means gone");
    server.stop().await;
}

#[tokio::test]
async fn a_password_typed_into_the_account_field_is_not_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (_, server) = start(dir.path()).await;
    let http = reqwest::Client::new();
    let typed = "Mima-Zhang-1987!";
    let huge = "账".repeat(500_000);
    for account in [typed, huge.as_str()] {
        let r = http
            .post(server.url("/api/login"))
            .json(&serde_json::json!({
                "account": account, "password": "x", "device": baoxue_shared::ids::DeviceId::new()
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
    }
    server.stop().await;
    let keys = baoxue_tests::RawDb::open(dir.path()).rows("SELECT key FROM login_failures");
    assert_eq!(keys.len(), 2, "both failures are counted");
    assert!(
        keys.iter().all(|k| k[0].len() == 64),
        "bounded keys: {keys:?}"
    );
    // Nowhere in the database files is the typed text.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(typed.len()).any(|w| w == typed.as_bytes()),
                "{path:?} holds the typed password"
            );
        }
    }
}

#[tokio::test]
async fn a_report_is_filed_only_for_ones_own_unit_and_shows_what_was_filed() {
    let dir = tempfile::tempdir().unwrap();
    let (w, server) = start(dir.path()).await;
    let month = baoxue_shared::time::ReportMonth::containing(Utc::now());
    let mk = baoxue_server::report::monthly::month_key(month);
    let own = format!("township:{}", w.h1.area.township.name);
    let township = Browser::login(&server, "township1").await;
    let school = Browser::login(&server, "school1").await;
    for (who, scope) in [
        (&township, "county"),
        (&township, "township:别的乡"),
        (&school, "county"),
        (&school, own.as_str()),
    ] {
        let (status, body) = who
            .post("/console/reports/file", &[("scope", scope), ("month", &mk)])
            .await;
        assert_eq!(status, 403, "{scope}: {body}");
        assert!(body.contains("只能报送本单位的月报"), "{body}");
    }
    // Nor may they read a unit larger than theirs (it would be their part under its name).
    let (status, _) = township
        .get(&format!("/console/reports?scope=county&month={mk}"))
        .await;
    assert_eq!(status, 403);
    // Nor the larger unit's ledgers, as a page or as a file.
    for path in [
        "/console/ledgers/dropouts?scope=county",
        "/console/ledgers/poor?scope=county",
        "/console/exports/dropouts.xlsx?scope=county",
        "/console/exports/poor.xlsx?scope=county",
    ] {
        let (status, _) = township.get(path).await;
        assert_eq!(status, 403, "{path}");
    }
    let county = Browser::login(&server, "county").await;
    // Each unit's ledger holds its own children: the poor household is the other township's.
    assert_ne!(w.h1.area.township.name, w.h2.area.township.name);
    let (status, own_poor) = township
        .get(&format!(
            "/console/ledgers/poor?scope={}",
            own.replace(':', "%3A")
        ))
        .await;
    assert_eq!(status, 200);
    assert!(own_poor.contains("共 0 人"), "{own_poor}");
    let (_, county_poor) = county.get("/console/ledgers/poor?scope=county").await;
    assert!(county_poor.contains("共 2 人"), "{county_poor}");
    for s in [&w.b, &w.c] {
        assert!(county_poor.contains(&s.id.to_string()));
    }
    let page = format!("/console/reports?scope=county&month={mk}");
    let (_, draft) = county.get(&page).await;
    assert!(
        draft.contains("id=\"draft\""),
        "the county's month is not filed"
    );
    // The township files its own month.
    let (status, _) = township
        .post("/console/reports/file", &[("scope", &own), ("month", &mk)])
        .await;
    assert_eq!(status, 303);
    let (_, filed) = township
        .get(&format!(
            "/console/reports?scope={}&month={mk}",
            own.replace(':', "%3A")
        ))
        .await;
    assert!(filed.contains("id=\"filed\""), "{filed}");

    // The county files; the page then shows the figures as stored with the filing.
    let (status, _) = county
        .post(
            "/console/reports/file",
            &[("scope", "county"), ("month", &mk)],
        )
        .await;
    assert_eq!(status, 303);
    let (_, before) = county.get(&page).await;
    let enrolled = baoxue_tests::report_figure(&before, "6–15周岁在籍学生数");
    let db = baoxue_tests::RawDb::open(dir.path());
    let stored = db
        .rows(&format!(
            "SELECT figures FROM report_filings WHERE scope = 'county' AND month = {}",
            baoxue_tests::sql_text(&mk)
        ))
        .remove(0)
        .remove(0);
    let mut stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(
        stored["enrolled"], enrolled,
        "the page shows the stored figure"
    );
    // Proof that it is read back: a stored figure unlike any recomputation is what shows.
    stored["enrolled"] = 4242.into();
    db.execute(&format!(
        "UPDATE report_filings SET figures = {} WHERE scope = 'county'",
        baoxue_tests::sql_text(&stored.to_string())
    ));
    let (_, after) = county.get(&page).await;
    assert_eq!(
        baoxue_tests::report_figure(&after, "6–15周岁在籍学生数"),
        4242
    );
    // So does the Excel report of the month.
    let (status, bytes) = county
        .get_bytes(&format!(
            "/console/exports/monthly.xlsx?scope=county&month={mk}"
        ))
        .await;
    assert_eq!(status, 200);
    let row = baoxue_tests::xlsx_row(&bytes, "月报表", "6–15周岁在籍学生数");
    assert_eq!(row[2], "4242");
    server.stop().await;
}

#[tokio::test]
async fn field_workers_see_masked_resident_ids_and_the_county_the_full_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (w, server) = start(dir.path()).await;
    let full = w.b.resident_id.clone().expect("sample students have IDs");
    let masked = full.masked();
    for account in ["teacher_b", "liaison2", "township1"] {
        let p = Phone::login(&server, account).await;
        let page = p.get("/api/sync/pull?limit=2000").await.unwrap();
        let text = page.to_string();
        assert!(
            !text.contains(full.as_str()),
            "{account}'s pull carries the full ID"
        );
        if account != "township1" {
            assert!(
                text.contains(&masked),
                "{account}'s pull carries the masked ID"
            );
            let mut p = p;
            p.pull().await;
            assert_eq!(p.replica.resident_id_masked(w.b.id), Some(masked.clone()));
            let f = file(&p, &w.b).await;
            assert!(f["file"]["current"]["resident_id"].is_null(), "{account}");
            assert_eq!(f["file"]["resident_id_masked"], masked.as_str());
            assert!(!f.to_string().contains(full.as_str()));
        }
    }
    let county = phone(&server, "county").await;
    let f = file(&county, &w.b).await;
    assert_eq!(f["file"]["current"]["resident_id"], full.as_str());
    assert!(
        county
            .get("/api/sync/pull?limit=2000")
            .await
            .unwrap()
            .to_string()
            .contains(full.as_str())
    );
    // Nor may a teacher write one.
    let mut b = phone(&server, "teacher_b").await;
    let op = b.make(|au, r| {
        au.set(
            r,
            Target::Student {
                id: w.b.id,
                set: StudentField::ResidentId(w.a.resident_id.clone()),
            },
            Utc::now(),
        )
    });
    let e = b.push(vec![op]).await.unwrap_err();
    assert_eq!((e.status, e.code()), (403, "may_not_write_resident_id"));
    server.stop().await;
}

#[tokio::test]
async fn a_console_store_failure_is_an_error_page_not_the_login_page() {
    let dir = tempfile::tempdir().unwrap();
    let (_, server) = start(dir.path()).await;
    let b = Browser::login(&server, "county").await;
    assert_eq!(b.get("/console/queue").await.0, 200);
    // The tokens can no longer be read: the database is damaged, not the session expired.
    let db = baoxue_tests::RawDb::open(dir.path());
    db.execute("ALTER TABLE tokens RENAME TO tokens_damaged");
    let (status, page) = b.get("/console/queue").await;
    assert_eq!(status, 500, "{page}");
    assert!(page.contains("出错了"), "{page}");
    // Logging out cannot revoke the token; the page says so instead of pretending.
    let (status, page) = b.post("/console/logout", &[]).await;
    assert_eq!(status, 500, "{page}");
    assert!(page.contains("出错了"));
    db.execute("ALTER TABLE tokens_damaged RENAME TO tokens");
    server.stop().await;
}
