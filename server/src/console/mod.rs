//! The supervisors' console: server-rendered HTML (maud) in Chinese, plain forms, no script
//! needed, so it works on the old office PC's browser and prints cleanly. Pages call the same
//! services as the API (`review`, `report`, the shared student file); none touch SQL.
//!
//! A browser logs in like a phone: the password gives an opaque token bound to a fresh device
//! id, kept in an HttpOnly, SameSite=Strict cookie (which also keeps other sites from posting
//! review actions in the reviewer's name).

mod access_log;
mod ledgers;
mod map;
mod queue;
mod reports;
mod student;
mod students;

use crate::error::{ApiError, ShownError};
use crate::extract::AppForm;
use crate::session::{Authed, SESSION_COOKIE, bearer_or_cookie};
use crate::state::AppState;
use crate::store::Session;
use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use baoxue_shared::ids::DeviceId;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;

/// The console's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/console", get(|| async { Redirect::to("/console/queue") }))
        .route("/console/login", get(login_page).post(login))
        .route("/console/logout", post(logout))
        .route("/console/queue", get(queue::list))
        .route("/console/visits/{record}", get(queue::visit))
        .route("/console/visits/{record}/review", post(queue::review))
        .route("/console/students", get(students::list))
        .route("/console/students/{id}", get(student::file))
        .route("/console/students/{id}/file.pdf", get(student::pdf))
        .route("/console/students/{id}/resolve", post(student::resolve))
        .route("/console/reports", get(reports::page))
        .route("/console/reports/file", post(reports::file))
        .route("/console/exports/{file}", get(reports::download))
        .route("/console/ledgers/{ledger}", get(ledgers::page))
        .route("/console/access-log", get(access_log::page))
        .layer(axum::middleware::map_response(render_errors))
}

/// A logged-in reviewer (supervisor or school admin). Anyone else is sent to the login page.
pub struct Reviewer(pub Session);

impl FromRequestParts<AppState> for Reviewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        // The one session extractor; the console adds where a refusal goes and the role check.
        let session = match Authed::from_request_parts(parts, state).await {
            Ok(Authed(s)) => s,
            // A missing, expired or revoked session logs in again; anything else (the store
            // failing) is an error page that says so, not a login page that hides it.
            Err(e) if e.status == StatusCode::UNAUTHORIZED => {
                return Err(Redirect::to("/console/login").into_response());
            }
            Err(e) => return Err(e.into_response()),
        };
        if !session.user.role.may_review() {
            return Err(page_error(
                StatusCode::FORBIDDEN,
                "此账号不是督导或学校管理员，不能使用审核平台。请在手机应用中登录。",
            ));
        }
        Ok(Reviewer(session))
    }
}

/// Draws any error of a console route — a handler's, an extractor's, the session check's — as
/// a page. The error was mapped once (`crate::error`), which left its detail on the response;
/// here it only changes its clothes from JSON to HTML.
async fn render_errors(resp: Response) -> Response {
    let Some(ShownError(e)) = resp.extensions().get::<ShownError>().cloned() else {
        return resp;
    };
    let body = layout(
        "出错了",
        None,
        html! {
            h1 { "出错了" }
            p.error { (e.zh) }
            @for f in &e.fields {
                p.error { (f.field) "：" (f.zh) }
            }
            p.muted { (e.message) }
            p { a href="/console/queue" { "返回审核队列" } }
        },
    );
    let (mut parts, _) = resp.into_parts();
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    let page = body.into_response();
    let (page_parts, page_body) = page.into_parts();
    for (k, v) in page_parts.headers.iter() {
        parts.headers.insert(k, v.clone());
    }
    Response::from_parts(parts, page_body)
}

fn page_error(status: StatusCode, zh: &str) -> Response {
    let body = layout(
        "无权访问",
        None,
        html! { h1 { "无权访问" } p.error { (zh) } p { a href="/console/login" { "换一个账号登录" } } },
    );
    (status, body).into_response()
}

/// What a console handler answers; an error is drawn as a page by [`render_errors`].
pub type ConsoleResult = Result<Response, ApiError>;

