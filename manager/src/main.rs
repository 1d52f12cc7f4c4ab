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
    Serve(Box<ServeArgs>),
    /// Apply pack and tenant files declaratively (idempotent).
    Apply(ApplyArgs),
    /// Threat-feed tools.
    #[command(subcommand)]
    Feed(FeedCommand),
    /// Ask a running manager's `/healthz` (which also pings its store); exit 0 when it
    /// answers 200, 1 otherwise (for container and orchestrator health checks).
    Healthcheck(HealthcheckArgs),
    /// The key that seals secrets in the store (docs/SECURITY.md, "Secrets at rest").
    #[command(subcommand)]
    Secrets(SecretsCommand),
}

#[derive(clap::Args)]
struct HealthcheckArgs {
    /// The health endpoint: `http://`, or `https://` for a manager run with --tls-cert.
    #[arg(long, default_value = "http://127.0.0.1:8080/healthz")]
    url: String,
    /// For an `https://` URL: the CA (PEM) that signs the manager's certificate, instead of
    /// the platform's roots.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Sent as `Authorization: Bearer TOKEN` when set (the manager's /healthz needs none).
    #[arg(long, env = "ARTICDBM_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Give up after this many seconds (connect, send and read together).
    #[arg(long, default_value_t = 3.0, value_parser = positive_seconds)]
    timeout: f64,
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 3600.0 => Ok(v),
        _ => Err(format!(
            "'{s}' is not a number of seconds between 0 and 3600"
        )),
    }
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Writes a new random key to FILE (created readable by its owner only).
    NewKey {
        /// The key file to create; it must not exist.
        file: PathBuf,
    },
    /// Seals every stored secret with a new key, in one transaction. Run it against the store
    /// the manager serves from, with the current key given as `serve` is given it; then start
    /// the manager with the new key.
    Rotate(RotateArgs),
}

#[derive(clap::Args)]
struct RotateArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    key: KeyArgs,
    /// The key to seal with from now on (see `secrets new-key`).
    #[arg(long)]
    new_key_file: PathBuf,
}

