//! The console in a real browser: Debian's Chromium, headless, driven through chromedriver
//! (WebDriver) against a real server seeded with the demo county. A supervisor logs in, filters
//! the queue, opens a flagged visit and reads why, approves it, opens the student's file, and
//! downloads the monthly report, whose cells are then read back.
//!
//! Needs `chromium` and `chromium-driver` (installed by `scripts/install-deps.sh --test`).

use baoxue_tests::TestServer;
use baoxue_tests::chromium::start_driver;
use fantoccini::{ClientBuilder, Locator};
use std::path::Path;
use std::time::{Duration, Instant};

const CHROMIUM: &str = baoxue_tests::chromium::CHROMIUM;

/// With `BAOXUE_CONSOLE_SCREENSHOTS=<dir>`, keep a PNG of the page as `<dir>/<name>.png` (used by
/// `scripts/console-screenshots.sh`; the test checks the pages either way).
async fn shot(c: &fantoccini::Client, name: &str) {
    if let Ok(dir) = std::env::var("BAOXUE_CONSOLE_SCREENSHOTS") {
        let png = c.screenshot().await.expect("screenshot");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Path::new(&dir).join(format!("{name}.png")), png).unwrap();
    }
}

async fn click(c: &fantoccini::Client, l: Locator<'_>) {
    c.find(l).await.unwrap().click().await.unwrap();
}

async fn text(c: &fantoccini::Client, l: Locator<'_>) -> String {
    c.find(l).await.unwrap().text().await.unwrap()
}

async fn type_into(c: &fantoccini::Client, l: Locator<'_>, keys: &str) {
    c.find(l).await.unwrap().send_keys(keys).await.unwrap();
}

async fn wait_for_file(dir: &Path, ext: &str) -> std::path::PathBuf {
    // Chromium may create the file under its final name before the bytes are all there (and
    // keep a .crdownload beside it): wait until no download is in flight and the size holds.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last: Option<(std::path::PathBuf, u64)> = None;
    loop {
        let paths: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        let in_flight = paths
            .iter()
            .any(|p| p.extension().is_some_and(|x| x == "crdownload"));
        let done = paths
            .iter()
            .find(|p| p.extension().is_some_and(|x| x == ext))
            .and_then(|p| Some((p.clone(), std::fs::metadata(p).ok()?.len())))
            .filter(|(_, len)| *len > 0 && !in_flight);
        if let Some(now) = done {
            if last.as_ref() == Some(&now) {
                return now.0;
            }
            last = Some(now);
        } else {
            last = None;
        }
        assert!(Instant::now() < deadline, "no .{ext} downloaded");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_supervisor_reviews_a_flagged_visit_and_downloads_the_month_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (store, state) = baoxue_tests::open_store(dir.path());
        baoxue_server::demo::seed(store.as_ref(), &state.photos, chrono::Utc::now())
            .unwrap()
            .expect("an empty store gets the demo county");
        store.close();
    }
    let server = TestServer::start(dir.path()).await;
    let driver = start_driver().await;
    let profile = tempfile::tempdir().unwrap();
    let downloads = tempfile::tempdir().unwrap();
    let caps = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1280,900",
                format!("--user-data-dir={}", profile.path().display()),
            ],
            "prefs": {
                "download.default_directory": downloads.path().display().to_string(),
                "download.prompt_for_download": false,
            }
        }
    });
    let caps = match caps {
        serde_json::Value::Object(m) => m,
        _ => unreachable!(),
    };
    let c = ClientBuilder::rustls()
        .expect("tls config")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a Chromium session");

    // Log in.
    c.goto(&server.url("/console")).await.unwrap();
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/console/login")
    );
    type_into(&c, Locator::Css("input[name=account]"), "county").await;
    type_into(
        &c,
        Locator::Css("input[name=password]"),
        baoxue_server::demo::DEMO_PASSWORD,
    )
    .await;
    click(&c, Locator::Id("login")).await;
    c.wait().for_element(Locator::Id("queue")).await.unwrap();
    assert!(c.source().await.unwrap().contains("审核队列"));

    // Filter the queue to visits far from the house, open the first, read why.
    click(&c, Locator::Css("#flag-filter option[value=far_from_home]")).await;
    click(&c, Locator::Id("apply-filters")).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !c
        .current_url()
        .await
        .unwrap()
        .query()
        .is_some_and(|q| q.contains("far_from_home"))
    {
        assert!(Instant::now() < deadline, "the filter did not apply");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c.wait().for_element(Locator::Id("queue")).await.unwrap();
    shot(&c, "queue").await;
    let rows = c.find_all(Locator::Css("#queue tbody tr")).await.unwrap();
    assert!(
        !rows.is_empty(),
        "the demo has a visit logged far from the house"
    );
    rows[0]
        .find(Locator::Css("a.open"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let flags = c.wait().for_element(Locator::Id("flags")).await.unwrap();
    let reason = flags.text().await.unwrap();
    assert!(
        reason.contains("走访定位距该户登记位置") && reason.contains("超过 500 米"),
        "{reason}"
    );
    assert_eq!(text(&c, Locator::Id("state")).await, "待审核");
    shot(&c, "visit").await;

    // Approve it.
    click(&c, Locator::Id("do-approve")).await;
    c.wait().for_element(Locator::Id("done")).await.unwrap();
    assert_eq!(text(&c, Locator::Id("state")).await, "已通过");
    assert!(
        text(&c, Locator::Id("reviews")).await.contains("通过"),
        "the approval is in the record's review history"
    );

    // The student's file.
    click(&c, Locator::Css("a[href^='/console/students/']")).await;
    let title = c
        .wait()
        .for_element(Locator::Id("student-name"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(title.contains("一生一案"), "{title}");
    assert!(
        c.find(Locator::Css("svg.map")).await.is_ok(),
        "the visit map"
    );
    shot(&c, "student").await;
    assert!(c.find(Locator::Id("timeline")).await.is_ok());
    click(&c, Locator::Id("download-pdf")).await;
    let pdf = wait_for_file(downloads.path(), "pdf").await;
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "the archive PDF downloads");

    // The month: download the report and read its cells.
    c.goto(&server.url("/console/reports")).await.unwrap();
    c.wait().for_element(Locator::Id("figures")).await.unwrap();
    shot(&c, "report").await;
    let enrolled = c
        .find(Locator::Css("#figures td[data-label='6–15周岁在籍学生数']"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    click(&c, Locator::Id("download-report")).await;
    let file = wait_for_file(downloads.path(), "xlsx").await;
    use calamine::{Reader, Xlsx, open_workbook};
    let mut wb: Xlsx<_> = open_workbook(&file).expect("a real .xlsx");
    let sheet = wb.worksheet_range("月报表").expect("the report sheet");
    assert_eq!(
        sheet.get_value((0, 0)).map(|c| c.to_string()).as_deref(),
        Some("控辍保学月报表")
    );
    let row = sheet
        .rows()
        .find(|r| r.iter().any(|c| *c == "6–15周岁在籍学生数"))
        .expect("the enrolment row");
    assert_eq!(
        row[2].to_string(),
        enrolled,
        "the file says what the page says"
    );
    assert_eq!(enrolled, "500", "the demo county's 500 children");

    c.close().await.unwrap();
    drop(driver);
    server.stop().await;
}
