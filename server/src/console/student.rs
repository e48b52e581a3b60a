//! A student's file (一生一案) in the browser: the shared file, with photos, a map of the
//! visits against the registered household, the status history and conflicts with both values.
//! The print stylesheet turns it into the paper archive's page (the browser's "save as PDF").

use super::{ConsoleResult, Reviewer, layout, map};
use crate::error::ApiError;
use crate::extract::{AppForm, AppPath};
use crate::state::AppState;
use crate::store::{AccessAction, Session};
use axum::extract::State;
use axum::response::IntoResponse;
use baoxue_shared::file::{Event, MissingEvidence};
use baoxue_shared::ids::StudentId;
use baoxue_shared::time::{china_date, format_zh};
use baoxue_shared::validation::age_on;
use chrono::Utc;
use maud::html;
use std::collections::HashMap;

/// A student's file with the names of people and schools, if the reviewer may read it.
type Loaded = (
    baoxue_shared::file::StudentFile,
    HashMap<baoxue_shared::ids::UserId, String>,
    HashMap<baoxue_shared::ids::SchoolId, String>,
);

/// A student's file for a reviewer, the look written to the access log first.
async fn load(
    st: &AppState,
    session: &Session,
    student: StudentId,
    action: AccessAction,
) -> Result<Loaded, ApiError> {
    let terms = st.terms.clone();
    let session = session.clone();
    st.blocking(move |s| {
        let file = crate::files::open_for(s, &session, student, action, &terms, Utc::now())?;
        let names: HashMap<_, _> = s.users()?.into_iter().map(|u| (u.id, u.name)).collect();
        let schools: HashMap<_, _> = s.schools()?.into_iter().map(|x| (x.id, x.name)).collect();
        Ok((file, names, schools))
    })
    .await
}

