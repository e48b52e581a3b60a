//! The web app where the browser differs from an app with a folder of its own: inside WeChat's
//! built-in browser it refuses to start and says where to open it; a record the server refuses
//! is handed to the teacher as a download for the school admin; a refused location permission
//! is said in Chinese and the visit still saves; the app asks the browser to keep its storage at
//! login. Chromium as an Android phone,
//! against a real server and the built web app (`scripts/build-web.sh`).

use baoxue_shared::op::OpBody;
use baoxue_tests::chromium::{Cdp, start_driver};
use baoxue_tests::phone::{ANDROID_UA, click, log_in, phone, type_into, wait_text};
use baoxue_tests::{PASSWORD, Seeder, TestServer, web_app_dir};
use fantoccini::Locator;
use serde_json::json;
use std::time::{Duration, Instant};

/// WeChat's built-in browser on Android (its user agent carries `MicroMessenger`).
const WECHAT_UA: &str = "Mozilla/5.0 (Linux; Android 12; Redmi Note 11 Build/SKQ1.211006.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/111.0.5563.116 Mobile Safari/537.36 XWEB/1110005 MMWEBSDK/20230805 MMWEBID/6279 MicroMessenger/8.0.42.2460(0x28002A58) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64";

fn built() {
    assert!(
        web_app_dir().join("index.html").exists(),
        "the web app is not built: run `bash scripts/build-web.sh`"
    );
}

/// A teacher paired with one child on a running server (data in `data/` of `dir`), and a phone
/// (Chromium as Android) that has opened nothing yet. Bind every field: the folders and the
/// driver must live as long as the test.
struct OneChild {
    dir: tempfile::TempDir,
    server: TestServer,
    child: baoxue_shared::people::Student,
    c: fantoccini::Client,
    _driver: baoxue_tests::chromium::Driver,
    _profile: tempfile::TempDir,
}

async fn one_child(seed: u64) -> OneChild {
    built();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut s = Seeder::open(&data);
    let mut rng = fastrand::Rng::with_seed(seed);
    let (_, students) = s.household_with_students(&mut rng, 1);
    s.teacher("t", &students);
    s.close();
    let server = TestServer::start(&data).await;
    let driver = start_driver().await;
    let profile = tempfile::tempdir().unwrap();
    let c = phone(driver.port, profile.path(), ANDROID_UA).await;
    OneChild {
        dir,
        server,
        child: students[0].clone(),
        c,
        _driver: driver,
        _profile: profile,
    }
}

