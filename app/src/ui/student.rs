//! A student's file: status, guardians with a tap-to-call number, due work, conflicts, the
//! timeline. The same `StudentFile` the supervisor's browser shows.

use super::caseload::{due_label, review_msg};
use super::i18n::Msg;
use super::{Screen, tr, use_app, use_ui};
use baoxue_shared::file::Event;
use baoxue_shared::ids::StudentId;
use dioxus::prelude::*;

#[component]
pub fn StudentScreen(id: StudentId) -> Element {
    let app = use_app();
    let ui = use_ui();
    let _ = ui.revision.read();
    let mut nav = ui.screen;
    let file = match app.0.borrow().student_file(id, chrono::Utc::now()) {
        Ok(f) => f,
        Err(e) => {
            tracing::error!(error = %e, "reading the student's file failed");
            return rsx! {
                section { class: "student-file",
                    button { class: "back", onclick: move |_| nav.set(Screen::Caseload), {tr(&ui, Msg::Back)} }
                    p { class: "storage-error", {tr(&ui, Msg::StorageReadFailed)} }
                    p { class: "muted", "{e}" }
                }
            };
        }
    };
    // Records about this child the server refused, with why.
    let refused: Vec<String> = app
        .0
        .borrow()
        .set_aside()
        .unwrap_or_default()
        .into_iter()
        .filter(|s| crate::core::field::FieldApp::concerns(&s.op, id))
        .map(|s| s.reason)
        .collect();
    let Some(s) = file.current.clone() else {
        return rsx! { p { {tr(&ui, Msg::NoStudents)} } };
    };
    rsx! {
        section { class: "student-file",
            button { class: "back", onclick: move |_| nav.set(Screen::Caseload), {tr(&ui, Msg::Back)} }
            h1 { "{s.name}" }
            for reason in refused {
                p { class: "set-aside-note", role: "alert", {tr(&ui, Msg::NotUploaded)} "：{reason}" }
            }
            p { class: "status", {tr(&ui, Msg::Status)} "：" {s.status.zh()} }
            for g in file.guardians.iter() {
                p { class: "guardian",
                    {tr(&ui, Msg::Guardian)} "：{g.name}（" {g.relation.zh()} "）"
                    if let Some(p) = &g.phone {
                        a { class: "tel", href: "tel:{p.as_str()}", "{p.display_grouped()}" }
                    }
                }
            }
            if !file.conflicts.is_empty() {
                h2 { {tr(&ui, Msg::Conflicts)} }
                for c in file.conflicts.iter() {
                    ul { class: "conflict",
                        for cand in c.candidates.iter() {
                            li { {cand.value.zh()} " · " {baoxue_shared::time::format_zh(cand.at)} }
                        }
                    }
                }
            }
            if !file.due.is_empty() {
                h2 { {tr(&ui, Msg::DueWork)} }
                ul { class: "due-list",
                    for d in file.due.iter() {
                        li { {due_label(d, &ui)} }
                    }
                }
            }
            button { class: "new-visit", onclick: move |_| nav.set(Screen::NewVisit(id)), {tr(&ui, Msg::NewVisit)} }
            h2 { {tr(&ui, Msg::Timeline)} }
            ul { class: "timeline",
                for e in file.timeline.iter() {
                    li {
                        span { class: "when", {baoxue_shared::time::format_zh(e.at)} }
                        match &e.event {
                            Event::Visit { visit, voided, reviews, .. } => rsx! {
                                span { class: "kind", {visit.kind.zh()} }
                                span { class: "notes", "{visit.notes}" }
                                if voided.is_some() { span { class: "voided", {tr(&ui, Msg::Voided)} } }
                                for r in reviews.iter() {
                                    span { class: "review",
                                        {format!("{}：{}", tr(&ui, review_msg(r.action)), r.comment)}
                                    }
                                }
                            },
                            Event::StatusChange { to, .. } => rsx! {
                                span { class: "kind", {tr(&ui, Msg::Status)} }
                                span { class: "notes", {to.zh()} }
                            },
                        }
                    }
                }
            }
        }
    }
}