pub(super) async fn file(
    State(st): State<AppState>,
    Reviewer(session): Reviewer,
    AppPath(student): AppPath<StudentId>,
) -> ConsoleResult {
    let (file, names, schools) = load(&st, &session, student, AccessAction::FileView).await?;
    let student = file.student;
    let name_of = |u| names.get(&u).cloned().unwrap_or_else(|| "未知".into());
    let today = china_date(Utc::now());
    let visits: Vec<_> = file
        .timeline
        .iter()
        .filter_map(|e| match &e.event {
            Event::Visit {
                visit,
                voided,
                record,
                reviews,
                revisions,
            } => Some((e, visit, voided, record, reviews, revisions)),
            _ => None,
        })
        .collect();
    let points: Vec<(usize, Option<baoxue_shared::location::GeoPoint>, String)> = visits
        .iter()
        .enumerate()
        .map(|(n, (_, v, ..))| {
            (
                n + 1,
                v.location.map(|l| l.point),
                china_date(v.started_at).format("%m-%d").to_string(),
            )
        })
        .collect();
    let home = file.household.as_ref().and_then(|h| h.location);
    let title = file
        .current
        .as_ref()
        .map(|s| s.name.clone())
        .unwrap_or_else(|| "（花名册信息未到）".into());
    let body = html! {
        span.print {
            a #download-pdf href=(format!("/console/students/{student}/file.pdf")) { "下载PDF（存档）" }
            " "
            button type="button" onclick="window.print()" { "打印" }
        }
        h1 #student-name { (title) " · 一生一案" }
        @if let Some(s) = &file.current {
            table {
                tr { th { "性别" } td { (s.sex.zh()) } th { "出生日期" } td { (s.birth_date.to_string()) "（" (age_on(s.birth_date, today)) "岁）" } }
                tr { th { "身份证号" } td { (file.resident_id_masked.clone().unwrap_or_default()) } th { "学籍状态" } td #status { strong { (s.status.zh()) } } }
                tr { th { "学校" } td { (s.school.and_then(|x| schools.get(&x).cloned()).unwrap_or_default()) } th { "年级" } td { (s.grade.map(|g| g.zh()).unwrap_or_default()) " " (s.class.clone().unwrap_or_default()) } }
                @if let Some(h) = &file.household {
                    tr { th { "家庭" } td colspan="3" { (h.head) "户，" (h.area.county.name) (h.area.township.name) (h.area.village.name) (h.area.group.clone().unwrap_or_default()) " " (h.address) @if h.registered_poor { "（建档立卡户）" } } }
                }
                @for g in &file.guardians {
                    tr { th { "监护人" } td colspan="3" { (g.name) "（" (g.relation.zh()) "）"
                        @if let Some(p) = &g.phone { " " a href=(format!("tel:{}", p.as_str())) { (p.as_str()) } } } }
                }
            }
        }
        @if !file.conflicts.is_empty() {
            h2 { "待核实的冲突" }
            @for c in &file.conflicts {
                p.flag { "“学籍状态”在两台设备上被同时改成了不同的值。请核实后采用其一（另一值保留在历史中）：" }
                ul #conflicts { @for cand in &c.candidates {
                    li { strong { (cand.value.zh()) } " —— " (name_of(cand.by)) "，" (format_zh(cand.at)) @if cand.showing { "（目前显示此值）" }
                        form.inline method="post" action=(format!("/console/students/{student}/resolve")) {
                            input type="hidden" name="choose" value=(cand.op.to_string());
                            " " button type="submit" class="choose" { "采用此值" }
                        }
                    }
                } }
            }
        }
        @if !file.due.is_empty() {
            h2 { "待办" }
            ul { @for d in &file.due { li { (d.zh()) } } }
        }
        @if !file.missing_evidence.is_empty() {
            h2 { "缺少的佐证" }
            ul { @for m in &file.missing_evidence { li.flag { (match m {
                MissingEvidence::PhotoRequired { .. } => "设备检查或劝返走访缺少照片",
                MissingEvidence::PhotoPending { .. } => "照片尚未上传",
                MissingEvidence::NoLocation { .. } => "到户走访缺少定位",
            }) } } }
        }
        h2 { "学籍状态变化" }
        table #status-history {
            tr { th { "时间" } th { "由" } th { "变为" } th { "操作人" } }
            @for e in &file.timeline {
                @if let Event::StatusChange { from, to, current, .. } = &e.event {
                    tr { td { (format_zh(e.at)) } td { (from.map(|f| f.zh()).unwrap_or("—")) } td { (to.zh()) @if *current { " ✓" } } td { (name_of(e.by)) } }
                }
            }
        }
        h2 { "走访位置" }
        (map::visit_map(home, &points, 500.0))
        h2 { "走访与联系记录" }
        table #timeline {
            tr { th { "#" } th { "时间" } th { "类型" } th { "走访人" } th { "情况" } th { "照片" } }
            @for (n, (e, v, voided, record, reviews, revisions)) in visits.iter().enumerate() {
                tr {
                    td { (n + 1) }
                    td { (format_zh(e.at)) }
                    td { a href=(format!("/console/visits/{record}")) { (v.kind.zh()) } @if **revisions > 1 { br; span.muted { "已更正" } } }
                    td { (name_of(e.by))
                        @let with: Vec<String> = v.colleagues(e.by).map(&name_of).collect();
                        @if !with.is_empty() { span.muted { "（同行：" (with.join("、")) "）" } } }
                    td {
                        @if let Some(vd) = voided { span.badge.voided { "已作废" } " " (vd.reason) br; }
                        (v.notes)
                        @for r in reviews.iter() { br; span.muted { "督导" (r.action.zh()) @if !r.comment.is_empty() { "：" (r.comment) } } }
                    }
                    td.photos { @for p in &v.photos {
                        a href=(format!("/api/photos/{}", p.sha256)) target="_blank" {
                            img src=(format!("/api/photos/{}/thumb", p.sha256)) alt="照片" loading="lazy" style="max-width:120px";
                        }
                    } }
                }
            }
        }
        p.muted { "打印时间：" (format_zh(Utc::now())) "。本页由保学系统生成，记录的每次修改均保留在审计记录中。" }
    };
    Ok(layout(&format!("{title} · 一生一案"), Some(&session), body).into_response())
}

pub(super) async fn pdf(
    State(st): State<AppState>,
    Reviewer(session): Reviewer,
    AppPath(student): AppPath<StudentId>,
) -> ConsoleResult {
    let (file, names, schools) = load(&st, &session, student, AccessAction::FilePdf).await?;
    let school = file
        .current
        .as_ref()
        .and_then(|c| c.school)
        .and_then(|id| schools.get(&id).cloned())
        .unwrap_or_default();
    let name_of = |u| names.get(&u).cloned().unwrap_or_else(|| "未知".into());
    let bytes = crate::report::file_pdf::student_file_pdf(&file, &name_of, &school, Utc::now())?;
    let name = file
        .current
        .as_ref()
        .map(|c| c.name.clone())
        .unwrap_or_default();
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/pdf".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"file.pdf\"; filename*=UTF-8''{}",
                    super::reports::urlencode(&format!("{name}一生一案.pdf"))
                ),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Debug, serde::Deserialize)]
pub(super) struct ResolveForm {
    choose: baoxue_shared::ids::OpId,
}

/// Settle a status conflict by choosing one of its candidates.
pub(super) async fn resolve(
    State(st): State<AppState>,
    Reviewer(session): Reviewer,
    AppPath(student): AppPath<StudentId>,
    AppForm(f): AppForm<ResolveForm>,
) -> ConsoleResult {
    st.blocking(move |s| {
        crate::files::settle_status_conflict(s, &session, student, f.choose, Utc::now())
    })
    .await?;
    Ok(axum::response::Redirect::to(&format!("/console/students/{student}")).into_response())
}
