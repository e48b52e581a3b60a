//! The audit trail: every accepted batch is logged, each student's records form a hash chain,
//! and a removed or altered record is detected.

use baoxue_shared::observation::VisitKind;
use baoxue_shared::sample;
use baoxue_tests::{Browser, Phone, Seeder, TestServer};
use chrono::{Duration, Utc};

#[tokio::test]
async fn an_altered_or_removed_record_breaks_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Seeder::open(dir.path());
    let mut rng = fastrand::Rng::with_seed(3);
    let (h, students) = s.household_with_students(&mut rng, 1);
    let st = students[0].clone();
    s.teacher("t", &students);
    s.close();

    let server = TestServer::start(dir.path()).await;
    let mut phone = Phone::login(&server, "t").await;
    phone.pull().await;
    let mut visits = Vec::new();
    for k in 0..3 {
        let v = sample::visit(
            &mut rng,
            VisitKind::HomeVisit,
            phone.author.user,
            st.id,
            &h,
            Utc::now() - Duration::hours(5 - k),
        );
        visits.push(phone.make(|a, _| a.record(v, Utc::now())));
    }
    phone.push(visits).await.unwrap();
    server.stop().await;

    let (store, _) = baoxue_tests::open_store(dir.path());
    let clean = store.verify_chains().unwrap();
    assert!(clean.faults.is_empty(), "{:?}", clean.faults);
    assert_eq!(clean.links, 13, "10 roster writes and 3 visits");
    store.close();

    // Someone edits a visit's notes straight in the database.
    let db = baoxue_tests::RawDb::open(dir.path());
    let row = db
        .rows("SELECT seq, body FROM ops WHERE body LIKE '%\"type\":\"record\"%' ORDER BY seq DESC LIMIT 1")
        .remove(0);
    let (seq, body): (i64, &str) = (row[0].parse().unwrap(), &row[1]);
    let forged = body.replacen("\"notes\":\"", "\"notes\":\"（已篡改）", 1);
    db.execute(&format!(
        "UPDATE ops SET body = {} WHERE seq = {seq}",
        baoxue_tests::sql_text(&forged)
    ));
    // And removes another one, foreign keys off as anyone editing the file by hand would.
    let prev = seq - 1;
    db.execute(&format!(
        "DELETE FROM op_subjects WHERE seq = {prev}; DELETE FROM records WHERE seq = {prev};
         DELETE FROM ops WHERE seq = {prev}"
    ));
    drop(db);

    let (store, _) = baoxue_tests::open_store(dir.path());
    let report = store.verify_chains().unwrap();
    let problems: Vec<&str> = report.faults.iter().map(|f| f.problem.as_str()).collect();
    assert!(
        problems.contains(&format!("record #{seq} has been altered").as_str()),
        "{problems:?}"
    );
    assert!(
        problems.contains(&format!("record #{} has been removed", seq - 1).as_str()),
        "{problems:?}"
    );
    store.close();
}

#[tokio::test]
async fn every_accepted_batch_is_logged_with_user_device_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Seeder::open(dir.path());
    let mut rng = fastrand::Rng::with_seed(8);
    let (h, students) = s.household_with_students(&mut rng, 1);
    let st = students[0].clone();
    s.teacher("t", &students);
    s.close();
    let server = TestServer::start(dir.path()).await;
    let mut phone = Phone::login(&server, "t").await;
    phone.pull().await;
    let v = sample::visit(
        &mut rng,
        VisitKind::PhoneCall,
        phone.author.user,
        st.id,
        &h,
        Utc::now() - Duration::hours(1),
    );
    let op = phone.make(|a, _| a.record(v, Utc::now()));
    let receipt = phone.push(vec![op]).await.unwrap();
    server.stop().await;
    let row = baoxue_tests::RawDb::open(dir.path())
        .rows(&format!(
            r#"SELECT "user", device, op_count, new_count FROM batches WHERE id = {}"#,
            baoxue_tests::sql_text(receipt["batch"].as_str().unwrap())
        ))
        .remove(0);
    let (user, device, count, new): (String, String, i64, i64) = (
        row[0].clone(),
        row[1].clone(),
        row[2].parse().unwrap(),
        row[3].parse().unwrap(),
    );
    assert_eq!(
        (user, device, count, new),
        (
            phone.author.user.to_string(),
            phone.author.device.to_string(),
            1,
            1
        )
    );
}

