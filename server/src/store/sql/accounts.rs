//! Accounts, assignments and tokens.

use super::db::{Db, Row, p};
use super::{corrupt, next_counter, parse_id, parse_time};
use crate::store::{Account, Session, StoreError, TokenRecord};
use baoxue_shared::ids::UserId;
use baoxue_shared::people::{Assignment, Role, School, User};
use chrono::{DateTime, Utc};

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

pub(super) fn assignments_of(c: &dyn Db, user: UserId) -> Result<Vec<Assignment>, StoreError> {
    c.query(
        r#"SELECT kind, target FROM assignments WHERE "user" = $1 ORDER BY version"#,
        p![user.to_string()],
    )?
    .into_iter()
    .map(|r| parse_assignment(&r.text(0)?, &r.text(1)?))
    .collect()
}

fn user_from_row(c: &dyn Db, r: &Row) -> Result<(User, String, bool), StoreError> {
    let id: UserId = parse_id(&r.text(0)?)?;
    let user = User {
        id,
        account: r.text(1)?,
        name: r.text(2)?,
        role: parse_role(&r.text(3)?)?,
        assignments: assignments_of(c, id)?,
    };
    Ok((user, r.text(4)?, r.flag(5)?))
}

const USER_COLS: &str = "id, account, name, role, password_hash, disabled";

pub(super) fn add(c: &dyn Db, user: &User, hash: &str) -> Result<(), StoreError> {
    let taken = c
        .query_opt("SELECT 1 FROM users WHERE account = $1", p![&user.account])?
        .is_some();
    if taken {
        return Err(StoreError::AccountExists(user.account.clone()));
    }
    c.execute(
        "INSERT INTO users(id, account, name, role, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        p![user.id.to_string(), &user.account, &user.name, role_text(user.role), hash, Utc::now().to_rfc3339()],
    )?;
    for a in &user.assignments {
        assign(c, user.id, a)?;
    }
    Ok(())
}

pub(super) fn by_account(c: &dyn Db, account: &str) -> Result<Option<Account>, StoreError> {
    let Some(r) = c.query_opt(
        &format!("SELECT {USER_COLS} FROM users WHERE account = $1"),
        p![account],
    )?
    else {
        return Ok(None);
    };
    let (user, password_hash, disabled) = user_from_row(c, &r)?;
    Ok(Some(Account {
        user,
        password_hash,
        disabled,
    }))
}

pub(super) fn by_id(c: &dyn Db, id: UserId) -> Result<Option<User>, StoreError> {
    c.query_opt(
        &format!("SELECT {USER_COLS} FROM users WHERE id = $1"),
        p![id.to_string()],
    )?
    .map(|r| Ok(user_from_row(c, &r)?.0))
    .transpose()
}

pub(super) fn all(c: &dyn Db) -> Result<Vec<User>, StoreError> {
    c.query(
        &format!("SELECT {USER_COLS} FROM users ORDER BY account"),
        p![],
    )?
    .iter()
    .map(|r| Ok(user_from_row(c, r)?.0))
    .collect()
}

pub(super) fn set_password(c: &dyn Db, account: &str, hash: &str) -> Result<(), StoreError> {
    let id = c
        .query_opt("SELECT id FROM users WHERE account = $1", p![account])?
        .ok_or_else(|| StoreError::NoSuchAccount(account.to_string()))?
        .text(0)?;
    c.execute(
        "UPDATE users SET password_hash = $1 WHERE id = $2",
        p![hash, &id],
    )?;
    // A reset password ends every session of the account: the old phone may be the lost one.
    c.execute(
        r#"UPDATE tokens SET revoked_at = $1 WHERE "user" = $2 AND revoked_at IS NULL"#,
        p![Utc::now().to_rfc3339(), &id],
    )?;
    Ok(())
}

pub(super) fn assign(c: &dyn Db, user: UserId, a: &Assignment) -> Result<(), StoreError> {
    let (kind, target) = assignment_key(a);
    let exists = c
        .query_opt(
            r#"SELECT version FROM assignments WHERE "user" = $1 AND kind = $2 AND target = $3"#,
            p![user.to_string(), kind, &target],
        )?
        .is_some();
    if !exists {
        let v = next_counter(c, "scope")?;
        c.execute(
            r#"INSERT INTO assignments("user", kind, target, version) VALUES ($1, $2, $3, $4)"#,
            p![user.to_string(), kind, target, v],
        )?;
    }
    Ok(())
}

pub(super) fn unassign(c: &dyn Db, user: UserId, a: &Assignment) -> Result<(), StoreError> {
    let (kind, target) = assignment_key(a);
    c.execute(
        r#"DELETE FROM assignments WHERE "user" = $1 AND kind = $2 AND target = $3"#,
        p![user.to_string(), kind, target],
    )?;
    Ok(())
}

pub(super) fn save_token(c: &dyn Db, t: &TokenRecord) -> Result<(), StoreError> {
    c.execute(
        r#"INSERT INTO tokens(hash, "user", device, issued_at, expires_at) VALUES ($1, $2, $3, $4, $5)"#,
        p![
            &t.hash[..],
            t.user.to_string(),
            t.device.to_string(),
            t.issued_at.to_rfc3339(),
            t.expires_at.to_rfc3339(),
        ],
    )?;
    Ok(())
}

pub(super) fn session(
    c: &dyn Db,
    hash: &[u8; 32],
    now: DateTime<Utc>,
) -> Result<Option<Session>, StoreError> {
    let Some(r) = c.query_opt(
        r#"SELECT t."user", t.device, t.expires_at FROM tokens t JOIN users u ON u.id = t."user"
           WHERE t.hash = $1 AND t.revoked_at IS NULL AND u.disabled = 0"#,
        p![&hash[..]],
    )?
    else {
        return Ok(None);
    };
    let expires_at = parse_time(&r.text(2)?)?;
    if expires_at <= now {
        return Ok(None);
    }
    let Some(user) = by_id(c, parse_id(&r.text(0)?)?)? else {
        return Ok(None);
    };
    Ok(Some(Session {
        user,
        device: parse_id(&r.text(1)?)?,
        expires_at,
    }))
}

pub(super) fn revoke(c: &dyn Db, hash: &[u8; 32], now: DateTime<Utc>) -> Result<bool, StoreError> {
    let n = c.execute(
        "UPDATE tokens SET revoked_at = $1 WHERE hash = $2 AND revoked_at IS NULL",
        p![now.to_rfc3339(), &hash[..]],
    )?;
    Ok(n > 0)
}

pub(super) fn save_school(c: &dyn Db, sc: &School) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO schools(id, name, area) VALUES ($1, $2, $3) ON CONFLICT(id) DO UPDATE SET name = $2, area = $3",
        p![
            sc.id.to_string(),
            &sc.name,
            serde_json::to_string(&sc.area).map_err(|e| corrupt("area", e))?,
        ],
    )?;
    Ok(())
}
