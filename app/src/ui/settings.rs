//! Settings: language, storage, log out. Logging out never discards unsynced records without
//! an explicit confirmation that says how many would be lost.

use super::i18n::{Lang, Msg};
use super::{tr, use_app, use_ui};
use crate::core::field::LogoutError;
use dioxus::prelude::*;

#[component]
pub fn Settings() -> Element {
    let app = use_app();
    let ui = use_ui();
    let _ = ui.revision.read();
    let mut lang = ui.lang;
    let mut confirming = use_signal(|| false);
    let mut logged_out = use_signal(|| false);
    let unsynced = app.0.borrow().unsynced().unwrap_or(0);
    let (bytes, photos, _) = app.0.borrow().usage().unwrap_or_default();
    let used = if bytes < 1024 * 1024 {
        format!("{} KB", bytes.div_ceil(1024))
    } else {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    };
    let app_confirm = app.clone();
    rsx! {
        section { class: "settings",
            h1 { {tr(&ui, Msg::Settings)} }
            label { {tr(&ui, Msg::Language)}
                button { class: "lang-zh", onclick: move |_| lang.set(Lang::Zh), "中文" }
                button { class: "lang-en", onclick: move |_| lang.set(Lang::En), "English" }
            }
            p { class: "storage", {tr(&ui, Msg::StorageUsed)} "：{used}，" "{photos} " {tr(&ui, Msg::PhotosKept)} }
            p { class: "outbox", "{unsynced} " {tr(&ui, Msg::NotSynced)} }
            button { class: "logout",
                onclick: move |_| match app.0.borrow_mut().log_out(None) {
                        Ok(()) => logged_out.set(true),
                        Err(LogoutError::Unsynced(_)) => confirming.set(true),
                        Err(LogoutError::Local(e)) => tracing::error!(error = %e, "log out failed"),
                },
                {tr(&ui, Msg::LogOut)}
            }
            if confirming() {
                div { class: "confirm", role: "alertdialog",
                    p { "{unsynced} " {tr(&ui, Msg::NotSynced)} "。" {tr(&ui, Msg::ConfirmLogOut)} }
                    button { class: "cancel", onclick: move |_| confirming.set(false), {tr(&ui, Msg::Cancel)} }
                    button { class: "confirm-logout",
                        onclick: move |_| {
                            confirming.set(false);
                            if app_confirm.0.borrow_mut().log_out(Some(unsynced)).is_ok() {
                                logged_out.set(true);
                            }
                        },
                        {tr(&ui, Msg::LogOut)}
                    }
                }
            }
            if logged_out() {
                p { class: "logged-out", "已退出" }
            }
        }
    }
}
