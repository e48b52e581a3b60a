#![cfg(not(target_arch = "wasm32"))]
//! The screens without a display: a real app core on a real encrypted store, the Dioxus
//! virtual DOM driven by events, and the HTML it renders read back.

use baoxue_app::core::field::FieldApp;
use baoxue_app::core::local::{LocalStore, derive_key};
use baoxue_app::core::sync::{ServerSession, SyncEngine};
use baoxue_app::core::visit_draft::VisitDraft as Draft;
use baoxue_app::ui::{AppHandle, Root, RootProps, Screen};
use baoxue_shared::author::Author;
use baoxue_shared::ids::{DeviceId, StudentId, UserId};
use baoxue_shared::people::{Role, User};
use baoxue_shared::replica::Replica;
use baoxue_shared::sample;
use chrono::{Duration, Utc};
use dioxus::dioxus_core::{ElementId, Event, Mutation};
use dioxus::prelude::*;
use dioxus_html::{
    PlatformEventData, SerializedFileData, SerializedFormData, SerializedFormObject,
    SerializedHtmlEventConverter, SerializedMouseData,
};
use std::any::Any;
use std::rc::Rc;

/// A teacher's phone with one student on it, offline.
fn phone(dir: &std::path::Path) -> (AppHandle, StudentId) {
    phone_with(dir, |_, _, _| vec![])
}

/// A phone (offline) with one change saved and not yet synced.
fn phone_with_one_unsynced_change(dir: &std::path::Path) -> AppHandle {
    let (app, kid) = phone(dir);
    app.0
        .borrow_mut()
        .set_status(
            kid,
            baoxue_shared::status::EnrolmentStatus::SuspectedDropout,
            Utc::now(),
        )
        .unwrap();
    app
}

/// Like [`phone`], with more ops already pulled from the server: `more(rng, household,
/// student)` makes them.
fn phone_with(
    dir: &std::path::Path,
    more: impl FnOnce(
        &mut fastrand::Rng,
        &baoxue_shared::people::Household,
        &baoxue_shared::people::Student,
    ) -> Vec<baoxue_shared::op::Op>,
) -> (AppHandle, StudentId) {
    let mut rng = fastrand::Rng::with_seed(5);
    let mut admin = Author::new(UserId::new(), DeviceId::new());
    let h = sample::household(&mut rng);
    let s = sample::student(&mut rng, &h, baoxue_shared::time::today_in_china());
    let g = sample::guardian(&mut rng, s.id);
    let empty = Replica::new();
    let t0 = Utc::now() - Duration::days(30);
    let mut ops = admin.household_ops(&empty, &h, t0);
    ops.extend(admin.student_ops(&empty, &s, t0));
    ops.extend(admin.guardian_ops(&empty, &g, t0));
    ops.extend(more(&mut rng, &h, &s));
    for op in &mut ops {
        op.received_at = Some(t0);
    }
    let mut store =
        LocalStore::open(&dir.join("phone.db"), &derive_key("pw-123456", &[3; 16])).unwrap();
    store.save_pulled(ops).unwrap();
    let user = User {
        id: UserId::new(),
        account: "t".into(),
        name: "李老师".into(),
        role: Role::Teacher,
        assignments: vec![],
    };
    let engine = SyncEngine::resume(ServerSession {
        base_url: "http://127.0.0.1:9".into(),
        token: "offline".into(),
        user,
        device: DeviceId::new(),
        expires_at: Utc::now() + Duration::days(20),
    });
    (
        AppHandle::new(FieldApp::new(store, engine).unwrap().with_export_dir(dir)),
        s.id,
    )
}

/// The new-visit form's buttons: after the bottom bar (0–2) the page-camera button (3, hidden
/// on the desktop), the location buttons — 手机定位 (4), 用照片位置 (5), 使用手动填写的位置 (6) —
/// then 保存 (7).
const LOCATE_DEVICE: usize = 4;
const LOCATE_PHOTO: usize = 5;
const LOCATE_MANUAL: usize = 6;
const SAVE: usize = 7;
/// `change` listeners on the new-visit form: the kind select (0), then the photo picker (1).
const PHOTO_PICKER: usize = 1;

/// A screen in a virtual DOM. Clickable elements are numbered in the order Dioxus attached
/// their listeners: the bottom bar's three buttons first (0, 1, 2), then the screen's, in document
/// order; elements that appear later (a dialog) are numbered after those.
struct Screens {
    dom: VirtualDom,
    clicks: Vec<ElementId>,
    /// Elements listening for `change` (selects, checkboxes, the photo picker), in the same
    /// order.
    changes: Vec<ElementId>,
    /// Elements listening for `input` (text fields), in the same order.
    inputs: Vec<ElementId>,
}

