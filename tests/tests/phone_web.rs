//! The field app as a teacher's phone runs it: the web app the server serves at `/app/`, in
//! Debian's Chromium emulating a 390×800 Android phone (touch, Android user agent), against a
//! real server with the demo county. The teacher logs in and sees the caseload; the network
//! goes (the server stops); she records a home visit with a real camera JPEG through the file
//! input and the phone's position; reloads the page — the app comes from the service worker,
//! the visit, its photo and its outbox entry are still there; the server comes back on the
//! same address and the app pushes by itself; the county sees the visit in the console's queue
//! with its photo and location. A fresh browser profile on the same phone reads nothing, and
//! the browser's stored values hold none of the child's data in the clear.
//!
//! Needs the built web app (`scripts/build-web.sh`, run by `scripts/test.sh`) and Chromium.
//! With `BAOXUE_WEB_SCREENSHOTS=<dir>` it keeps a PNG of every main screen there
//! (`scripts/screenshots.sh` writes them to `screenshots/web/`).

use baoxue_tests::chromium::{Cdp, start_driver};
use baoxue_tests::phone::{ANDROID_UA, click, log_in, phone, type_into, wait_text};
use baoxue_tests::{Browser, TestServer, web_app_dir};
use fantoccini::{Client, Locator};
use serde_json::json;
use std::path::Path;
use std::time::Duration;

const PASSWORD: &str = baoxue_server::demo::DEMO_PASSWORD;

async fn shot(c: &Client, name: &str) {
    if let Ok(dir) = std::env::var("BAOXUE_WEB_SCREENSHOTS") {
        let png = c.screenshot().await.expect("screenshot");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Path::new(&dir).join(format!("{name}.png")), png).unwrap();
    }
}