#[tokio::test]
async fn every_look_at_a_childs_file_and_every_ledger_is_logged_for_the_county_and_chained() {
    use baoxue_shared::area::AreaScope;
    use baoxue_shared::people::{Assignment, Role};
    let dir = tempfile::tempdir().unwrap();
    let mut s = Seeder::open(dir.path());
    let mut rng = fastrand::Rng::with_seed(12);
    let (h, students) = s.household_with_students(&mut rng, 1);
    let st = students[0].clone();
    s.teacher("t", &students);
    s.user(
        "county",
        Role::CountySupervisor,
        vec![baoxue_tests::county_area()],
    );
    s.user(
        "township",
        Role::TownshipSupervisor,
        vec![Assignment::Area {
            area: AreaScope::Township {
                county: h.area.county.clone(),
                township: h.area.township.clone(),
            },
        }],
    );
    s.close();
    let server = TestServer::start(dir.path()).await;
    let phone = Phone::login(&server, "t").await;
    phone
        .get(&format!("/api/students/{}/file", st.id))
        .await
        .unwrap();
    let county = Browser::login(&server, "county").await;
    let (status, _) = county.get(&format!("/console/students/{}", st.id)).await;
    assert_eq!(status, 200);
    let (status, _) = county
        .get(&format!("/console/students/{}/file.pdf", st.id))
        .await;
    assert_eq!(status, 200);
    let (status, _) = county
        .get("/console/exports/dropouts.xlsx?scope=county")
        .await;
    assert_eq!(status, 200);

    // The county reads the log; who, from which device, what, about whom.
    let county_phone = Phone::login(&server, "county").await;
    let log = county_phone.get("/api/access-log").await.unwrap();
    let lines = log.as_array().unwrap();
    assert_eq!(lines.len(), 4, "{log}");
    let teacher_look = &lines[3];
    assert_eq!(teacher_look["account"], "t");
    assert_eq!(teacher_look["device"], phone.author.device.to_string());
    assert_eq!(teacher_look["action"], "file_view");
    assert_eq!(teacher_look["subject"], st.id.to_string());
    assert_eq!(lines[1]["action"], "file_pdf");
    assert_eq!(lines[0]["action"], "ledger_export");
    assert!(
        lines[0]["subject"]
            .as_str()
            .unwrap()
            .starts_with("dropouts.xlsx county")
    );
    let about = county_phone
        .get(&format!("/api/access-log?student={}", st.id))
        .await
        .unwrap();
    assert_eq!(about.as_array().unwrap().len(), 3);
    let (status, page) = county.get("/console/access-log").await;
    assert_eq!(status, 200);
    assert!(
        page.contains(&st.name) && page.contains("下载档案PDF"),
        "{page}"
    );
    // Nobody else reads it.
    assert_eq!(phone.get("/api/access-log").await.unwrap_err().status, 403);
    let township = Browser::login(&server, "township").await;
    assert_eq!(township.get("/console/access-log").await.0, 403);
    server.stop().await;

    let (store, _) = baoxue_tests::open_store(dir.path());
    let clean = store.verify_chains().unwrap();
    assert!(clean.is_clean(), "{:?}", clean.access_faults);
    assert_eq!(clean.access_entries, 4);
    store.close();
    // Someone hides the teacher's look, and removes the last entry.
    let db = baoxue_tests::RawDb::open(dir.path());
    db.execute(r#"UPDATE access_log SET "user" = device WHERE seq = 1; DELETE FROM access_log WHERE seq = 4"#);
    drop(db);
    let (store, _) = baoxue_tests::open_store(dir.path());
    let report = store.verify_chains().unwrap();
    let problems: Vec<&str> = report
        .access_faults
        .iter()
        .map(|f| f.problem.as_str())
        .collect();
    assert!(
        problems.contains(&"access log entry 1 has been altered"),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("removed from its end")),
        "{problems:?}"
    );
    store.close();
}