impl Screens {
    fn open(app: &AppHandle, start: Screen, draft: Option<Draft>) -> Screens {
        dioxus_html::set_event_converter(Box::new(SerializedHtmlEventConverter));
        let mut dom = VirtualDom::new_with_props(Root, RootProps { start, draft })
            .with_root_context(app.clone());
        let edits = dom.rebuild_to_vec().edits;
        let clicks = listeners(&edits);
        let changes = listeners_of(&edits, "change");
        let inputs = listeners_of(&edits, "input");
        Screens {
            dom,
            clicks,
            changes,
            inputs,
        }
    }

    /// Re-render, numbering the listeners of elements that appeared.
    fn render(&mut self) {
        let edits = self.dom.render_immediate_to_vec();
        self.clicks.extend(listeners(&edits.edits));
        self.changes.extend(listeners_of(&edits.edits, "change"));
        self.inputs.extend(listeners_of(&edits.edits, "input"));
    }

    /// Go to `screen` as the app's navigation would (the screen state the root provides).
    fn goto(&mut self, screen: Screen) {
        let ui = self
            .dom
            .in_runtime(|| {
                dioxus::dioxus_core::consume_context_from_scope::<baoxue_app::ui::Ui>(ScopeId::APP)
            })
            .expect("the root provides the UI state");
        let mut nav = ui.screen;
        self.dom.in_runtime(|| nav.set(screen));
        self.render();
    }

    /// Type `value` into the `n`-th element listening for `input`, then re-render.
    fn input(&mut self, n: usize, value: &str) {
        let data = Rc::new(PlatformEventData::new(Box::new(chosen(value))));
        self.dom.runtime().handle_event(
            "input",
            Event::new(data as Rc<dyn Any>, true),
            self.inputs[n],
        );
        self.render();
    }

    fn html(&self) -> String {
        dioxus_ssr::render(&self.dom)
    }

    /// Click the `n`-th clickable element, then re-render.
    fn click(&mut self, n: usize) {
        let data = Rc::new(PlatformEventData::new(Box::new(
            SerializedMouseData::default(),
        )));
        self.dom.runtime().handle_event(
            "click",
            Event::new(data as Rc<dyn Any>, true),
            self.clicks[n],
        );
        self.render();
    }

    /// Send a `change` to the `n`-th element listening for one, as the renderer would.
    fn change(&mut self, n: usize, form: SerializedFormData) {
        let data = Rc::new(PlatformEventData::new(Box::new(form)));
        self.dom.runtime().handle_event(
            "change",
            Event::new(data as Rc<dyn Any>, true),
            self.changes[n],
        );
        self.render();
    }
}

/// A select's new value.
fn chosen(value: &str) -> SerializedFormData {
    SerializedFormData::new(value.to_string(), vec![])
}

/// Let async work (a sync, a login) run until the page shows `until` (or 5 s pass); the HTML.
async fn settle(dom: &mut VirtualDom, until: &str) -> String {
    let mut html = String::new();
    for _ in 0..50 {
        let _ =
            tokio::time::timeout(std::time::Duration::from_millis(100), dom.wait_for_work()).await;
        dom.render_immediate(&mut dioxus::dioxus_core::NoOpMutations);
        html = dioxus_ssr::render(dom);
        if html.contains(until) {
            break;
        }
    }
    html
}

fn listeners(edits: &[Mutation]) -> Vec<ElementId> {
    listeners_of(edits, "click")
}

fn listeners_of(edits: &[Mutation], event: &str) -> Vec<ElementId> {
    edits
        .iter()
        .filter_map(|m| match m {
            Mutation::NewEventListener { name, id } if name == event => Some(*id),
            _ => None,
        })
        .collect()
}

#[test]
fn a_saved_visit_appears_in_the_caseload_and_the_students_file() {
    let dir = tempfile::tempdir().unwrap();
    let (app, kid) = phone(dir.path());
    let caseload = Screens::open(&app, Screen::Caseload, None).html();
    assert!(caseload.contains("我的学生"), "Chinese first");
    assert!(caseload.contains("本学期家访未完成"), "{caseload}");

    // The new-visit form with a note written.
    let draft = Draft {
        notes: "与奶奶谈了孩子的学习，家长支持".into(),
        ..Default::default()
    };
    let mut s = Screens::open(&app, Screen::NewVisit(kid), Some(draft));
    s.click(SAVE);
    assert_eq!(
        app.0.borrow().unsynced().unwrap(),
        1,
        "saved on the phone at once"
    );
    let file = s.html();
    assert!(
        file.contains("与奶奶谈了孩子的学习，家长支持"),
        "after saving, the student's file shows it: {file}"
    );
    assert!(file.contains("家访"));
    assert!(
        file.contains("href=\"tel:"),
        "the guardian's number is tap-to-call"
    );
    let caseload = Screens::open(&app, Screen::Caseload, None).html();
    assert!(
        !caseload.contains("本学期家访未完成"),
        "the home visit is done: {caseload}"
    );
    assert!(caseload.contains("1 条记录尚未同步"));
}

