//! The access log: who looked at which child's file or took which ledger, when, from which
//! device — hash-chained like the op log, so an entry altered or removed in the database shows
//! in `verify-audit`.

use super::db::{Db, Row, p};
use super::{corrupt, parse_id, parse_time};
use crate::store::{AccessAction, AccessEntry, AccessFault, StoreError};
use baoxue_shared::ids::UserId;
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

pub(super) fn append(c: &dyn Db, e: &AccessEntry) -> Result<(), StoreError> {
    let last = c.query_opt(
        "SELECT seq, hash FROM access_log ORDER BY seq DESC LIMIT 1",
        p![],
    )?;
    let (seq, prev) = match last {
        Some(r) => (r.int(0)? + 1, r.blob(1)?),
        None => (1, Vec::new()),
    };
    c.execute(
        r#"INSERT INTO access_log(seq, at, "user", device, action, subject, hash) VALUES ($1, $2, $3, $4, $5, $6, $7)"#,
        p![
            seq,
            e.at.to_rfc3339(),
            e.user.to_string(),
            e.device.to_string(),
            action_code(e.action),
            &e.subject,
            link(&prev, seq, e),
        ],
    )?;
    // The count kept beside the chain tells a removed last entry from a short log.
    c.execute(
        "INSERT INTO counters(name, value) VALUES ('access_log', 1)
         ON CONFLICT(name) DO UPDATE SET value = counters.value + 1",
        p![],
    )?;
    Ok(())
}

/// One stored line: seq, at, user, device, action, subject, hash.
const COLS: &str = r#"seq, at, "user", device, action, subject, hash"#;

fn entry(r: &Row) -> Result<AccessEntry, StoreError> {
    Ok(AccessEntry {
        at: parse_time(&r.text(1)?)?,
        user: parse_id(&r.text(2)?)?,
        device: parse_id(&r.text(3)?)?,
        action: action_of(&r.text(4)?)?,
        subject: r.text(5)?,
    })
}

/// The newest `limit` entries, newest first, optionally only about `subject` or by `user`.
pub(super) fn list(
    c: &dyn Db,
    subject: Option<&str>,
    user: Option<UserId>,
    limit: usize,
) -> Result<Vec<AccessEntry>, StoreError> {
    // One statement per combination, so each engine plans it with the index it can use.
    let rows = match (subject, user) {
        (Some(s), Some(u)) => c.query(
            &format!(r#"SELECT {COLS} FROM access_log WHERE subject = $1 AND "user" = $2 ORDER BY seq DESC LIMIT $3"#),
            p![s, u.to_string(), limit as i64],
        )?,
        (Some(s), None) => c.query(
            &format!("SELECT {COLS} FROM access_log WHERE subject = $1 ORDER BY seq DESC LIMIT $2"),
            p![s, limit as i64],
        )?,
        (None, Some(u)) => c.query(
            &format!(r#"SELECT {COLS} FROM access_log WHERE "user" = $1 ORDER BY seq DESC LIMIT $2"#),
            p![u.to_string(), limit as i64],
        )?,
        (None, None) => c.query(
            &format!("SELECT {COLS} FROM access_log ORDER BY seq DESC LIMIT $1"),
            p![limit as i64],
        )?,
    };
    rows.iter().map(entry).collect()
}

/// Recompute the chain; returns how many entries it holds and what is wrong with it.
pub(super) fn verify(c: &dyn Db) -> Result<(usize, Vec<AccessFault>), StoreError> {
    let mut faults = Vec::new();
    let mut prev: Vec<u8> = Vec::new();
    let mut expected = 1;
    let mut n = 0;
    c.each(
        &format!("SELECT {COLS} FROM access_log ORDER BY seq"),
        p![],
        &mut |r| {
            n += 1;
            let seq = r.int(0)?;
            let hash = r.blob(6)?;
            if seq != expected {
                faults.push(AccessFault {
                    seq: expected,
                    problem: format!("access log entries {expected}–{} are missing", seq - 1),
                });
            }
            match entry(&r) {
                Ok(e) if link(&prev, seq, &e) == hash => {}
                _ => faults.push(AccessFault {
                    seq,
                    problem: format!("access log entry {seq} has been altered"),
                }),
            }
            prev = hash;
            expected = seq + 1;
            Ok(())
        },
    )?;
    let counted = c
        .query_opt("SELECT value FROM counters WHERE name = 'access_log'", p![])?
        .map(|r| r.int(0))
        .transpose()?
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
