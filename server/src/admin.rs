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
    /// Import students from .xlsx or .csv.
    Import {
        file: PathBuf,
        /// Import the good rows even if some rows are bad.
        #[arg(long)]
        partial: bool,
    },
    /// Export the roster to .xlsx.
    Export { file: PathBuf },
}

/// Run an account command.
pub fn user(data_dir: &Path, cmd: UserCommand) -> Result<(), Box<dyn std::error::Error>> {
    let (store, _) = crate::open(data_dir)?;
    match cmd {
        UserCommand::Add {
            account,
            name,
            role,
            password,
        } => {
            let role: baoxue_shared::people::Role =
                serde_json::from_value(serde_json::Value::String(role.clone()))
                    .map_err(|_| format!("unknown role {role}"))?;
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
        UserCommand::ResetPassword { account, password } => {
            store.set_password(&account, &crate::auth::hash_password(&password)?)?;
            println!("已重置密码 password reset for {account}; its devices must log in again");
        }
    }
    store.close();
    Ok(())
}

/// Run a roster command.
pub fn roster(_data_dir: &Path, _cmd: RosterCommand) -> Result<(), Box<dyn std::error::Error>> {
    Err("roster import/export is not built yet".into())
}

/// Verify the audit chains; prints the report, returns whether it was clean.
pub fn verify_audit(data_dir: &Path) -> Result<bool, Box<dyn std::error::Error>> {
    let (store, _) = crate::open(data_dir)?;
    let r = store.verify_chains()?;
    println!(
        "学生 {} 名，链节 {} 个 students {}, links {}",
        r.students, r.links, r.students, r.links
    );
    for f in &r.faults {
        println!("  ✗ 学生 {} 第{}节: {}", f.student, f.position, f.problem);
    }
    if r.faults.is_empty() {
        println!("审计链完整 all chains intact");
    }
    store.close();
    Ok(r.faults.is_empty())
}
