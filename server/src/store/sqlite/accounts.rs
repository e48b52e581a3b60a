//! Accounts, assignments and tokens.

use super::{corrupt, next_counter, parse_id, parse_time};
use crate::store::{Account, Session, StoreError, TokenRecord};
use baoxue_shared::ids::UserId;
use baoxue_shared::people::{Assignment, Role, School, User};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row};

fn role_text(r: Role) -> String {
    r.code().to_string()
}

fn parse_role(s: &str) -> Result<Role, StoreError> {
    s.parse().map_err(|e| corrupt("role", e))
}

/// `(kind, target)` as stored.
pub(super) fn assignment_key(a: &Assignment) -> (&'static str, String) {
    match a {
        Assignment::Student { student } => ("student", student.to_string()),
        Assignment::Household { household } => ("household", household.to_string()),
        Assignment::School { school } => ("school", school.to_string()),
        Assignment::Area { area } => (
            "area",
            serde_json::to_string(area).expect("areas serialize"),
        ),
    }
}

pub(super) fn parse_assignment(kind: &str, target: &str) -> Result<Assignment, StoreError> {
    Ok(match kind {
        "student" => Assignment::Student {
            student: parse_id(target)?,
        },
        "household" => Assignment::Household {
            household: parse_id(target)?,
        },
        "school" => Assignment::School {
            school: parse_id(target)?,
        },
        "area" => Assignment::Area {
            area: serde_json::from_str(target).map_err(|e| corrupt("area", e))?,
        },
        other => return Err(corrupt("assignment kind", other)),
    })
}

pub(super) fn assignments_of(c: &Connection, user: UserId) -> Result<Vec<Assignment>, StoreError> {
    let mut st =
        c.prepare_cached("SELECT kind, target FROM assignments WHERE user = ?1 ORDER BY version")?;
    let rows = st.query_map([user.to_string()], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    rows.map(|r| {
        let (k, t) = r?;
        parse_assignment(&k, &t)
    })
    .collect()
}

fn user_from_row(c: &Connection, r: &Row) -> Result<(User, String, bool), StoreError> {
    let id: UserId = parse_id(&r.get::<_, String>(0)?)?;
    let user = User {
        id,
        account: r.get(1)?,
        name: r.get(2)?,
        role: parse_role(&r.get::<_, String>(3)?)?,
        assignments: assignments_of(c, id)?,
    };
    Ok((user, r.get(4)?, r.get::<_, i64>(5)? != 0))
}

const USER_COLS: &str = "id, account, name, role, password_hash, disabled";

pub(super) fn add(c: &Connection, user: &User, hash: &str) -> Result<(), StoreError> {
    let taken: bool = c
        .query_row(
            "SELECT 1 FROM users WHERE account = ?1",
            [&user.account],
            |_| Ok(true),
        )
        .optional()?
        .unwrap_or(false);
    if taken {
        return Err(StoreError::AccountExists(user.account.clone()));
    }
    c.execute(
        "INSERT INTO users(id, account, name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        (user.id.to_string(), &user.account, &user.name, role_text(user.role), hash, Utc::now().to_rfc3339()),
    )?;
    for a in &user.assignments {
        assign(c, user.id, a)?;
    }
    Ok(())
}

pub(super) fn by_account(c: &Connection, account: &str) -> Result<Option<Account>, StoreError> {
    let mut st = c.prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE account = ?1"))?;
    let mut rows = st.query([account])?;
    match rows.next()? {
        Some(r) => {
            let (user, password_hash, disabled) = user_from_row(c, r)?;
            Ok(Some(Account {
                user,
                password_hash,
                disabled,
            }))
        }
        None => Ok(None),
    }
}

pub(super) fn by_id(c: &Connection, id: UserId) -> Result<Option<User>, StoreError> {
    let mut st = c.prepare_cached(&format!("SELECT {USER_COLS} FROM users WHERE id = ?1"))?;
    let mut rows = st.query([id.to_string()])?;
    match rows.next()? {
        Some(r) => Ok(Some(user_from_row(c, r)?.0)),
        None => Ok(None),
    }
}

pub(super) fn all(c: &Connection) -> Result<Vec<User>, StoreError> {
    let mut st = c.prepare_cached(&format!("SELECT {USER_COLS} FROM users ORDER BY account"))?;
    let mut rows = st.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(user_from_row(c, r)?.0);
    }
    Ok(out)
}

