//! The month: the dropout-control report (draft, filing, amendments), compliance with the 三个一
//! rhythm and device checks, and the Excel downloads.

use super::{ConsoleResult, Reviewer, layout};
use crate::error::ApiError;
use crate::extract::{AppForm, AppPath, AppQuery};
use crate::report::compliance::{self, TeacherRhythm};
use crate::report::filing::{self, ReportError};
use crate::report::monthly::{
    self, Amendment, Figures, LateRecord, ReportScope, month_key, parse_month, period_zh,
};
use crate::report::xlsx;
use crate::state::AppState;
use crate::store::{Care, DeviceCoverage, ReportFiling, Session, TeacherCounts};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use baoxue_shared::area::AreaScope;
use baoxue_shared::ids::{SchoolId, UserId};
use baoxue_shared::people::{School, User};
use baoxue_shared::time::{ReportMonth, china_date, format_zh};
use chrono::{DateTime, Utc};
use maud::html;
use serde::Deserialize;
use std::collections::HashMap;

#[derive(Debug, Default, Deserialize)]
pub(super) struct ReportQuery {
    pub(super) scope: Option<String>,
    pub(super) month: Option<String>,
}

/// The scope a reviewer's report defaults to: their own unit.
fn default_scope(session: &Session) -> ReportScope {
    monthly::unit_of(&session.user).unwrap_or(ReportScope::County)
}

/// The month a supervisor most likely wants: the one just closed during the week after the
/// 22nd (when late reports are chased), otherwise the one running.
fn default_month(now: DateTime<Utc>) -> ReportMonth {
    ReportMonth::containing(now - chrono::Duration::days(7))
}

impl ReportQuery {
    pub(super) fn resolve(&self, session: &Session) -> (ReportScope, ReportMonth) {
        let scope = self
            .scope
            .as_deref()
            .and_then(ReportScope::parse)
            .unwrap_or_else(|| default_scope(session));
        let month = self
            .month
            .as_deref()
            .and_then(parse_month)
            .unwrap_or_else(|| default_month(Utc::now()));
        (scope, month)
    }
}

/// Unchecked households the report page names (the rest it counts).
const UNCHECKED_SHOWN: usize = 30;

/// Everything the report page shows, from the read models.
struct Month {
    title: String,
    /// The county's name, for the unit chooser.
    county: String,
    figures: Figures,
    filing: Option<ReportFiling>,
    amendments: Vec<Amendment>,
    late: Vec<LateRecord>,
    users: HashMap<UserId, User>,
    schools: HashMap<SchoolId, School>,
    /// Each teacher's 三个一 counts over the unit's children, and its device-check coverage.
    three_ones: Vec<TeacherCounts>,
    coverage: DeviceCoverage,
    /// The townships of the reviewer's children, for choosing a unit.
    townships: Vec<String>,
}

/// The heading: the school's, township's or county's name (the county's as the reviewer's
/// area assignment names it).
pub(super) fn title_of(
    scope: &ReportScope,
    schools: &HashMap<SchoolId, School>,
    care: &Care,
) -> String {
    match scope {
        ReportScope::School(s) => schools
            .get(s)
            .map(|sc| sc.name.clone())
            .unwrap_or_else(|| s.to_string()),
        ReportScope::Township(t) => t.clone(),
        ReportScope::County => care
            .areas
            .iter()
            .map(|a| match a {
                AreaScope::County(c) => c.name.clone(),
                AreaScope::Township { county, .. } | AreaScope::Village { county, .. } => {
                    county.name.clone()
                }
            })
            .next()
            .unwrap_or_else(|| "全县".into()),
    }
}

async fn compute(
    st: &AppState,
    session: &Session,
    scope: ReportScope,
    month: ReportMonth,
) -> Result<Month, ApiError> {
    let (settings, terms) = (st.evidence, st.terms.clone());
    let user = session.user.clone();
    st.blocking(move |s| {
        let schools: HashMap<SchoolId, School> =
            s.schools()?.into_iter().map(|sc| (sc.id, sc)).collect();
        if !monthly::may_view(&user, &scope, &schools) {
            return Err(ReportError::NotYours("in your unit").into());
        }
        crate::readmodel::catch_up(s, &settings, &terms)?;
        let filing = s.report_filing(&scope.key(), &month_key(month))?;
        let care = s.care(&user)?;
        let unit = monthly::unit(care.clone(), &scope);
        let current = monthly::figures_now(s, unit.clone(), month)?;
        let (figures, amendments, late) = match &filing {
            Some(f) => {
                // What was filed is what is shown: the stored figures, not a recomputation.
                let filed = filing::filed_figures(f)?;
                let am = monthly::amendments(&filed, &current);
                let late = monthly::late_now(s, &unit, month, f.cut)?;
                (filed, am, late)
            }
            None => (current, vec![], vec![]),
        };
        let term = terms
            .current_or_last(china_date(Utc::now()))
            .map(|t| t.period());
        let month_now = compliance::month_code(baoxue_shared::time::YearMonth::of(Utc::now()));
        let three_ones = s.three_ones(&unit, &month_now, &compliance::owing_contact())?;
        let coverage = s.device_coverage(&unit, term, UNCHECKED_SHOWN)?;
        let townships = s.townships_in_care(&care)?;
        Ok(Month {
            title: title_of(&scope, &schools, &care),
            county: title_of(&ReportScope::County, &schools, &care),
            figures,
            filing,
            amendments,
            late,
            users: s.users()?.into_iter().map(|u| (u.id, u)).collect(),
            schools,
            three_ones,
            coverage,
            townships,
        })
    })
    .await
}

