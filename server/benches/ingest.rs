//! Ingest benchmark: simulated devices push realistic batches over loopback HTTP into a store
//! pre-filled with 1,000,000 records (a county after a few years). Prints, from one run:
//! saturation with 32 and 256 devices beside a bare rusqlite insert loop into the same store;
//! p50/p99 push latency at a realistic month-end peak; first and incremental pull times.
//!
//! Run: `cargo bench -p baoxue-server --bench ingest`. Set `BAOXUE_BENCH_RECORDS` for a smaller
//! pre-fill, and `BAOXUE_BENCH_DATABASE=postgres://…` to measure the PostgreSQL engine (the
//! database is emptied first; the bare loop then runs over PostgreSQL). Client and server share this machine's cores, so the figures include the
//! simulated phones' own work.

use baoxue_server::store::TokenRecord;
use baoxue_server::sync::push_trusted;
use baoxue_shared::author::Author;
use baoxue_shared::ids::{DeviceId, StudentId, UserId};
use baoxue_shared::observation::VisitKind;
use baoxue_shared::op::Op;
use baoxue_shared::people::{Assignment, Household, Role, User};
use baoxue_shared::replica::Replica;
use baoxue_shared::sample;
use baoxue_shared::wire::Batch;
use chrono::{Duration, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

const DEVICES: usize = 256;
const PER_TEACHER: usize = 20;
const BATCH: usize = 100;

struct Device {
    token: String,
    author: Author,
    students: Vec<(StudentId, Household)>,
}

fn main() {
    let records: usize = std::env::var("BAOXUE_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let t = Instant::now();
    let (devices, big_token) = prefill(&data, records);
    println!(
        "pre-filled {records} records in {:.0} s",
        t.elapsed().as_secs_f64()
    );
    // A running server's read models are current: built here, before the server starts, so
    // that the pushes measured keep them current as in service instead of racing the first
    // build of a million records (that is `baoxue-server rebuild`'s cost, measured by the
    // console bench).
    let t = Instant::now();
    {
        let (store, state) = baoxue_server::open_with(&data, bench_database().as_deref()).unwrap();
        baoxue_server::readmodel::catch_up(store.as_ref(), &state.evidence, &state.terms).unwrap();
        store.close();
    }
    println!("read models built in {:.0} s", t.elapsed().as_secs_f64());

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let settings = baoxue_server::Settings {
        data_dir: data.clone(),
        database: bench_database(),
        evidence: Default::default(),
        web_app: None,
    };
    let server = rt.spawn(baoxue_server::serve(listener, settings, async {
        let _ = stop_rx.await;
    }));
    let base = format!("http://{addr}");
    let devices: Vec<Arc<tokio::sync::Mutex<Device>>> = devices
        .into_iter()
        .map(|d| Arc::new(tokio::sync::Mutex::new(d)))
        .collect();

    let mut rates = Vec::new();
    for n in [32usize, 256] {
        // Phones make their batches on their own processors: build them before the clock starts
        // so the simulated phones do not compete with the server for this machine's two cores.
        let per_device = 2_560_000 / BATCH / n / 8;
        let bodies: Vec<Vec<Vec<u8>>> = devices[..n]
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let mut d = d.blocking_lock();
                let mut rng = fastrand::Rng::with_seed(i as u64 + n as u64);
                (0..per_device)
                    .map(|_| make_batch(&mut d, &mut rng))
                    .collect()
            })
            .collect();
        let rate = rt.block_on(saturate(
            &base,
            &devices[..n],
            bodies,
            std::time::Duration::from_secs(10),
        ));
        println!(
            "saturation, {n} devices pushing {BATCH}-op batches as fast as answered: {rate:.0} ops/s"
        );
        rates.push(rate);
    }
    let (p50, p99, count) = rt.block_on(peak(&base, &devices, std::time::Duration::from_secs(30)));
    println!(
        "month-end peak, {DEVICES} devices each pushing {BATCH} ops every 10 s: p50 {p50:.1} ms, p99 {p99:.1} ms over {count} pushes"
    );

    let (first, pages, n_ops, incr) = rt.block_on(pulls(&base, &big_token));
    println!(
        "first pull of a {n_ops}-record caseload: {first:.0} ms ({pages} pages); incremental pull with nothing new: {incr:.1} ms"
    );

    let _ = stop_tx.send(());
    rt.block_on(server).unwrap().unwrap();
    let mut bare: Vec<f64> = (0..3).map(|_| bare_insert(&data, 50_000)).collect();
    bare.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "bare loop (rusqlite, or the PostgreSQL client), same rows (op + subjects + chain link), {BATCH} per transaction, same store: median {:.0} ops/s of 3 runs ({:.0}..{:.0})",
        bare[1], bare[0], bare[2]
    );
    println!(
        "saturation / bare ceiling: {:.2} (32 devices), {:.2} (256 devices)",
        rates[0] / bare[1],
        rates[1] / bare[1]
    );
}

