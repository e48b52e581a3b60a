//! The desktop shell: the same screens in a phone-sized window. Settings from the environment:
//! `BAOXUE_APP_DIR` (the app's folder, default `./baoxue-app-data`), `BAOXUE_SERVER` (default
//! `http://127.0.0.1:8080`), `BAOXUE_ACCOUNT`. For screenshots and demos, `BAOXUE_PASSWORD`
//! logs in (or unlocks offline) at start and `BAOXUE_SCREEN` (caseload, student, visit, sync,
//! settings) picks the first screen.

use baoxue_app::core::install::Installation;
use baoxue_app::ui::login::InstallHandle;
use baoxue_app::ui::{AppHandle, LoggedIn, Screen, Shell};
use dioxus::desktop::{Config, LogicalSize, WindowBuilder};
use dioxus::prelude::*;
use std::rc::Rc;
use std::sync::Arc;

fn env(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_string())
}

fn main() {
    let dir = env("BAOXUE_APP_DIR", "./baoxue-app-data");
    let install = match Installation::open(std::path::Path::new(&dir)) {
        Ok(i) => Arc::new(i),
        Err(e) => {
            eprintln!("无法打开应用数据目录 {dir}: {e}");
            std::process::exit(1);
        }
    };
    let window = WindowBuilder::new()
        .with_title("保学")
        .with_inner_size(LogicalSize::new(390.0, 800.0));
    dioxus::LaunchBuilder::desktop()
        .with_cfg(Config::new().with_window(window).with_menu(None))
        .with_context(install)
        .launch(App);
}

#[component]
fn App() -> Element {
    let install = use_context::<Arc<Installation>>();
    let handle = InstallHandle(Rc::new((*install).clone()));
    let server = env("BAOXUE_SERVER", "http://127.0.0.1:8080");
    let account = env("BAOXUE_ACCOUNT", "");
    let password = std::env::var("BAOXUE_PASSWORD").ok();
    let mut auto = use_signal(|| None::<AppHandle>);
    let tried = use_signal(|| false);
    if let (Some(pw), false) = (password.clone(), tried()) {
        let (install, server, account) = (handle.clone(), server.clone(), account.clone());
        let mut tried = tried;
        tried.set(true);
        spawn(async move {
            let app = match install.0.log_in(&server, &account, &pw).await {
                Ok(a) => Some(a),
                Err(_) => install.0.unlock(&account, &pw).await.ok(),
            };
            if let Some(mut app) = app {
                let _ = app.sync().await;
                auto.set(Some(AppHandle::new(app)));
            }
        });
    }
    match auto.read().clone() {
        Some(h) => {
            let first =
                h.0.borrow()
                    .caseload(chrono::Utc::now())
                    .first()
                    .map(|i| i.student.id);
            let start = match (env("BAOXUE_SCREEN", "caseload").as_str(), first) {
                ("student", Some(id)) => Screen::Student(id),
                ("visit", Some(id)) => Screen::NewVisit(id),
                ("sync", _) => Screen::Sync,
                ("settings", _) => Screen::Settings,
                _ => Screen::Caseload,
            };
            rsx! { LoggedIn { handle: h, start: Some(start) } }
        }
        None => rsx! { Shell { install: handle, server, account } },
    }
}
