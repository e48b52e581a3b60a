//! The review queue, one visit with its evidence, and the reviewer's actions.

use super::{ConsoleResult, Reviewer, layout, map};
use crate::extract::{AppForm, AppPath, AppQuery, blank_is_none};
use crate::review::evidence::Flag;
use crate::review::{self, Decision, QueueItem, ReviewError, ReviewState};
use crate::state::AppState;
use crate::store::{Care, PhotoMeta, QueueFrom, QueueKey, QueuePageQuery};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use baoxue_shared::ids::{RecordId, SchoolId, UserId};
use baoxue_shared::observation::{Sha256, VisitKind};
use baoxue_shared::time::{china_date, format_zh, start_of_china_day};
use chrono::{NaiveDate, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::HashMap;

/// The queue's filters as the form sends them (an empty value is "any"); a value that names
/// nothing of its kind is refused naming the filter, not silently ignored.
#[derive(Debug, Default, Deserialize)]
pub(super) struct QueueQuery {
    #[serde(default, deserialize_with = "blank_is_none")]
    township: Option<String>,
    #[serde(default, deserialize_with = "blank_is_none")]
    village: Option<String>,
    #[serde(default, deserialize_with = "blank_is_none")]
    school: Option<SchoolId>,
    #[serde(default, deserialize_with = "blank_is_none")]
    worker: Option<UserId>,
    #[serde(default, deserialize_with = "blank_is_none")]
    kind: Option<VisitKind>,
    #[serde(default, deserialize_with = "blank_is_none")]
    from: Option<NaiveDate>,
    #[serde(default, deserialize_with = "blank_is_none")]
    to: Option<NaiveDate>,
    #[serde(default, deserialize_with = "blank_is_none")]
    flag: Option<String>,
    #[serde(default, deserialize_with = "blank_is_none")]
    state: Option<ReviewState>,
    /// The next page starts after this row; the previous page ends before this one.
    #[serde(default, deserialize_with = "blank_is_none")]
    after: Option<QueueKey>,
    #[serde(default, deserialize_with = "blank_is_none")]
    before: Option<QueueKey>,
}

/// Rows on one page of the queue.
pub const PAGE: usize = 50;

impl QueueQuery {
    /// The page this query asks for, within `students`.
    fn page(&self, students: Care) -> QueuePageQuery {
        QueuePageQuery {
            students,
            township: self.township.clone(),
            village: self.village.clone(),
            school: self.school,
            worker: self.worker,
            kind: self.kind,
            from: self.from.map(start_of_china_day),
            until: self.to.and_then(|d| d.succ_opt()).map(start_of_china_day),
            flag: self.flag.clone(),
            state: self.state.map(|s| s.code().to_string()),
            from_key: match (self.after, self.before) {
                (Some(k), _) => QueueFrom::After(k),
                (None, Some(k)) => QueueFrom::Before(k),
                (None, None) => QueueFrom::First,
            },
            limit: PAGE,
        }
    }

    /// This query's filters in a link, with `key=value` for the page.
    fn link(&self, page: (&str, QueueKey)) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                q.append_pair(k, &v);
            }
        };
        put("township", self.township.clone());
        put("village", self.village.clone());
        put("school", self.school.map(|s| s.to_string()));
        put("worker", self.worker.map(|w| w.to_string()));
        put("kind", self.kind.map(|k| k.code().to_string()));
        put("from", self.from.map(|d| d.to_string()));
        put("to", self.to.map(|d| d.to_string()));
        put("flag", self.flag.clone());
        put("state", self.state.map(|s| s.code().to_string()));
        put(page.0, Some(page.1.encode()));
        format!("/console/queue?{}", q.finish())
    }
}

