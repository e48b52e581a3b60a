//! The screens (Dioxus). Components call `core::field::FieldApp` through the [`AppHandle`]
//! context and never touch SQL or HTTP. App-wide state — the app handle, the language, the
//! current screen, a revision counter bumped after every saved change — is provided once by
//! [`Root`].

pub mod caseload;
pub mod device;
pub mod i18n;
pub mod login;
pub mod settings;
pub mod student;
pub mod sync_screen;
pub mod visit_form;

use crate::core::field::FieldApp;
use crate::core::visit_draft::VisitDraft;
use baoxue_shared::ids::StudentId;
use dioxus::prelude::*;
use i18n::{Lang, Msg};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// The app core, shared by every screen.
#[derive(Clone)]
pub struct AppHandle(pub Rc<RefCell<FieldApp>>);

impl AppHandle {
    /// Wrap a core.
    pub fn new(app: FieldApp) -> Self {
        Self(Rc::new(RefCell::new(app)))
    }
}

impl PartialEq for AppHandle {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

/// The whole app: the login screen until someone logs in or unlocks, then the screens.
/// The composition root of the app (`main` of a shell only builds the installation).
/// `logged_in` runs after each login (the web shell asks the browser to keep its storage).
#[component]
pub fn Shell(
    install: login::InstallHandle,
    server: String,
    account: String,
    logged_in: Option<EventHandler<()>>,
) -> Element {
    let mut app = use_signal(|| None::<AppHandle>);
    let current = app.read().clone();
    match current {
        Some(handle) => rsx! { LoggedIn { handle, start: None } },
        None => rsx! {
            login::Login { install, server, account,
                on_login: move |h| {
                    app.set(Some(h));
                    if let Some(f) = logged_in {
                        f.call(());
                    }
                }
            }
        },
    }
}

/// Whether a user agent is WeChat's built-in browser, which wipes web storage when the user
/// clears WeChat's cache and cannot install the app.
pub fn in_wechat(user_agent: &str) -> bool {
    user_agent.contains("MicroMessenger")
}

/// Shown instead of the app inside WeChat: records kept there would be lost to "clear cache".
#[component]
pub fn OpenInBrowser(url: String) -> Element {
    rsx! {
        style { {STYLE} }
        section { class: "login wechat",
            h1 { "请在手机浏览器中打开" }
            p { "微信内置浏览器会在“清理缓存”时删除保存在手机上的记录，也无法把保学添加到桌面。" }
            p { "请点右上角“…”，选择“在浏览器中打开”，或复制下面的网址到手机浏览器（如系统浏览器、Chrome）：" }
            p { class: "url", "{url}" }
            p { class: "muted", "Open this page in the phone's browser: WeChat's browser deletes saved records when its cache is cleared." }
        }
    }
}

/// The screens for a logged-in user, starting at `start` (the caseload by default).
#[component]
pub fn LoggedIn(handle: AppHandle, start: Option<Screen>) -> Element {
    use_context_provider(|| handle.clone());
    rsx! { Root { start: start.unwrap_or(Screen::Caseload), draft: None } }
}

/// The stylesheet: phone-sized, large touch targets, Chinese fonts first.
pub const STYLE: &str = include_str!("style.css");

/// Which screen shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Caseload,
    Student(StudentId),
    NewVisit(StudentId),
    Sync,
    Settings,
}

/// State every screen reads: the language, the screen, a revision that changes whenever the
/// core saved something (reading it subscribes a component to changes), and the visit forms
/// being filled in, one per student, kept while the teacher looks at other screens.
#[derive(Clone, Copy)]
pub struct Ui {
    pub lang: Signal<Lang>,
    pub screen: Signal<Screen>,
    pub revision: Signal<u64>,
    pub drafts: Signal<HashMap<StudentId, VisitDraft>>,
}

/// The app handle from context.
pub fn use_app() -> AppHandle {
    use_context::<AppHandle>()
}

/// The shared UI state from context.
pub fn use_ui() -> Ui {
    use_context::<Ui>()
}

/// The phrase in the current language.
pub fn tr(ui: &Ui, m: Msg) -> &'static str {
    m.tr(*ui.lang.read())
}

/// The root: provides the UI state and shows the current screen under a bottom bar. `draft`
/// restores a half-written visit form for the student `start` names.
/// The composition root of the app: the core arrives as a root context (`AppHandle`).
#[component]
pub fn Root(start: Screen, draft: Option<VisitDraft>) -> Element {
    let ui = use_context_provider(|| {
        let mut drafts = HashMap::new();
        if let (Screen::NewVisit(id), Some(d)) = (start, draft) {
            drafts.insert(id, d);
        }
        Ui {
            lang: Signal::new(Lang::Zh),
            screen: Signal::new(start),
            revision: Signal::new(0),
            drafts: Signal::new(drafts),
        }
    });
    let sync = use_context_provider(sync_screen::SyncState::new);
    // Sync by itself when the network allows: soon after a save, every few minutes otherwise,
    // backing off while offline (`core::autosync`). Only where timers run (the real renderers,
    // the browser included); a test's virtual DOM without them drives syncs by hand.
    let auto_app = use_app();
    use_future(move || {
        let app = auto_app.clone();
        async move {
            if !crate::core::autosync::timers_run() {
                return;
            }
            let policy = std::rc::Rc::new(std::cell::RefCell::new(
                crate::core::autosync::AutoSync::default(),
            ));
            loop {
                let now = chrono::Utc::now();
                let (pending, expired) = {
                    let a = app.0.borrow();
                    let waiting = a.usage().map(|(_, _, w)| w).unwrap_or(0);
                    // Records set aside wait for a retry, not for the next automatic sync.
                    (a.pushable().unwrap_or(0) + waiting > 0, a.needs_login(now))
                };
                if !expired && policy.borrow().due(now, pending) {
                    let p = policy.clone();
                    sync.start(app.clone(), ui.revision, move |ok| {
                        p.borrow_mut().attempted(chrono::Utc::now(), ok)
                    });
                }
                crate::core::autosync::sleep(std::time::Duration::from_secs(10)).await;
            }
        }
    });
    let screen = *ui.screen.read();
    let mut nav = ui.screen;
    rsx! {
        style { {STYLE} }
        div { class: "app",
            main {
                match screen {
                    Screen::Caseload => rsx! { caseload::Caseload {} },
                    Screen::Student(id) => rsx! { student::StudentScreen { id } },
                    Screen::NewVisit(id) => rsx! { visit_form::NewVisit { student: id } },
                    Screen::Sync => rsx! { sync_screen::SyncScreen {} },
                    Screen::Settings => rsx! { settings::Settings {} },
                }
            }
            nav { class: "bottom-bar",
                button { class: "nav-caseload", onclick: move |_| nav.set(Screen::Caseload), {tr(&ui, Msg::Caseload)} }
                button { class: "nav-sync", onclick: move |_| nav.set(Screen::Sync), {tr(&ui, Msg::Sync)} }
                button { class: "nav-settings", onclick: move |_| nav.set(Screen::Settings), {tr(&ui, Msg::Settings)} }
            }
        }
    }
}