/// Fill the store with `records` ops: households, students, guardians and a school year's
/// visits. Returns the bench devices (with tokens) and the token of a user whose caseload holds
/// about 10,000 records.
fn prefill(data: &std::path::Path, records: usize) -> (Vec<Device>, String) {
    let database = bench_database();
    if let Some(url) = &database {
        baoxue_server::store::postgres::PostgresStore::wipe(url).unwrap();
    }
    let (store, _) = baoxue_server::open_with(data, database.as_deref()).unwrap();
    let mut rng = fastrand::Rng::with_seed(42);
    let admin = User {
        id: UserId::new(),
        account: "admin".into(),
        name: "管理员".into(),
        role: Role::SystemAdmin,
        assignments: vec![],
    };
    store.add_account(&admin, "x").unwrap();
    let mut author = Author::new(admin.id, DeviceId::new());
    let t0 = Utc::now() - Duration::days(3 * 365);
    let today = baoxue_shared::time::today_in_china();
    let empty = Replica::new();
    let mut students: Vec<(StudentId, Household)> = Vec::new();
    let mut written = 0usize;
    let mut pending: Vec<Op> = Vec::new();
    while written + pending.len() < records {
        let at = t0 + Duration::seconds((written + pending.len()) as i64 * 90);
        if students.is_empty() || rng.u8(..100) < 45 {
            let h = sample::household(&mut rng);
            let s = sample::student(&mut rng, &h, today);
            pending.extend(author.household_ops(&empty, &h, at));
            pending.extend(author.student_ops(&empty, &s, at));
            pending.extend(author.guardian_ops(&empty, &sample::guardian(&mut rng, s.id), at));
            students.push((s.id, h));
        } else {
            let (sid, h) = &students[rng.usize(..students.len())];
            let v = sample::visit(&mut rng, VisitKind::HomeVisit, admin.id, *sid, h, at);
            pending.push(author.record(v, at + Duration::hours(1)));
        }
        if pending.len() >= 5_000 {
            written += pending.len();
            push_trusted(
                store.as_ref(),
                admin.id,
                author.device,
                std::mem::take(&mut pending),
                Utc::now(),
            )
            .unwrap();
        }
    }
    written += pending.len();
    push_trusted(store.as_ref(), admin.id, author.device, pending, Utc::now()).unwrap();
    let _ = written;

    // Bench teachers, each paired with 20 students, logged in with a device token.
    let mut devices = Vec::new();
    for i in 0..DEVICES {
        let mine: Vec<(StudentId, Household)> = (0..PER_TEACHER)
            .map(|k| students[(i * PER_TEACHER + k) % students.len()].clone())
            .collect();
        let user = User {
            id: UserId::new(),
            account: format!("bench{i}"),
            name: format!("教师{i}"),
            role: Role::Teacher,
            assignments: mine
                .iter()
                .map(|(s, _)| Assignment::Student { student: *s })
                .collect(),
        };
        store.add_account(&user, "x").unwrap();
        let token = format!("{:064x}", i + 1);
        let device = DeviceId::new();
        store
            .save_token(&TokenRecord {
                hash: baoxue_server::auth::token_hash(&token),
                user: user.id,
                device,
                issued_at: Utc::now(),
                expires_at: Utc::now() + Duration::days(1),
            })
            .unwrap();
        devices.push(Device {
            token,
            author: Author::new(user.id, device),
            students: mine,
        });
    }
    // One user whose caseload is about 10,000 records (~20 per student).
    let big: Vec<Assignment> = students
        .iter()
        .skip(DEVICES * PER_TEACHER)
        .take(500)
        .map(|(s, _)| Assignment::Student { student: *s })
        .collect();
    let big_user = User {
        id: UserId::new(),
        account: "big".into(),
        name: "大户".into(),
        role: Role::Teacher,
        assignments: big,
    };
    store.add_account(&big_user, "x").unwrap();
    let big_token = "f".repeat(64);
    store
        .save_token(&TokenRecord {
            hash: baoxue_server::auth::token_hash(&big_token),
            user: big_user.id,
            device: DeviceId::new(),
            issued_at: Utc::now(),
            expires_at: Utc::now() + Duration::days(1),
        })
        .unwrap();
    store.close();
    (devices, big_token)
}

