//! 访问记录: the county's view of who looked at which child's file or took which ledger.

use super::{ConsoleResult, Reviewer, layout};
use crate::state::AppState;
use axum::extract::State;
use axum::response::IntoResponse;
use baoxue_shared::ids::StudentId;
use baoxue_shared::time::format_zh;
use maud::html;
use std::collections::HashMap;

pub(super) async fn page(State(st): State<AppState>, Reviewer(session): Reviewer) -> ConsoleResult {
    if !session.user.role.reads_access_log() {
        return Err(crate::error::ApiError::access_log_refused());
    }
    let (entries, users, students) = st
        .blocking(move |s| {
            let entries = s.access_log(None, None, 500)?;
            let users: HashMap<_, _> = s.users()?.into_iter().map(|u| (u.id, u)).collect();
            let ids: std::collections::HashSet<StudentId> = entries
                .iter()
                .filter_map(|e| e.subject.parse().ok())
                .collect();
            let students: HashMap<StudentId, String> = s
                .student_rows(&ids)?
                .into_iter()
                .map(|r| (r.id, r.name))
                .collect();
            Ok((entries, users, students))
        })
        .await?;
    let body = html! {
        h1 { "访问记录" }
        p.muted { "谁在何时、从哪台设备查看了哪名学生的档案或导出了哪份台账（最近500条）。记录不可修改，审计检查会发现篡改。" }
        table #access-log {
            tr { th { "时间" } th { "人员" } th { "设备" } th { "操作" } th { "对象" } }
            @for e in &entries {
                tr {
                    td { (format_zh(e.at)) }
                    td { @match users.get(&e.user) { Some(u) => { (u.name) "（" (u.account) "，" (u.role.zh()) "）" } None => { (e.user.to_string()) } } }
                    td.muted { (e.device.to_string()) }
                    td { (e.action.zh()) }
                    td { @match e.subject.parse::<StudentId>().ok().and_then(|id| students.get(&id).map(|n| (id, n))) {
                        Some((id, name)) => { a href=(format!("/console/students/{id}")) { (name) } }
                        None => { (e.subject) }
                    } }
                }
            }
        }
    };
    Ok(layout("访问记录", Some(&session), body).into_response())
}
