//! Sync: what waits to go up, a progress bar with items and bytes while syncing, the last
//! success, and any error with its reason and a retry.

use super::i18n::Msg;
use super::{tr, use_app, use_ui};
use crate::core::sync::{Phase, Progress, run};
use dioxus::prelude::*;

#[component]
pub fn SyncScreen() -> Element {
    let app = use_app();
    let ui = use_ui();
    let _ = ui.revision.read();
    let mut progress = use_signal(|| None::<Progress>);
    let mut running = use_signal(|| false);
    let mut error = use_signal(|| None::<String>);
    let mut revision = ui.revision;
    let (unsynced, last) = {
        let a = app.0.borrow();
        (a.unsynced().unwrap_or(0), a.last_sync())
    };
    let start = move |_| {
        if running() {
            return;
        }
        running.set(true);
        error.set(None);
        let app = app.clone();
        spawn(async move {
            let engine = app.0.borrow().engine();
            let result = run(&*app.0, &engine, |p| progress.set(Some(p))).await;
            running.set(false);
            revision += 1;
            if let Err(e) = result {
                error.set(Some(e.zh()));
            }
        });
    };
    let bar = (*progress.read()).map(|p| {
        let label = match p.phase {
            Phase::Push => "上传记录",
            Phase::Pull => "下载更新",
            Phase::Photos => "上传照片",
        };
        let kb = p.bytes / 1024;
        (label, p.done, p.total.unwrap_or(p.done.max(1)), kb)
    });
    rsx! {
        section { class: "sync",
            h1 { {tr(&ui, Msg::Sync)} }
            p { class: "pending", "{unsynced} " {tr(&ui, Msg::NotSynced)} }
            p { class: "last-sync",
                "上次同步："
                match last {
                    Some(t) => rsx! { {baoxue_shared::time::format_zh(t)} },
                    None => rsx! { "从未同步" },
                }
            }
            if let Some((label, done, total, kb)) = bar {
                div { class: "progress",
                    progress { value: "{done}", max: "{total}" }
                    span { "{label} {done}/{total}，{kb} KB" }
                }
            }
            if let Some(msg) = error.read().clone() {
                p { class: "sync-error", role: "alert", "{msg}" }
            }
            button { class: "sync-now", disabled: running(), onclick: start,
                if error.read().is_some() { "重试" } else { "立即同步" }
            }
        }
    }
}