#[test]
fn a_half_written_visit_survives_a_look_at_other_screens_and_is_gone_once_saved() {
    let dir = tempfile::tempdir().unwrap();
    let (app, kid) = phone(dir.path());
    let mut s = Screens::open(&app, Screen::Student(kid), None);
    s.goto(Screen::NewVisit(kid));
    // The kind (a persuasion visit, chosen by its code: the select's first `change`) and the
    // notes (the form's first `input`), as a teacher fills them.
    s.change(0, chosen("persuasion"));
    s.input(0, "奶奶说孩子在县城打工，周末回来");
    // Away to the caseload and the sync screen, and back to this student's new visit.
    s.goto(Screen::Caseload);
    s.goto(Screen::Sync);
    s.goto(Screen::NewVisit(kid));
    let html = s.html();
    assert!(
        html.contains("奶奶说孩子在县城打工，周末回来") && html.contains("四个一批"),
        "the notes and the persuasion section are still there: {html}"
    );
    // 保存 is the form's last button.
    s.click(s.clicks.len() - 1);
    assert_eq!(app.0.borrow().unsynced().unwrap(), 1, "saved");
    let file = app.0.borrow().student_file(kid, Utc::now()).unwrap();
    let visit = file.live_visits().next().cloned().expect("saved");
    assert_eq!(
        visit.kind,
        baoxue_shared::observation::VisitKind::Persuasion
    );
    s.goto(Screen::NewVisit(kid));
    assert!(
        !s.html().contains("奶奶说孩子在县城打工"),
        "a new form starts empty once the visit is saved"
    );
}

