//! The Android shell (iOS alike): the web app's screens in the platform's webview, built with
//! `dx bundle --platform android --bin baoxue-mobile --features mobile` (README, "Android").
//! Not built on these machines: nothing here is Android-only code beyond finding the app's
//! folders. The camera and positioning go through the page (`ui::device`), exactly as in the
//! web app that `tests/phone_web.rs` drives in Chromium; TLS uses the bundled roots
//! (`core::http`). `BAOXUE_SERVER` at build time fills in the county's server address.

use baoxue_app::core::android_dirs;
use baoxue_app::core::install::Installation;
use baoxue_app::ui::login::InstallHandle;
use baoxue_app::ui::{STYLE, Shell};
use dioxus::prelude::*;
use std::rc::Rc;
use std::sync::Arc;

/// The installation, or why it could not be opened (shown instead of the login screen: an app
/// that quits at once tells the teacher nothing).
type Opened = Result<Arc<Installation>, String>;

fn main() {
    dioxus::LaunchBuilder::mobile()
        .with_context(open().map(Arc::new))
        .launch(App);
}

/// The app's private files folder for its store; exports where the school admin can get them.
#[cfg(target_os = "android")]
fn open() -> Result<Installation, String> {
    let cmdline = std::fs::read("/proc/self/cmdline").map_err(|e| format!("/proc: {e}"))?;
    let package = android_dirs::package_name(&cmdline)
        .ok_or_else(|| "无法确定应用的包名，无法找到应用的数据目录".to_string())?;
    let install = Installation::open(&android_dirs::files_dir(&package)).map_err(|e| e.zh())?;
    let exports = android_dirs::export_dir_candidates(&package);
    Ok(match android_dirs::first_writable(&exports) {
        Some(dir) => install.with_exports_in(&dir),
        None => install,
    })
}

/// iOS: the app's sandbox is its home; its data goes in Application Support, exports in
/// Documents (visible in the Files app when the bundle allows file sharing).
#[cfg(not(target_os = "android"))]
fn open() -> Result<Installation, String> {
    let home = std::env::var_os("HOME").ok_or_else(|| "HOME 未设置".to_string())?;
    let home = std::path::Path::new(&home);
    let install =
        Installation::open(&home.join("Library/Application Support/baoxue")).map_err(|e| e.zh())?;
    let exports = [home.join("Documents")];
    Ok(match android_dirs::first_writable(&exports) {
        Some(dir) => install.with_exports_in(&dir),
        None => install,
    })
}

#[component]
fn App() -> Element {
    let opened = use_context::<Opened>();
    let server = option_env!("BAOXUE_SERVER").unwrap_or("").to_string();
    match opened {
        Ok(install) => rsx! {
            Shell { install: InstallHandle(Rc::new((*install).clone())), server,
                account: String::new() }
        },
        Err(why) => rsx! {
            style { {STYLE} }
            section { class: "login", p { class: "login-error", role: "alert", "{why}" } }
        },
    }
}
