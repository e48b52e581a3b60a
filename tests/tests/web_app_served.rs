//! How the server hands out the phone web app (`/app/`): the page and the service worker are
//! never cached stale, a build's files are cached for good with the right types, the app's pages
//! may run WebAssembly and nothing else from elsewhere, and a teacher finds the app by a QR code
//! on the server's front page and the console's login page.

use baoxue_tests::{TestServer, web_app_dir};

async fn get(url: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap()
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn the_app_is_served_fresh_where_it_must_be_and_cached_for_good_where_it_can_be() {
    let index = std::fs::read_to_string(web_app_dir().join("index.html"))
        .expect("the web app is built (scripts/build-web.sh)");
    let build = index
        .split("href=\"./")
        .nth(1)
        .and_then(|s| s.split('/').next())
        .expect("the page names its build folder")
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;

    let r = get(&server.url("/app")).await;
    assert_eq!(r.status(), 308);
    assert_eq!(header(&r, "location"), "/app/");

    let page = get(&server.url("/app/")).await;
    assert_eq!(page.status(), 200);
    assert_eq!(header(&page, "cache-control"), "no-cache");
    assert!(header(&page, "content-type").starts_with("text/html"));
    let csp = header(&page, "content-security-policy");
    assert!(
        csp.contains("'wasm-unsafe-eval'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    assert!(page.text().await.unwrap().contains("lang=\"zh-CN\""));

    let sw = get(&server.url("/app/sw.js")).await;
    assert_eq!(sw.status(), 200);
    assert_eq!(header(&sw, "cache-control"), "no-cache");
    assert!(header(&sw, "content-type").starts_with("text/javascript"));
    let worker = sw.text().await.unwrap();
    assert!(worker.contains(&build), "the worker precaches this build");

    let wasm = get(&server.url(&format!("/app/{build}/baoxue_bg.wasm"))).await;
    assert_eq!(wasm.status(), 200);
    assert_eq!(header(&wasm, "content-type"), "application/wasm");
    assert_eq!(
        header(&wasm, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    // A browser that takes gzip gets the wasm at a fraction of the size: the same bytes unpacked.
    let plain = wasm.bytes().await.unwrap();
    let packed = reqwest::Client::new()
        .get(server.url(&format!("/app/{build}/baoxue_bg.wasm")))
        .header("accept-encoding", "gzip, deflate, br, zstd")
        .send()
        .await
        .unwrap();
    assert_eq!(packed.status(), 200);
    assert_eq!(header(&packed, "content-encoding"), "gzip");
    assert_eq!(header(&packed, "vary"), "accept-encoding");
    assert_eq!(header(&packed, "content-type"), "application/wasm");
    let packed = packed.bytes().await.unwrap();
    assert!(
        packed.len() < plain.len() / 2,
        "{} bytes sent for {}",
        packed.len(),
        plain.len()
    );
    let mut unpacked = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&packed[..]),
        &mut unpacked,
    )
    .unwrap();
    assert!(unpacked == plain, "the gzip twin is the same build");

    let manifest = get(&server.url(&format!("/app/{build}/manifest.webmanifest"))).await;
    assert_eq!(
        header(&manifest, "content-type"),
        "application/manifest+json"
    );
    let m: serde_json::Value = manifest.json().await.unwrap();
    assert_eq!(m["display"], "standalone");
    assert_eq!(m["lang"], "zh-CN");
    assert!(m["icons"].as_array().unwrap().len() >= 2);

    // Nothing outside the app's folder, and the API keeps its own policy.
    for bad in [
        "/app/../data/baoxue.db",
        "/app/%2e%2e/Cargo.toml",
        "/app/.hidden.js",
        "/app/x.db",
    ] {
        assert_eq!(get(&server.url(bad)).await.status(), 404, "{bad}");
    }
    let api = get(&server.url("/api/me")).await;
    assert!(!header(&api, "content-security-policy").contains("wasm-unsafe-eval"));
    // Unread answers hold their connections open, and a graceful stop waits for them.
    drop((r, api));
    server.stop().await;
}

#[tokio::test]
async fn a_teacher_finds_the_app_by_a_qr_code_and_an_unbuilt_app_says_how_to_build_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path()).await;
    for path in ["/", "/console/login"] {
        let page = get(&server.url(path)).await.text().await.unwrap();
        assert!(page.contains("<svg"), "{path} shows a QR code");
        assert!(
            page.contains(&server.url("/app/")),
            "{path} names the app's address"
        );
    }
    server.stop().await;

    // A server started without a built app.
    let empty = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let settings = baoxue_server::Settings {
        data_dir: dir.path().join("other"),
        database: baoxue_tests::test_database(&dir.path().join("other")),
        evidence: Default::default(),
        web_app: Some(empty.path().to_path_buf()),
    };
    let task = tokio::spawn(baoxue_server::serve(listener, settings, async {
        let _ = stopped.await;
    }));
    let r = get(&format!("http://{addr}/app/")).await;
    assert_eq!(r.status(), 503);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "web_app_not_built");
    assert!(
        body["error"]["zh"]
            .as_str()
            .unwrap()
            .contains("build-web.sh")
    );
    stop.send(()).unwrap();
    task.await.unwrap().unwrap();
}
