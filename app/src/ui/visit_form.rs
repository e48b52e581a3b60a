//! New visit: kind, notes, photos (camera or gallery), the location with its source and
//! accuracy (the phone's positioning, a photo's GPS, or typed by hand), the device-check toggles
//! (一看二问三查), the persuasion section (四个一批 level, reason, outcome, notice, next follow-up)
//! and the subsidy section; saved on the phone at once. Validation errors appear beside the field
//! they concern.

use super::i18n::Msg;
use super::{Screen, tr, use_app, use_ui};
use crate::core::field::EditError;
use crate::core::location::{Device, FromPhoto, Locator, Manual};
use baoxue_shared::exif::PhotoFacts;
use baoxue_shared::ids::{RecordId, StudentId};
use baoxue_shared::location::Location;
use baoxue_shared::observation::PhotoRef;
use baoxue_shared::observation::{
    Answer, DeviceCheck, DropoutReason, MethodLevel, Notice, NoticeKind, PersuasionAttempt,
    PersuasionOutcome, Placement, SubsidyVerification, Visit, VisitKind,
};
use baoxue_shared::validation::FieldErrors;
use dioxus::prelude::*;

/// A visit being filled in (kept so a half-written form survives switching screens).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Draft {
    pub kind: Option<VisitKind>,
    pub notes: String,
    pub device_check: bool,
    pub device_works: bool,
    /// A deadline-to-return notice was issued on this persuasion visit.
    pub notice_issued: bool,
    pub notice_number: String,
    pub subsidy_programme: String,
    /// Photos already taken for this visit (processed and stored on the phone).
    pub photos: Vec<PhotoRef>,
    pub location: Option<Location>,
}

const KINDS: [VisitKind; 6] = [
    VisitKind::HomeVisit,
    VisitKind::HouseholdVisit,
    VisitKind::Persuasion,
    VisitKind::SubsidyVerification,
    VisitKind::PhoneCall,
    VisitKind::WeeklyTalk,
];

const REASONS: [DropoutReason; 8] = [
    DropoutReason::Poverty,
    DropoutReason::DislikesSchool,
    DropoutReason::SchoolTooFar,
    DropoutReason::EarlyMarriage,
    DropoutReason::WorkingAway,
    DropoutReason::IllnessOrDisability,
    DropoutReason::Family,
    DropoutReason::Other,
];

const METHODS: [MethodLevel; 4] = [
    MethodLevel::Reasoning,
    MethodLevel::SpecialCare,
    MethodLevel::Administrative,
    MethodLevel::Legal,
];

/// The outcomes a teacher picks from, with their labels.
const OUTCOMES: [(PersuasionOutcome, &str); 3] = [
    (PersuasionOutcome::Promised, "答应返校"),
    (PersuasionOutcome::NotReturned, "未返校"),
    (PersuasionOutcome::Returned(Placement::OwnClass), "已返校"),
];

