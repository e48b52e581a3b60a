//! My caseload: each student with a status badge and the work due, overdue first; search by
//! name, filter by village, status and focus group.

use super::i18n::{Msg, coded};
use super::{Screen, tr, use_app, use_ui};
use baoxue_shared::file::DueWork;
use baoxue_shared::op::ReviewAction;
use baoxue_shared::people::FocusGroup;
use baoxue_shared::status::EnrolmentStatus;
use dioxus::prelude::*;

/// One piece of due work in the screen's language (the sentence is defined once, in shared).
pub fn due_label(d: &DueWork, ui: &super::Ui) -> String {
    match *ui.lang.read() {
        super::i18n::Lang::Zh => d.zh(),
        super::i18n::Lang::En => d.en(),
    }
}

/// The phrase for a reviewer's decision.
pub fn review_msg(action: ReviewAction) -> Msg {
    match action {
        ReviewAction::Approve => Msg::ReviewApproved,
        ReviewAction::Flag => Msg::ReviewFlagged,
        ReviewAction::RequestEvidence => Msg::EvidenceRequested,
    }
}

#[component]
pub fn Caseload() -> Element {
    let app = use_app();
    let ui = use_ui();
    let mut query = use_signal(String::new);
    let mut village = use_signal(String::new);
    let mut status = use_signal(|| None::<EnrolmentStatus>);
    let mut focus = use_signal(|| None::<FocusGroup>);
    let lang = *ui.lang.read();
    let _ = ui.revision.read();
    let now = chrono::Utc::now();
    let (items, unsynced) = {
        let a = app.0.borrow();
        (a.caseload(now), a.unsynced().unwrap_or(0))
    };
    let mut villages: Vec<String> = items.iter().filter_map(|i| i.village.clone()).collect();
    villages.sort();
    villages.dedup();
    // Only the statuses present are offered: a teacher with no dropouts sees no 辍学 option.
    let mut statuses: Vec<EnrolmentStatus> = items.iter().map(|i| i.student.status).collect();
    statuses.sort_by_key(|s| EnrolmentStatus::ALL.iter().position(|x| x == s));
    statuses.dedup();
    let q = query.read().clone();
    let v = village.read().clone();
    let st = *status.read();
    let fg = *focus.read();
    let shown: Vec<_> = items
        .into_iter()
        .filter(|i| q.is_empty() || i.student.name.contains(q.as_str()))
        .filter(|i| v.is_empty() || i.village.as_deref() == Some(v.as_str()))
        .filter(|i| st.is_none_or(|st| i.student.status == st))
        .filter(|i| fg.is_none_or(|fg| i.student.focus_groups.contains(&fg)))
        .collect();
    let mut nav = ui.screen;
    rsx! {
        section { class: "caseload",
            h1 { {tr(&ui, Msg::Caseload)} }
            if unsynced > 0 {
                p { class: "unsynced", "{unsynced} " {tr(&ui, Msg::NotSynced)} }
            }
            input { class: "search", placeholder: tr(&ui, Msg::Search), value: "{q}", oninput: move |e| query.set(e.value()) }
            div { class: "filters",
                select { class: "village", onchange: move |e| village.set(e.value()),
                    option { value: "", {tr(&ui, Msg::AllVillages)} }
                    for name in villages {
                        option { value: "{name}", "{name}" }
                    }
                }
                // Options by code; the empty value is "all".
                select { class: "status", onchange: move |e| status.set(e.value().parse().ok()),
                    option { value: "", {tr(&ui, Msg::AllStatuses)} }
                    for s in statuses {
                        option { value: s.code(), {coded(lang, s.zh(), s.en())} }
                    }
                }
                select { class: "focus", onchange: move |e| focus.set(e.value().parse().ok()),
                    option { value: "", {tr(&ui, Msg::AllGroups)} }
                    for &g in FocusGroup::ALL {
                        option { value: g.code(), {coded(lang, g.zh(), g.en())} }
                    }
                }
            }
            if shown.is_empty() {
                p { class: "empty", {tr(&ui, Msg::NoStudents)} }
            }
            ul {
                for item in shown {
                    li { key: "{item.student.id}", class: "student",
                        onclick: move |_| nav.set(Screen::Student(item.student.id)),
                        span { class: "name", "{item.student.name}" }
                        span { class: "badge status-{item.student.status.code()}", {coded(lang, item.student.status.zh(), item.student.status.en())} }
                        if item.has_conflict {
                            span { class: "badge conflict", {tr(&ui, Msg::Conflicts)} }
                        }
                        for d in item.due.iter() {
                            span { class: if d.is_overdue() { "due overdue" } else { "due" }, {due_label(d, &ui)} }
                        }
                    }
                }
            }
        }
    }
}