/// The queue, a page at a time, from the read model (`crate::readmodel`): what arrived since the
/// last page is taken in first, so a reviewer sees a visit as soon as it is stored.
pub(super) async fn list(
    State(st): State<AppState>,
    Reviewer(session): Reviewer,
    AppQuery(q): AppQuery<QueueQuery>,
) -> ConsoleResult {
    let (settings, terms) = (st.evidence, st.terms.clone());
    let user = session.user.clone();
    let asked = q.page(Care::default());
    let (page, users, schools) = st
        .blocking(move |s| {
            crate::readmodel::catch_up(s, &settings, &terms)?;
            let students = s.care(&user)?;
            let page = s.queue_page(&QueuePageQuery { students, ..asked })?;
            Ok((page, s.users()?, s.schools()?))
        })
        .await?;
    let items: Vec<QueueItem> = page
        .rows
        .iter()
        .map(|(_, d)| serde_json::from_str(d))
        .collect::<Result<_, _>>()
        .map_err(|e| crate::store::StoreError::Corrupt(format!("queue row: {e}")))?;
    let names: HashMap<UserId, String> = users.iter().map(|u| (u.id, u.name.clone())).collect();
    let name_of = |id: UserId| names.get(&id).cloned().unwrap_or_else(|| id.to_string());
    let mut workers: Vec<_> = users.iter().filter(|u| !u.role.may_review()).collect();
    workers.sort_by(|a, b| a.account.cmp(&b.account));
    let sel = |v: &Option<String>, x: &str| v.as_deref() == Some(x);
    let body = html! {
        h1 { "审核队列" }
        p.muted #queue-counts { "共 " (page.in_scope) " 条走访记录；当前筛选 " (page.matching) " 条，其中待审核 " (page.open) " 条、有证据提示 " (page.flagged) " 条。有提示且待审核的排在最前。" }
        form.filters method="get" action="/console/queue" {
            label { "乡镇" select name="township" {
                option value="" { "全部" }
                @for t in &page.townships { option value=(t) selected[sel(&q.township, t)] { (t) } }
            } }
            label { "村" input name="village" value=[q.village.as_deref()] placeholder="村名"; }
            label { "学校" select name="school" {
                option value="" { "全部" }
                @for sc in &schools {
                    option value=(sc.id.to_string()) selected[q.school == Some(sc.id)] { (sc.name) }
                }
            } }
            label { "走访人" select name="worker" {
                option value="" { "全部" }
                @for w in &workers { option value=(w.id.to_string()) selected[q.worker == Some(w.id)] { (w.name) "（" (w.account) "）" } }
            } }
            label { "类型" select name="kind" {
                option value="" { "全部" }
                @for &k in VisitKind::ALL { option value=(k.code()) selected[q.kind == Some(k)] { (k.zh()) } }
            } }
            label { "起" input type="date" name="from" value=[q.from.map(|d| d.to_string())]; }
            label { "止" input type="date" name="to" value=[q.to.map(|d| d.to_string())]; }
            label { "证据提示" select name="flag" #flag-filter {
                option value="" { "全部" }
                option value="any" selected[sel(&q.flag, "any")] { "有任何提示" }
                @for (code, zh) in Flag::KINDS { option value=(code) selected[sel(&q.flag, code)] { (zh) } }
            } }
            label { "审核状态" select name="state" {
                option value="" { "全部" }
                @for &s in ReviewState::ALL { option value=(s.code()) selected[q.state == Some(s)] { (s.zh()) } }
            } }
            button type="submit" #apply-filters { "筛选" }
        }
        table #queue {
            thead { tr { th { "走访时间" } th { "类型" } th { "学生" } th { "乡镇 / 村" } th { "走访人" } th { "证据提示" } th { "状态" } th {} } }
            tbody {
                @for i in &items {
                    tr data-record=(i.record.to_string()) {
                        td { (format_zh(i.visit.started_at)) }
                        td { (i.visit.kind.zh()) }
                        td { (i.students.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join("、")) }
                        td { (i.township()) " " (i.village()) }
                        td.worker { (name_of(i.author))
                            @let with: Vec<String> = i.colleagues().map(&name_of).collect();
                            @if !with.is_empty() { span.muted { "（同行：" (with.join("、")) "）" } } }
                        td.flag { @for f in &i.flags { div { (f.zh()) } } }
                        td { span class=(format!("badge {}", i.state.code())) { (i.state.zh()) } }
                        td { a.open href=(format!("/console/visits/{}", i.record)) { "查看" } }
                    }
                }
            }
        }
        nav.pages {
            @if let (true, Some((first, _))) = (page.more_before, page.rows.first()) {
                a #prev-page href=(q.link(("before", *first))) { "上一页" }
            }
            @if let (true, Some((last, _))) = (page.more_after, page.rows.last()) {
                a #next-page href=(q.link(("after", *last))) { "下一页" }
            }
        }
    };
    Ok(layout("审核队列", Some(&session), body).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct VisitQuery {
    done: Option<String>,
}

pub(super) async fn visit(
    State(st): State<AppState>,
    Reviewer(session): Reviewer,
    AppPath(record): AppPath<RecordId>,
    AppQuery(q): AppQuery<VisitQuery>,
) -> ConsoleResult {
    let (view, item) = load_item(&st, &session, record).await?;
    let done = q.done.as_deref().map(|d| match d {
        "approve" => "已通过该记录。",
        "flag" => "已标记存疑，意见将在下次同步时送达走访人。",
        "request_evidence" => "已要求补充证据，将在下次同步时送达走访人。",
        "void" => "已作废该记录（原记录保留在档案中）。",
        _ => "已保存。",
    });
    Ok(layout(
        "走访记录",
        Some(&session),
        render_visit(&view, &item, done, None),
    )
    .into_response())
}

/// What one visit's page shows beside the visit: people's names and the photos' metadata.
struct VisitContext {
    names: HashMap<UserId, String>,
    photos: HashMap<Sha256, PhotoMeta>,
}

impl VisitContext {
    fn name_of(&self, id: UserId) -> String {
        self.names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| id.to_string())
    }
}

