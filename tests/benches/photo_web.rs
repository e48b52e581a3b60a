//! The photo pipeline as the phone web app runs it: WebAssembly in headless Chromium (emulating
//! an Android phone, as `tests/phone_web.rs` does), on a real-looking 4000×3000 camera JPEG
//! (texture, noise, EXIF time and GPS, sideways orientation), at full speed and with the CPU
//! slowed four times (CDP `Emulation.setCPUThrottlingRate`, a cheap phone's core against this
//! machine's), beside the same photo through the native build in the same run. Also the size
//! of the app's download as the server sends it.
//!
//! Needs the built web app (`scripts/build-web.sh`) and Chromium. Run:
//! `cargo bench -p baoxue-tests --bench photo_web`.

use baoxue_app::core::photo::{camera_like, process};
use baoxue_shared::exif::PhotoFacts;
use baoxue_shared::location::GeoPoint;
use baoxue_tests::chromium::{Cdp, start_driver};
use baoxue_tests::phone::{ANDROID_UA, phone, wait_text};
use baoxue_tests::{Seeder, TestServer, web_app_dir};
use base64::Engine as _;
use serde_json::json;
use std::time::Instant;

const RUNS: usize = 5;

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// The app's files as a browser downloads them the first time: (plain, as sent with gzip).
fn download_size() -> (u64, u64) {
    let dist = web_app_dir();
    let (mut plain, mut sent) = (0, 0);
    let mut dirs = vec![dist.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().filter_map(Result::ok) {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
                continue;
            }
            let name = p.to_string_lossy();
            if name.ends_with(".gz") {
                continue;
            }
            let len = e.metadata().unwrap().len();
            plain += len;
            let twin = std::path::PathBuf::from(format!("{name}.gz"));
            sent += std::fs::metadata(&twin).map(|m| m.len()).unwrap_or(len);
        }
    }
    (plain, sent)
}

#[tokio::main]
async fn main() {
    assert!(
        web_app_dir().join("index.html").exists(),
        "the web app is not built: run `bash scripts/build-web.sh`"
    );
    let facts = PhotoFacts {
        captured_at: Some(chrono::Utc::now()),
        gps: Some(GeoPoint::new(25.75, 108.91).unwrap()),
        orientation: Some(6),
    };
    let original = camera_like(4000, 3000, &facts, 7);

    let mut native = Vec::new();
    let mut native_out = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        native_out = process(&original).expect("processes").jpeg.len();
        native.push(t.elapsed().as_secs_f64() * 1e3);
    }

    let dir = tempfile::tempdir().unwrap();
    Seeder::open(dir.path()).close();
    let server = TestServer::start(dir.path()).await;
    let driver = start_driver().await;
    let profile = tempfile::tempdir().unwrap();
    let c = phone(driver.port, profile.path(), ANDROID_UA).await;
    c.goto(&server.url("/app/")).await.unwrap();
    wait_text(&c, "input.account", "", 90).await;
    // The photo waits on the page; each run then processes it once through the app's module.
    c.execute(
        r#"const text = atob(arguments[0]);
           const bytes = new Uint8Array(text.length);
           for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
           window.benchPhoto = bytes;"#,
        vec![json!(
            base64::engine::general_purpose::STANDARD.encode(&original)
        )],
    )
    .await
    .expect("the photo reaches the page");
    let run_once = r#"
        const done = arguments[arguments.length - 1];
        const start = document.querySelector('script[type=module]').src;
        import(new URL('./baoxue.js', start).href).then((m) => {
          const t = performance.now();
          const out = m.process_photo(window.benchPhoto);
          done({ ms: performance.now() - t, out });
        }, (e) => done({ error: String(e) }));
    "#;
    let mut rows = Vec::new();
    for rate in [1, 4] {
        c.issue_cmd(Cdp {
            cmd: "Emulation.setCPUThrottlingRate",
            params: json!({ "rate": rate }),
        })
        .await
        .expect("throttle");
        let (mut times, mut out) = (Vec::new(), 0);
        for _ in 0..RUNS {
            let r = c.execute_async(run_once, vec![]).await.expect("a run");
            assert!(r.get("error").is_none(), "{r}");
            times.push(r["ms"].as_f64().unwrap());
            out = r["out"].as_u64().unwrap() as usize;
        }
        rows.push((rate, median(times), out));
    }
    c.close().await.unwrap();
    server.stop().await;

    let (n, n_min, n_max) = median(native);
    println!(
        "photo 4000x3000 ({} KB in) -> 1600 px, median of {RUNS} runs:",
        original.len() / 1024
    );
    println!(
        "  native (this machine)          {n:>6.0} ms (min {n_min:.0}, max {n_max:.0}); {} KB out",
        native_out / 1024
    );
    for (rate, (m, lo, hi), out) in rows {
        println!(
            "  wasm in Chromium, CPU throttled {rate}x {m:>6.0} ms (min {lo:.0}, max {hi:.0}); {} KB out; {:.1}x native",
            out / 1024,
            m / n
        );
    }
    let (plain, sent) = download_size();
    println!(
        "app download: {} KB as files, {} KB as sent (gzip)",
        plain / 1024,
        sent / 1024
    );
}