fn filed_line(m: &Month) -> Option<String> {
    m.filing.as_ref().map(|f| {
        let by = m
            .users
            .get(&f.filed_by)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| f.filed_by.to_string());
        format!("已于 {} 由 {} 报送", format_zh(f.cut), by)
    })
}

pub(super) async fn page(
    State(st): State<AppState>,
    Reviewer(session): Reviewer,
    AppQuery(q): AppQuery<ReportQuery>,
) -> ConsoleResult {
    let (scope, month) = q.resolve(&session);
    let m = compute(&st, &session, scope.clone(), month).await?;
    let now = Utc::now();
    let rhythm: Vec<TeacherRhythm> = compliance::three_ones_from(m.users.values(), &m.three_ones);
    let coverage = &m.coverage;
    let townships = &m.townships;
    let key = scope.key();
    let mk = month_key(month);
    let months: Vec<ReportMonth> = {
        let mut v = vec![ReportMonth(default_month(now).0.next())];
        for _ in 0..11 {
            let prev = ReportMonth(v.last().expect("non-empty").0.prev());
            v.push(prev);
        }
        v
    };
    let qs = format!("scope={}&month={mk}", urlencode(&key));
    let may_view = |sc: &ReportScope| monthly::may_view(&session.user, sc, &m.schools);
    let may_file = monthly::may_file(&session.user, &scope);
    let body = html! {
        h1 { "控辍保学月报表" }
        form.filters method="get" action="/console/reports" {
            label { "单位" select name="scope" #scope {
                @if may_view(&ReportScope::County) { option value="county" selected[key == "county"] { (m.county) } }
                @for t in townships.iter().filter(|t| may_view(&ReportScope::Township(t.to_string()))) {
                    @let k = format!("township:{t}"); option value=(k) selected[key == k] { (t) } }
                @for sc in m.schools.values().filter(|sc| may_view(&ReportScope::School(sc.id))) {
                    @let k = format!("school:{}", sc.id); option value=(k) selected[key == k] { (sc.name) } }
            } }
            label { "月份" select name="month" #month {
                @for rm in &months { @let k = month_key(*rm); option value=(k) selected[k == mk] { (rm.0.to_string()) } }
            } }
            button type="submit" { "查看" }
        }
        h2 #report-title { (m.title) " · " (period_zh(month)) }
        p { "报送截止日期：" (month.due_date().format("%Y年%-m月%-d日").to_string()) "。"
            @match filed_line(&m) {
                Some(l) => { span.ok #filed { (l) "。以下为报送时的数字；之后收到的记录列为更正。" } }
                None => { span.muted #draft { "草稿：尚未报送，数字随新记录变化。" } }
            }
        }
        table #figures {
            tr { th { "序号" } th { "项目" } th { "人数" } }
            @for (n, (label, v)) in m.figures.rows().iter().enumerate() {
                tr { td { (n + 1) } td { (label) } td.num data-label=(label) { (v) } }
            }
        }
        @if m.filing.is_none() && may_file {
            form method="post" action="/console/reports/file" {
                input type="hidden" name="scope" value=(key);
                input type="hidden" name="month" value=(mk);
                p { button type="submit" #file-report { "确认报送（报送后数字固定，之后的变化作为更正列出）" } }
            }
        }
        @if !m.amendments.is_empty() || !m.late.is_empty() {
            h2 { "报送后的更正" }
            @if !m.amendments.is_empty() {
                table #amendments { tr { th { "项目" } th { "报送数" } th { "现数" } }
                    @for a in &m.amendments { tr { td { (a.label) } td.num { (a.filed) } td.num { (a.now) } } } }
            }
            ul { @for l in &m.late { li { (l.student) "：" (l.what) "（发生于 " (format_zh(l.at)) "，" (format_zh(l.received_at)) " 收到）" } } }
        }
        h2 { "本月典型案例" }
        @if m.figures.cases.is_empty() { p.muted { "本月无劝返复学案例。" } }
        @else {
            table #cases { tr { th { "姓名" } th { "学校" } th { "村" } th { "安置" } th { "劝返次数" } th { "做法" } }
                @for c in &m.figures.cases { tr { td { a href=(format!("/console/students/{}", c.student)) { (c.name) } } td { (c.school) } td { (c.village) } td { (c.placed) } td.num { (c.attempts) } td { (c.how) } } } }
        }
        h2 { "台账与下载" }
        ul {
            li { a #download-report href=(format!("/console/exports/monthly.xlsx?{qs}")) { "月报表（Excel）" } }
            li { a #view-dropouts href=(format!("/console/ledgers/dropouts?{qs}")) { "辍学台账" } "（" a #download-dropouts href=(format!("/console/exports/dropouts.xlsx?{qs}")) { "Excel" } "）" }
            li { a #view-poor href=(format!("/console/ledgers/poor?{qs}")) { "建档立卡学生台账" } "（" a #download-poor href=(format!("/console/exports/poor.xlsx?{qs}")) { "Excel" } "）" }
        }
        h2 { "“三个一”落实情况（本学期家访、本月电话）" }
        table #three-ones {
            tr { th { "教师" } th { "结对学生" } th { "家访 已完成/应完成" } th { "完成率" } th { "本月电话 已/应" } }
            @for r in &rhythm {
                tr { td { (r.name) "（" (r.account) "）" } td.num { (r.students) } td.num { (r.home_visits_done) " / " (r.home_visits_due) } td.num { (r.home_visit_rate()) "%" } td.num { (r.calls_done) " / " (r.calls_due) } }
            }
        }
        h2 { "建档立卡户学习设备检查（本学期）" }
        table #coverage {
            tr { th { "建档立卡户" } th { "已检查" } th { "覆盖率" } th { "设备可用" } th { "未解决问题" } th { "已解决问题" } }
            tr { td.num { (coverage.households) } td.num { (coverage.checked) } td.num { (coverage.coverage_rate()) "%" } td.num { (coverage.working) } td.num { (coverage.problems_open) } td.num { (coverage.problems_fixed) } }
        }
        @if !coverage.unchecked.is_empty() {
            @let unchecked = coverage.households - coverage.checked;
            p.muted { "未检查：" (coverage.unchecked.iter().map(|(h, v)| format!("{v}{h}户")).collect::<Vec<_>>().join("、"))
                @if unchecked as usize > coverage.unchecked.len() { " 等 " (unchecked) " 户" } }
        }
    };
    Ok(layout("月报与台账", Some(&session), body).into_response())
}

