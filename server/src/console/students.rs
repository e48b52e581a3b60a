//! The student list (学生名册): every student in the reviewer's care, 50 to a page in name
//! order, filtered by place, school, status and what their file owes — from the files'
//! summaries kept in the read models, so a page reads only the rows it shows.

use super::{ConsoleResult, Reviewer, layout};
use crate::extract::{AppQuery, blank_is_none};
use crate::state::AppState;
use crate::store::{Care, StudentFrom, StudentPageQuery};
use axum::extract::State;
use axum::response::IntoResponse;
use baoxue_shared::ids::{SchoolId, StudentId};
use baoxue_shared::status::EnrolmentStatus;
use baoxue_shared::time::format_zh;
use maud::html;
use serde::Deserialize;
use std::collections::HashMap;

/// Rows on one page.
pub const PAGE: usize = 50;

/// The list's filters as the form sends them (an empty value is "any").
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListQuery {
    #[serde(default, deserialize_with = "blank_is_none")]
    township: Option<String>,
    #[serde(default, deserialize_with = "blank_is_none")]
    village: Option<String>,
    #[serde(default, deserialize_with = "blank_is_none")]
    school: Option<SchoolId>,
    #[serde(default, deserialize_with = "blank_is_none")]
    status: Option<EnrolmentStatus>,
    /// `due`: owing any work; `overdue`: owing overdue work.
    #[serde(default, deserialize_with = "blank_is_none")]
    owing: Option<Owing>,
    #[serde(default, deserialize_with = "blank_is_none")]
    conflicts: Option<bool>,
    #[serde(default, deserialize_with = "blank_is_none")]
    after: Option<StudentId>,
    #[serde(default, deserialize_with = "blank_is_none")]
    before: Option<StudentId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owing {
    Due,
    Overdue,
}

impl std::str::FromStr for Owing {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "due" => Ok(Owing::Due),
            "overdue" => Ok(Owing::Overdue),
            _ => Err("expected due or overdue"),
        }
    }
}

impl ListQuery {
    fn page(&self, students: Care) -> StudentPageQuery {
        StudentPageQuery {
            students,
            township: self.township.clone(),
            village: self.village.clone(),
            school: self.school,
            status: self.status,
            owing: self.owing.map(|o| o == Owing::Overdue),
            conflicted: self.conflicts == Some(true),
            from: match (self.after, self.before) {
                (Some(s), _) => StudentFrom::After(s),
                (None, Some(s)) => StudentFrom::Before(s),
                (None, None) => StudentFrom::Start,
            },
            limit: PAGE,
        }
    }

    /// This query's filters in a link, with `key=student` for the page.
    fn link(&self, key: &str, student: StudentId) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                q.append_pair(k, &v);
            }
        };
        put("township", self.township.clone());
        put("village", self.village.clone());
        put("school", self.school.map(|s| s.to_string()));
        put("status", self.status.map(|s| s.code().to_string()));
        put(
            "owing",
            self.owing.map(|o| match o {
                Owing::Due => "due".to_string(),
                Owing::Overdue => "overdue".to_string(),
            }),
        );
        put("conflicts", self.conflicts.map(|c| c.to_string()));
        put(key, Some(student.to_string()));
        format!("/console/students?{}", q.finish())
    }
}

/// `/console/students`: a page of the list, its counts, links to each file.
pub(super) async fn list(
    State(st): State<AppState>,
    Reviewer(session): Reviewer,
    AppQuery(q): AppQuery<ListQuery>,
) -> ConsoleResult {
    let (settings, terms) = (st.evidence, st.terms.clone());
    let user = session.user.clone();
    let asked = q.page(Care::default());
    let (page, schools) = st
        .blocking(move |s| {
            crate::readmodel::catch_up(s, &settings, &terms)?;
            let students = s.care(&user)?;
            let page = s.student_page(&StudentPageQuery { students, ..asked })?;
            Ok((page, s.schools()?))
        })
        .await?;
    let school_names: HashMap<SchoolId, &str> =
        schools.iter().map(|s| (s.id, s.name.as_str())).collect();
    let sel = |v: Option<&str>, x: &str| v == Some(x);
    let owing = q.owing.map(|o| match o {
        Owing::Due => "due",
        Owing::Overdue => "overdue",
    });
    let body = html! {
        h1 { "学生名册" }
        p.muted #student-counts { "共 " (page.in_scope) " 名学生；当前筛选 " (page.matching) " 名，其中有待办 " (page.owing) " 名、有逾期 " (page.overdue) " 名。" }
        form.filters method="get" action="/console/students" {
            label { "乡镇" select name="township" {
                option value="" { "全部" }
                @for t in &page.townships { option value=(t) selected[sel(q.township.as_deref(), t)] { (t) } }
            } }
            label { "村" input name="village" value=[q.village.as_deref()] placeholder="村名"; }
            label { "学校" select name="school" {
                option value="" { "全部" }
                @for sc in &schools { option value=(sc.id.to_string()) selected[q.school == Some(sc.id)] { (sc.name) } }
            } }
            label { "学籍状态" select name="status" {
                option value="" { "全部" }
                @for &s in EnrolmentStatus::ALL { option value=(s.code()) selected[q.status == Some(s)] { (s.zh()) } }
            } }
            label { "待办" select name="owing" #owing-filter {
                option value="" { "全部" }
                option value="due" selected[owing == Some("due")] { "有待办" }
                option value="overdue" selected[owing == Some("overdue")] { "有逾期" }
            } }
            label { input type="checkbox" name="conflicts" value="true" checked[q.conflicts == Some(true)]; "有待裁决的冲突" }
            button type="submit" #apply-filters { "筛选" }
        }
        table #students {
            thead { tr { th { "姓名" } th { "学校" } th { "乡镇 / 村" } th { "学籍状态" } th { "待办（逾期）" } th { "冲突" } th { "缺证据" } th { "最近走访" } } }
            tbody {
                @for r in &page.rows {
                    tr data-student=(r.student.to_string()) {
                        td { a href=(format!("/console/students/{}", r.student)) { (r.name) } }
                        td { (r.school.and_then(|s| school_names.get(&s).copied()).unwrap_or("")) }
                        td { (r.township) " " (r.village) }
                        td { (r.status.map(|s| s.zh()).unwrap_or("")) }
                        td.num { (r.due) @if r.overdue > 0 { span.flag { "（" (r.overdue) "）" } } }
                        td.num { (r.conflicts) }
                        td.num { (r.missing) }
                        td { (r.last_visit.map(format_zh).unwrap_or_default()) }
                    }
                }
            }
        }
        nav.pages {
            @if let (true, Some(first)) = (page.more_before, page.rows.first()) {
                a #prev-page href=(q.link("before", first.student)) { "上一页" }
            }
            @if let (true, Some(last)) = (page.more_after, page.rows.last()) {
                a #next-page href=(q.link("after", last.student)) { "下一页" }
            }
        }
    };
    Ok(layout("学生名册", Some(&session), body).into_response())
}
