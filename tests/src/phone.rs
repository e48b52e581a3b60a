//! The field app's web build driven as a phone: Chromium's mobile emulation and the few
//! gestures the phone tests share.

use crate::chromium::CHROMIUM;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

/// A mid-range Android phone's Chrome.
pub const ANDROID_UA: &str = "Mozilla/5.0 (Linux; Android 12; Redmi Note 11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Mobile Safari/537.36";

/// A headless Chromium session emulating a 390×800 touch phone with `user_agent`, keeping its
/// data in `profile`.
pub async fn phone(driver_port: u16, profile: &Path, user_agent: &str) -> Client {
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic",
                format!("--user-data-dir={}", profile.display()),
            ],
            "mobileEmulation": {
                "deviceMetrics": { "width": 390, "height": 800, "pixelRatio": 2.0, "touch": true },
                "userAgent": user_agent,
            },
        }
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::rustls()
        .expect("tls config")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("a Chromium session")
}

/// Wait until an element matching `css` shows `text` (or, with "", exists).
pub async fn wait_text(c: &Client, css: &str, text: &str, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Ok(els) = c.find_all(Locator::Css(css)).await {
            for e in els {
                if let Ok(t) = e.text().await
                    && t.contains(text)
                {
                    return t;
                }
            }
        }
        if Instant::now() > deadline {
            let page = c.source().await.unwrap_or_default();
            panic!("no {css} showing {text:?} within {secs} s; the page:\n{page}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Tap an element as a thumb would: scrolled to the middle of the screen first (the bottom
/// bar covers the last strip of the page).
pub async fn click(c: &Client, css: &str) {
    let e = c
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    c.execute(
        "arguments[0].scrollIntoView({ block: 'center' })",
        vec![serde_json::to_value(&e).unwrap()],
    )
    .await
    .unwrap();
    e.click().await.unwrap_or_else(|e| panic!("{css}: {e}"));
}

pub async fn type_into(c: &Client, css: &str, text: &str) {
    let e = c.find(Locator::Css(css)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

/// Fill the app's login screen and press `button` (log in online, or unlock offline).
pub async fn log_in(c: &Client, account: &str, password: &str, button: &str) {
    wait_text(c, "input.account", "", 60).await;
    type_into(c, "input.account", account).await;
    type_into(c, "input.password", password).await;
    click(c, button).await;
}
