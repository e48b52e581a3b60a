//! `baoxue-server`: parse the command line and call the library.

use baoxue_server::{Settings, admin, demo, shutdown_signal};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "baoxue-server", version, about = "保学 Baoxue sync server")]
struct Cli {
    /// Where the database and photos live.
    #[arg(long, env = "BAOXUE_DATA_DIR", default_value = "./data", global = true)]
    data_dir: PathBuf,
    /// Keep the records in this PostgreSQL database (postgres://user:password@host/db) instead
    /// of SQLite in the data directory; photos stay in the data directory.
    #[arg(long, env = "BAOXUE_DATABASE", global = true)]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the server.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "BAOXUE_ADDR", default_value = "127.0.0.1:8080")]
        addr: String,
        /// Seed the demo county first if the database is empty.
        #[arg(long)]
        demo: bool,
        /// The review queue flags a visit further than this from the household (metres).
        #[arg(long, env = "BAOXUE_MAX_DISTANCE_M", default_value_t = 500.0)]
        max_distance_m: f64,
        /// The built phone app to serve at /app/ (`scripts/build-web.sh` builds it here).
        #[arg(long, env = "BAOXUE_WEB_APP", default_value = "app/web/dist")]
        web_app: PathBuf,
        /// Terminate TLS with this certificate chain (PEM); phones need https off localhost.
        #[arg(long, env = "BAOXUE_TLS_CERT", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM).
        #[arg(long, env = "BAOXUE_TLS_KEY", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Seed the demo county (if the database is empty).
    Demo,
    /// Manage accounts.
    #[command(subcommand)]
    User(admin::UserCommand),
    /// Import or export the student roster (.xlsx or .csv with the registry's Chinese headers).
    #[command(subcommand)]
    Roster(admin::RosterCommand),
    /// A county's townships and villages, for placing addresses in rosters.
    #[command(subcommand)]
    Divisions(admin::DivisionsCommand),
    /// Records a phone set aside and exported for the admin.
    #[command(subcommand)]
    Ops(admin::OpsCommand),
    /// Verify every student's audit hash chain.
    VerifyAudit,
    /// Rebuild the read models (the review queue) from the op log.
    Rebuild,
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("错误 error: {e}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let db = cli.database.as_deref();
    match cli.command {
        Command::Serve {
            addr,
            demo: seed,
            max_distance_m,
            web_app,
            tls_cert,
            tls_key,
        } => {
            if seed {
                demo_seed(&cli.data_dir, cli.database.as_deref())?;
            }
            let rt = tokio::runtime::Runtime::new()?;
            rt.block_on(async {
                let listener = tokio::net::TcpListener::bind(&addr).await?;
                let tls = tls_cert
                    .zip(tls_key)
                    .map(|(cert, key)| baoxue_server::Tls { cert, key });
                println!(
                    "保学服务器已启动 Baoxue server on {}://{}",
                    if tls.is_some() { "https" } else { "http" },
                    listener.local_addr()?
                );
                baoxue_server::serve_with(
                    listener,
                    Settings {
                        data_dir: cli.data_dir,
                        database: cli.database,
                        evidence: baoxue_server::review::evidence::EvidenceSettings {
                            max_distance_m,
                            ..Default::default()
                        },
                        web_app: Some(web_app),
                    },
                    tls,
                    shutdown_signal(),
                )
                .await?;
                Ok::<_, Box<dyn std::error::Error>>(())
            })?;
        }
        Command::Demo => demo_seed(&cli.data_dir, db)?,
        Command::User(cmd) => admin::user(&cli.data_dir, db, cmd)?,
        Command::Roster(cmd) => admin::roster(&cli.data_dir, db, cmd)?,
        Command::Divisions(cmd) => admin::divisions(&cli.data_dir, db, cmd)?,
        Command::Ops(cmd) => admin::ops(&cli.data_dir, db, cmd)?,
        Command::Rebuild => {
            admin::rebuild(&cli.data_dir, db)?;
        }
        Command::VerifyAudit => {
            let ok = admin::verify_audit(&cli.data_dir, db)?;
            if !ok {
                std::process::exit(2);
            }
        }
    }
    Ok(())
}

fn demo_seed(
    data_dir: &std::path::Path,
    database: Option<&str>,
) -> Result<(), Box<dyn std::error::Error>> {
    let (store, state) = baoxue_server::open_with(data_dir, database)?;
    match demo::seed(store.as_ref(), &state.photos, chrono::Utc::now())? {
        Some(summary) => println!("{summary}"),
        None => {
            println!("数据库已有数据，未重复生成演示数据 (database not empty; demo not seeded)")
        }
    }
    store.close();
    Ok(())
}
