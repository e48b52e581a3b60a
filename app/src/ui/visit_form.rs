//! New visit: kind, notes, the device-check toggles; saved on the phone at once. Validation
//! errors appear beside the field they concern.

use super::i18n::Msg;
use super::{Screen, tr, use_app, use_ui};
use crate::core::field::EditError;
use baoxue_shared::ids::{RecordId, StudentId};
use baoxue_shared::observation::{Answer, DeviceCheck, Visit, VisitKind};
use baoxue_shared::validation::FieldErrors;
use dioxus::prelude::*;

/// A visit being filled in (kept so a half-written form survives switching screens).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Draft {
    pub notes: String,
    pub device_check: bool,
    pub device_works: bool,
}

const KINDS: [VisitKind; 5] = [
    VisitKind::HomeVisit,
    VisitKind::HouseholdVisit,
    VisitKind::Persuasion,
    VisitKind::PhoneCall,
    VisitKind::WeeklyTalk,
];

#[component]
pub fn NewVisit(student: StudentId, draft: Option<Draft>) -> Element {
    let app = use_app();
    let ui = use_ui();
    let draft = draft.unwrap_or_default();
    let mut notes = use_signal(|| draft.notes.clone());
    let mut kind = use_signal(|| VisitKind::HomeVisit);
    let mut check = use_signal(|| draft.device_check);
    let mut works = use_signal(|| draft.device_works);
    let mut errors = use_signal(FieldErrors::new);
    let mut saved = use_signal(|| false);
    let mut revision = ui.revision;
    let mut nav = ui.screen;
    let error_for = |field: &str| errors.read().for_field(field).map(|e| e.reason.zh());
    let notes_error = error_for("visit.notes");
    let time_error = error_for("visit.started_at");
    let save = move |_| {
        let now = chrono::Utc::now();
        let (user, household) = {
            let a = app.0.borrow();
            let hh = a
                .store()
                .replica()
                .student(student)
                .and_then(|s| s.household);
            (a.author().user, hh)
        };
        let visit = Visit {
            id: RecordId::new(),
            corrects: None,
            kind: kind(),
            visitors: vec![user],
            companions: vec![],
            students: vec![student],
            household,
            guardians_met: vec![],
            started_at: now,
            ended_at: None,
            location: None,
            notes: notes(),
            photos: vec![],
            device_check: check().then(|| DeviceCheck {
                device_works: if works() { Answer::Yes } else { Answer::No },
                ..Default::default()
            }),
            persuasion: None,
            subsidy: None,
        };
        let result = app.0.borrow_mut().record_visit(visit, now);
        match result {
            Ok(()) => {
                errors.set(FieldErrors::new());
                saved.set(true);
                revision += 1;
                nav.set(Screen::Student(student));
            }
            Err(EditError::Invalid(e)) => errors.set(e),
            Err(EditError::Local(e)) => {
                tracing::error!(error = %e, "saving a visit failed");
                errors.set(FieldErrors(vec![
                    baoxue_shared::validation::FieldError::new(
                        "visit",
                        baoxue_shared::validation::Reason::Required,
                    ),
                ]));
            }
        }
    };
    rsx! {
        form { class: "new-visit", onsubmit: move |e| e.prevent_default(),
            h1 { {tr(&ui, Msg::NewVisit)} }
            label { {tr(&ui, Msg::Kind)}
                select { class: "kind", onchange: move |e| {
                        if let Some(k) = KINDS.iter().find(|k| k.zh() == e.value()) { kind.set(*k) }
                    },
                    for k in KINDS {
                        option { value: k.zh(), selected: k == kind(), {k.zh()} }
                    }
                }
            }
            if let Some(msg) = time_error {
                p { class: "field-error", "data-field": "started_at", "{msg}" }
            }
            label { {tr(&ui, Msg::Notes)}
                textarea { class: "notes", value: "{notes}", oninput: move |e| notes.set(e.value()) }
            }
            if let Some(msg) = notes_error {
                p { class: "field-error", "data-field": "notes", "{msg}" }
            }
            fieldset { class: "device-check",
                legend { {tr(&ui, Msg::DeviceCheck)} }
                label { input { r#type: "checkbox", checked: check(), onchange: move |_| check.toggle() } "一看：有可上网的学习设备" }
                label { input { r#type: "checkbox", checked: works(), onchange: move |_| works.toggle() } "设备可正常使用" }
            }
            button { class: "save", r#type: "button", onclick: save, {tr(&ui, Msg::Save)} }
            if saved() {
                p { class: "saved", {tr(&ui, Msg::Saved)} }
            }
        }
    }
}