/// Where the store is (shared by `serve` and `secrets rotate`).
#[derive(clap::Args)]
struct StoreArgs {
    /// Directory of the embedded store (and anything else the manager keeps).
    #[arg(long, env = "ARTICDBM_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Store URL (postgres://...); default: SQLite in the data directory.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

/// The key that seals stored secrets; `ARTICDBM_SECRET_KEY` may hold the key itself instead.
/// Neither, with the embedded store: `DATA_DIR/secret.key`, made on first start.
#[derive(clap::Args)]
struct KeyArgs {
    /// File holding the secret key (32 bytes as 64 hex digits or in base64).
    #[arg(long, env = "ARTICDBM_SECRET_KEY_FILE")]
    secret_key_file: Option<PathBuf>,
    /// A previous key, still accepted for values sealed with it during a rotation; they are
    /// sealed again with the current key at start.
    #[arg(long = "old-secret-key-file")]
    old_secret_key_files: Vec<PathBuf>,
}

impl KeyArgs {
    fn source(self) -> articdbm_manager::secrets::KeySource {
        articdbm_manager::secrets::KeySource {
            file: self.secret_key_file,
            value: std::env::var("ARTICDBM_SECRET_KEY").ok(),
            old_files: self.old_secret_key_files,
        }
    }
}

#[derive(Subcommand)]
enum FeedCommand {
    /// Parse a feed document with the sandboxed parser the manager uses; prints one JSON line
    /// per indicator (type, value, confidence, valid_until, source_id), then a summary line.
    Parse(FeedParseArgs),
}

#[derive(clap::Args)]
struct FeedParseArgs {
    /// Document format: stix, openioc, misp, or misp-feed (FILE is then a directory with
    /// manifest.json and one <uuid>.json per event).
    #[arg(long, value_parser = parse_format)]
    format: articdbm_manager::feeds::Format,
    /// A feed-parser component to use instead of the built-in one.
    #[arg(long)]
    parser: Option<PathBuf>,
    /// Confidence printed for indicators whose document states none.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    default_confidence: Option<u8>,
    /// The document (or MISP feed directory).
    file: PathBuf,
}

fn parse_format(s: &str) -> Result<articdbm_manager::feeds::Format, String> {
    articdbm_manager::feeds::Format::parse(s)
        .ok_or_else(|| format!("'{s}' is not a format: use stix, openioc, misp or misp-feed"))
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
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    key: KeyArgs,
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
    /// For a rediss:// --redis: the CA (PEM) that signs Redis's certificate, instead of the
    /// platform's roots.
    #[arg(long, env = "ARTICDBM_REDIS_CA", requires = "redis")]
    redis_ca: Option<PathBuf>,
    /// For a Redis that asks for client certificates: this one (PEM) and its key.
    #[arg(long, env = "ARTICDBM_REDIS_CLIENT_CERT", requires_all = ["redis", "redis_client_key"])]
    redis_client_cert: Option<PathBuf>,
    #[arg(
        long,
        env = "ARTICDBM_REDIS_CLIENT_KEY",
        requires = "redis_client_cert"
    )]
    redis_client_key: Option<PathBuf>,
    /// Serve HTTPS with this PEM certificate chain (reloaded when the file changes).
    #[arg(long, env = "ARTICDBM_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, env = "ARTICDBM_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// PEM CA certificate(s) signing gateway client certificates: a client presenting one
    /// gets the gateway role (mTLS, instead of the cluster key). Needs --tls-cert.
    #[arg(long, env = "ARTICDBM_TLS_CLIENT_CA", requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
    /// Put backend passwords in snapshots for gateways on other hosts reaching the manager
    /// over plain HTTP too. By default they travel over TLS or within this host only. For a
    /// private network you vouch for (a compose network, a cluster with encrypted pod
    /// traffic); prefer --tls-cert.
    #[arg(long, env = "ARTICDBM_ALLOW_PLAINTEXT_SECRETS")]
    allow_plaintext_secrets: bool,
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
    if let Command::Healthcheck(a) = &cli.command {
        let timeout = std::time::Duration::from_secs_f64(a.timeout);
        let result = if a.url.starts_with("https://") {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
                .and_then(|rt| {
                    rt.block_on(articdbm_manager::tls::probe_https(
                        &a.url,
                        a.token.as_deref(),
                        a.ca.as_deref(),
                        timeout,
                    ))
                })
                .map(|_| ())
        } else {
            articdbm_config::healthcheck::check(&a.url, a.token.as_deref(), timeout)
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        match result {
            Ok(_) => println!("ok {}", a.url),
            Err(e) => {
                eprintln!("articdbm-manager healthcheck: unhealthy: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    if let Command::Feed(FeedCommand::Parse(a)) = cli.command {
        // No runtime, no logging to set up: parse and print.
        let opts = articdbm_manager::feeds::cli::ParseOptions {
            format: a.format,
            parser: a.parser,
            default_confidence: a.default_confidence,
            file: a.file,
        };
        let stdout = std::io::stdout();
        let mut out = std::io::BufWriter::new(stdout.lock());
        let result = articdbm_manager::feeds::cli::parse(opts, &mut out);
        let flushed = std::io::Write::flush(&mut out);
        if let Err(e) = result.and(flushed.map_err(anyhow::Error::from)) {
            eprintln!("articdbm-manager: {e:#}");
            std::process::exit(1);
        }
        return;
    }
    if let Command::Secrets(SecretsCommand::NewKey { file }) = &cli.command {
        let (key, text) = articdbm_manager::secrets::SecretKey::generate();
        match articdbm_manager::secrets::write_key_file(file, &text) {
            Ok(()) => println!("secret key {} written to {}", key.id(), file.display()),
            Err(e) => {
                eprintln!("articdbm-manager: {}: {e}", file.display());
                std::process::exit(1);
            }
        }
        return;
    }
    let format = std::env::var("ARTICDBM_LOG_FORMAT").ok();
    let filter = std::env::var("ARTICDBM_LOG").ok();
    if let Err(e) = articdbm_config::logging::LogFormat::parse(format.as_deref())
        .and_then(|f| articdbm_config::logging::init(filter.as_deref(), "info", f, std::io::stderr))
    {
        eprintln!("articdbm-manager: {e}");
        std::process::exit(1);
    }
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
            Command::Serve(a) => serve(*a).await,
            Command::Apply(a) => {
                articdbm_manager::apply::apply(articdbm_manager::apply::ApplyOptions {
                    manager: a.manager,
                    key: a.key,
                    files: a.files,
                })
                .await
            }
            Command::Secrets(SecretsCommand::Rotate(a)) => rotate(a).await,
            Command::Feed(_)
            | Command::Healthcheck(_)
            | Command::Secrets(SecretsCommand::NewKey { .. }) => Ok(()),
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
            .store
            .data_dir
            .unwrap_or_else(articdbm_manager::default_data_dir),
        database_url: a.store.database_url,
        bootstrap_key: std::env::var("ARTICDBM_BOOTSTRAP_KEY").ok(),
        cluster_key: std::env::var("ARTICDBM_CLUSTER_KEY").ok(),
        seed_plugins: a.seed_plugins,
        seed_packs: a.seed_packs,
        redis: a.redis,
        redis_tls: articdbm_runtime::redis_kv::RedisTls {
            ca: a.redis_ca,
            cert: a.redis_client_cert,
            key: a.redis_client_key,
        },
        tls: match (a.tls_cert, a.tls_key) {
            (Some(cert), Some(key)) => Some(articdbm_manager::tls::TlsOptions {
                cert,
                key,
                client_ca: a.tls_client_ca,
            }),
            _ => None,
        },
        secret_key: a.key.source(),
        allow_plaintext_secrets: a.allow_plaintext_secrets,
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

async fn rotate(a: RotateArgs) -> anyhow::Result<()> {
    let opts = articdbm_manager::RotateOptions {
        data_dir: a
            .store
            .data_dir
            .unwrap_or_else(articdbm_manager::default_data_dir),
        database_url: a.store.database_url,
        secret_key: a.key.source(),
        new_key_file: a.new_key_file,
    };
    let (done, id) = articdbm_manager::rotate_secrets(&opts).await?;
    println!(
        "{} secrets in {} resources sealed with key {id}; start the manager with \
         --secret-key-file {} (or that key where the current one is)",
        done.fields,
        done.rows,
        opts.new_key_file.display()
    );
    Ok(())
}
