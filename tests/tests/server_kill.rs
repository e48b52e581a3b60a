//! The server killed with SIGKILL in the middle of pushes, then restarted: every acknowledged
//! op is there, and no batch is half there.

use baoxue_shared::ids::{OpId, StudentId};
use baoxue_shared::observation::VisitKind;
use baoxue_shared::people::{Assignment, Role};
use baoxue_shared::sample;
use baoxue_tests::{Phone, Seeder, ServerProcess, TestServer};
use chrono::{Duration, Utc};
use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

fn spawn_server(dir: &Path) -> ServerProcess {
    ServerProcess::spawn(env!("CARGO_BIN_EXE_baoxue-test-server"), &dir.join("data"))
}

/// Each pushed batch: its op ids, and whether the server acknowledged it.
type PushLog = Arc<Mutex<Vec<(Vec<OpId>, bool)>>>;

/// A TestServer-shaped handle on an external process, for `Phone::login`.
fn handle(p: &ServerProcess, dir: &Path) -> TestServer {
    p.handle(dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_server_keeps_every_acknowledged_op_and_no_half_batch() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut s = Seeder::open(&data);
    let mut rng = fastrand::Rng::with_seed(4);
    let today = baoxue_shared::time::today_in_china();
    let mut students: Vec<(StudentId, baoxue_shared::people::Household)> = Vec::new();
    let mut ops = Vec::new();
    let world = s.world.clone();
    for _ in 0..8 {
        let h = sample::household(&mut rng);
        let st = sample::student(&mut rng, &h, today);
        ops.extend(
            s.admin
                .household_ops(&world, &h, Utc::now() - Duration::days(9)),
        );
        ops.extend(
            s.admin
                .student_ops(&world, &st, Utc::now() - Duration::days(9)),
        );
        students.push((st.id, h));
    }
    s.roster(ops);
    for (i, chunk) in students.chunks(2).enumerate() {
        s.user(
            &format!("t{i}"),
            Role::Teacher,
            chunk
                .iter()
                .map(|(id, _)| Assignment::Student { student: *id })
                .collect(),
        );
    }
    s.user(
        "county",
        Role::CountySupervisor,
        vec![baoxue_tests::county_area()],
    );
    s.close();

    let mut server = spawn_server(tmp.path());
    let h = handle(&server, tmp.path());
    // Each batch: (its op ids, acknowledged?)
    let log: PushLog = Arc::default();
    let mut tasks = Vec::new();
    for (i, chunk) in students.chunks(2).enumerate() {
        let mut phone = Phone::login(&h, &format!("t{i}")).await;
        let chunk = chunk.to_vec();
        let log = log.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(i as u64);
            for round in 0..10_000 {
                let (sid, hh) = &chunk[round % chunk.len()];
                let batch: Vec<_> = (0..20)
                    .map(|k| {
                        let v = sample::visit(
                            &mut rng,
                            VisitKind::HomeVisit,
                            phone.author.user,
                            *sid,
                            hh,
                            Utc::now() - Duration::minutes(30 + k),
                        );
                        phone.make(|a, _| a.record(v, Utc::now()))
                    })
                    .collect();
                let ids: Vec<OpId> = batch.iter().map(|o| o.id).collect();
                let idx = {
                    let mut l = log.lock().unwrap();
                    l.push((ids, false));
                    l.len() - 1
                };
                match phone.push(batch).await {
                    Ok(_) => log.lock().unwrap()[idx].1 = true,
                    // The server is gone: this phone stops.
                    Err(e) if e.status == 0 => return,
                    Err(e) => panic!("push refused: {e:?}"),
                }
            }
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    server.stop();
    for t in tasks {
        // Each pusher ends with a connection error once the server is gone.
        t.await.expect("no push was refused");
    }
    let log = log.lock().unwrap().clone();
    let acked: Vec<&(Vec<OpId>, bool)> = log.iter().filter(|(_, a)| *a).collect();
    assert!(
        acked.len() >= 4,
        "some batches were acknowledged before the kill ({})",
        acked.len()
    );
    assert!(
        log.len() > acked.len(),
        "some pushes were in flight when the server died"
    );
    eprintln!(
        "{} batches acknowledged, {} in flight at the kill",
        acked.len(),
        log.len() - acked.len()
    );

    server = spawn_server(tmp.path());
    let h = handle(&server, tmp.path());
    let mut sup = Phone::login(&h, "county").await;
    sup.pull().await;
    let held: HashSet<OpId> = sup.replica.ops().map(|o| o.id).collect();
    for (ids, ack) in &log {
        let present = ids.iter().filter(|id| held.contains(id)).count();
        if *ack {
            assert_eq!(present, ids.len(), "an acknowledged batch lost ops");
        } else {
            assert!(
                present == 0 || present == ids.len(),
                "half a batch: {present} of {}",
                ids.len()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_finishes_in_flight_pushes_and_exits_cleanly() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut s = Seeder::open(&data);
    let mut rng = fastrand::Rng::with_seed(12);
    let (h, students) = s.household_with_students(&mut rng, 1);
    let st = students[0].clone();
    s.teacher("t", &students);
    s.close();

    let mut server = spawn_server(tmp.path());
    let h2 = handle(&server, tmp.path());
    let mut phone = Phone::login(&h2, "t").await;
    let log: PushLog = Arc::default();
    let pusher = {
        let log = log.clone();
        tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(1);
            loop {
                let batch: Vec<_> = (0..20)
                    .map(|k| {
                        let v = sample::visit(
                            &mut rng,
                            VisitKind::PhoneCall,
                            phone.author.user,
                            st.id,
                            &h,
                            Utc::now() - Duration::minutes(60 + k),
                        );
                        phone.make(|a, _| a.record(v, Utc::now()))
                    })
                    .collect();
                let ids = batch.iter().map(|o| o.id).collect();
                let idx = {
                    let mut l = log.lock().unwrap();
                    l.push((ids, false));
                    l.len() - 1
                };
                // A refusal would be a bug; a dropped connection (the server stopping) ends the task.
                match phone.push(batch).await {
                    Ok(_) => {}
                    Err(e) if e.status == 0 => return,
                    Err(e) => panic!("refused: {e:?}"),
                }
                log.lock().unwrap()[idx].1 = true;
            }
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(server.child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || {
        let code = server.child.wait().unwrap();
        (code, server)
    })
    .await
    .unwrap();
    assert!(
        exit.0.success(),
        "the server exits cleanly on SIGTERM: {:?}",
        exit.0
    );
    pusher.await.expect("no push was refused");
    drop(exit.1);

    let server = spawn_server(tmp.path());
    let h3 = handle(&server, tmp.path());
    let mut check = Phone::login(&h3, "t").await;
    check.pull().await;
    let held: HashSet<OpId> = check.replica.ops().map(|o| o.id).collect();
    let log = log.lock().unwrap().clone();
    assert!(log.iter().filter(|(_, a)| *a).count() > 2);
    for (ids, ack) in &log {
        let present = ids.iter().filter(|id| held.contains(id)).count();
        if *ack {
            assert_eq!(present, ids.len());
        } else {
            assert!(present == 0 || present == ids.len());
        }
    }
}
