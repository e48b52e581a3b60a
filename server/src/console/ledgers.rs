//! The two ledgers of a report unit — 辍学台账 and 建档立卡学生台账 — as pages of 50 in name
//! order and as Excel downloads streamed from the read models a thousand lines at a time.

use super::reports::{ReportQuery, title_of, urlencode};
use super::{ConsoleResult, Reviewer, layout};
use crate::error::ApiError;
use crate::extract::{AppPath, AppQuery, blank_is_none};
use crate::report::ledgers::{self, DROPOUT_HEADERS, POOR_HEADERS, cells};
use crate::report::monthly::{self, ReportScope};
use crate::report::xlsx::Cell;
use crate::state::AppState;
use crate::store::{
    AccessEntry, Ledger, LedgerPage, LedgerQuery, ReportUnit, Session, Store, StudentFrom,
};
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use baoxue_shared::ids::{SchoolId, StudentId};
use baoxue_shared::people::School;
use baoxue_shared::time::china_date;
use chrono::Utc;
use maud::html;
use serde::Deserialize;
use std::collections::HashMap;
use std::io::Seek;

/// Lines on one page.
pub const PAGE: usize = 50;

/// The ledger a page's path names (`dropouts`, `poor`).
fn ledger_of(name: &str) -> Option<Ledger> {
    match name {
        "dropouts" => Some(Ledger::Dropouts),
        "poor" => Some(Ledger::Poor),
        _ => None,
    }
}

fn zh(ledger: Ledger) -> &'static str {
    match ledger {
        Ledger::Dropouts => "辍学台账",
        Ledger::Poor => "建档立卡学生台账",
    }
}

/// The unit as the reviewer may read it: its title, its children, the schools' names, and
/// for the poor ledger the line on this term's device checks.
struct Unit {
    title: String,
    unit: ReportUnit,
    schools: HashMap<SchoolId, School>,
    summary: String,
}

impl Unit {
    fn school(&self, id: Option<SchoolId>) -> &str {
        id.and_then(|s| self.schools.get(&s))
            .map(|s| s.name.as_str())
            .unwrap_or("")
    }
}