/// One visit from the read model, if it concerns a student in the reviewer's care (otherwise
/// not found: a record outside the scope is not told apart from no record).
async fn load_item(
    st: &AppState,
    session: &crate::store::Session,
    record: RecordId,
) -> Result<(VisitContext, QueueItem), crate::error::ApiError> {
    let (settings, terms) = (st.evidence, st.terms.clone());
    let user = session.user.clone();
    st.blocking(move |s| {
        crate::readmodel::catch_up(s, &settings, &terms)?;
        let row = s
            .visit_rows(&[record])?
            .into_iter()
            .next()
            .ok_or_else(|| crate::error::ApiError::not_found("record"))?;
        let care = s.care(&user)?;
        if s.students_in_care(&care, &row.students)?.is_empty() {
            return Err(crate::error::ApiError::not_found("record"));
        }
        let item: QueueItem = serde_json::from_str(&row.detail)
            .map_err(|e| crate::store::StoreError::Corrupt(format!("queue row: {e}")))?;
        let shas: Vec<Sha256> = item.visit.photos.iter().map(|p| p.sha256).collect();
        let cx = VisitContext {
            names: s.users()?.into_iter().map(|u| (u.id, u.name)).collect(),
            photos: s.photos_meta(&shas)?,
        };
        Ok((cx, item))
    })
    .await
}

