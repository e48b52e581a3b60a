//! Test support for the end-to-end tests: a real server on a loopback port over a real SQLite
//! file, seeded through the server's own store, and a small HTTP client that pushes and pulls
//! like a phone. Nothing here stands in for a part a user touches.
//!
//! With `BAOXUE_TEST_POSTGRES=postgres://user@host:port` set, the same tests run over
//! PostgreSQL instead: each test's data directory gets a database of its own on that server
//! (`test_database`), and the seeder, the servers and `open_store` all use it.

pub mod chromium;
pub mod phone;

use baoxue_server::store::Store;
use baoxue_server::{Settings, sync::push_trusted};
use baoxue_shared::api::{ErrorBody, LoginRequest, LoginResponse, PullPage};
use baoxue_shared::author::Author;
use baoxue_shared::ids::{BatchId, DeviceId, UserId};
use baoxue_shared::op::Op;
use baoxue_shared::people::{Assignment, Role, User};
use baoxue_shared::replica::Replica;
use baoxue_shared::wire::{Batch, PROTOCOL_VERSION};
use chrono::Utc;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The PostgreSQL server the suite runs against, if any.
pub fn postgres_server() -> Option<String> {
    std::env::var("BAOXUE_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
}

/// The database of the test whose data directory is `data_dir`, made empty on first use —
/// `None` when the suite runs on SQLite.
pub fn test_database(data_dir: &Path) -> Option<String> {
    use std::collections::HashSet;
    use std::sync::Mutex;
    static MADE: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let server = postgres_server()?;
    let name = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        std::fs::create_dir_all(data_dir).expect("data dir");
        std::fs::canonicalize(data_dir)
            .expect("data dir")
            .hash(&mut h);
        format!("baoxue_test_{:016x}", h.finish())
    };
    let url = format!("{}/{name}", server.trim_end_matches('/'));
    let mut made = MADE.lock().expect("made");
    if made.get_or_insert_with(HashSet::new).insert(name.clone()) {
        let admin = format!("{}/postgres", server.trim_end_matches('/'));
        // The synchronous client cannot start inside the test's runtime: its own thread.
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&admin, postgres::NoTls)
                .expect("connect to the test PostgreSQL server");
            for sql in [
                format!("DROP DATABASE IF EXISTS {name}"),
                format!("CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8'"),
            ] {
                c.batch_execute(&sql).expect("a fresh test database");
            }
        })
        .join()
        .expect("database made");
    }
    Some(url)
}

/// Open the store of a test's data directory (SQLite there, or its PostgreSQL database).
pub fn open_store(data_dir: &Path) -> (std::sync::Arc<dyn Store>, baoxue_server::state::AppState) {
    baoxue_server::open_with(data_dir, test_database(data_dir).as_deref()).expect("open store")
}

/// The password of every test account.
pub const PASSWORD: &str = "test-password-1";

/// A running server on 127.0.0.1:<random port>.
pub struct TestServer {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Where `scripts/build-web.sh` puts the built web app (looked up when the test runs).
pub fn web_app_dir() -> PathBuf {
    let here = std::env::var("CARGO_MANIFEST_DIR").expect("run by cargo");
    Path::new(&here).join("../app/web/dist")
}

impl TestServer {
    /// Start a server on `data_dir` in this process.
    pub async fn start(data_dir: &Path) -> TestServer {
        Self::start_on(data_dir, "127.0.0.1:0".parse().expect("an address")).await
    }

