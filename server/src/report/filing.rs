//! Filing a month's report for a unit, and reading a unit's month back: the authorisation and
//! the stored figures, for whichever front end asks.

use super::monthly::{self, Figures, ReportScope, month_key};
use crate::store::{ReportFiling, Store, StoreError};
use baoxue_shared::people::User;
use baoxue_shared::time::ReportMonth;
use chrono::{DateTime, Utc};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Filed only for one's own unit; read only for one's unit and units inside it.
    #[error("this report is not {0}")]
    NotYours(&'static str),
    /// The figures could not be written down as JSON to be stored with the filing.
    #[error("the figures could not be encoded: {0}")]
    Encode(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Files `user`'s report for `scope` and `month`: the figures of the read models, caught up
/// by the caller after `cut`, are stored with the cut, so the filing reads back the same
/// whatever arrives later (what arrives later shows as amendments).
pub fn file(
    s: &dyn Store,
    user: &User,
    scope: &ReportScope,
    month: ReportMonth,
    cut: DateTime<Utc>,
) -> Result<(), ReportError> {
    if !monthly::may_file(user, scope) {
        return Err(ReportError::NotYours("your unit's to file"));
    }
    let figures = current(s, user, scope, month)?;
    s.file_report(&ReportFiling {
        scope: scope.key(),
        month: month_key(month),
        cut,
        filed_by: user.id,
        figures: serde_json::to_string(&figures).map_err(|e| ReportError::Encode(e.to_string()))?,
    })?;
    Ok(())
}

/// `scope`'s figures for `month` over everything received so far, for `user`'s children.
pub fn current(
    s: &dyn Store,
    user: &User,
    scope: &ReportScope,
    month: ReportMonth,
) -> Result<Figures, ReportError> {
    let students = s.care(user)?;
    Ok(monthly::figures_now(
        s,
        monthly::unit(students, scope),
        month,
    )?)
}

/// The figures a filing stored.
pub fn filed_figures(filing: &ReportFiling) -> Result<Figures, ReportError> {
    serde_json::from_str(&filing.figures)
        .map_err(|e| ReportError::Store(StoreError::Corrupt(format!("filed figures: {e}"))))
}
