//! Log in: server address, account, password. The first login needs the network; after that
//! "离线解锁" opens the phone's data with the password alone.

use super::AppHandle;
use crate::core::install::{Installation, LoginError};
use dioxus::prelude::*;
use std::rc::Rc;

/// The installation, shared with the login screen.
#[derive(Clone)]
pub struct InstallHandle(pub Rc<Installation>);

impl PartialEq for InstallHandle {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

#[component]
pub fn Login(
    install: InstallHandle,
    server: String,
    account: String,
    on_login: EventHandler<AppHandle>,
) -> Element {
    let mut server = use_signal(|| server);
    let mut account = use_signal(|| account);
    let mut password = use_signal(String::new);
    let mut error = use_signal(|| None::<String>);
    let mut busy = use_signal(|| false);
    // After a password reset: the old password, asked once to move the phone's data over.
    let mut old_password = use_signal(|| None::<String>);
    let online = {
        let install = install.clone();
        move |_| {
            let install = install.clone();
            busy.set(true);
            error.set(None);
            spawn(async move {
                let r = install
                    .0
                    .log_in(&server(), account().trim(), &password())
                    .await;
                busy.set(false);
                match r {
                    Ok(app) => on_login.call(AppHandle::new(app)),
                    Err(e) => {
                        if matches!(e, LoginError::PasswordChanged) {
                            old_password.set(Some(String::new()));
                        }
                        error.set(Some(e.zh()))
                    }
                }
            });
        }
    };
    let change = {
        let install = install.clone();
        move |_| {
            let install = install.clone();
            let old = old_password().unwrap_or_default();
            busy.set(true);
            error.set(None);
            spawn(async move {
                let r = install
                    .0
                    .change_password(&server(), account().trim(), &old, &password())
                    .await;
                busy.set(false);
                match r {
                    Ok(app) => on_login.call(AppHandle::new(app)),
                    Err(e) => error.set(Some(e.zh())),
                }
            });
        }
    };
    let offline = move |_| {
        let install = install.clone();
        busy.set(true);
        error.set(None);
        spawn(async move {
            let r = install.0.unlock(account().trim(), &password()).await;
            busy.set(false);
            match r {
                Ok(app) => on_login.call(AppHandle::new(app)),
                Err(e) => error.set(Some(e.zh())),
            }
        });
    };
    rsx! {
        style { {super::STYLE} }
        section { class: "login",
            h1 { "保学 · 控辍保学" }
            label { "服务器地址"
                input { class: "server", value: "{server}", oninput: move |e| server.set(e.value()) }
            }
            label { "账号"
                input { class: "account", value: "{account}", oninput: move |e| account.set(e.value()) }
            }
            label { "密码"
                input { class: "password", r#type: "password", value: "{password}", oninput: move |e| password.set(e.value()) }
            }
            if let Some(msg) = error.read().clone() {
                p { class: "login-error", role: "alert", "{msg}" }
            }
            if let Some(old) = old_password() {
                label { "旧密码"
                    input { class: "old-password", r#type: "password", value: "{old}", oninput: move |e| old_password.set(Some(e.value())) }
                }
                button { class: "change-password", disabled: busy(), onclick: change, "用旧密码解锁并改用新密码" }
            }
            button { class: "log-in", disabled: busy(), onclick: online, "登录" }
            button { class: "unlock", disabled: busy(), onclick: offline, "离线解锁" }
        }
    }
}
