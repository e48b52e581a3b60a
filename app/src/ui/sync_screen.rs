//! Sync: what waits to go up (records and photos), a progress bar with items and bytes while
//! syncing, the last success, and any error with its reason and a retry. The same sync also
//! runs by itself (see `Root`), and this screen shows it.

use super::device::download;
use super::i18n::Msg;
use super::{AppHandle, tr, use_app, use_ui};
use crate::core::sync::{Phase, Progress, run};
use dioxus::prelude::*;

/// The sync in progress, shared by the sync screen and the automatic sync so the two never
/// run at once and the screen shows whichever is running.
#[derive(Clone, Copy)]
pub struct SyncState {
    pub running: Signal<bool>,
    pub progress: Signal<Option<Progress>>,
    pub error: Signal<Option<String>>,
}

impl SyncState {
    pub fn new() -> Self {
        Self {
            running: Signal::new(false),
            progress: Signal::new(None),
            error: Signal::new(None),
        }
    }

    /// Start a sync unless one is running; `done(ok)` is called when it ends.
    pub fn start(
        mut self,
        app: AppHandle,
        mut revision: Signal<u64>,
        done: impl FnOnce(bool) + 'static,
    ) {
        if (self.running)() {
            return;
        }
        self.running.set(true);
        self.error.set(None);
        spawn(async move {
            let engine = app.0.borrow().engine();
            let mut progress = self.progress;
            let result = run(&*app.0, &engine, |p| progress.set(Some(p))).await;
            self.running.set(false);
            revision += 1;
            match &result {
                // Done: the last success says it; a finished bar would only confuse.
                Ok(_) => progress.set(None),
                Err(e) => self.error.set(Some(e.zh())),
            }
            done(result.is_ok());
        });
    }
}

impl Default for SyncState {
    fn default() -> Self {
        Self::new()
    }
}

#[component]
pub fn SyncScreen() -> Element {
    let app = use_app();
    let ui = use_ui();
    let _ = ui.revision.read();
    let state = use_context::<SyncState>();
    let SyncState {
        running,
        progress,
        error,
    } = state;
    let revision = ui.revision;
    let (unsynced, last, waiting) = {
        let a = app.0.borrow();
        (
            a.unsynced().unwrap_or(0),
            a.last_sync(),
            a.usage().map(|(_, _, waiting)| waiting).unwrap_or(0),
        )
    };
    let set_aside: Vec<(baoxue_shared::ids::OpId, String, String)> = {
        let a = app.0.borrow();
        a.set_aside()
            .unwrap_or_default()
            .into_iter()
            .map(|s| (s.op.id, a.describe(&s.op), s.reason))
            .collect()
    };
    let retry_app = app.clone();
    let export_app = app.clone();
    let mut exported = use_signal(|| None::<String>);
    let mut rev = ui.revision;
    let start = move |_| state.start(app.clone(), revision, |_| {});
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
            if unsynced == 0 && waiting == 0 {
                p { class: "all-synced", {tr(&ui, Msg::AllSynced)} }
            } else {
                p { class: "pending", "{unsynced} " {tr(&ui, Msg::NotSynced)} }
                p { class: "pending-photos", "{waiting} " {tr(&ui, Msg::PhotosWaiting)} }
            }
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
            if !set_aside.is_empty() {
                h2 { {tr(&ui, Msg::SetAside)} }
                button { class: "export-set-aside",
                    onclick: {
                        let app = export_app.clone();
                        move |_| {
                            let now = chrono::Utc::now();
                            let a = app.0.borrow();
                            if a.has_export_dir() {
                                let r = a.export_set_aside_here(now);
                                exported.set(Some(match r {
                                    Ok(path) => format!("{}：{}", tr(&ui, Msg::Exported), path.display()),
                                    Err(e) => format!("{}：{e}", tr(&ui, Msg::ExportFailed)),
                                }));
                                return;
                            }
                            // The browser: no folder of our own; the file is a download.
                            match a.set_aside_file(now) {
                                Ok(file) => {
                                    spawn(async move {
                                        exported.set(Some(match download(&file.name, &file.bytes).await {
                                            Ok(()) => format!("{}：{}", tr(&ui, Msg::Downloaded), file.name),
                                            Err(e) => format!("{}：{e}", tr(&ui, Msg::ExportFailed)),
                                        }));
                                    });
                                }
                                Err(e) => exported.set(Some(format!("{}：{e}", tr(&ui, Msg::ExportFailed)))),
                            }
                        }
                    },
                    {tr(&ui, Msg::ExportForAdmin)}
                }
                if let Some(msg) = exported() {
                    p { class: "exported", "{msg}" }
                }
                ul { class: "set-aside",
                    for (id, what, reason) in set_aside {
                        li { key: "{id}",
                            p { class: "what", "{what}" }
                            p { class: "reason", "{reason}" }
                            button { class: "retry-one",
                                onclick: {
                                    let app = retry_app.clone();
                                    move |_| {
                                        if let Err(e) = app.0.borrow_mut().retry_set_aside(id) {
                                            tracing::error!(error = %e, "putting a record back failed");
                                        }
                                        rev += 1;
                                    }
                                },
                                {tr(&ui, Msg::RetryOne)}
                            }
                        }
                    }
                }
            }
            button { class: "sync-now", disabled: running(), onclick: start,
                if error.read().is_some() { "重试" } else { "立即同步" }
            }
        }
    }
}