#[test]
fn validation_errors_show_beside_their_field() {
    let dir = tempfile::tempdir().unwrap();
    let (app, kid) = phone(dir.path());
    let draft = Draft {
        notes: "很长".repeat(2500),
        ..Default::default()
    };
    let mut s = Screens::open(&app, Screen::NewVisit(kid), Some(draft));
    s.click(SAVE);
    let html = s.html();
    let notes_at = html.find("class=\"notes\"").unwrap();
    let error_at = html
        .find(r#"data-field="notes""#)
        .expect("an error beside the notes");
    assert!(
        error_at > notes_at && !html[notes_at..error_at].contains("<label"),
        "right after the notes field, before the next one"
    );
    assert!(html.contains("最多4000个字，现有5000个字"), "{html}");
    assert_eq!(app.0.borrow().unsynced().unwrap(), 0, "nothing half-saved");
}

#[test]
fn logging_out_with_unsynced_records_asks_first_and_says_how_many() {
    let dir = tempfile::tempdir().unwrap();
    let app = phone_with_one_unsynced_change(dir.path());
    let mut s = Screens::open(&app, Screen::Settings, None);
    // 0–2: bottom bar; 3: 中文; 4: English; 5: 退出登录; then the dialog's 取消 (6) and 退出登录 (7).
    s.click(5);
    let html = s.html();
    assert!(html.contains("alertdialog"), "{html}");
    assert!(html.contains("1 条记录尚未同步"), "{html}");
    assert_eq!(
        app.0.borrow().unsynced().unwrap(),
        1,
        "nothing discarded without confirming"
    );
    s.click(6);
    assert!(!s.html().contains("alertdialog"), "cancel keeps everything");
    assert_eq!(app.0.borrow().unsynced().unwrap(), 1);
    // English is one tap away.
    s.click(4);
    assert!(s.html().contains("Log out"));
    // Confirming the counted loss logs out and clears the phone.
    s.click(5);
    let n = s.clicks.len();
    s.click(n - 1);
    assert!(s.html().contains("已退出"), "{}", s.html());
    assert_eq!(
        app.0.borrow().store().replica().len(),
        0,
        "the next user of a shared phone sees nothing"
    );
}

#[tokio::test]
async fn sync_without_a_network_says_why_and_offers_a_retry() {
    let dir = tempfile::tempdir().unwrap();
    let app = phone_with_one_unsynced_change(dir.path());
    let mut s = Screens::open(&app, Screen::Sync, None);
    let html = s.html();
    assert!(
        html.contains("1 条记录尚未同步") && html.contains("从未同步"),
        "{html}"
    );
    // The phone tries by itself as soon as it opens, fails, and backs off for a minute.
    let html = settle(&mut s.dom, r#"class="sync-error""#).await;
    assert!(html.contains("重试"), "{html}");
    // 立即同步 (重试) starts a sync of its own at once: the old error goes, the button waits.
    s.click(3);
    let html = s.html();
    assert!(
        !html.contains(r#"class="sync-error""#) && html.contains("disabled=true"),
        "the button started a sync: {html}"
    );
    let html = settle(&mut s.dom, r#"class="sync-error""#).await;
    assert!(
        html.contains("无法连接服务器，记录已保存在手机上"),
        "{html}"
    );
    assert!(html.contains("重试"));
    assert_eq!(app.0.borrow().unsynced().unwrap(), 1, "still in the outbox");
}

#[tokio::test]
async fn the_login_screen_says_plainly_why_it_cannot_log_in() {
    use baoxue_app::core::install::Installation;
    use baoxue_app::ui::login::InstallHandle;
    use baoxue_app::ui::{Shell, ShellProps};
    let dir = tempfile::tempdir().unwrap();
    let install = InstallHandle(Rc::new(Installation::open(dir.path()).unwrap()));
    dioxus_html::set_event_converter(Box::new(SerializedHtmlEventConverter));
    let mut dom = VirtualDom::new_with_props(
        Shell,
        ShellProps {
            install,
            server: "http://127.0.0.1:9".into(),
            account: "teacher07".into(),
            logged_in: None,
        },
    );
    let edits = dom.rebuild_to_vec();
    let inputs: Vec<ElementId> = edits
        .edits
        .iter()
        .filter_map(|m| match m {
            Mutation::NewEventListener { name, id } if name == "input" => Some(*id),
            _ => None,
        })
        .collect();
    let clicks = listeners(&edits.edits);
    let html = dioxus_ssr::render(&dom);
    assert!(
        html.contains("服务器地址") && html.contains("teacher07"),
        "{html}"
    );
    // Type the password (server, account, password are the three inputs).
    let typed = dioxus_html::SerializedFormData::new("secret-pass".into(), vec![]);
    let data = Rc::new(PlatformEventData::new(Box::new(typed)));
    dom.runtime()
        .handle_event("input", Event::new(data as Rc<dyn Any>, true), inputs[2]);
    dom.render_immediate(&mut dioxus::dioxus_core::NoOpMutations);
    // 离线解锁 (the second button): this account never logged in on this phone.
    let data = Rc::new(PlatformEventData::new(Box::new(
        SerializedMouseData::default(),
    )));
    dom.runtime()
        .handle_event("click", Event::new(data as Rc<dyn Any>, true), clicks[1]);
    dom.render_immediate(&mut dioxus::dioxus_core::NoOpMutations);
    let html = dioxus_ssr::render(&dom);
    assert!(
        html.contains("该账号尚未在本机登录过，请连接网络后登录"),
        "{html}"
    );
    // 登录 (the first button) with the server unreachable.
    let data = Rc::new(PlatformEventData::new(Box::new(
        SerializedMouseData::default(),
    )));
    dom.runtime()
        .handle_event("click", Event::new(data as Rc<dyn Any>, true), clicks[0]);
    let html = settle(&mut dom, "无法连接").await;
    assert!(html.contains("无法连接服务器"), "{html}");
}

#[test]
fn a_persuasion_visit_with_a_notice_but_no_number_is_refused_beside_the_number() {
    let dir = tempfile::tempdir().unwrap();
    let (app, kid) = phone(dir.path());
    let draft = Draft {
        kind: baoxue_shared::observation::VisitKind::Persuasion,
        notes: "与家长谈返校".into(),
        notice_issued: true,
        ..Default::default()
    };
    let mut s = Screens::open(&app, Screen::NewVisit(kid), Some(draft));
    let form = s.html();
    assert!(
        form.contains("四个一批") && form.contains("下次回访日期"),
        "the persuasion section shows: {form}"
    );
    assert!(
        !form.contains("一看二问三查"),
        "no device check on a persuasion visit"
    );
    s.click(SAVE);
    let html = s.html();
    let field = html
        .find("class=\"notice-number\"")
        .expect("the notice number field");
    let error = html
        .find(r#"data-field="notice_number""#)
        .expect("an error beside it");
    assert!(error > field, "after the field");
    let said: String = html[error..].chars().take(40).collect();
    assert!(said.contains("必填"), "{said}");
    assert_eq!(app.0.borrow().unsynced().unwrap(), 0);
}

#[test]
fn a_subsidy_check_needs_its_programme() {
    let dir = tempfile::tempdir().unwrap();
    let (app, kid) = phone(dir.path());
    let draft = Draft {
        kind: baoxue_shared::observation::VisitKind::SubsidyVerification,
        ..Default::default()
    };
    let mut s = Screens::open(&app, Screen::NewVisit(kid), Some(draft.clone()));
    s.click(SAVE);
    assert!(
        s.html().contains(r#"data-field="programme""#),
        "{}",
        s.html()
    );
    let ok = Draft {
        subsidy_programme: "义务教育家庭经济困难学生生活补助".into(),
        ..draft
    };
    let mut s = Screens::open(&app, Screen::NewVisit(kid), Some(ok));
    s.click(SAVE);
    assert_eq!(
        app.0.borrow().unsynced().unwrap(),
        1,
        "saved once the programme is named"
    );
    assert!(
        s.html().contains("资助核实"),
        "the file shows the subsidy check"
    );
}

#[test]
fn a_photo_with_gps_gives_the_visit_its_location_and_both_are_saved() {
    let dir = tempfile::tempdir().unwrap();
    let (app, kid) = phone(dir.path());
    let taken_at = Utc::now() - Duration::minutes(5);
    let here = baoxue_shared::location::GeoPoint::new(25.7512, 108.9031).unwrap();
    let original = baoxue_app::core::photo::camera_like(
        1200,
        900,
        &baoxue_shared::exif::PhotoFacts {
            captured_at: Some(taken_at),
            gps: Some(here),
            orientation: Some(1),
        },
        7,
    );
    let photo = app.0.borrow_mut().take_photo(&original).expect("processed");
    let draft = Draft {
        notes: "入户查看学习设备".into(),
        photos: vec![photo.clone()],
        ..Default::default()
    };
    let mut s = Screens::open(&app, Screen::NewVisit(kid), Some(draft));
    assert!(s.html().contains("尚未定位"));
    assert!(
        s.html().contains("拍摄于"),
        "the photo's capture time is shown"
    );

    // No positioning on this device: said beside the location, and nothing is set.
    s.click(LOCATE_DEVICE);
    let html = s.html();
    assert!(html.contains(r#"data-field="location""#), "{html}");
    assert!(html.contains("此设备无法定位"));

    // The photo's GPS becomes the visit's location, with its source.
    s.click(LOCATE_PHOTO);
    let html = s.html();
    assert!(
        html.contains("25.75120, 108.90310（照片位置信息）"),
        "{html}"
    );
    assert!(
        !html.contains(r#"data-field="location""#),
        "the error is gone"
    );

    s.click(SAVE);
    let file = app.0.borrow().student_file(kid, Utc::now()).unwrap();
    let visit = file
        .live_visits()
        .next()
        .cloned()
        .expect("the visit is in the file");
    let loc = visit.location.expect("saved with its location");
    assert_eq!(
        loc.source,
        baoxue_shared::location::LocationSource::PhotoExif
    );
    assert_eq!(visit.photos, vec![photo]);
}

#[test]
fn a_typed_position_must_be_numbers_in_range() {
    let dir = tempfile::tempdir().unwrap();
    let (app, kid) = phone(dir.path());
    let mut s = Screens::open(&app, Screen::NewVisit(kid), None);
    let html = s.html();
    assert!(
        html.contains("disabled"),
        "用照片位置 is disabled without a photo: {html}"
    );
    s.click(LOCATE_MANUAL);
    assert!(s.html().contains("请填写数字形式的纬度和经度"));
}

#[test]
fn a_reviewers_request_shows_as_due_work_and_beside_the_visit() {
    let dir = tempfile::tempdir().unwrap();
    let (app, kid) = phone_with(dir.path(), |rng, h, s| {
        let mut teacher = Author::new(UserId::new(), DeviceId::new());
        let mut supervisor = Author::new(UserId::new(), DeviceId::new());
        let at = Utc::now() - Duration::days(3);
        let v = sample::visit(
            rng,
            baoxue_shared::observation::VisitKind::HomeVisit,
            teacher.user,
            s.id,
            h,
            at,
        );
        let id = v.id;
        vec![
            teacher.record(v, at),
            supervisor.review(
                id,
                baoxue_shared::op::ReviewAction::RequestEvidence,
                "请补拍学习设备的照片",
                at + Duration::days(1),
            ),
        ]
    });
    let caseload = Screens::open(&app, Screen::Caseload, None).html();
    assert!(
        caseload.contains("督导要求补充证据：请补拍学习设备的照片"),
        "{caseload}"
    );
    let file = Screens::open(&app, Screen::Student(kid), None).html();
    assert!(
        file.contains(r#"class="review""#) && file.contains("请补拍学习设备的照片"),
        "the comment shows beside the visit: {file}"
    );
}

#[tokio::test]
async fn a_picked_photo_is_processed_kept_and_saved_with_the_visit() {
    let dir = tempfile::tempdir().unwrap();
    let (app, kid) = phone(dir.path());
    let taken_at = Utc::now() - Duration::minutes(3);
    let original = baoxue_app::core::photo::camera_like(
        2000,
        1500,
        &baoxue_shared::exif::PhotoFacts {
            captured_at: Some(taken_at),
            gps: Some(baoxue_shared::location::GeoPoint::new(25.75, 108.9).unwrap()),
            orientation: Some(1),
        },
        11,
    );
    let draft = Draft {
        notes: "拍了学习设备".into(),
        ..Default::default()
    };
    let mut s = Screens::open(&app, Screen::NewVisit(kid), Some(draft));
    // The picker is the second `change` listener (after the kind select).
    let file = SerializedFileData {
        path: "IMG_0001.jpg".into(),
        size: original.len() as u64,
        last_modified: 0,
        content_type: Some("image/jpeg".into()),
        contents: Some(original.clone().into()),
    };
    s.change(
        PHOTO_PICKER,
        SerializedFormData::new(
            String::new(),
            vec![SerializedFormObject {
                key: "photo".into(),
                text: None,
                file: Some(file),
            }],
        ),
    );
    let html = settle(&mut s.dom, "拍摄于").await;
    assert!(
        html.contains("拍摄于"),
        "the photo is listed with its time: {html}"
    );
    s.click(LOCATE_PHOTO);
    s.click(SAVE);
    let file = app.0.borrow().student_file(kid, Utc::now()).unwrap();
    let visit = file.live_visits().next().cloned().expect("saved");
    assert_eq!(visit.photos.len(), 1);
    let p = &visit.photos[0];
    assert!(
        p.bytes <= 300 * 1024,
        "processed to at most 300 KB: {}",
        p.bytes
    );
    assert_eq!(p.width.max(p.height), 1600, "long side 1600 px");
    assert_eq!(
        p.captured_at.map(|t| t.timestamp()),
        Some(taken_at.timestamp()),
        "the EXIF time is kept as evidence"
    );
    assert_eq!(
        visit.location.map(|l| l.source),
        Some(baoxue_shared::location::LocationSource::PhotoExif)
    );
}

#[test]
fn the_caseload_filters_by_status_and_focus_group() {
    let dir = tempfile::tempdir().unwrap();
    let (app, kid) = phone(dir.path());
    let name = app.0.borrow().store().replica().student(kid).unwrap().name;
    let mut s = Screens::open(&app, Screen::Caseload, None);
    assert!(s.html().contains(&name));
    // Change listeners: village (0), status (1), focus group (2).
    s.change(1, chosen("dropped_out"));
    assert!(!s.html().contains(&name), "no dropouts on this phone");
    s.change(1, chosen("in_school"));
    assert!(s.html().contains(&name), "the student is in school");
    s.change(2, chosen("disabled"));
    let focus = app
        .0
        .borrow()
        .store()
        .replica()
        .student(kid)
        .unwrap()
        .focus_groups;
    let disabled = focus.contains(&baoxue_shared::people::FocusGroup::Disabled);
    assert_eq!(s.html().contains(&name), disabled, "focus group filter");
}

#[tokio::test]
async fn the_app_tries_to_sync_by_itself_and_says_why_it_could_not() {
    let dir = tempfile::tempdir().unwrap();
    let app = phone_with_one_unsynced_change(dir.path());
    // Nobody taps 立即同步: the automatic sync runs, fails offline, and the sync screen says why
    // while the record stays on the phone.
    let mut s = Screens::open(&app, Screen::Sync, None);
    let html = settle(&mut s.dom, "无法连接").await;
    assert!(html.contains("无法连接服务器"), "{html}");
    assert!(html.contains("1 条记录尚未同步"));
    assert!(html.contains("0 张照片待上传"));
    assert_eq!(app.0.borrow().unsynced().unwrap(), 1);
}

#[test]
fn a_phone_with_nothing_left_to_send_says_all_is_synced_not_zero_pending() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _) = phone(dir.path());
    let html = Screens::open(&app, Screen::Sync, None).html();
    assert!(html.contains("全部记录已同步"), "{html}");
    assert!(
        !html.contains("条记录尚未同步") && !html.contains("张照片待上传"),
        "no warning about nothing: {html}"
    );
}

#[test]
fn settings_say_how_much_the_phone_stores() {
    let dir = tempfile::tempdir().unwrap();
    let (app, _) = phone(dir.path());
    let html = Screens::open(&app, Screen::Settings, None).html();
    assert!(html.contains("手机存储占用"), "{html}");
    let used = html.split("手机存储占用：").nth(1).unwrap_or("");
    let kb: u64 = used
        .split(" KB")
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a size in KB: {used}"));
    assert!(kb > 0, "the store is not empty");
}

#[test]
fn the_device_check_asks_what_yi_kan_er_wen_san_cha_asks_and_counts_a_working_device() {
    let dir = tempfile::tempdir().unwrap();
    let (app, kid) = phone(dir.path());
    let draft = Draft {
        notes: "入户查看学习设备".into(),
        ..Default::default()
    };
    let mut s = Screens::open(&app, Screen::NewVisit(kid), Some(draft));
    // `change` listeners: the kind (0), the photo picker (1), 本次做了学习设备检查 (2); once
    // ticked: the four devices (3–6), the seven questions (7–13), the seven problems (14–20).
    s.change(2, chosen("on"));
    let form = s.html();
    for asked in [
        "电视",
        "智能手机",
        "二问：家长会操作设备",
        "三查：作业按时提交并批改",
        "不会使用",
    ] {
        assert!(form.contains(asked), "the check asks {asked}: {form}");
    }
    s.change(3, chosen("on")); // a TV
    s.change(4, chosen("on")); // a smartphone
    s.change(7, chosen("yes")); // works
    s.change(8, chosen("yes")); // online
    s.change(9, chosen("yes")); // can attend
    s.change(10, chosen("no")); // the family does not know how
    s.change(19, chosen("on")); // problem: does not know how
    // Its remedy (21) and whether it was done on the spot (22) appear after it.
    s.change(21, chosen("taught"));
    s.change(22, chosen("on"));
    s.click(SAVE);
    let file = app.0.borrow().student_file(kid, Utc::now()).unwrap();
    let visit = file.live_visits().next().cloned().expect("saved");
    let dc = visit.device_check.expect("the check is on the record");
    use baoxue_shared::observation::{Answer, LearningDevice, ProblemKind, RemedyKind};
    assert_eq!(
        dc.devices_seen,
        [LearningDevice::Tv, LearningDevice::Smartphone].into()
    );
    assert_eq!(
        (
            dc.device_works,
            dc.can_get_online,
            dc.can_attend_class,
            dc.family_knows_how
        ),
        (Answer::Yes, Answer::Yes, Answer::Yes, Answer::No)
    );
    assert_eq!(
        dc.child_proficient,
        Answer::Unknown,
        "not asked stays unknown"
    );
    assert!(dc.has_working_device(), "counts for the compliance figure");
    assert_eq!(dc.problems.len(), 1);
    assert_eq!(dc.problems[0].kind, ProblemKind::DoesNotKnowHow);
    let remedy = dc.problems[0].remedy.as_ref().expect("a remedy");
    assert_eq!((remedy.kind, remedy.done), (RemedyKind::Taught, true));
}

#[test]
fn a_subsidy_check_asks_whether_the_family_was_told_and_records_the_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (app, kid) = phone(dir.path());
    let draft = Draft {
        kind: baoxue_shared::observation::VisitKind::SubsidyVerification,
        subsidy_programme: "营养改善计划".into(),
        ..Default::default()
    };
    let mut s = Screens::open(&app, Screen::NewVisit(kid), Some(draft));
    assert!(s.html().contains("已告知家庭资助政策"), "{}", s.html());
    // `change` listeners: the kind (0), the photo picker (1), 家庭已收到资助 (2), 已告知 (3).
    s.change(3, chosen("no"));
    s.click(SAVE);
    let file = app.0.borrow().student_file(kid, Utc::now()).unwrap();
    let visit = file.live_visits().next().cloned().expect("saved");
    let subsidy = visit.subsidy.expect("the subsidy section");
    assert!(
        !subsidy.family_informed,
        "the family was not told, as answered"
    );
}

/// A second connection to the phone's encrypted store, as another process would hold it.
fn second_connection(dir: &std::path::Path) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(dir.join("phone.db")).unwrap();
    let hex: String = derive_key("pw-123456", &[3; 16])
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    c.execute_batch(&format!("PRAGMA key = \"x'{hex}'\";"))
        .unwrap();
    c
}

#[test]
fn a_storage_failure_on_save_is_said_as_one_and_the_answers_stay_in_the_form() {
    let dir = tempfile::tempdir().unwrap();
    let (app, kid) = phone(dir.path());
    let draft = Draft {
        notes: "与奶奶谈了孩子的学习".into(),
        ..Default::default()
    };
    let mut s = Screens::open(&app, Screen::NewVisit(kid), Some(draft));
    // Another writer holds the store: the save cannot go through.
    let other = second_connection(dir.path());
    other.execute_batch("BEGIN EXCLUSIVE").unwrap();
    s.click(SAVE);
    let html = s.html();
    assert!(html.contains("未能保存：手机存储出错"), "{html}");
    assert!(
        !html.contains("必填"),
        "not shown as a missing answer: {html}"
    );
    assert!(html.contains("与奶奶谈了孩子的学习"), "the answers stay");
    assert_eq!(app.0.borrow().unsynced().unwrap(), 0);
    // Once the store is free, the same form saves.
    other.execute_batch("COMMIT").unwrap();
    s.click(SAVE);
    assert_eq!(app.0.borrow().unsynced().unwrap(), 1, "saved on retry");
}

#[test]
fn a_photo_table_that_cannot_be_read_is_said_as_such_when_opening_not_as_photos_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (app, kid) = phone(dir.path());
    let photo = app
        .0
        .borrow_mut()
        .take_photo(&baoxue_app::core::photo::camera_like(
            800,
            600,
            &baoxue_shared::exif::PhotoFacts::default(),
            3,
        ))
        .unwrap();
    let draft = Draft {
        notes: "拍了学习设备".into(),
        photos: vec![photo],
        ..Default::default()
    };
    let mut s = Screens::open(&app, Screen::NewVisit(kid), Some(draft));
    s.click(SAVE);
    assert_eq!(app.0.borrow().unsynced().unwrap(), 1);
    second_connection(dir.path())
        .execute_batch("DROP TABLE photos")
        .unwrap();
    // The store reads what it holds when it opens; a damaged photo table stops the opening
    // with a storage error (the login screen shows it), never a file with its photos missing.
    drop(app);
    let e = LocalStore::open(
        &dir.path().join("phone.db"),
        &derive_key("pw-123456", &[3; 16]),
    )
    .unwrap_err();
    assert!(
        matches!(&e, baoxue_app::core::local::LocalError::Database(m) if m.contains("photos")),
        "{e:?}"
    );
    let shown = baoxue_app::core::install::LoginError::Local(e).zh();
    assert!(shown.contains("手机本地数据出错"), "{shown}");
}

#[tokio::test]
async fn a_refused_record_shows_its_reason_on_the_sync_screen_and_the_student_and_can_be_retried() {
    use baoxue_app::core::sync::{SyncHost, set_aside_zh};
    let dir = tempfile::tempdir().unwrap();
    let app = phone_with_one_unsynced_change(dir.path());
    let op = app.0.borrow().store().outbox(10).unwrap()[0].id;
    let kid = app.0.borrow().caseload(Utc::now())[0].student.id;
    // As a sync does when the server refuses the op.
    let reason = set_aside_zh("out_of_scope", "超出您的负责范围，整批未保存");
    (*app.0)
        .with_store(|s, _| s.set_aside(op, "out_of_scope", &reason, Utc::now()))
        .unwrap();
    assert_eq!(app.0.borrow().pushable().unwrap(), 0);
    let mut s = Screens::open(&app, Screen::Sync, None);
    let html = s.html();
    assert!(
        html.contains("未被服务器接收的记录")
            && html.contains("学籍状态改为疑似辍学")
            && html.contains("已不在您的负责范围内"),
        "{html}"
    );
    assert!(
        html.contains("1 条记录尚未同步"),
        "still counted as unsynced"
    );
    let student = Screens::open(&app, Screen::Student(kid), None).html();
    assert!(
        student.contains("有记录未上传") && student.contains("已不在您的负责范围内"),
        "{student}"
    );
    // 0–2: bottom bar; 3: 立即同步; then the list's: 导出给学校管理员 (4), 重新提交 (5).
    s.click(4);
    let html = s.html();
    assert!(html.contains("已导出到"), "{html}");
    let exported: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("未上传记录-"))
        .collect();
    assert_eq!(exported.len(), 1, "one file for the admin");
    let batch =
        baoxue_shared::wire::decode_batch(&std::fs::read(exported[0].path()).unwrap()).unwrap();
    assert_eq!(batch.ops[0].id, op);
    s.click(5);
    assert_eq!(app.0.borrow().pushable().unwrap(), 1, "back in line");
    assert!(!s.html().contains("未被服务器接收的记录"));
}