#[component]
pub fn NewVisit(student: StudentId, draft: Option<Draft>) -> Element {
    let app = use_app();
    let ui = use_ui();
    let draft = draft.unwrap_or_default();
    let mut notes = use_signal(|| draft.notes.clone());
    let mut kind = use_signal(|| draft.kind.unwrap_or(VisitKind::HomeVisit));
    let mut check = use_signal(|| draft.device_check);
    let mut works = use_signal(|| draft.device_works);
    let mut reason = use_signal(|| DropoutReason::DislikesSchool);
    let mut method = use_signal(|| MethodLevel::Reasoning);
    let mut outcome = use_signal(|| 0usize);
    let mut follow_up = use_signal(String::new);
    let mut notice_issued = use_signal(|| draft.notice_issued);
    let mut notice_number = use_signal(|| draft.notice_number.clone());
    let mut programme = use_signal(|| draft.subsidy_programme.clone());
    let mut received = use_signal(|| true);
    let mut photos = use_signal(|| draft.photos.clone());
    let mut location = use_signal(|| draft.location);
    let mut photo_error = use_signal(|| None::<&'static str>);
    let mut location_error = use_signal(|| None::<&'static str>);
    let mut manual_lat = use_signal(String::new);
    let mut manual_lon = use_signal(String::new);
    let mut errors = use_signal(FieldErrors::new);
    let mut saved = use_signal(|| false);
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
    let photo_gps = photos.read().iter().find_map(|p| {
        p.gps.map(|g| PhotoFacts {
            captured_at: p.captured_at,
            gps: Some(g),
            orientation: None,
        })
    });
    let mut set_location = move |r: Result<Location, crate::core::location::LocateError>| match r {
        Ok(l) => {
            location.set(Some(l));
            location_error.set(None);
        }
        Err(e) => location_error.set(Some(e.zh())),
    };
    let picker_app = app.clone();
    let pick = move |evt: Event<FormData>| {
        let app = picker_app.clone();
        async move {
            for f in evt.files() {
                let taken = match f.read_bytes().await {
                    Ok(bytes) => app.0.borrow_mut().take_photo(&bytes).map_err(|e| e.zh()),
                    Err(_) => Err("无法读取照片文件"),
                };
                match taken {
                    Ok(p) => {
                        photos.write().push(p);
                        photo_error.set(None);
                    }
                    Err(msg) => photo_error.set(Some(msg)),
                }
            }
        }
    };
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
            location: location(),
            notes: notes(),
            photos: photos(),
            device_check: check().then(|| DeviceCheck {
                device_works: if works() { Answer::Yes } else { Answer::No },
                ..Default::default()
            }),
            persuasion: (kind() == VisitKind::Persuasion).then(|| {
                let today = baoxue_shared::time::china_date(now);
                let next = chrono::NaiveDate::parse_from_str(&follow_up(), "%Y-%m-%d").ok();
                PersuasionAttempt {
                    reason: reason(),
                    method: method(),
                    notice: notice_issued().then(|| Notice {
                        kind: NoticeKind::DeadlineToReturn,
                        number: notice_number().trim().to_string(),
                        issued_on: today,
                        deadline: next,
                    }),
                    outcome: OUTCOMES[outcome()].0,
                    next_follow_up: next,
                }
            }),
            subsidy: (kind() == VisitKind::SubsidyVerification).then(|| SubsidyVerification {
                programme: programme().trim().to_string(),
                amount_fen: None,
                received: if received() { Answer::Yes } else { Answer::No },
                family_informed: true,
                statement_filed: false,
            }),
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
            fieldset { class: "photos",
                legend { {tr(&ui, Msg::Photos)} }
                // `capture` opens the camera on a phone; the gallery stays available (its photos
                // usually lack the EXIF time, which the review queue will point out).
                label { class: "photo-button", "拍照 / 选择照片"
                    input { class: "photo-picker", r#type: "file", accept: "image/*", multiple: true,
                        "capture": "environment", onchange: pick }
                }
                for p in photos.read().iter() {
                    p { class: "photo",
                        {format!("{} KB，", p.bytes / 1024)}
                        match p.captured_at {
                            Some(t) => rsx! { {format!("拍摄于 {}", baoxue_shared::time::format_zh(t))} },
                            None => rsx! { span { class: "warn", "照片无拍摄时间" } },
                        }
                    }
                }
                if let Some(msg) = photo_error() {
                    p { class: "field-error", "data-field": "photos", "{msg}" }
                }
            }
            fieldset { class: "location",
                legend { {tr(&ui, Msg::Location)} }
                match location() {
                    Some(l) => rsx! {
                        p { class: "where",
                            {format!("{:.5}, {:.5}（{}", l.point.lat(), l.point.lon(), l.source.zh())}
                            if let Some(a) = l.accuracy_m { {format!("，精度约 {a:.0} 米")} }
                            "）"
                        }
                    },
                    None => rsx! { p { class: "where none", {tr(&ui, Msg::NoLocation)} } },
                }
                button { class: "locate-device", r#type: "button",
                    onclick: move |_| set_location(Device.locate()), {tr(&ui, Msg::LocateDevice)} }
                button { class: "locate-photo", r#type: "button", disabled: photo_gps.is_none(),
                    onclick: move |_| {
                        if let Some(f) = photo_gps { set_location(FromPhoto(f).locate()) }
                    },
                    {tr(&ui, Msg::LocateFromPhoto)} }
                label { "纬度" input { class: "lat", inputmode: "decimal", value: "{manual_lat}", oninput: move |e| manual_lat.set(e.value()) } }
                label { "经度" input { class: "lon", inputmode: "decimal", value: "{manual_lon}", oninput: move |e| manual_lon.set(e.value()) } }
                button { class: "locate-manual", r#type: "button",
                    onclick: move |_| {
                        match (manual_lat().trim().parse::<f64>(), manual_lon().trim().parse::<f64>()) {
                            (Ok(lat), Ok(lon)) => set_location(Manual { lat, lon }.locate()),
                            _ => location_error.set(Some("请填写数字形式的纬度和经度")),
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
            if matches!(kind(), VisitKind::HomeVisit | VisitKind::HouseholdVisit) {
                fieldset { class: "device-check",
                    legend { {tr(&ui, Msg::DeviceCheck)} }
                    label { input { r#type: "checkbox", checked: check(), onchange: move |_| check.toggle() } "一看：有可上网的学习设备" }
                    label { input { r#type: "checkbox", checked: works(), onchange: move |_| works.toggle() } "设备可正常使用" }
                }
            }
            if let Some(msg) = check_error {
                p { class: "field-error", "data-field": "device_check", "{msg}" }
            }
            if kind() == VisitKind::Persuasion {
                fieldset { class: "persuasion",
                    legend { {tr(&ui, Msg::Persuasion)} }
                    label { "辍学原因"
                        select { class: "reason", onchange: move |e| { if let Some(r) = REASONS.iter().find(|r| r.zh() == e.value()) { reason.set(*r) } },
                            for r in REASONS { option { value: r.zh(), selected: r == reason(), {r.zh()} } }
                        }
                    }
                    label { "劝返方式（四个一批）"
                        select { class: "method", onchange: move |e| { if let Some(m) = METHODS.iter().find(|m| m.zh() == e.value()) { method.set(*m) } },
                            for m in METHODS { option { value: m.zh(), selected: m == method(), "{m.number()}. " {m.zh()} } }
                        }
                    }
                    label { "结果"
                        select { class: "outcome", onchange: move |e| { if let Some(i) = OUTCOMES.iter().position(|(_, l)| *l == e.value()) { outcome.set(i) } },
                            for (i, (_, l)) in OUTCOMES.iter().enumerate() { option { value: *l, selected: i == outcome(), {*l} } }
                        }
                    }
                    label { "下次回访日期"
                        input { class: "follow-up", r#type: "date", value: "{follow_up}", oninput: move |e| follow_up.set(e.value()) }
                    }
                    if let Some(msg) = follow_up_error {
                        p { class: "field-error", "data-field": "next_follow_up", "{msg}" }
                    }
                    label { input { r#type: "checkbox", checked: notice_issued(), onchange: move |_| notice_issued.toggle() } "已发限期返校通知书" }
                    if notice_issued() {
                        label { "通知书文号"
                            input { class: "notice-number", value: "{notice_number}", oninput: move |e| notice_number.set(e.value()) }
                        }
                    }
                    if let Some(msg) = notice_error {
                        p { class: "field-error", "data-field": "notice_number", "{msg}" }
                    }
                }
            }
            if kind() == VisitKind::SubsidyVerification {
                fieldset { class: "subsidy",
                    legend { "资助核实" }
                    label { "资助项目"
                        input { class: "programme", value: "{programme}", oninput: move |e| programme.set(e.value()) }
                    }
                    if let Some(msg) = programme_error {
                        p { class: "field-error", "data-field": "programme", "{msg}" }
                    }
                    label { input { r#type: "checkbox", checked: received(), onchange: move |_| received.toggle() } "家庭已收到资助" }
                }
            }
            button { class: "save", r#type: "button", onclick: save, {tr(&ui, Msg::Save)} }
            if saved() {
                p { class: "saved", {tr(&ui, Msg::Saved)} }
            }
        }
    }
}
