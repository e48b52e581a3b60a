//! New visit: kind, notes, photos (camera or gallery), the location with its source and
//! accuracy (the phone's positioning, a photo's GPS, or typed by hand), the device-check toggles
//! (一看二问三查), the persuasion section (四个一批 level, reason, outcome, notice, next follow-up)
//! and the subsidy section; saved on the phone at once. Validation errors appear beside the field
//! they concern.

use super::i18n::{Msg, coded};
use super::{Screen, device, tr, use_app, use_ui};
use crate::core::field::EditError;
use crate::core::location::{FromPhoto, Locator, Manual};
use crate::core::visit_draft::{
    DeviceQuestion, FORM_KINDS, OutcomeChoice, ProblemDraft, VisitDraft,
};
use baoxue_shared::exif::PhotoFacts;
use baoxue_shared::ids::StudentId;
use baoxue_shared::location::Location;
use baoxue_shared::observation::{
    Answer, DropoutReason, LearningDevice, MethodLevel, ProblemKind, RemedyKind, VisitKind,
};
use baoxue_shared::validation::FieldErrors;
use dioxus::prelude::*;

/// Whether photos come through the page's own camera input (`device`): in the browser and the
/// Android webview.
const CAMERA_THROUGH_PAGE: bool = cfg!(any(target_arch = "wasm32", target_os = "android"));
use std::collections::HashMap;

/// One student's draft in the UI state: the form's one state, read whole and written field by
/// field, kept while the teacher looks at other screens and dropped once the visit is saved.
#[derive(Clone, Copy)]
struct DraftCell {
    drafts: Signal<HashMap<StudentId, VisitDraft>>,
    student: StudentId,
}

impl DraftCell {
    fn get(&self) -> VisitDraft {
        self.drafts
            .read()
            .get(&self.student)
            .cloned()
            .unwrap_or_default()
    }

    fn edit(mut self, f: impl FnOnce(&mut VisitDraft)) {
        f(self.drafts.write().entry(self.student).or_default())
    }

    fn clear(mut self) {
        self.drafts.write().remove(&self.student);
    }
}