/// Refused unless the unit is the reviewer's to read; the read models caught up first. The
/// poor ledger's file carries this term's device-check coverage under its title (a count over
/// the unit's poor children, so only the file has it: a page reads what it shows, and the
/// report page has the coverage table).
fn unit(
    s: &dyn Store,
    st: &AppState,
    session: &Session,
    scope: &ReportScope,
    ledger: Ledger,
    with_summary: bool,
) -> Result<Unit, ApiError> {
    let schools: HashMap<SchoolId, School> =
        s.schools()?.into_iter().map(|sc| (sc.id, sc)).collect();
    if !monthly::may_view(&session.user, scope, &schools) {
        return Err(crate::report::filing::ReportError::NotYours("in your unit").into());
    }
    crate::readmodel::catch_up(s, &st.evidence, &st.terms)?;
    let care = s.care(&session.user)?;
    let title = title_of(scope, &schools, &care);
    let unit = monthly::unit(care, scope);
    let summary = match ledger {
        Ledger::Poor if with_summary => {
            let now = Utc::now();
            let term = st
                .terms
                .current_or_last(china_date(now))
                .map(|t| t.period());
            let c = s.device_coverage(&unit, term, 0)?;
            format!(
                "建档立卡户 {} 户，本学期已检查学习设备 {} 户（{}%），设备可用 {} 户，未解决问题 {} 个",
                c.households,
                c.checked,
                c.coverage_rate(),
                c.working,
                c.problems_open
            )
        }
        _ => String::new(),
    };
    Ok(Unit {
        title,
        unit,
        schools,
        summary,
    })
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct LedgerPageQuery {
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    month: Option<String>,
    #[serde(default, deserialize_with = "blank_is_none")]
    after: Option<StudentId>,
    #[serde(default, deserialize_with = "blank_is_none")]
    before: Option<StudentId>,
}

/// `/console/ledgers/{dropouts|poor}`: a page of the ledger with its total.
pub(super) async fn page(
    State(st): State<AppState>,
    Reviewer(session): Reviewer,
    AppPath(name): AppPath<String>,
    AppQuery(q): AppQuery<LedgerPageQuery>,
) -> ConsoleResult {
    let ledger = ledger_of(&name).ok_or_else(|| ApiError::not_found("ledger"))?;
    let (scope, month) = ReportQuery {
        scope: q.scope.clone(),
        month: q.month.clone(),
    }
    .resolve(&session);
    let from = match (q.after, q.before) {
        (Some(s), _) => StudentFrom::After(s),
        (None, Some(s)) => StudentFrom::Before(s),
        (None, None) => StudentFrom::Start,
    };
    let (unit, page): (Unit, LedgerPage) = {
        let (st2, session, scope) = (st.clone(), session.clone(), scope.clone());
        st.blocking(move |s| {
            let unit = unit(s, &st2, &session, &scope, ledger, false)?;
            let page = s.ledger_page(&LedgerQuery {
                unit: unit.unit.clone(),
                ledger,
                from,
                limit: PAGE,
                with_total: true,
            })?;
            Ok((unit, page))
        })
        .await?
    };
    let qs = format!(
        "scope={}&month={}",
        urlencode(&scope.key()),
        monthly::month_key(month)
    );
    let headers: &[&str] = match ledger {
        Ledger::Dropouts => &DROPOUT_HEADERS,
        Ledger::Poor => &POOR_HEADERS,
    };
    let link = |key: &str, s: StudentId| format!("/console/ledgers/{name}?{qs}&{key}={s}");
    let body = html! {
        h1 { (unit.title) " · " (zh(ledger)) }
        p.muted #ledger-total { "共 " (page.total) " 人。" }
        p { a #download-ledger href=(format!("/console/exports/{name}.xlsx?{qs}")) { "下载全部（Excel）" }
            " · " a href=(format!("/console/reports?{qs}")) { "返回月报" } }
        table #ledger {
            thead { tr { @for h in headers { th { (h) } } } }
            tbody {
                @for r in &page.rows {
                    tr data-student=(r.student.to_string()) {
                        @for (i, c) in cells(r, unit.school(r.school)).into_iter().enumerate() {
                            @let (text, number) = match c {
                                Cell::Text(t) => (t, false),
                                Cell::Number(n) => (n.to_string(), true),
                            };
                            @if i == 0 { td { a href=(format!("/console/students/{}", r.student)) { (text) } } }
                            @else if number { td.num { (text) } }
                            @else { td { (text) } }
                        }
                    }
                }
            }
        }
        nav.pages {
            @if let (true, Some(first)) = (page.more_before, page.rows.first()) {
                a #prev-page href=(link("before", first.student)) { "上一页" }
            }
            @if let (true, Some(last)) = (page.more_after, page.rows.last()) {
                a #next-page href=(link("after", last.student)) { "下一页" }
            }
        }
    };
    Ok(layout(zh(ledger), Some(&session), body).into_response())
}

/// `dropouts.xlsx` / `poor.xlsx`: the whole ledger of the unit, written to an unnamed
/// temporary file a chunk at a time, then streamed from it.
pub(super) async fn download(
    st: &AppState,
    session: &Session,
    file: &str,
    scope: ReportScope,
    entry: AccessEntry,
) -> ConsoleResult {
    let ledger = file
        .strip_suffix(".xlsx")
        .and_then(ledger_of)
        .ok_or_else(|| ApiError::not_found("export"))?;
    let (st2, session) = (st.clone(), session.clone());
    let (out, title) = st
        .blocking(move |s| {
            let unit = unit(s, &st2, &session, &scope, ledger, true)?;
            // Logged once the unit is known to be the reviewer's to read, before the file is made.
            s.log_access(&entry)?;
            let mut out = tempfile::tempfile().map_err(ApiError::internal)?;
            ledgers::write_xlsx(
                s,
                &unit.unit,
                ledger,
                &unit.title,
                &unit.summary,
                &|id| unit.school(id).to_string(),
                &mut out,
            )?;
            out.rewind().map_err(ApiError::internal)?;
            Ok((out, unit.title))
        })
        .await?;
    let name = format!("{title}{}.xlsx", zh(ledger));
    let body = Body::from_stream(tokio_util::io::ReaderStream::new(
        tokio::fs::File::from_std(out),
    ));
    Ok((
        [
            (header::CONTENT_TYPE, super::reports::XLSX_TYPE.to_string()),
            (
                header::CONTENT_DISPOSITION,
                super::reports::attachment(&name),
            ),
        ],
        body,
    )
        .into_response())
}