    /// Start a server on `data_dir` at `addr` (a phone's browser comes back to the same
    /// origin after a restart), serving the web app `scripts/build-web.sh` built.
    pub async fn start_on(data_dir: &Path, addr: SocketAddr) -> TestServer {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = tokio::sync::oneshot::channel();
        let settings = Settings {
            data_dir: data_dir.to_path_buf(),
            database: test_database(data_dir),
            evidence: Default::default(),
            web_app: Some(web_app_dir()),
        };
        let task = tokio::spawn(async move {
            baoxue_server::serve(listener, settings, async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        TestServer {
            addr,
            data_dir: data_dir.to_path_buf(),
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// A handle on a server running in another process (no way to stop it from here).
    pub fn external(addr: SocketAddr, data_dir: &Path) -> TestServer {
        TestServer {
            addr,
            data_dir: data_dir.to_path_buf(),
            stop: None,
            task: None,
        }
    }

    /// The base URL.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stop gracefully and wait until the store is closed.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

/// A server in a process of its own (`baoxue-test-server`) over `data_dir` (and its test
/// database), on a random loopback port; killed (SIGKILL) when dropped.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub addr: SocketAddr,
}

impl ServerProcess {
    // The child is killed and waited for in `Drop`, which the lint cannot see.
    #[allow(clippy::zombie_processes)]
    /// `exe`: `env!("CARGO_BIN_EXE_baoxue-test-server")`, which only a test target can name.
    pub fn spawn(exe: &str, data_dir: &Path) -> ServerProcess {
        let port_file = data_dir
            .parent()
            .unwrap_or(data_dir)
            .join(format!("port-{}", fastrand::u64(..)));
        let mut command = std::process::Command::new(exe);
        if let Some(db) = test_database(data_dir) {
            command.env("BAOXUE_DATABASE", db);
        }
        let child = command
            .arg(data_dir)
            .arg(&port_file)
            .env("RUST_LOG", "warn")
            .spawn()
            .expect("spawn server");
        for _ in 0..400 {
            if let Ok(p) = std::fs::read_to_string(&port_file)
                && let Ok(port) = p.trim().parse::<u16>()
            {
                return ServerProcess {
                    child,
                    addr: ([127, 0, 0, 1], port).into(),
                };
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("server did not start");
    }

    /// SIGKILL: no chance to finish anything.
    pub fn stop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }

    /// A [`TestServer`]-shaped handle, for `Phone::login` and `Browser::login`.
    pub fn handle(&self, data_dir: &Path) -> TestServer {
        TestServer::external(self.addr, data_dir)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Seeding a data directory before the server starts, through the server's own store.
pub struct Seeder {
    pub store: std::sync::Arc<dyn Store>,
    pub admin: Author,
    admin_user: UserId,
    pub world: Replica,
}

impl Seeder {
    /// Open `data_dir` for seeding.
    pub fn open(data_dir: &Path) -> Seeder {
        let (store, _) = open_store(data_dir);
        let admin_user = UserId::new();
        let admin = User {
            id: admin_user,
            account: "admin".into(),
            name: "管理员".into(),
            role: Role::SystemAdmin,
            assignments: vec![],
        };
        store
            .add_account(
                &admin,
                &baoxue_server::auth::hash_password(PASSWORD).unwrap(),
            )
            .expect("admin");
        Seeder {
            store,
            admin: Author::new(admin_user, DeviceId::new()),
            admin_user,
            world: Replica::new(),
        }
    }

    /// Add an account with a role and assignments.
    pub fn user(&self, account: &str, role: Role, assignments: Vec<Assignment>) -> User {
        let u = User {
            id: UserId::new(),
            account: account.into(),
            name: account.into(),
            role,
            assignments,
        };
        self.store
            .add_account(&u, &baoxue_server::auth::hash_password(PASSWORD).unwrap())
            .expect("account");
        u
    }

    /// Store roster ops made by the admin.
    pub fn roster(&mut self, ops: Vec<Op>) {
        self.world.apply_all(ops.iter().cloned()).unwrap();
        push_trusted(
            self.store.as_ref(),
            self.admin_user,
            self.admin.device,
            ops,
            Utc::now(),
        )
        .expect("seed roster");
    }

    /// Put a sample household with `n` students on the roster (written a month ago).
    pub fn household_with_students(
        &mut self,
        rng: &mut fastrand::Rng,
        n: usize,
    ) -> (
        baoxue_shared::people::Household,
        Vec<baoxue_shared::people::Student>,
    ) {
        use baoxue_shared::sample;
        let h = sample::household(rng);
        let today = baoxue_shared::time::today_in_china();
        let students: Vec<_> = (0..n).map(|_| sample::student(rng, &h, today)).collect();
        let t0 = Utc::now() - chrono::Duration::days(30);
        let world = self.world.clone();
        let mut ops = self.admin.household_ops(&world, &h, t0);
        for st in &students {
            ops.extend(self.admin.student_ops(&world, st, t0));
        }
        self.roster(ops);
        (h, students)
    }

    /// A teacher account paired with `students`.
    pub fn teacher(&self, account: &str, students: &[baoxue_shared::people::Student]) -> User {
        self.user(
            account,
            Role::Teacher,
            students
                .iter()
                .map(|s| Assignment::Student { student: s.id })
                .collect(),
        )
    }

    /// Close the store so a server can open the directory.
    pub fn close(self) {
        self.store.close();
    }
}

/// A phone talking to the server over HTTP: its own author (user, device, clock), its local
/// replica, and the pull cursor.
pub struct Phone {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
    pub author: Author,
    pub replica: Replica,
    pub cursor: String,
}

/// An HTTP answer that was not a success: status and the error body.
#[derive(Debug)]
pub struct Refusal {
    pub status: u16,
    pub body: Value,
}

impl Refusal {
    /// The error's machine code.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    /// The body as the protocol declares it (panics in a test if it is not the house's).
    pub fn error(&self) -> ErrorBody {
        serde_json::from_value(self.body.clone())
            .unwrap_or_else(|e| panic!("not the house error body ({e}): {}", self.body))
    }
}

impl Phone {
    /// Log in as `account` from a new device.
    pub async fn login(server: &TestServer, account: &str) -> Phone {
        let http = reqwest::Client::new();
        let device = DeviceId::new();
        let resp = http
            .post(server.url("/api/login"))
            .json(&LoginRequest {
                account: account.into(),
                password: PASSWORD.into(),
                device,
            })
            .send()
            .await
            .expect("login request");
        let status = resp.status();
        let login: LoginResponse = match resp.json().await {
            Ok(l) if status.is_success() => l,
            other => panic!("login as {account} failed: {status} {other:?}"),
        };
        let (token, user) = (login.token, login.user.id);
        Phone {
            http,
            base: server.url(""),
            token,
            author: Author::new(user, device),
            replica: Replica::new(),
            cursor: String::new(),
        }
    }

    /// Push ops as one batch; on success the receipt JSON.
    pub async fn push(&self, ops: Vec<Op>) -> Result<Value, Refusal> {
        let batch = Batch {
            v: PROTOCOL_VERSION,
            batch: BatchId::new(),
            device: self.author.device,
            ops,
        };
        self.push_raw(batch.encode()).await
    }

    /// Push a batch exactly as given.
    pub async fn push_batch(&self, batch: &Batch) -> Result<Value, Refusal> {
        self.push_raw(batch.encode()).await
    }

    /// Push raw bytes as a batch body. A connection that fails (the server is gone) is a
    /// refusal with status 0.
    pub async fn push_raw(&self, body: Vec<u8>) -> Result<Value, Refusal> {
        let r = self
            .http
            .post(format!("{}/api/sync/push", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        match r {
            Ok(r) => answer(r).await,
            Err(e) => Err(Refusal {
                status: 0,
                body: serde_json::json!({ "error": { "code": "connection", "message": e.to_string() } }),
            }),
        }
    }

    /// GET a path with the token.
    pub async fn get(&self, path: &str) -> Result<Value, Refusal> {
        let r = self
            .http
            .get(format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("get");
        answer(r).await
    }

    /// A student's file as the API sends it, decoded into the shared type.
    pub async fn file(
        &self,
        student: baoxue_shared::ids::StudentId,
    ) -> Result<baoxue_shared::api::FileResponse, Refusal> {
        let v = self.get(&format!("/api/students/{student}/file")).await?;
        Ok(serde_json::from_value(v).expect("a file response"))
    }

    /// POST a JSON body to a path with the token.
    pub async fn post_json(&self, path: &str, body: &Value) -> Result<Value, Refusal> {
        let r = self
            .http
            .post(format!("{}{}", self.base, path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .expect("post");
        answer(r).await
    }

    /// Pull everything new into the local replica; returns how many ops arrived.
    pub async fn pull(&mut self) -> usize {
        let mut n = 0;
        loop {
            let page = self
                .get(&format!("/api/sync/pull?cursor={}", self.cursor))
                .await
                .expect("pull");
            let page: PullPage = serde_json::from_value(page).expect("a pull page");
            n += page.ops.len();
            let now = Utc::now();
            for op in page.ops {
                self.author.clock.observe(op.hlc, now);
                self.replica.apply(op).expect("merge");
            }
            self.cursor = page.cursor;
            if !page.more {
                return n;
            }
        }
    }

    /// The household of a student this phone holds (panics in a test if it holds neither).
    pub fn household_of(
        &self,
        student: baoxue_shared::ids::StudentId,
    ) -> baoxue_shared::people::Household {
        let h = self
            .replica
            .student(student)
            .and_then(|s| s.household)
            .expect("the student and their household were pulled");
        self.replica.household(h).expect("the household was pulled")
    }

    /// Make an op locally (as the app would), applying it to the local replica.
    pub fn make(&mut self, f: impl FnOnce(&mut Author, &Replica) -> Op) -> Op {
        let op = f(&mut self.author, &self.replica);
        self.replica.apply(op.clone()).expect("local merge");
        op
    }
}

/// The sample county, as a county supervisor's assignment.
pub fn county_area() -> Assignment {
    use baoxue_shared::area::{AreaScope, Division};
    use baoxue_shared::sample::COUNTY;
    Assignment::Area {
        area: AreaScope::County(Division::coded(COUNTY.0, COUNTY.1).expect("a valid code")),
    }
}

/// A small real JPEG (64×48), as a phone would upload.
pub fn jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 3, y as u8 * 5, 90]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .unwrap();
    out
}

/// The figure the console's monthly report shows against `label`.
pub fn report_figure(page: &str, label: &str) -> u32 {
    let at = page
        .find(&format!("data-label=\"{label}\">"))
        .unwrap_or_else(|| panic!("no {label} in the report"));
    let rest = &page[at..];
    let start = rest.find('>').unwrap() + 1;
    let end = rest.find('<').unwrap();
    rest[start..end].trim().parse().unwrap()
}

/// The cells of the row of `sheet` in an .xlsx file that has a cell equal to `label`.
pub fn xlsx_row(bytes: &[u8], sheet: &str, label: &str) -> Vec<String> {
    use calamine::{Reader, Xlsx};
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("a real .xlsx");
    let range = wb
        .worksheet_range(sheet)
        .unwrap_or_else(|e| panic!("no sheet {sheet}: {e}"));
    range
        .rows()
        .find(|r| r.iter().any(|c| *c == label))
        .unwrap_or_else(|| panic!("no row {label} in {sheet}"))
        .iter()
        .map(|c| c.to_string())
        .collect()
}

/// A browser on the console: its session cookie; redirects are not followed so they can be
/// checked.
pub struct Browser {
    pub http: reqwest::Client,
    pub base: String,
    pub cookie: String,
}

impl Browser {
    /// Submit the console's login form as `account`, from the console's own page; the answer
    /// as it came (a refusal included).
    pub async fn attempt_login(server: &TestServer, account: &str) -> reqwest::Response {
        Self::attempt(server, account, PASSWORD).await
    }

    async fn attempt(server: &TestServer, account: &str, password: &str) -> reqwest::Response {
        Self::client()
            .post(server.url("/console/login"))
            .header("origin", server.url(""))
            .form(&[("account", account), ("password", password)])
            .send()
            .await
            .unwrap()
    }

    fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    pub async fn login(server: &TestServer, account: &str) -> Browser {
        Self::login_as(server, account, PASSWORD).await
    }

    /// Log in with `password` (the demo county's accounts have their own).
    pub async fn login_as(server: &TestServer, account: &str, password: &str) -> Browser {
        let http = Self::client();
        let r = Self::attempt(server, account, password).await;
        assert_eq!(r.status().as_u16(), 303, "login redirects to the queue");
        let cookie = r
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .expect("a session cookie")
            .to_string();
        Browser {
            http,
            base: server.url(""),
            cookie,
        }
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> reqwest::Response {
        req.header("cookie", &self.cookie).send().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = self
            .send(self.http.get(format!("{}{}", self.base, path)))
            .await;
        (r.status().as_u16(), r.text().await.unwrap())
    }

    pub async fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let r = self
            .send(self.http.get(format!("{}{}", self.base, path)))
            .await;
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        // A browser posting a form of this server's own pages says where it comes from.
        let req = self
            .http
            .post(format!("{}{}", self.base, path))
            .header("origin", &self.base)
            .form(form);
        let r = self.send(req).await;
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

async fn answer(r: reqwest::Response) -> Result<Value, Refusal> {
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    if (200..300).contains(&status) {
        Ok(body)
    } else {
        Err(Refusal { status, body })
    }
}

/// A TCP proxy in front of a test server that cuts the connection carrying photo uploads
/// (`PUT` or `PATCH /api/photos/…`) once `cut_after` bytes of them have gone through — a weak signal
/// dropping mid-photo. Only the first such connection is cut; later ones pass untouched.
pub struct CuttingProxy {
    pub url: String,
    /// Bytes of photo uploads forwarded to the server, in all connections.
    pub upload_bytes: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl CuttingProxy {
    pub async fn start(server: &TestServer, cut_after: u64) -> CuttingProxy {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let target = server.addr;
        let upload_bytes = Arc::new(AtomicU64::new(0));
        let armed = Arc::new(AtomicBool::new(true));
        let counted = upload_bytes.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(upstream) = tokio::net::TcpStream::connect(target).await else {
                    continue;
                };
                let (counted, armed) = (counted.clone(), armed.clone());
                tokio::spawn(async move {
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = upstream.into_split();
                    let back = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut sr, &mut cw).await;
                    });
                    let mut buf = vec![0u8; 16 * 1024];
                    let mut in_upload = false;
                    let mut mine = 0u64;
                    loop {
                        let n = match cr.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let piece = &buf[..n];
                        if piece.starts_with(b"PATCH /api/photos/")
                            || piece.starts_with(b"PUT /api/photos/")
                        {
                            in_upload = true;
                        } else if piece.starts_with(b"GET ")
                            || piece.starts_with(b"POST ")
                            || piece.starts_with(b"HEAD ")
                        {
                            in_upload = false;
                        }
                        if in_upload {
                            mine += n as u64;
                            if mine > cut_after && armed.swap(false, Ordering::SeqCst) {
                                // Forward part of this read, then drop the line.
                                let _ = sw.write_all(&piece[..n / 2]).await;
                                counted.fetch_add((n / 2) as u64, Ordering::SeqCst);
                                back.abort();
                                return;
                            }
                            counted.fetch_add(n as u64, Ordering::SeqCst);
                        }
                        if sw.write_all(piece).await.is_err() {
                            break;
                        }
                    }
                    let _ = sw.shutdown().await;
                    let _ = back.await;
                });
            }
        });
        CuttingProxy { url, upload_bytes }
    }
}

/// Teacher `t`'s phone (its app folder at `dir/phone`) logged in, synced and saved one status
/// change offline; then the school admin reset `t`'s password to `new`. The running server.
pub async fn phone_with_an_unsynced_change_then_a_password_reset(
    dir: &Path,
    new: &str,
) -> TestServer {
    use baoxue_app::core::install::Installation;
    let data = dir.join("data");
    let mut s = Seeder::open(&data);
    let mut rng = fastrand::Rng::with_seed(25);
    let (_, students) = s.household_with_students(&mut rng, 1);
    s.teacher("t", &students);
    s.close();
    let server = TestServer::start(&data).await;
    let inst = Installation::open(&dir.join("phone")).unwrap();
    let mut app = inst.log_in(&server.url(""), "t", PASSWORD).await.unwrap();
    app.sync().await.unwrap();
    app.set_status(
        students[0].id,
        baoxue_shared::status::EnrolmentStatus::SuspectedDropout,
        Utc::now(),
    )
    .unwrap();
    assert_eq!(app.unsynced().unwrap(), 1);
    drop(app);
    baoxue_server::admin::user(
        &data,
        test_database(&data).as_deref(),
        baoxue_server::admin::UserCommand::ResetPassword {
            account: "t".into(),
            password: new.into(),
        },
    )
    .unwrap();
    server
}

/// The test's database opened beside the server, as someone editing it by hand would: SQLite's
/// file, or the test's PostgreSQL database. Values come back as text (bytes as hex).
pub enum RawDb {
    Sqlite(rusqlite::Connection),
    Postgres(String),
}

impl RawDb {
    pub fn open(data_dir: &Path) -> RawDb {
        match test_database(data_dir) {
            Some(url) => RawDb::Postgres(url),
            None => RawDb::Sqlite(
                rusqlite::Connection::open(data_dir.join("baoxue.sqlite3")).expect("open"),
            ),
        }
    }

    /// Every row of a query.
    pub fn rows(&self, sql: &str) -> Vec<Vec<String>> {
        match self {
            RawDb::Sqlite(c) => {
                use rusqlite::types::ValueRef;
                let mut st = c.prepare(sql).expect("prepare");
                let n = st.column_count();
                let mut rows = st.query([]).expect("query");
                let mut out = Vec::new();
                while let Some(r) = rows.next().expect("row") {
                    out.push(
                        (0..n)
                            .map(|i| match r.get_ref(i).expect("column") {
                                ValueRef::Null => String::new(),
                                ValueRef::Integer(v) => v.to_string(),
                                ValueRef::Real(v) => v.to_string(),
                                ValueRef::Text(t) => String::from_utf8_lossy(t).into(),
                                ValueRef::Blob(b) => hex(b),
                            })
                            .collect(),
                    );
                }
                out
            }
            RawDb::Postgres(url) => {
                let (url, sql) = (url.clone(), sql.to_string());
                std::thread::spawn(move || {
                    use postgres::types::Type;
                    let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
                    c.query(&sql, &[])
                        .expect("query")
                        .iter()
                        .map(|r| {
                            r.columns()
                                .iter()
                                .enumerate()
                                .map(|(i, col)| match *col.type_() {
                                    Type::INT8 => r
                                        .get::<_, Option<i64>>(i)
                                        .map_or(String::new(), |v| v.to_string()),
                                    Type::INT4 => r
                                        .get::<_, Option<i32>>(i)
                                        .map_or(String::new(), |v| v.to_string()),
                                    Type::BYTEA => r
                                        .get::<_, Option<Vec<u8>>>(i)
                                        .map_or(String::new(), |b| hex(&b)),
                                    _ => r.get::<_, Option<String>>(i).unwrap_or_default(),
                                })
                                .collect()
                        })
                        .collect()
                })
                .join()
                .expect("raw query")
            }
        }
    }

    /// Run statements (`;`-separated) with foreign keys not enforced, as a hand edit would.
    pub fn execute(&self, sql: &str) {
        match self {
            RawDb::Sqlite(c) => {
                c.pragma_update(None, "foreign_keys", "OFF")
                    .expect("pragma");
                c.execute_batch(sql).expect("execute");
            }
            RawDb::Postgres(url) => {
                let (url, sql) = (url.clone(), sql.to_string());
                std::thread::spawn(move || {
                    let mut c = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
                    c.batch_execute(&format!("SET session_replication_role = replica; {sql}"))
                        .expect("execute");
                })
                .join()
                .expect("raw statement")
            }
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A text as an SQL literal.
pub fn sql_text(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
