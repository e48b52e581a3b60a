//! Students in the caller's care: the filtered list, and one student's file (一生一案).

use crate::error::ApiError;
use crate::extract::{AppPath, AppQuery};
use crate::session::Authed;
use crate::state::AppState;
use crate::store::StudentRow;
use axum::Json;
use axum::extract::State;
use baoxue_shared::file::StudentFile;
use baoxue_shared::ids::{SchoolId, StudentId};
use baoxue_shared::observation::Sha256;
use baoxue_shared::people::FocusGroup;
use baoxue_shared::status::EnrolmentStatus;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// List filters; all optional, combined with AND.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    pub status: Option<EnrolmentStatus>,
    pub school: Option<SchoolId>,
    pub village: Option<String>,
    pub focus: Option<FocusGroup>,
    /// Only students with overdue work (a follow-up, a home visit, a subsidy check).
    #[serde(default)]
    pub overdue: bool,
}

pub(super) async fn list(
    State(st): State<AppState>,
    Authed(session): Authed,
    AppQuery(q): AppQuery<ListQuery>,
) -> Result<Json<Vec<StudentRow>>, ApiError> {
    let terms = st.terms.clone();
    let rows = st
        .blocking(move |s| {
            let cl = s.caseload(&session.user)?;
            let ids: HashSet<StudentId> = cl.students.keys().copied().collect();
            let mut rows: Vec<StudentRow> = s
                .student_rows(&ids)?
                .into_iter()
                .filter(|r| q.status.is_none_or(|x| r.status == Some(x)))
                .filter(|r| q.school.is_none_or(|x| r.school == Some(x)))
                .filter(|r| {
                    q.village
                        .as_ref()
                        .is_none_or(|x| r.village.as_ref() == Some(x))
                })
                .filter(|r| q.focus.is_none_or(|x| r.focus_groups.contains(&x)))
                .collect();
            if q.overdue {
                let now = Utc::now();
                let mut keep = Vec::new();
                for r in rows {
                    if crate::files::build(s, r.id, &terms, now)?
                        .due
                        .iter()
                        .any(|d| d.is_overdue())
                    {
                        keep.push(r);
                    }
                }
                rows = keep;
            }
            Ok(rows)
        })
        .await?;
    Ok(Json(rows))
}

/// A photo the file refers to, with where to fetch it.
#[derive(Debug, Serialize)]
pub struct PhotoLink {
    pub sha256: Sha256,
    pub present: bool,
    pub url: String,
    pub thumb_url: String,
}

/// A student's file with links to its photos.
#[derive(Debug, Serialize)]
pub struct FileResponse {
    pub file: StudentFile,
    pub photos: Vec<PhotoLink>,
}

pub(super) async fn file(
    State(st): State<AppState>,
    Authed(session): Authed,
    AppPath(student): AppPath<StudentId>,
) -> Result<Json<FileResponse>, ApiError> {
    let terms = st.terms.clone();
    let resp = st
        .blocking(move |s| {
            let file = crate::files::open_for(
                s,
                &session,
                student,
                crate::store::AccessAction::FileView,
                &terms,
                Utc::now(),
            )?;
            let mut hashes: Vec<Sha256> = file
                .timeline
                .iter()
                .filter_map(|e| match &e.event {
                    baoxue_shared::file::Event::Visit { visit, .. } => {
                        Some(visit.photos.iter().map(|p| p.sha256))
                    }
                    _ => None,
                })
                .flatten()
                .collect();
            hashes.sort();
            hashes.dedup();
            let present = s.photos_present(&hashes)?;
            let photos = hashes
                .into_iter()
                .map(|h| PhotoLink {
                    present: present.contains(&h),
                    url: format!("/api/photos/{h}"),
                    thumb_url: format!("/api/photos/{h}/thumb"),
                    sha256: h,
                })
                .collect();
            Ok(FileResponse { file, photos })
        })
        .await?;
    Ok(Json(resp))
}
