//! The web shell: the same screens and core as a web app the county server serves at `/app/`
//! (built by `scripts/build-web.sh`), installable from the phone's browser and working offline
//! (the service worker `app/web/sw.js` keeps the app shell; the data is in IndexedDB, sealed).
//! The server is the page's own origin.

use baoxue_app::core::install::Installation;
use baoxue_app::ui::login::InstallHandle;
use baoxue_app::ui::{OpenInBrowser, STYLE, Shell, in_wechat};
use dioxus::prelude::*;
use std::rc::Rc;

fn main() {
    dioxus::launch(App);
}

fn window() -> web_sys::Window {
    web_sys::window().expect("a page has a window")
}

/// Ask the browser to keep this site's storage under pressure (asked at login; Chrome grants it
/// to an installed app without a prompt).
fn keep_storage() {
    if let Ok(p) = window().navigator().storage().persist() {
        wasm_bindgen_futures::spawn_local(async move {
            let granted = wasm_bindgen_futures::JsFuture::from(p).await;
            tracing::info!(?granted, "persistent storage");
        });
    }
}

#[component]
fn App() -> Element {
    let location = window().location();
    let origin = location.origin().unwrap_or_default();
    if in_wechat(&window().navigator().user_agent().unwrap_or_default()) {
        return rsx! { OpenInBrowser { url: location.href().unwrap_or_default() } };
    }
    let install = use_resource(|| async { Installation::open_in_browser().await.map(Rc::new) });
    let opened = install.read();
    match &*opened {
        None => rsx! { style { {STYLE} } p { class: "muted", "正在打开…" } },
        Some(Err(e)) => rsx! {
            style { {STYLE} }
            section { class: "login", p { class: "login-error", role: "alert", "{e.zh()}" } }
        },
        Some(Ok(i)) => rsx! {
            Shell { install: InstallHandle(i.clone()), server: origin, account: String::new(),
                logged_in: move |_| keep_storage() }
        },
    }
}

/// The phone's photo pipeline on `jpeg` (what a camera photo goes through before it is kept):
/// the size of the evidence photo it makes. Called by the photo benchmark in Chromium
/// (`cargo bench -p baoxue-tests --bench photo_web`); the app itself never calls it.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn process_photo(jpeg: &[u8]) -> Result<usize, String> {
    baoxue_app::core::photo::process(jpeg)
        .map(|p| p.jpeg.len())
        .map_err(|e| e.to_string())
}
