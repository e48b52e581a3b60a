//! Students in the caller's care: the filtered list, and one student's file (一生一案).

use crate::error::ApiError;
use crate::extract::{AppPath, AppQuery};
use crate::session::Authed;
use crate::state::AppState;
use crate::store::StudentRow;
use axum::Json;
use axum::extract::State;
use baoxue_shared::api::{FileResponse, PhotoLink, StudentQuery};
use baoxue_shared::ids::StudentId;
use baoxue_shared::observation::Sha256;
use chrono::Utc;
use std::collections::HashSet;

pub(super) async fn list(
    State(st): State<AppState>,
    Authed(session): Authed,
    AppQuery(q): AppQuery<StudentQuery>,
) -> Result<Json<Vec<StudentRow>>, ApiError> {
    let (settings, terms) = (st.evidence, st.terms.clone());
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
                // The files' summaries, kept current, say who owes overdue work.
                crate::readmodel::catch_up(s, &settings, &terms)?;
                let listed: Vec<StudentId> = rows.iter().map(|r| r.id).collect();
                let overdue: HashSet<StudentId> =
                    s.overdue_students(&listed)?.into_iter().collect();
                rows.retain(|r| overdue.contains(&r.id));
            }
            Ok(rows)
        })
        .await?;
    Ok(Json(rows))
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