#[tokio::test]
async fn inside_wechat_the_app_asks_to_be_opened_in_the_phones_browser() {
    built();
    let dir = tempfile::tempdir().unwrap();
    Seeder::open(dir.path()).close();
    let server = TestServer::start(dir.path()).await;
    let driver = start_driver().await;

    let profile = tempfile::tempdir().unwrap();
    let c = phone(driver.port, profile.path(), WECHAT_UA).await;
    let url = server.url("/app/");
    c.goto(&url).await.unwrap();
    let page = wait_text(&c, "section.wechat", "请在手机浏览器中打开", 90).await;
    assert!(page.contains("清理缓存"), "says why: {page}");
    assert!(page.contains(&url), "shows the address to open: {page}");
    assert!(
        c.find_all(Locator::Css("input.account"))
            .await
            .unwrap()
            .is_empty(),
        "no login inside WeChat, so nothing is recorded where it would be lost"
    );
    c.close().await.unwrap();

    // The same address in the phone's own browser is the app.
    let profile = tempfile::tempdir().unwrap();
    let c = phone(driver.port, profile.path(), ANDROID_UA).await;
    c.goto(&url).await.unwrap();
    wait_text(&c, "input.account", "", 90).await;
    c.close().await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_record_the_server_refuses_is_downloaded_for_the_school_admin() {
    let OneChild {
        dir,
        server,
        child,
        c,
        _driver,
        _profile,
    } = one_child(13).await;
    let (data, students) = (dir.path().join("data"), vec![child]);
    c.goto(&server.url("/app/")).await.unwrap();
    log_in(&c, "t", PASSWORD, "button.log-in").await;
    wait_text(&c, "li.student .name", &students[0].name, 90).await;

    // The child is paired with someone else before the teacher's visit reaches the server.
    baoxue_server::admin::user(
        &data,
        baoxue_tests::test_database(&data).as_deref(),
        baoxue_server::admin::UserCommand::Assign {
            account: "t".into(),
            student: vec![students[0].id],
            household: vec![],
            school: None,
            county: None,
            township: None,
            remove: true,
        },
    )
    .unwrap();
    click(&c, "li.student").await;
    click(&c, "button.new-visit").await;
    let notes = "家访：孩子已回校，记录在重新分配之前";
    type_into(&c, "textarea.notes", notes).await;
    click(&c, "button.save").await;
    wait_text(&c, "ul.timeline", notes, 30).await;
    click(&c, "button.nav-sync").await;
    click(&c, "button.sync-now").await;
    wait_text(&c, "ul.set-aside li .reason", "", 60).await;

    // The export is a download into the phone's Downloads.
    let downloads = tempfile::tempdir().unwrap();
    c.issue_cmd(Cdp {
        cmd: "Browser.setDownloadBehavior",
        params: json!({ "behavior": "allow", "downloadPath": downloads.path() }),
    })
    .await
    .expect("downloads allowed");
    click(&c, "button.export-set-aside").await;
    let said = wait_text(&c, "p.exported", "已下载", 20).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let file = loop {
        let done = std::fs::read_dir(downloads.path())
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "json"));
        if let Some(f) = done {
            break f;
        }
        assert!(Instant::now() < deadline, "nothing downloaded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let name = file.file_name().unwrap().to_string_lossy().to_string();
    assert!(name.starts_with("未上传记录-"), "{name}");
    assert!(said.contains(&name), "the screen names the file: {said}");

    // What the admin gets is the refused visit, in the format `ops import` takes.
    let batch = baoxue_shared::wire::decode_batch(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(batch.ops.len(), 1);
    match &batch.ops[0].body {
        OpBody::Record(v) => {
            assert_eq!(v.notes, notes);
            assert_eq!(v.students, vec![students[0].id]);
        }
        other => panic!("not the visit: {other:?}"),
    }
    c.close().await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_refused_location_permission_is_said_in_chinese_and_the_visit_still_saves() {
    let OneChild {
        dir: _dir,
        server,
        child,
        c,
        _driver,
        _profile,
    } = one_child(14).await;
    let url = server.url("/app/");
    c.goto(&url).await.unwrap();
    // The teacher tapped "don't allow" when the browser asked.
    c.issue_cmd(Cdp {
        cmd: "Browser.setPermission",
        params: json!({
            "permission": { "name": "geolocation" },
            "setting": "denied",
            "origin": url.trim_end_matches("/app/"),
        }),
    })
    .await
    .expect("geolocation denied");
    log_in(&c, "t", PASSWORD, "button.log-in").await;
    wait_text(&c, "li.student .name", &child.name, 90).await;
    click(&c, "li.student").await;
    click(&c, "button.new-visit").await;
    click(&c, "button.locate-device").await;
    let said = wait_text(&c, "fieldset.location", "未允许定位", 30).await;
    assert!(said.contains("照片位置"), "says what to do instead: {said}");
    let notes = "家访：定位未允许，位置手动补录";
    type_into(&c, "textarea.notes", notes).await;
    click(&c, "button.save").await;
    wait_text(&c, "ul.timeline", notes, 30).await;
    c.close().await.unwrap();
    server.stop().await;
}

/// Chromium evicts a site's storage under pressure unless the site asked to keep it: the app
/// asks at login (`navigator.storage.persist()`; an installed app is granted without a prompt).
#[tokio::test]
async fn at_login_the_app_asks_the_browser_to_keep_its_records() {
    let OneChild {
        dir: _dir,
        server,
        child,
        c,
        _driver,
        _profile,
    } = one_child(15).await;
    // Count the page's requests to keep its storage, from before the app's first line runs.
    c.issue_cmd(Cdp {
        cmd: "Page.addScriptToEvaluateOnNewDocument",
        params: json!({ "source": "window.__persistAsked = 0; \
            const keep = navigator.storage.persist.bind(navigator.storage); \
            navigator.storage.persist = () => { window.__persistAsked += 1; return keep(); };" }),
    })
    .await
    .expect("the counter is installed");
    c.goto(&server.url("/app/")).await.unwrap();
    let asked = || async {
        c.execute("return window.__persistAsked", vec![])
            .await
            .unwrap()
    };
    wait_text(&c, "input.account", "", 90).await;
    assert_eq!(asked().await, json!(0), "not asked before anyone logs in");
    log_in(&c, "t", PASSWORD, "button.log-in").await;
    wait_text(&c, "li.student .name", &child.name, 90).await;
    assert_eq!(asked().await, json!(1), "asked once, at login");
    c.close().await.unwrap();
    server.stop().await;
}