/// Every stored value of the account's IndexedDB database, read by the page itself, as text
/// (UTF-8, lossy): what someone copying the browser profile would see.
async fn raw_indexeddb(c: &Client, db: &str) -> String {
    let script = r#"
        const [name, done] = arguments;
        const open = indexedDB.open(name);
        open.onsuccess = async () => {
          const db = open.result;
          let text = '';
          for (const store of Array.from(db.objectStoreNames)) {
            const values = await new Promise((ok) => {
              const r = db.transaction(store).objectStore(store).getAll();
              r.onsuccess = () => ok(r.result);
            });
            for (const v of values) text += new TextDecoder().decode(v) + '\n';
          }
          done(text);
        };
        open.onerror = () => done('cannot open');
    "#;
    c.execute_async(script, vec![json!(db)])
        .await
        .expect("read IndexedDB")
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_teacher_records_a_visit_offline_on_the_phone_web_app_and_it_reaches_the_console() {
    assert!(
        web_app_dir().join("index.html").exists(),
        "the web app is not built: run `bash scripts/build-web.sh`"
    );
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, state) = baoxue_tests::open_store(dir.path());
        baoxue_server::demo::seed(store.as_ref(), &state.photos, chrono::Utc::now())
            .unwrap()
            .expect("an empty store gets the demo county");
        store.close();
    }
    let server = TestServer::start(dir.path()).await;
    let addr = server.addr;
    let driver = start_driver().await;
    let profile = tempfile::tempdir().unwrap();
    let c = phone(driver.port, profile.path(), ANDROID_UA).await;

    // Log in; the caseload arrives with the first sync.
    c.goto(&server.url("/app/")).await.unwrap();
    wait_text(&c, "input.account", "", 90).await;
    assert_eq!(
        c.find(Locator::Css("input.server"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some(server.url("").as_str()),
        "the server is the page's own origin"
    );
    shot(&c, "1-login").await;
    log_in(&c, "teacher01", PASSWORD, "button.log-in").await;
    let name = wait_text(&c, "li.student .name", "", 90).await;
    shot(&c, "2-caseload").await;

    // The network goes: the visit is recorded offline.
    server.stop().await;
    c.find(Locator::Css("li.student .name"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&c, "section.student-file", &name, 10).await;
    shot(&c, "3-student").await;
    click(&c, "button.new-visit").await;
    wait_text(&c, "form.new-visit", "", 10).await;

    // A real camera JPEG (4000×3000, EXIF time) through the camera input the app makes.
    let original = baoxue_app::core::photo::camera_like(
        4000,
        3000,
        &baoxue_shared::exif::PhotoFacts {
            captured_at: Some(chrono::Utc::now()),
            ..Default::default()
        },
        7,
    );
    let jpeg = dir.path().join("camera.jpg");
    std::fs::write(&jpeg, &original).unwrap();
    click(&c, "button.photo-button").await;
    let input = c
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id(baoxue_app::ui::device::CAMERA_INPUT_ID))
        .await
        .expect("the camera input is made on the page");
    input.send_keys(&jpeg.display().to_string()).await.unwrap();
    wait_text(&c, "fieldset.photos p.photo", "KB", 60).await;

    // The phone's position (WGS-84, 15 m) from Chromium's geolocation.
    let origin = format!("http://{addr}");
    c.issue_cmd(Cdp {
        cmd: "Browser.grantPermissions",
        params: json!({ "origin": origin, "permissions": ["geolocation"] }),
    })
    .await
    .expect("grant geolocation");
    c.issue_cmd(Cdp {
        cmd: "Emulation.setGeolocationOverride",
        params: json!({ "latitude": 25.7512, "longitude": 108.9123, "accuracy": 15 }),
    })
    .await
    .expect("set the position");
    click(&c, "button.locate-device").await;
    wait_text(&c, "fieldset.location", "手机定位", 30).await;
    let notes = "网页版家访：孩子在家上网课，设备正常";
    type_into(&c, "textarea.notes", notes).await;
    shot(&c, "4-new-visit").await;
    click(&c, "button.save").await;
    wait_text(&c, "ul.timeline", notes, 30).await;

    // Reload with the server down: the app comes from the service worker; the data from the
    // phone's store, unlocked with the password alone.
    c.refresh().await.unwrap();
    log_in(&c, "teacher01", PASSWORD, "button.unlock").await;
    wait_text(&c, "section.caseload p.unsynced", "1", 30).await;
    click(&c, "button.nav-sync").await;
    wait_text(&c, "section.sync p.pending", "1", 10).await;
    wait_text(&c, "section.sync p.pending-photos", "1", 10).await;
    shot(&c, "5-sync-offline").await;
    click(&c, "button.nav-settings").await;
    shot(&c, "6-settings").await;
    click(&c, "button.nav-caseload").await;
    c.find(Locator::XPath(&format!(
        "//li[contains(@class,'student')]//span[@class='name'][text()='{name}']"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_text(&c, "ul.timeline", notes, 10).await;

    // Nothing of the child's in the clear in the browser's store.
    let raw = raw_indexeddb(&c, "baoxue-teacher01").await;
    assert!(raw.len() > 1000, "the store was read: {} bytes", raw.len());
    for secret in [name.as_str(), notes, "网上课", "\"notes\""] {
        assert!(
            !raw.contains(secret),
            "{secret} is in the clear in IndexedDB"
        );
    }

    // The server comes back on the same address: the app pushes without a tap.
    let server = TestServer::start_on(dir.path(), addr).await;
    click(&c, "button.nav-sync").await;
    // Records first, then the photo: the screen says so once both are on the server.
    wait_text(&c, "section.sync p.all-synced", "全部记录已同步", 150).await;
    shot(&c, "7-synced").await;

    // The county sees it in the queue, with its photo and the phone's position.
    let county = Browser::login_as(&server, "county", PASSWORD).await;
    let (status, queue) = county.get("/console/queue").await;
    assert_eq!(status, 200);
    // The queue lists visits by student; the one with these notes is among this child's.
    let mut visit = None;
    for row in queue.split("<tr data-record=\"").skip(1) {
        let row = &row[..row.find("</tr>").unwrap_or(row.len())];
        if !row.contains(name.as_str()) {
            continue;
        }
        let record = row.split('"').next().unwrap();
        let (status, page) = county.get(&format!("/console/visits/{record}")).await;
        assert_eq!(status, 200);
        if page.contains(notes) {
            visit = Some(page);
            break;
        }
    }
    let visit = visit.expect("the phone's visit is in the county's queue");
    assert!(visit.contains("手机定位"), "located by the phone: {visit}");
    assert!(visit.contains("/api/photos/"), "with its photo");
    let sha = visit
        .split("/api/photos/")
        .nth(1)
        .map(|s| s[..64].to_string())
        .unwrap();
    let (status, bytes) = county.get_bytes(&format!("/api/photos/{sha}")).await;
    assert_eq!(status, 200);
    assert!(
        image::load_from_memory(&bytes).unwrap().width() <= 1600,
        "the evidence photo, made on the phone"
    );

    // A fresh browser profile on the same phone reads nothing of the first teacher's.
    c.close().await.unwrap();
    let other = tempfile::tempdir().unwrap();
    let c2 = phone(driver.port, other.path(), ANDROID_UA).await;
    c2.goto(&server.url("/app/")).await.unwrap();
    log_in(&c2, "teacher01", PASSWORD, "button.unlock").await;
    wait_text(&c2, "p.login-error", "尚未在本机登录过", 20).await;
    c2.close().await.unwrap();
    server.stop().await;
}