#[component]
pub fn NewVisit(student: StudentId) -> Element {
    let app = use_app();
    let ui = use_ui();
    let lang = *ui.lang.read();
    let cell = DraftCell {
        drafts: ui.drafts,
        student,
    };
    let draft = cell.get();
    let mut photo_error = use_signal(|| None::<&'static str>);
    let mut location_error = use_signal(|| None::<&'static str>);
    let mut errors = use_signal(FieldErrors::new);
    let mut saved = use_signal(|| false);
    let mut saving = use_signal(|| false);
    let mut save_error = use_signal(|| None::<String>);
    let mut revision = ui.revision;
    let mut nav = ui.screen;
    let error_for = |field: &str| errors.read().for_field(field).map(|e| e.reason.zh());
    let notes_error = error_for("visit.notes");
    let time_error = error_for("visit.started_at");
    let check_error = error_for("visit.device_check");
    let notice_error = error_for("visit.persuasion.notice.number");
    let follow_up_error = error_for("visit.persuasion.next_follow_up");
    let programme_error = error_for("visit.subsidy.programme");
    let location_field_error = error_for("visit.location");
    let photo_gps = draft.photos.iter().find_map(|p| {
        p.gps.map(|g| PhotoFacts {
            captured_at: p.captured_at,
            gps: Some(g),
            orientation: None,
        })
    });
    let mut set_location = move |r: Result<Location, crate::core::location::LocateError>| match r {
        Ok(l) => {
            cell.edit(|d| d.location = Some(l));
            location_error.set(None);
        }
        Err(e) => location_error.set(Some(e.zh())),
    };
    let picker_app = app.clone();
    let cannot_read = tr(&ui, Msg::CannotReadPhoto);
    // A chosen photo, however it came: made into evidence and kept for upload.
    let accept = move |bytes: Result<Vec<u8>, ()>| {
        let taken = match bytes {
            Ok(bytes) => picker_app
                .0
                .borrow_mut()
                .take_photo(&bytes)
                .map_err(|e| e.zh()),
            Err(()) => Err(cannot_read),
        };
        match taken {
            Ok(p) => {
                cell.edit(|d| d.photos.push(p));
                photo_error.set(None);
            }
            Err(msg) => photo_error.set(Some(msg)),
        }
    };
    // The desktop shell's picker: a file input in the tree.
    let pick_accept = accept.clone();
    let pick = move |evt: Event<FormData>| {
        let mut accept = pick_accept.clone();
        async move {
            for f in evt.files() {
                accept(f.read_bytes().await.map(|b| b.to_vec()).map_err(|_| ()));
            }
        }
    };
    // The phone's: the camera input made outside the tree (`device`), shared with Android.
    let camera = move |_| {
        let mut accept = accept.clone();
        async move {
            let mut take = accept.clone();
            if device::pick_photos(|b| take(Ok(b))).await.is_err() {
                accept(Err(()));
            }
        }
    };
    let mut locating = use_signal(|| false);
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
        let visit = cell.get().to_visit(student, user, household, now);
        let result = app.0.borrow_mut().record_visit(visit, now);
        // Said as saved only once the storage says it is durable: at once natively, when the
        // browser's transaction commits on the web (the form waits meanwhile).
        let mut settled = move |r: Result<(), crate::core::local::LocalError>| match r {
            Ok(()) => {
                saved.set(true);
                cell.clear();
                revision += 1;
                nav.set(Screen::Student(student));
            }
            Err(e) => {
                tracing::error!(error = %e, "a saved visit did not reach storage");
                save_error.set(Some(e.to_string()));
            }
        };
        match result {
            Ok(()) => {
                errors.set(FieldErrors::new());
                save_error.set(None);
                let pending = app.0.borrow().durable();
                match pending.now_or_later() {
                    Ok(r) => settled(r),
                    Err(later) => {
                        saving.set(true);
                        spawn(async move {
                            let r = later.await;
                            saving.set(false);
                            settled(r);
                        });
                    }
                }
            }
            Err(EditError::Invalid(e)) => {
                save_error.set(None);
                errors.set(e)
            }
            Err(EditError::Local(e)) => {
                // The storage failed, not the teacher: say so, keep every answer in the form.
                tracing::error!(error = %e, "saving a visit failed");
                errors.set(FieldErrors::new());
                save_error.set(Some(e.to_string()));
            }
        }
    };
    let kind = draft.kind;
    rsx! {
        form { class: "new-visit", onsubmit: move |e| e.prevent_default(),
            h1 { {tr(&ui, Msg::NewVisit)} }
            label { {tr(&ui, Msg::Kind)}
                select { class: "kind", onchange: move |e| {
                        if let Ok(k) = e.value().parse::<VisitKind>() { cell.edit(|d| d.kind = k) }
                    },
                    for k in FORM_KINDS {
                        option { value: k.code(), selected: k == kind, {coded(lang, k.zh(), k.en())} }
                    }
                }
            }
            if let Some(msg) = time_error {
                p { class: "field-error", "data-field": "started_at", "{msg}" }
            }
            label { {tr(&ui, Msg::Notes)}
                textarea { class: "notes", value: "{draft.notes}", oninput: move |e| cell.edit(|d| d.notes = e.value()) }
            }
            if let Some(msg) = notes_error {
                p { class: "field-error", "data-field": "notes", "{msg}" }
            }
            fieldset { class: "photos",
                legend { {tr(&ui, Msg::Photos)} }
                // `capture` opens the camera on a phone; the gallery stays available (its photos
                // usually lack the EXIF time, which the review queue will point out).
                // One of the two shows: the in-tree picker on the desktop, the camera through the
                // page where Dioxus intercepts in-tree file inputs (both stay in the template, so
                // its shape is the same on every platform).
                label { class: "photo-button", hidden: CAMERA_THROUGH_PAGE, {tr(&ui, Msg::TakePhoto)}
                    input { class: "photo-picker", r#type: "file", accept: "image/*", multiple: true,
                        "capture": "environment", onchange: pick }
                }
                button { class: "photo-button camera", r#type: "button", hidden: !CAMERA_THROUGH_PAGE,
                    onclick: camera, {tr(&ui, Msg::TakePhoto)} }
                for p in draft.photos.iter() {
                    p { class: "photo",
                        {format!("{} KB，", p.bytes / 1024)}
                        match p.captured_at {
                            Some(t) => rsx! { {format!("{} {}", tr(&ui, Msg::CapturedAt), baoxue_shared::time::format_zh(t))} },
                            None => rsx! { span { class: "warn", {tr(&ui, Msg::NoCaptureTime)} } },
                        }
                    }
                }
                if let Some(msg) = photo_error() {
                    p { class: "field-error", "data-field": "photos", "{msg}" }
                }
            }
            fieldset { class: "location",
                legend { {tr(&ui, Msg::Location)} }
                match draft.location {
                    Some(l) => rsx! {
                        p { class: "where",
                            {format!("{:.5}, {:.5}（{}", l.point.lat(), l.point.lon(), coded(lang, l.source.zh(), l.source.en()))}
                            if let Some(a) = l.accuracy_m { {format!("，{} {a:.0} {}", tr(&ui, Msg::AccuracyAbout), tr(&ui, Msg::Metres))} }
                            "）"
                        }
                    },
                    None => rsx! { p { class: "where none", {tr(&ui, Msg::NoLocation)} } },
                }
                button { class: "locate-device", r#type: "button", disabled: locating(),
                    onclick: move |_| async move {
                        locating.set(true);
                        let fix = device::locate().await;
                        locating.set(false);
                        set_location(fix);
                    },
                    {tr(&ui, Msg::LocateDevice)} }
                button { class: "locate-photo", r#type: "button", disabled: photo_gps.is_none(),
                    onclick: move |_| {
                        if let Some(f) = photo_gps { set_location(FromPhoto(f).locate()) }
                    },
                    {tr(&ui, Msg::LocateFromPhoto)} }
                label { {tr(&ui, Msg::Latitude)} input { class: "lat", inputmode: "decimal", value: "{draft.manual_lat}", oninput: move |e| cell.edit(|d| d.manual_lat = e.value()) } }
                label { {tr(&ui, Msg::Longitude)} input { class: "lon", inputmode: "decimal", value: "{draft.manual_lon}", oninput: move |e| cell.edit(|d| d.manual_lon = e.value()) } }
                button { class: "locate-manual", r#type: "button",
                    onclick: move |_| {
                        let d = cell.get();
                        match (d.manual_lat.trim().parse::<f64>(), d.manual_lon.trim().parse::<f64>()) {
                            (Ok(lat), Ok(lon)) => set_location(Manual { lat, lon }.locate()),
                            _ => location_error.set(Some(Msg::TypeNumbers.tr(lang))),
                        }
                    },
                    {tr(&ui, Msg::LocateManual)} }
                if let Some(msg) = location_error() {
                    p { class: "field-error", "data-field": "location", "{msg}" }
                }
                if let Some(msg) = location_field_error {
                    p { class: "field-error", "data-field": "location", "{msg}" }
                }
            }
            if draft.asks_device_check() {
                fieldset { class: "device-check",
                    legend { {tr(&ui, Msg::DeviceCheck)} }
                    label { input { class: "device-check-done", r#type: "checkbox", checked: draft.device_check, onchange: move |_| cell.edit(|d| d.device_check = !d.device_check) } {tr(&ui, Msg::DeviceCheckDone)} }
                    if draft.device_check {
                        p { class: "devices-seen", {tr(&ui, Msg::DevicesSeen)}
                            for &dev in LearningDevice::ALL {
                                label { input { class: "device-{dev.code()}", r#type: "checkbox", checked: draft.devices_seen.contains(&dev),
                                    onchange: move |_| cell.edit(|d| { if !d.devices_seen.remove(&dev) { d.devices_seen.insert(dev); } }) }
                                    {coded(lang, dev.zh(), dev.en())} }
                            }
                        }
                        for &q in DeviceQuestion::ALL {
                            label { {coded(lang, q.zh(), q.en())}
                                select { class: "answer {q.code()}", onchange: move |e| { if let Ok(a) = e.value().parse::<Answer>() { cell.edit(|d| *d.answer_mut(q) = a) } },
                                    for &a in Answer::ALL { option { value: a.code(), selected: a == draft.answer(q), {coded(lang, a.zh(), a.en())} } }
                                }
                            }
                        }
                        p { class: "problems", {tr(&ui, Msg::ProblemsFound)} }
                        for &k in ProblemKind::ALL {
                            label { input { class: "problem-{k.code()}", r#type: "checkbox", checked: draft.problems.contains_key(&k),
                                onchange: move |_| cell.edit(|d| { if d.problems.remove(&k).is_none() { d.problems.insert(k, ProblemDraft::default()); } }) }
                                {coded(lang, k.zh(), k.en())} }
                            if let Some(p) = draft.problems.get(&k) {
                                div { class: "remedy",
                                    label { {tr(&ui, Msg::Remedy)}
                                        select { class: "remedy-{k.code()}", onchange: move |e| { let r = e.value().parse::<RemedyKind>().ok(); cell.edit(|d| { if let Some(p) = d.problems.get_mut(&k) { p.remedy = r } }) },
                                            option { value: "", selected: p.remedy.is_none(), {tr(&ui, Msg::NoRemedyYet)} }
                                            for &r in RemedyKind::ALL { option { value: r.code(), selected: p.remedy == Some(r), {coded(lang, r.zh(), r.en())} } }
                                        }
                                    }
                                    label { input { r#type: "checkbox", checked: p.remedy_done, onchange: move |_| cell.edit(|d| { if let Some(p) = d.problems.get_mut(&k) { p.remedy_done = !p.remedy_done } }) } {tr(&ui, Msg::RemedyDone)} }
                                    input { class: "problem-note", placeholder: tr(&ui, Msg::ProblemNote), value: "{p.note}",
                                        oninput: move |e| cell.edit(|d| { if let Some(p) = d.problems.get_mut(&k) { p.note = e.value() } }) }
                                }
                            }
                        }
                    }
                }
            }
            if let Some(msg) = check_error {
                p { class: "field-error", "data-field": "device_check", "{msg}" }
            }
            if kind == VisitKind::Persuasion {
                fieldset { class: "persuasion",
                    legend { {tr(&ui, Msg::Persuasion)} }
                    label { {tr(&ui, Msg::DropoutReasonLabel)}
                        select { class: "reason", onchange: move |e| { if let Ok(r) = e.value().parse::<DropoutReason>() { cell.edit(|d| d.reason = r) } },
                            for &r in DropoutReason::ALL { option { value: r.code(), selected: r == draft.reason, {coded(lang, r.zh(), r.en())} } }
                        }
                    }
                    label { {tr(&ui, Msg::MethodLabel)}
                        select { class: "method", onchange: move |e| { if let Ok(m) = e.value().parse::<MethodLevel>() { cell.edit(|d| d.method = m) } },
                            for &m in MethodLevel::ALL { option { value: m.code(), selected: m == draft.method, "{m.number()}. " {coded(lang, m.zh(), m.en())} } }
                        }
                    }
                    label { {tr(&ui, Msg::OutcomeLabel)}
                        select { class: "outcome", onchange: move |e| { if let Ok(o) = e.value().parse::<OutcomeChoice>() { cell.edit(|d| d.outcome = o) } },
                            for &o in OutcomeChoice::ALL { option { value: o.code(), selected: o == draft.outcome, {coded(lang, o.zh(), o.en())} } }
                        }
                    }
                    label { {tr(&ui, Msg::FollowUpDate)}
                        input { class: "follow-up", r#type: "date", value: "{draft.follow_up}", oninput: move |e| cell.edit(|d| d.follow_up = e.value()) }
                    }
                    if let Some(msg) = follow_up_error {
                        p { class: "field-error", "data-field": "next_follow_up", "{msg}" }
                    }
                    label { input { r#type: "checkbox", checked: draft.notice_issued, onchange: move |_| cell.edit(|d| d.notice_issued = !d.notice_issued) } {tr(&ui, Msg::NoticeIssued)} }
                    if draft.notice_issued {
                        label { {tr(&ui, Msg::NoticeNumber)}
                            input { class: "notice-number", value: "{draft.notice_number}", oninput: move |e| cell.edit(|d| d.notice_number = e.value()) }
                        }
                    }
                    if let Some(msg) = notice_error {
                        p { class: "field-error", "data-field": "notice_number", "{msg}" }
                    }
                }
            }
            if kind == VisitKind::SubsidyVerification {
                fieldset { class: "subsidy",
                    legend { {tr(&ui, Msg::SubsidyCheck)} }
                    label { {tr(&ui, Msg::Programme)}
                        input { class: "programme", value: "{draft.subsidy_programme}", oninput: move |e| cell.edit(|d| d.subsidy_programme = e.value()) }
                    }
                    if let Some(msg) = programme_error {
                        p { class: "field-error", "data-field": "programme", "{msg}" }
                    }
                    label { input { r#type: "checkbox", checked: draft.subsidy_received, onchange: move |_| cell.edit(|d| d.subsidy_received = !d.subsidy_received) } {tr(&ui, Msg::SubsidyReceived)} }
                    label { {tr(&ui, Msg::FamilyInformed)}
                        select { class: "family-informed", onchange: move |e| { if let Ok(a) = e.value().parse::<Answer>() { cell.edit(|d| d.family_informed = a) } },
                            for &a in Answer::ALL { option { value: a.code(), selected: a == draft.family_informed, {coded(lang, a.zh(), a.en())} } }
                        }
                    }
                }
            }
            button { class: "save", r#type: "button", disabled: saving(), onclick: save,
                if saving() { {tr(&ui, Msg::Saving)} } else { {tr(&ui, Msg::Save)} }
            }
            if let Some(e) = save_error() {
                p { class: "save-error", {tr(&ui, Msg::SaveFailed)} }
                p { class: "muted", "{e}" }
            }
            if saved() {
                p { class: "saved", {tr(&ui, Msg::Saved)} }
            }
        }
    }
}
