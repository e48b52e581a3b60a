//! The app's login screen against a real server: after a password reset, the screen asks for
//! the old password once and the phone's data, outbox included, moves under the new one.

use baoxue_app::core::install::Installation;
use baoxue_app::ui::login::InstallHandle;
use baoxue_app::ui::{Shell, ShellProps};
use baoxue_tests::PASSWORD;
use dioxus::dioxus_core::{ElementId, Event, Mutation};
use dioxus::prelude::*;
use dioxus_html::{
    PlatformEventData, SerializedFormData, SerializedHtmlEventConverter, SerializedMouseData,
};
use std::any::Any;
use std::rc::Rc;

/// The login screen in a virtual DOM, its listeners numbered in the order they were attached.
struct LoginScreen {
    dom: VirtualDom,
    inputs: Vec<ElementId>,
    clicks: Vec<ElementId>,
}

impl LoginScreen {
    fn track(&mut self, edits: &[Mutation]) {
        for m in edits {
            if let Mutation::NewEventListener { name, id } = m {
                match name.as_str() {
                    "input" => self.inputs.push(*id),
                    "click" => self.clicks.push(*id),
                    _ => {}
                }
            }
        }
    }

    fn render(&mut self) {
        let edits = self.dom.render_immediate_to_vec();
        self.track(&edits.edits);
    }

    fn input(&mut self, n: usize, value: &str) {
        let data = Rc::new(PlatformEventData::new(Box::new(SerializedFormData::new(
            value.into(),
            vec![],
        ))));
        self.dom.runtime().handle_event(
            "input",
            Event::new(data as Rc<dyn Any>, true),
            self.inputs[n],
        );
        self.render();
    }

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

    /// Let the login's network work run until the page shows `until` (or 10 s pass).
    async fn settle(&mut self, until: &str) -> String {
        let mut html = String::new();
        for _ in 0..100 {
            let _ = tokio::time::timeout(
                std::time::Duration::from_millis(100),
                self.dom.wait_for_work(),
            )
            .await;
            self.render();
            html = dioxus_ssr::render(&self.dom);
            if html.contains(until) {
                break;
            }
        }
        html
    }
}

#[tokio::test]
async fn after_a_reset_the_login_screen_asks_the_old_password_once_and_keeps_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let new = "换过的新密码-2027";
    let server =
        baoxue_tests::phone_with_an_unsynced_change_then_a_password_reset(dir.path(), new).await;
    let phone_dir = dir.path().join("phone");

    dioxus_html::set_event_converter(Box::new(SerializedHtmlEventConverter));
    let mut dom = VirtualDom::new_with_props(
        Shell,
        ShellProps {
            install: InstallHandle(Rc::new(Installation::open(&phone_dir).unwrap())),
            server: server.url(""),
            account: "t".into(),
            logged_in: None,
        },
    );
    let edits = dom.rebuild_to_vec();
    let mut screen = LoginScreen {
        dom,
        inputs: vec![],
        clicks: vec![],
    };
    screen.track(&edits.edits);
    // Inputs: server (0), account (1), password (2); buttons: 登录 (0), 离线解锁 (1).
    screen.input(2, new);
    screen.click(0);
    let html = screen.settle("旧密码").await;
    assert!(
        html.contains("密码已更改") && html.contains("旧密码"),
        "the screen says the password changed and asks for the old one: {html}"
    );
    // The old-password field (input 3) and its button (click 2) appeared.
    screen.input(3, PASSWORD);
    screen.click(2);
    let html = screen.settle("我的学生").await;
    assert!(html.contains("我的学生"), "logged in: {html}");
    assert!(
        html.contains("1 条记录尚未同步"),
        "the outbox came along: {html}"
    );
    drop(screen);
    // From now on the new password unlocks the phone's data offline.
    let inst = Installation::open(&phone_dir).unwrap();
    assert_eq!(inst.unlock("t", new).await.unwrap().unsynced().unwrap(), 1);
    server.stop().await;
}