const STYLE: &str = r#"
.install-app{display:flex;gap:1em;align-items:center;margin-top:2em;border-top:1px solid #ddd;padding-top:1em}.install-app svg{width:160px;height:160px}
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Microsoft YaHei","PingFang SC",sans-serif;margin:0;color:#222;line-height:1.6;background:#fafafa}
header{background:#8b1a1a;color:#fff;padding:.5em 1em;display:flex;gap:1.5em;align-items:center}
header a{color:#fff;text-decoration:none}header .who{margin-left:auto;font-size:.9em}
header form{display:inline}header button{background:none;border:1px solid #fff;color:#fff;border-radius:3px;cursor:pointer}
main{padding:1em 1.5em;max-width:80em}
table{border-collapse:collapse;width:100%;background:#fff}th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f0e6e6}td.num{text-align:right}
.flag{color:#a00}.ok{color:#070}.muted{color:#777;font-size:.9em}.error{color:#b00;font-weight:bold}
.badge{display:inline-block;padding:0 .4em;border-radius:3px;background:#eee;font-size:.85em;margin-right:.2em}
.badge.flagged,.badge.evidence_requested{background:#fde2c8}.badge.approved{background:#d6f0d6}.badge.voided{background:#ddd;text-decoration:line-through}.badge.answered{background:#dde8fb}
form.filters{display:flex;flex-wrap:wrap;gap:.5em;margin-bottom:1em;align-items:end}form.filters label{display:flex;flex-direction:column;font-size:.85em}
.actions form{margin:.5em 0;padding:.5em;border:1px solid #ddd;background:#fff}
.photos img{max-width:240px;margin:.2em;border:1px solid #ccc}
textarea{width:100%;max-width:40em}
.print{float:right}form.inline{display:inline}
@media print{header,.print,.actions,form.filters{display:none}body{background:#fff}main{padding:0}a{color:#000;text-decoration:none}}
"#;

/// The page frame: header with the navigation and who is logged in.
pub fn layout(title: &str, session: Option<&Session>, body: Markup) -> Html<String> {
    Html(
        html! {
            (DOCTYPE)
            html lang="zh-CN" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width,initial-scale=1";
                    title { (title) " · 保学审核平台" }
                    style { (PreEscaped(STYLE)) }
                }
                body {
                    header {
                        strong { "保学 · 控辍保学审核平台" }
                        @if let Some(s) = session {
                            a href="/console/queue" { "审核队列" }
                            a href="/console/students" { "学生名册" }
                            a href="/console/reports" { "月报与台账" }
                            @if s.user.role.reads_access_log() { a href="/console/access-log" { "访问记录" } }
                            span.who { (s.user.name) "（" (s.user.role.zh()) "）" }
                            form method="post" action="/console/logout" { button type="submit" { "退出" } }
                        }
                    }
                    main { (body) }
                }
            }
        }
        .into_string(),
    )
}

#[derive(Deserialize)]
pub(crate) struct LoginForm {
    account: String,
    password: String,
}

async fn login_page(headers: axum::http::HeaderMap) -> Html<String> {
    login_form(None, &headers)
}

/// The login form, and below it the phone app's QR code for teachers at the office screen.
fn login_form(error: Option<&str>, headers: &axum::http::HeaderMap) -> Html<String> {
    layout(
        "登录",
        None,
        html! {
            h1 { "督导登录" }
            p.muted { "供县、乡镇督导和学校管理员审核走访记录、生成月报。Supervisors and school admins." }
            @if let Some(e) = error { p.error #login-error { (e) } }
            form method="post" action="/console/login" {
                p { label { "账号 " input name="account" autocomplete="username" required; } }
                p { label { "密码 " input name="password" type="password" autocomplete="current-password" required; } }
                p { button type="submit" #login { "登录" } }
            }
            (PreEscaped(crate::webapp::install_link(headers)))
        },
    )
}

/// Whether the browser reached us over TLS (directly, or through a reverse proxy that says so):
/// then the session cookie is marked Secure and never travels in clear.
fn over_tls(headers: &axum::http::HeaderMap) -> bool {
    let text = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
    text("x-forwarded-proto").eq_ignore_ascii_case("https")
        || text("origin").starts_with("https://")
}

async fn login(
    State(st): State<AppState>,
    headers: axum::http::HeaderMap,
    AppForm(f): AppForm<LoginForm>,
) -> Response {
    let now = chrono::Utc::now();
    let result = st
        .blocking(move |s| {
            Ok(crate::auth::login(
                s,
                f.account.trim(),
                &f.password,
                DeviceId::new(),
                now,
            )?)
        })
        .await;
    match result {
        Ok(login) if login.user.role.may_review() => {
            let cookie = format!(
                "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
                login.token,
                crate::auth::TOKEN_LIFETIME.num_seconds(),
                if over_tls(&headers) { "; Secure" } else { "" }
            );
            (
                [(header::SET_COOKIE, cookie)],
                Redirect::to("/console/queue"),
            )
                .into_response()
        }
        Ok(field_worker) => {
            // The token was issued before the role was known: withdraw it at once.
            let hash = crate::auth::token_hash(&field_worker.token);
            let _ = st
                .blocking(move |s| Ok(s.revoke_token(&hash, chrono::Utc::now())?))
                .await;
            (
                StatusCode::FORBIDDEN,
                login_form(
                    Some(
                        "此账号是教师或联络员账号，请在手机应用中使用（扫描下方二维码打开）；审核平台仅供督导和学校管理员。",
                    ),
                    &headers,
                ),
            )
                .into_response()
        }
        Err(e) => (e.status, login_form(Some(e.zh), &headers)).into_response(),
    }
}

async fn logout(State(st): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let clear = (
        header::SET_COOKIE,
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    if let Some(token) = bearer_or_cookie(&headers) {
        let now = chrono::Utc::now();
        if let Err(e) = st
            .blocking(move |s| Ok(s.revoke_token(&crate::auth::token_hash(&token), now)?))
            .await
        {
            // The browser forgets the cookie, but the token may still work elsewhere: say so
            // rather than pretend the logout was complete.
            return ([clear], e).into_response();
        }
    }
    ([clear], Redirect::to("/console/login")).into_response()
}
