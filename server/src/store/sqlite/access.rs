//! The access log: who looked at which child's file or took which ledger, when, from which
//! device — hash-chained like the op log, so an entry altered or removed in the database shows
//! in `verify-audit`.

use super::{corrupt, parse_id, parse_time};
use crate::store::{AccessAction, AccessEntry, AccessFault, StoreError};
use baoxue_shared::ids::UserId;
use rusqlite::{Connection, OptionalExtension};
use sha2::{Digest, Sha256};

fn action_code(a: AccessAction) -> &'static str {
    match a {
        AccessAction::FileView => "file_view",
        AccessAction::FilePdf => "file_pdf",
        AccessAction::LedgerExport => "ledger_export",
    }
}

fn action_of(code: &str) -> Result<AccessAction, StoreError> {
    Ok(match code {
        "file_view" => AccessAction::FileView,
        "file_pdf" => AccessAction::FilePdf,
        "ledger_export" => AccessAction::LedgerExport,
        other => return Err(corrupt("access action", other)),
    })
}

/// The entry as hashed: every column but the hash, in a fixed order.
fn canonical(seq: i64, e: &AccessEntry) -> String {
    format!(
        "{seq}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
        e.at.to_rfc3339(),
        e.user,
        e.device,
        action_code(e.action),
        e.subject
    )
}

fn link(prev: &[u8], seq: i64, e: &AccessEntry) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(prev);
    h.update(canonical(seq, e).as_bytes());
    h.finalize().to_vec()
}

pub(super) fn append(c: &Connection, e: &AccessEntry) -> Result<(), StoreError> {
    let last: Option<(i64, Vec<u8>)> = c
        .query_row(
            "SELECT seq, hash FROM access_log ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (seq, prev) = match last {
        Some((s, h)) => (s + 1, h),
        None => (1, Vec::new()),
    };
    c.execute(
        "INSERT INTO access_log(seq, at, user, device, action, subject, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        (
            seq,
            e.at.to_rfc3339(),
            e.user.to_string(),
            e.device.to_string(),
            action_code(e.action),
            &e.subject,
            link(&prev, seq, e),
        ),
    )?;
    // The count kept beside the chain tells a removed last entry from a short log.
    c.execute(
        "INSERT INTO counters(name, value) VALUES ('access_log', 1)
         ON CONFLICT(name) DO UPDATE SET value = value + 1",
        [],
    )?;
    Ok(())
}

/// One stored line: seq, at, user, device, action, subject, hash.
type Row = (i64, String, String, String, String, String, Vec<u8>);

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn entry((_, at, user, device, action, subject, _): &Row) -> Result<AccessEntry, StoreError> {
    Ok(AccessEntry {
        at: parse_time(at)?,
        user: parse_id(user)?,
        device: parse_id(device)?,
        action: action_of(action)?,
        subject: subject.clone(),
    })
}

/// The newest `limit` entries, newest first, optionally only about `subject` or by `user`.
pub(super) fn list(
    c: &Connection,
    subject: Option<&str>,
    user: Option<UserId>,
    limit: usize,
) -> Result<Vec<AccessEntry>, StoreError> {
    let mut st = c.prepare_cached(
        "SELECT seq, at, user, device, action, subject, hash FROM access_log
         WHERE (?1 IS NULL OR subject = ?1) AND (?2 IS NULL OR user = ?2)
         ORDER BY seq DESC LIMIT ?3",
    )?;
    let rows = st.query_map((subject, user.map(|u| u.to_string()), limit as i64), row)?;
    rows.map(|r| entry(&r?)).collect()
}

/// Recompute the chain; returns how many entries it holds and what is wrong with it.
pub(super) fn verify(c: &Connection) -> Result<(usize, Vec<AccessFault>), StoreError> {
    let mut st = c.prepare(
        "SELECT seq, at, user, device, action, subject, hash FROM access_log ORDER BY seq",
    )?;
    let mut faults = Vec::new();
    let mut prev: Vec<u8> = Vec::new();
    let mut expected = 1;
    let mut n = 0;
    for r in st.query_map([], row)? {
        let r = r?;
        n += 1;
        let seq = r.0;
        if seq != expected {
            faults.push(AccessFault {
                seq: expected,
                problem: format!("access log entries {expected}–{} are missing", seq - 1),
            });
        }
        match entry(&r) {
            Ok(e) if link(&prev, seq, &e) == r.6 => {}
            _ => faults.push(AccessFault {
                seq,
                problem: format!("access log entry {seq} has been altered"),
            }),
        }
        prev = r.6.clone();
        expected = seq + 1;
    }
    let counted: i64 = c
        .query_row(
            "SELECT value FROM counters WHERE name = 'access_log'",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    if counted > expected - 1 {
        faults.push(AccessFault {
            seq: expected,
            problem: format!(
                "access log entries {expected}–{counted} have been removed from its end"
            ),
        });
    }
    Ok((n, faults))
}