fn make_batch(d: &mut Device, rng: &mut fastrand::Rng) -> Vec<u8> {
    let now = Utc::now();
    let ops: Vec<Op> = (0..BATCH)
        .map(|i| {
            // Clustered by student, as a day's work on one phone is.
            let (sid, h) = &d.students[(i / 10) % d.students.len()];
            let v = sample::visit(
                rng,
                VisitKind::HomeVisit,
                d.author.user,
                *sid,
                h,
                now - Duration::hours(2),
            );
            d.author.record(v, now)
        })
        .collect();
    Batch::new(d.author.device, ops).encode()
}

async fn saturate(
    base: &str,
    devices: &[Arc<tokio::sync::Mutex<Device>>],
    bodies: Vec<Vec<Vec<u8>>>,
    dur: std::time::Duration,
) -> f64 {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()
        .unwrap();
    let accepted = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (d, mine) in devices.iter().zip(bodies) {
        let (client, accepted, d, url) = (
            client.clone(),
            accepted.clone(),
            d.clone(),
            format!("{base}/api/sync/push"),
        );
        tasks.push(tokio::spawn(async move {
            let d = d.lock().await;
            for body in mine {
                if start.elapsed() >= dur {
                    break;
                }
                let r = client
                    .post(&url)
                    .bearer_auth(&d.token)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert!(
                    r.status().is_success(),
                    "push failed: {}",
                    r.text().await.unwrap_or_default()
                );
                let receipt: serde_json::Value = r.json().await.unwrap();
                accepted.fetch_add(receipt["new"].as_u64().unwrap(), Ordering::Relaxed);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    accepted.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

async fn peak(
    base: &str,
    devices: &[Arc<tokio::sync::Mutex<Device>>],
    dur: std::time::Duration,
) -> (f64, f64, usize) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()
        .unwrap();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (i, d) in devices.iter().enumerate() {
        let (client, d, url) = (client.clone(), d.clone(), format!("{base}/api/sync/push"));
        tasks.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(1000 + i as u64);
            let mut d = d.lock().await;
            // Phones are not synchronised: each starts at its own moment in the first 10 s.
            tokio::time::sleep(std::time::Duration::from_millis(rng.u64(..10_000))).await;
            let mut lat = Vec::new();
            while start.elapsed() < dur {
                let body = make_batch(&mut d, &mut rng);
                let t = Instant::now();
                let r = client
                    .post(&url)
                    .bearer_auth(&d.token)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success());
                r.bytes().await.unwrap();
                lat.push(t.elapsed().as_secs_f64() * 1e3);
                tokio::time::sleep(std::time::Duration::from_secs(10).saturating_sub(t.elapsed()))
                    .await;
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let q = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    (q(0.5), q(0.99), all.len())
}

async fn pulls(base: &str, token: &str) -> (f64, usize, usize, f64) {
    let client = reqwest::Client::new();
    let start = Instant::now();
    let mut cursor = String::new();
    let mut pages = 0;
    let mut n = 0;
    loop {
        let page: serde_json::Value = client
            .get(format!("{base}/api/sync/pull?cursor={cursor}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        pages += 1;
        n += page["ops"].as_array().unwrap().len();
        cursor = page["cursor"].as_str().unwrap().to_string();
        if !page["more"].as_bool().unwrap() {
            break;
        }
    }
    let first = start.elapsed().as_secs_f64() * 1e3;
    let mut incr = Vec::new();
    for _ in 0..11 {
        let t = Instant::now();
        let page: serde_json::Value = client
            .get(format!("{base}/api/sync/pull?cursor={cursor}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(page["ops"].as_array().unwrap().is_empty());
        incr.push(t.elapsed().as_secs_f64() * 1e3);
    }
    incr.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (first, pages, n, incr[incr.len() / 2])
}

/// The machine's ceiling: the same rows the server writes for an accepted op (the op, its
/// subject rows, its chain link) inserted by a bare rusqlite loop, one transaction per 100 ops,
/// with the server's durability settings, into the same pre-filled store.
/// The PostgreSQL database to measure, if any.
fn bench_database() -> Option<String> {
    std::env::var("BAOXUE_BENCH_DATABASE")
        .ok()
        .filter(|s| !s.is_empty())
}

/// Visits as stored ops (id, body) about one student, for the bare loops.
fn bare_bodies(n: usize) -> (StudentId, Vec<(String, String)>) {
    let mut rng = fastrand::Rng::with_seed(7);
    let mut author = Author::new(UserId::new(), DeviceId::new());
    let h = sample::household(&mut rng);
    let sid = StudentId::new();
    let bodies = (0..n)
        .map(|_| {
            let v = sample::visit(
                &mut rng,
                VisitKind::HomeVisit,
                author.user,
                sid,
                &h,
                Utc::now(),
            );
            let mut op = author.record(v, Utc::now());
            op.received_at = Some(Utc::now());
            (op.id.to_string(), serde_json::to_string(&op).unwrap())
        })
        .collect();
    (sid, bodies)
}

fn chain_link(prev: &[u8], seq: i64, body: &str) -> Vec<u8> {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(prev);
    h.update(seq.to_le_bytes());
    h.update(body.as_bytes());
    h.finalize().to_vec()
}

/// The same rows as `bare_insert`, straight into PostgreSQL with the synchronous client.
fn bare_insert_postgres(url: &str, n: usize) -> f64 {
    let mut c = postgres::Client::connect(url, postgres::NoTls).unwrap();
    let (sid, bodies) = bare_bodies(n);
    let sid = sid.to_string();
    let start = Instant::now();
    let mut prev = Vec::new();
    for (k, chunk) in bodies.chunks(BATCH).enumerate() {
        let mut tx = c.transaction().unwrap();
        for (j, (id, body)) in chunk.iter().enumerate() {
            let seq: i64 = tx
                .query_one(
                    "INSERT INTO ops(id, batch, author, device, entity, received_at, body) VALUES ($1, 'b', 'a', 'd', NULL, 'now', $2) RETURNING seq",
                    &[id, body],
                )
                .unwrap()
                .get(0);
            tx.execute(
                "INSERT INTO op_subjects(seq, student, household) VALUES ($1, $2, NULL)",
                &[&seq, &sid],
            )
            .unwrap();
            prev = chain_link(&prev, seq, body);
            tx.execute(
                "INSERT INTO chain(student, position, seq, hash) VALUES ($1, $2, $3, $4)",
                &[&sid, &((k * BATCH + j) as i64 + 1), &seq, &prev],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn bare_insert(data: &std::path::Path, n: usize) -> f64 {
    if let Some(url) = bench_database() {
        return bare_insert_postgres(&url, n);
    }
    let mut c = rusqlite::Connection::open(data.join("baoxue.sqlite3")).unwrap();
    c.pragma_update(None, "journal_mode", "WAL").unwrap();
    c.pragma_update(None, "synchronous", "FULL").unwrap();
    let (sid, bodies) = bare_bodies(n);
    let start = Instant::now();
    let mut prev = Vec::new();
    for (k, chunk) in bodies.chunks(BATCH).enumerate() {
        let tx = c.transaction().unwrap();
        for (j, (id, body)) in chunk.iter().enumerate() {
            tx.execute(
                "INSERT INTO ops(id, batch, author, device, entity, received_at, body) VALUES (?1, 'b', 'a', 'd', NULL, 'now', ?2)",
                (id, body),
            )
            .unwrap();
            let seq = tx.last_insert_rowid();
            tx.execute(
                "INSERT INTO op_subjects(seq, student, household) VALUES (?1, ?2, NULL)",
                (seq, sid.to_string()),
            )
            .unwrap();
            prev = chain_link(&prev, seq, body);
            tx.execute(
                "INSERT INTO chain(student, position, seq, hash) VALUES (?1, ?2, ?3, ?4)",
                (sid.to_string(), (k * BATCH + j) as i64 + 1, seq, &prev),
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}