fn render_visit(
    view: &VisitContext,
    i: &QueueItem,
    done: Option<&str>,
    error: Option<(Decision, String)>,
) -> Markup {
    let v = &i.visit;
    let home = i.household.as_ref().and_then(|h| h.location);
    let err_for = |d: Decision| {
        error
            .as_ref()
            .filter(|(x, _)| *x == d)
            .map(|(_, m)| m.clone())
    };
    let action = |d: Decision, code: &str, label: &str, hint: &str, required: bool| {
        html! {
            form method="post" action=(format!("/console/visits/{}/review", i.record)) id=(format!("form-{code}")) {
                input type="hidden" name="decision" value=(code);
                label { strong { (label) } " " span.muted { (hint) } br;
                    textarea name="comment" rows="2" required[required] {} }
                @if let Some(e) = err_for(d) { p.error.field-error { "审核意见：" (e) } }
                button type="submit" id=(format!("do-{code}")) { (label) }
            }
        }
    };
    html! {
        h1 { (v.kind.zh()) "记录" }
        @if let Some(d) = done { p.ok #done { (d) } }
        p { span class=(format!("badge {}", i.state.code())) #state { (i.state.zh()) }
            @if i.revisions > 1 { span.muted { " 已更正 " (i.revisions - 1) " 次，显示最新版本" } } }
        table {
            tr { th { "学生" } td { @for (id, name) in &i.students { a href=(format!("/console/students/{id}")) { (name) } " " } } }
            tr { th { "家庭" } td { @if let Some(h) = &i.household { (h.head) "户，" (h.area.township.name) (h.area.village.name) " " (h.address) @if h.registered_poor { " （建档立卡户）" } } } }
            tr { th { "录入及走访人" } td #author { (view.name_of(i.author)) } }
            @let with: Vec<String> = i.colleagues().map(|u| view.name_of(u)).collect();
            @if !with.is_empty() || !v.companions.is_empty() {
                tr { th { "同行人员" } td #companions {
                    (with.iter().map(|n| format!("{n}（同事）")).chain(v.companions.iter().map(|c| c.name.clone())).collect::<Vec<_>>().join("、"))
                } }
            }
            tr { th { "时间" } td { (format_zh(v.started_at)) @if let Some(e) = v.ended_at { " 至 " (format_zh(e)) } } }
            tr { th { "位置" } td {
                @match v.location {
                    Some(l) => {
                        (format!("{:.5}, {:.5}", l.point.lat(), l.point.lon())) "（" (l.source.zh())
                        @if let Some(a) = l.accuracy_m { "，精度约 " (format!("{a:.0}")) " 米" } "）"
                        @if let Some(h) = home { "，距登记住址 " (format!("{:.0}", l.point.distance_m(&h))) " 米" }
                    }
                    None => { span.flag { "无定位" } }
                }
            } }
            tr { th { "走访情况" } td { (v.notes) } }
            @if let Some(dc) = &v.device_check {
                tr { th { "学习设备" } td {
                    "设备能用：" (answer(dc.device_works)) "；能上网课：" (answer(dc.can_get_online))
                    @for p in &dc.problems { br; "问题：" (p.kind.zh()) " " (p.note)
                        @if let Some(r) = &p.remedy { @if r.done { " —— 已解决" } @else { " —— 处理中" } } }
                } }
            }
            @if let Some(p) = &v.persuasion {
                tr { th { "劝返" } td {
                    "原因：" (p.reason.zh()) "；方式：" (p.method.number()) " " (p.method.zh())
                    @if let Some(n) = &p.notice { "；已发通知书 " (n.number) }
                    @if let Some(d) = p.next_follow_up { "；下次回访 " (d.to_string()) }
                } }
            }
            @if let Some(s) = &v.subsidy {
                tr { th { "资助核实" } td { (s.programme) "：到账 " (answer(s.received)) } }
            }
        }
        h2 { "证据提示" }
        @if i.flags.is_empty() { p.ok { "未发现问题。" } }
        @else { ul #flags { @for f in &i.flags { li.flag data-code=(f.code()) { (f.zh()) } } } }
        @if !v.photos.is_empty() {
            h2 { "照片" }
            div.photos { @for p in &v.photos {
                a href=(format!("/api/photos/{}", p.sha256)) target="_blank" {
                    img src=(format!("/api/photos/{}/thumb", p.sha256)) alt="走访照片" loading="lazy";
                }
                @if let Some(t) = view.photos.get(&p.sha256).and_then(|m| m.captured_at).or(p.captured_at) {
                    span.muted { "拍摄于 " (format_zh(t)) }
                }
                @if !view.photos.contains_key(&p.sha256) { span.muted { "（照片尚未上传）" } }
            } }
        }
        @if home.is_some() || v.location.is_some() {
            h2 { "位置图" }
            (map::visit_map(home, &[(1, v.location.map(|l| l.point), china_date(v.started_at).to_string())], 500.0))
        }
        @if !i.reviews.is_empty() || i.voided.is_some() {
            h2 { "审核记录" }
            ul #reviews {
                @for r in &i.reviews { li { (format_zh(r.at)) " " (view.name_of(r.by)) "：" (r.action.zh()) @if !r.comment.is_empty() { "——" (r.comment) } } }
                @if let Some(vd) = &i.voided { li { (format_zh(vd.at)) " " (view.name_of(vd.by)) "：作废——" (vd.reason) } }
            }
        }
        @if i.voided.is_none() {
            h2 { "审核" }
            div.actions {
                (action(Decision::Approve, "approve", "通过", "证据充分", false))
                (action(Decision::Flag, "flag", "标记存疑", "必填：说明疑点", true))
                (action(Decision::RequestEvidence, "request_evidence", "要求补充证据", "必填：需要补充什么", true))
                (action(Decision::Void, "void", "作废", "必填：作废原因（记录保留在档案中）", true))
            }
        }
    }
}

fn answer(a: baoxue_shared::observation::Answer) -> &'static str {
    match a {
        baoxue_shared::observation::Answer::Yes => "是",
        baoxue_shared::observation::Answer::No => "否",
        baoxue_shared::observation::Answer::Unknown => "未问",
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct ReviewForm {
    decision: Decision,
    #[serde(default)]
    comment: String,
}

pub(super) async fn review(
    State(st): State<AppState>,
    Reviewer(session): Reviewer,
    AppPath(record): AppPath<RecordId>,
    AppForm(f): AppForm<ReviewForm>,
) -> ConsoleResult {
    let s2 = session.clone();
    let comment = f.comment.clone();
    let decision = f.decision;
    let result = st
        .blocking(move |s| Ok(review::act(s, &s2, record, decision, &comment, Utc::now())))
        .await?;
    match result {
        Ok(_) => {
            st.catch_up_soon();
            let code = match decision {
                Decision::Approve => "approve",
                Decision::Flag => "flag",
                Decision::RequestEvidence => "request_evidence",
                Decision::Void => "void",
            };
            Ok(Redirect::to(&format!("/console/visits/{record}?done={code}")).into_response())
        }
        Err(ReviewError::Invalid(errs)) => {
            let msg = errs
                .0
                .first()
                .map(|e| e.reason.zh())
                .unwrap_or_else(|| "内容有误".into());
            let (view, item) = load_item(&st, &session, record).await?;
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                layout(
                    "走访记录",
                    Some(&session),
                    render_visit(&view, &item, None, Some((decision, msg))),
                ),
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}
