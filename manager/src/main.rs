//! `articdbm-manager`: the REST manager service and its command-line client.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// ArticDBM manager: REST API, plugin registry, rule packs and snapshots for gateways.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the manager service.
    Serve(ServeArgs),
    /// Apply pack and tenant files declaratively (idempotent).
    Apply(ApplyArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address of the HTTP API.
    #[arg(
        long,
        env = "ARTICDBM_MANAGER_LISTEN",
        default_value = "127.0.0.1:8080"
    )]
    listen: SocketAddr,
    /// Directory of the embedded store (and anything else the manager keeps).
    #[arg(long, env = "ARTICDBM_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Store URL (postgres://...); default: SQLite in the data directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Directory of plugin components (NAME.wasm + NAME.json) registered at start when not
    /// registered yet.
    #[arg(long)]
    seed_plugins: Option<PathBuf>,
    /// Pack files registered at start when no pack of that name exists.
    #[arg(long = "seed-pack")]
    seed_packs: Vec<PathBuf>,
    /// Redis (redis://host:port) through which replicas sharing a PostgreSQL store tell each
    /// other of new snapshot versions at once; without it they poll the store every second.
    #[arg(long, env = "ARTICDBM_REDIS_URL", hide_env_values = true)]
    redis: Option<String>,
}

#[derive(clap::Args)]
struct ApplyArgs {
    /// Manager URL.
    #[arg(
        long,
        env = "ARTICDBM_MANAGER_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    manager: String,
    /// API key (admin, or tenant-admin for its own tenant's files).
    #[arg(long, env = "ARTICDBM_API_KEY", hide_env_values = true)]
    key: String,
    /// Files or directories of *.toml.
    #[arg(short = 'f', long = "file", required = true)]
    files: Vec<PathBuf>,
}

fn main() {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ARTICDBM_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("articdbm-manager: {e}");
            std::process::exit(1);
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::Serve(a) => serve(a).await,
            Command::Apply(a) => {
                articdbm_manager::apply::apply(articdbm_manager::apply::ApplyOptions {
                    manager: a.manager,
                    key: a.key,
                    files: a.files,
                })
                .await
            }
        }
    });
    if let Err(e) = result {
        eprintln!("articdbm-manager: {e:#}");
        std::process::exit(1);
    }
}

async fn serve(a: ServeArgs) -> anyhow::Result<()> {
    let opts = articdbm_manager::ServeOptions {
        listen: a.listen,
        data_dir: a
            .data_dir
            .unwrap_or_else(articdbm_manager::default_data_dir),
        database_url: a.database_url,
        bootstrap_key: std::env::var("ARTICDBM_BOOTSTRAP_KEY").ok(),
        cluster_key: std::env::var("ARTICDBM_CLUSTER_KEY").ok(),
        seed_plugins: a.seed_plugins,
        seed_packs: a.seed_packs,
        redis: a.redis,
    };
    let m = articdbm_manager::Manager::start(opts).await?;
    // Scripts and tests wait for this line.
    println!("articdbm-manager listening {}", m.addr);
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
    m.stop().await;
    Ok(())
}
