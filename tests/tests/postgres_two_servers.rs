//! Two `baoxue-server` processes over one PostgreSQL database behave as one server: what a
//! province runs behind a load balancer. Needs `BAOXUE_TEST_POSTGRES` (the test script starts
//! a PostgreSQL server and sets it); on SQLite there is nothing to share, so this file is run
//! only in the PostgreSQL pass.

use baoxue_shared::ids::{OpId, RecordId};
use baoxue_shared::observation::VisitKind;
use baoxue_shared::op::OpBody;
use baoxue_shared::people::{Assignment, Role};
use baoxue_shared::sample;
use baoxue_tests::{Browser, Phone, Seeder, ServerProcess};
use chrono::{Duration, Utc};
use std::collections::HashSet;

const EXE: &str = env!("CARGO_BIN_EXE_baoxue-test-server");

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: scripts/test.sh runs it with BAOXUE_TEST_POSTGRES set"]
async fn two_servers_over_one_database_are_one_server() {
    assert!(
        baoxue_tests::postgres_server().is_some(),
        "this test runs two servers over PostgreSQL: set BAOXUE_TEST_POSTGRES"
    );
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut s = Seeder::open(&data);
    let mut rng = fastrand::Rng::with_seed(21);
    let today = baoxue_shared::time::today_in_china();
    let h = sample::household(&mut rng);
    let child = sample::student(&mut rng, &h, today);
    let world = s.world.clone();
    let mut ops = s
        .admin
        .household_ops(&world, &h, Utc::now() - Duration::days(9));
    ops.extend(
        s.admin
            .student_ops(&world, &child, Utc::now() - Duration::days(9)),
    );
    s.roster(ops);
    // Two teachers paired with the same child, each phone talking to a different server.
    for t in ["t1", "t2"] {
        s.user(
            t,
            Role::Teacher,
            vec![Assignment::Student { student: child.id }],
        );
    }
    s.user(
        "county",
        Role::CountySupervisor,
        vec![baoxue_tests::county_area()],
    );
    s.close();

    let a = ServerProcess::spawn(EXE, &data);
    let b = ServerProcess::spawn(EXE, &data);
    let (ha, hb) = (a.handle(&data), b.handle(&data));

    // 1. Both push visits about the same child at once, 10 batches of 5 each.
    let mut tasks = Vec::new();
    for (account, server) in [("t1", &ha), ("t2", &hb)] {
        let mut phone = Phone::login(server, account).await;
        phone.pull().await;
        let (sid, hh) = (child.id, h.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(account.len() as u64 + 7);
            let mut pushed: Vec<OpId> = Vec::new();
            for round in 0..10 {
                let batch: Vec<_> = (0..5)
                    .map(|k| {
                        let v = sample::visit(
                            &mut rng,
                            VisitKind::HomeVisit,
                            phone.author.user,
                            sid,
                            &hh,
                            Utc::now() - Duration::minutes(60 + round * 5 + k),
                        );
                        phone.make(|a, _| a.record(v, Utc::now()))
                    })
                    .collect();
                pushed.extend(batch.iter().map(|o| o.id));
                phone.push(batch).await.expect("pushed");
            }
            (phone, pushed)
        }));
    }
    let mut phones = Vec::new();
    let mut pushed: HashSet<OpId> = HashSet::new();
    for t in tasks {
        let (phone, ids) = t.await.unwrap();
        pushed.extend(ids);
        phones.push(phone);
    }
    assert_eq!(pushed.len(), 100);

    // Each phone, pulling from its own server, has every visit of both: one sequence.
    for phone in &mut phones {
        phone.pull().await;
        let held: HashSet<OpId> = phone.replica.ops().map(|o| o.id).collect();
        assert!(
            pushed.is_subset(&held),
            "{} of the 100 visits missing from a pull",
            pushed.difference(&held).count()
        );
    }
    // A fresh phone pulling in small pages gets every op once: no op committed behind a
    // cursor that had passed it.
    let mut fresh = Phone::login(&hb, "t1").await;
    let mut seen: Vec<OpId> = Vec::new();
    loop {
        let page = fresh
            .get(&format!("/api/sync/pull?limit=7&cursor={}", fresh.cursor))
            .await
            .unwrap();
        let page: baoxue_shared::api::PullPage = serde_json::from_value(page).unwrap();
        seen.extend(page.ops.iter().map(|o| o.id));
        fresh.cursor = page.cursor;
        if !page.more {
            break;
        }
    }
    let unique: HashSet<OpId> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "an op came twice");
    assert!(pushed.is_subset(&unique));

    // The child's hash chain is whole: one link per op, none forked by the two servers.
    let (store, _) = baoxue_tests::open_store(&data);
    let report = store.verify_chains().unwrap();
    assert!(report.is_clean(), "{:?}", report.faults);
    let about_child = store.ops_about_student(child.id).unwrap();
    assert!(about_child.len() >= 100);
    store.close();

    // 2. A reviewer's next page on one server shows what was just pushed through the other.
    let county = Browser::login(&ha, "county").await;
    let (status, before) = county.get("/console/queue").await;
    assert_eq!(status, 200);
    let phone = &mut phones[1];
    let v = sample::visit(
        &mut rng,
        VisitKind::HomeVisit,
        phone.author.user,
        child.id,
        &h,
        Utc::now() - Duration::hours(3),
    );
    let op = phone.make(|a, _| a.record(v, Utc::now()));
    let OpBody::Record(rec) = &op.body else {
        unreachable!("a record op")
    };
    let record: RecordId = rec.id;
    phone.push(vec![op]).await.unwrap();
    let (_, after) = county.get("/console/queue").await;
    let counted = |page: &str| {
        page.split("共 ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse::<u32>().ok())
            .expect("the queue's counts")
    };
    assert_eq!(counted(&before), 100);
    assert_eq!(
        counted(&after),
        101,
        "the new visit is counted on the next page"
    );
    // And it is there to open.
    let (status, visit) = county.get(&format!("/console/visits/{record}")).await;
    assert_eq!(status, 200, "{visit}");

    // 3. Login throttling is one count: failures on one server pause the account on the other.
    let http = reqwest::Client::new();
    let device = baoxue_shared::ids::DeviceId::new();
    for server in [&ha, &hb, &ha, &hb, &ha] {
        let r = http
            .post(server.url("/api/login"))
            .json(&serde_json::json!({ "account": "t2", "password": "wrong-password", "device": device }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 401);
    }
    let r = http
        .post(hb.url("/api/login"))
        .json(&serde_json::json!({ "account": "t2", "password": baoxue_tests::PASSWORD, "device": device }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        429,
        "five failures across both servers pause the account"
    );
    drop((a, b));
}
