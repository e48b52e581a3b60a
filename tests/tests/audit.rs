//! The audit trail: every accepted batch is logged, each student's records form a hash chain,
//! and a removed or altered record is detected.

use baoxue_server::store::Store;
use baoxue_shared::observation::VisitKind;
use baoxue_shared::sample;
use baoxue_tests::{Phone, Seeder, TestServer};
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

    let (store, _) = baoxue_server::open(dir.path()).unwrap();
    let clean = store.verify_chains().unwrap();
    assert!(clean.faults.is_empty(), "{:?}", clean.faults);
    assert_eq!(clean.links, 13, "10 roster writes and 3 visits");
    store.close();

    // Someone edits a visit's notes straight in the database.
    let db = rusqlite::Connection::open(dir.path().join("baoxue.sqlite3")).unwrap();
    let (seq, body): (i64, String) = db
        .query_row("SELECT seq, body FROM ops WHERE body LIKE '%\"type\":\"record\"%' ORDER BY seq DESC LIMIT 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    let forged = body.replacen("\"notes\":\"", "\"notes\":\"（已篡改）", 1);
    db.execute("UPDATE ops SET body = ?1 WHERE seq = ?2", (&forged, seq))
        .unwrap();
    // And removes another one, foreign keys off as anyone editing the file by hand would.
    db.pragma_update(None, "foreign_keys", "OFF").unwrap();
    db.execute("DELETE FROM op_subjects WHERE seq = ?1", [seq - 1])
        .unwrap();
    db.execute("DELETE FROM records WHERE seq = ?1", [seq - 1])
        .unwrap();
    db.execute("DELETE FROM ops WHERE seq = ?1", [seq - 1])
        .unwrap();
    drop(db);

    let (store, _) = baoxue_server::open(dir.path()).unwrap();
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
    let db = rusqlite::Connection::open(dir.path().join("baoxue.sqlite3")).unwrap();
    let (user, device, count, new): (String, String, i64, i64) = db
        .query_row(
            "SELECT user, device, op_count, new_count FROM batches WHERE id = ?1",
            [receipt["batch"].as_str().unwrap()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
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