pub(super) fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[derive(Debug, Deserialize)]
pub(super) struct FileForm {
    scope: String,
    month: String,
}

pub(super) async fn file(
    State(st): State<AppState>,
    Reviewer(session): Reviewer,
    AppForm(f): AppForm<FileForm>,
) -> ConsoleResult {
    let scope = ReportScope::parse(&f.scope).ok_or_else(|| ApiError::not_found("report scope"))?;
    let month = parse_month(&f.month).ok_or_else(|| ApiError::not_found("report month"))?;
    let (settings, terms) = (st.evidence, st.terms.clone());
    st.blocking(move |s| {
        // The cut before the catch-up: everything received by it is in the figures.
        let cut = Utc::now();
        crate::readmodel::catch_up(s, &settings, &terms)?;
        Ok(filing::file(s, &session.user, &scope, month, cut)?)
    })
    .await?;
    Ok(Redirect::to(&format!(
        "/console/reports?scope={}&month={}",
        urlencode(&f.scope),
        f.month
    ))
    .into_response())
}

pub(super) const XLSX_TYPE: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A download's `Content-Disposition`: the Chinese name for browsers that read it, a plain
/// one for those that don't.
pub(super) fn attachment(name: &str) -> String {
    format!(
        "attachment; filename=\"report.xlsx\"; filename*=UTF-8''{}",
        urlencode(name)
    )
}

fn xlsx_response(bytes: Vec<u8>, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, XLSX_TYPE.to_string()),
            (header::CONTENT_DISPOSITION, attachment(name)),
        ],
        bytes,
    )
        .into_response()
}

/// The Excel downloads: `monthly.xlsx` (the report), `dropouts.xlsx` (辍学台账), `poor.xlsx`
/// (建档立卡学生台账), each for the scope and month asked.
pub(super) async fn download(
    State(st): State<AppState>,
    Reviewer(session): Reviewer,
    AppPath(file): AppPath<String>,
    AppQuery(q): AppQuery<ReportQuery>,
) -> ConsoleResult {
    let (scope, month) = q.resolve(&session);
    if !matches!(
        file.as_str(),
        "monthly.xlsx" | "dropouts.xlsx" | "poor.xlsx"
    ) {
        return Err(ApiError::not_found("export"));
    }
    let entry = crate::store::AccessEntry {
        at: Utc::now(),
        user: session.user.id,
        device: session.device,
        action: crate::store::AccessAction::LedgerExport,
        subject: format!("{file} {} {}", scope.key(), month_key(month)),
    };
    if file != "monthly.xlsx" {
        return super::ledgers::download(&st, &session, &file, scope, entry).await;
    }
    let m = compute(&st, &session, scope.clone(), month).await?;
    // Logged once the unit is known to be the reviewer's to read, before the file is made.
    st.blocking(move |s| Ok(s.log_access(&entry)?)).await?;
    let bytes = xlsx::monthly_report(
        &m.title,
        month,
        &m.figures,
        filed_line(&m).as_deref(),
        &m.amendments,
        &m.late,
    )?;
    let name = format!("{}控辍保学月报表{}.xlsx", m.title, month_key(month));
    Ok(xlsx_response(bytes, &name))
}