pub(super) fn set_password(c: &Connection, account: &str, hash: &str) -> Result<(), StoreError> {
    let id: Option<String> = c
        .query_row("SELECT id FROM users WHERE account = ?1", [account], |r| {
            r.get(0)
        })
        .optional()?;
    let id = id.ok_or_else(|| StoreError::NoSuchAccount(account.to_string()))?;
    c.execute(
        "UPDATE users SET password_hash = ?1 WHERE id = ?2",
        (hash, &id),
    )?;
    // A reset password ends every session of the account: the old phone may be the lost one.
    c.execute(
        "UPDATE tokens SET revoked_at = ?1 WHERE user = ?2 AND revoked_at IS NULL",
        (Utc::now().to_rfc3339(), &id),
    )?;
    Ok(())
}

pub(super) fn assign(c: &Connection, user: UserId, a: &Assignment) -> Result<(), StoreError> {
    let (kind, target) = assignment_key(a);
    let exists: Option<i64> = c
        .query_row(
            "SELECT version FROM assignments WHERE user = ?1 AND kind = ?2 AND target = ?3",
            (user.to_string(), kind, &target),
            |r| r.get(0),
        )
        .optional()?;
    if exists.is_none() {
        let v = next_counter(c, "scope")?;
        c.execute(
            "INSERT INTO assignments(user, kind, target, version) VALUES (?1, ?2, ?3, ?4)",
            (user.to_string(), kind, target, v),
        )?;
    }
    Ok(())
}

pub(super) fn unassign(c: &Connection, user: UserId, a: &Assignment) -> Result<(), StoreError> {
    let (kind, target) = assignment_key(a);
    c.execute(
        "DELETE FROM assignments WHERE user = ?1 AND kind = ?2 AND target = ?3",
        (user.to_string(), kind, target),
    )?;
    Ok(())
}

pub(super) fn save_token(c: &Connection, t: &TokenRecord) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO tokens(hash, user, device, issued_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        (
            &t.hash[..],
            t.user.to_string(),
            t.device.to_string(),
            t.issued_at.to_rfc3339(),
            t.expires_at.to_rfc3339(),
        ),
    )?;
    Ok(())
}

pub(super) fn session(
    c: &Connection,
    hash: &[u8; 32],
    now: DateTime<Utc>,
) -> Result<Option<Session>, StoreError> {
    let row: Option<(String, String, String)> = c
        .query_row(
            "SELECT t.user, t.device, t.expires_at FROM tokens t JOIN users u ON u.id = t.user
             WHERE t.hash = ?1 AND t.revoked_at IS NULL AND u.disabled = 0",
            [&hash[..]],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((user, device, expires)) = row else {
        return Ok(None);
    };
    let expires_at = parse_time(&expires)?;
    if expires_at <= now {
        return Ok(None);
    }
    let Some(user) = by_id(c, parse_id(&user)?)? else {
        return Ok(None);
    };
    Ok(Some(Session {
        user,
        device: parse_id(&device)?,
        expires_at,
    }))
}

pub(super) fn revoke(
    c: &Connection,
    hash: &[u8; 32],
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let n = c.execute(
        "UPDATE tokens SET revoked_at = ?1 WHERE hash = ?2 AND revoked_at IS NULL",
        (now.to_rfc3339(), &hash[..]),
    )?;
    Ok(n > 0)
}

pub(super) fn save_school(c: &Connection, sc: &School) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO schools(id, name, area) VALUES (?1, ?2, ?3) ON CONFLICT(id) DO UPDATE SET name = ?2, area = ?3",
        (
            sc.id.to_string(),
            &sc.name,
            serde_json::to_string(&sc.area).map_err(|e| corrupt("area", e))?,
        ),
    )?;
    Ok(())
}
