//! The `articdbm-gateway` command line. `policy test` runs captured statements through packs
//! with the real runtime and prints one JSON verdict per line; `policy check` validates packs
//! against the plugins in a directory.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::metrics::Metrics;
use crate::runtime::host::HostServices;
use crate::runtime::indicators::ThreatStore;
use crate::runtime::kv::MemoryKv;
use crate::runtime::reload::{Reloader, Sources};
use crate::runtime::trial::{TestInput, evaluate_line};
use crate::runtime::{Runtime, RuntimeConfig};

#[derive(Parser)]
#[command(
    name = "articdbm-gateway",
    version,
    about = "ArticDBM database policy gateway"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the gateway: the PostgreSQL listener and the admin endpoints, as configured.
    Run(RunArgs),
    /// Work with rule packs offline.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Write and build policy plugins in Rust, Python, JavaScript/TypeScript or C.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Ask a running gateway's admin `/healthz`; exit 0 when it answers 200, 1 otherwise
    /// (for container and orchestrator health checks: no curl needed).
    Healthcheck(HealthcheckArgs),
}

#[derive(Args)]
pub struct HealthcheckArgs {
    /// The admin health endpoint (plain http: probe from inside the container or pod).
    #[arg(long, default_value = "http://127.0.0.1:9187/healthz")]
    pub url: String,
    /// Sent as `Authorization: Bearer TOKEN` when set.
    #[arg(long, env = "ARTICDBM_ADMIN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Give up after this many seconds (connect, send and read together).
    #[arg(long, default_value_t = 3.0, value_parser = positive_seconds)]
    pub timeout: f64,
}

pub(crate) fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 3600.0 => Ok(v),
        _ => Err(format!(
            "'{s}' is not a number of seconds between 0 and 3600"
        )),
    }
}

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Evaluate statements from a JSON-lines file against packs; print one JSON verdict a line.
    Test(TestArgs),
    /// Validate packs against the plugins in the plugin directory.
    Check(CommonArgs),
}

#[derive(Subcommand)]
pub enum PluginCommand {
    /// Write a working plugin skeleton (source, manifest.json, a pack and captured traffic to
    /// try it with `policy test`) into a new directory.
    New(PluginNewArgs),
    /// Build the plugin in a directory into a component; writes `<name>.wasm` and
    /// `<name>.json` into the output plugin directory.
    Build(PluginBuildArgs),
}

/// Plugin source languages.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LangArg {
    Rust,
    Python,
    /// JavaScript or TypeScript (`app.js` / `app.ts`).
    Js,
    C,
}

impl From<LangArg> for articdbm_plugin_build::Lang {
    fn from(l: LangArg) -> Self {
        match l {
            LangArg::Rust => articdbm_plugin_build::Lang::Rust,
            LangArg::Python => articdbm_plugin_build::Lang::Python,
            LangArg::Js => articdbm_plugin_build::Lang::Js,
            LangArg::C => articdbm_plugin_build::Lang::C,
        }
    }
}

#[derive(Args)]
pub struct PluginNewArgs {
    /// The language to write the plugin in.
    #[arg(long)]
    pub lang: LangArg,
    /// The plugin's name (`[a-z0-9][a-z0-9-]*`, at most 63 characters): its file stem and
    /// the name packs bind.
    pub name: String,
    /// Where to write it (default: `./NAME`); must not exist yet.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The ArticDBM `plugin-sdk` directory the skeleton builds against (default: the one of
    /// the checkout this gateway was built from).
    #[arg(long, env = "ARTICDBM_SDK_DIR")]
    pub sdk: Option<PathBuf>,
}

#[derive(Args)]
pub struct PluginBuildArgs {
    /// The plugin's directory (holding `manifest.json` and `app.py`, `app.js`, `app.ts`,
    /// `app.c` or `Cargo.toml`).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The plugin directory to write `<name>.wasm` and `<name>.json` into (default:
    /// `DIR/dist`), ready for `--plugins` or `server.plugin_dir`.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// The language, when it cannot be told from the files.
    #[arg(long)]
    pub lang: Option<LangArg>,
    /// The ArticDBM `plugin-sdk` directory (default: the one of the checkout this gateway was
    /// built from).
    #[arg(long, env = "ARTICDBM_SDK_DIR")]
    pub sdk: Option<PathBuf>,
}

#[derive(Args)]
pub struct RunArgs {
    /// The gateway configuration file (TOML; see docs/CONFIGURATION.md).
    #[arg(long, env = "ARTICDBM_CONFIG")]
    pub config: PathBuf,
    /// Take users, databases, plugins and packs from this manager's snapshots (managed mode).
    #[arg(long, env = "ARTICDBM_MANAGER_URL")]
    pub manager: Option<String>,
    /// The cluster key (an API key with the `gateway` role) presented to the manager. Not
    /// needed with a client certificate the manager trusts (--manager-client-cert).
    #[arg(
        long,
        env = "ARTICDBM_CLUSTER_KEY",
        hide_env_values = true,
        requires = "manager"
    )]
    pub cluster_key: Option<String>,
    /// Trust only this CA (PEM) for an `https://` manager's certificate, instead of the
    /// platform's roots.
    #[arg(long, env = "ARTICDBM_MANAGER_CA", requires = "manager")]
    pub manager_ca: Option<PathBuf>,
    /// Accept only a manager certificate with this SHA-256 fingerprint (hex, colons
    /// optional: `openssl x509 -noout -fingerprint -sha256 -in manager.crt`).
    #[arg(
        long,
        env = "ARTICDBM_MANAGER_PIN",
        requires = "manager",
        conflicts_with = "manager_ca"
    )]
    pub manager_pin: Option<String>,
    /// This gateway's client certificate (PEM) for a manager run with --tls-client-ca (mTLS).
    #[arg(
        long,
        env = "ARTICDBM_MANAGER_CLIENT_CERT",
        requires_all = ["manager", "manager_client_key"]
    )]
    pub manager_client_cert: Option<PathBuf>,
    /// The private key (PEM) of --manager-client-cert.
    #[arg(
        long,
        env = "ARTICDBM_MANAGER_CLIENT_KEY",
        requires = "manager_client_cert"
    )]
    pub manager_client_key: Option<PathBuf>,
    /// Where managed mode keeps snapshots and plugin artifacts (default: next to the config
    /// file, `articdbm-state/`).
    #[arg(long, env = "ARTICDBM_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Name this gateway reports to the manager.
    #[arg(long, env = "ARTICDBM_GATEWAY_NAME")]
    pub name: Option<String>,
}

#[derive(Args)]
pub struct CommonArgs {
    /// A pack file or a directory of pack files (repeatable). A baseline pack and tenant packs
    /// may be combined; tenant packs are merged on top of the baseline.
    #[arg(long = "pack", required = true)]
    pub packs: Vec<PathBuf>,
    /// Directory of plugin components (`<name>.wasm` + `<name>.json`).
    #[arg(long, env = "ARTICDBM_PLUGIN_DIR", default_value = "target/plugins")]
    pub plugins: PathBuf,
    /// Where compiled components are cached between runs.
    #[arg(long, env = "ARTICDBM_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// JSON-lines input: `{"sql": "...", "user": "...", "database": "...", "tenant": "...",
    /// "client_addr": "...", "tls": false, "protocol": "postgres"}`; `-` for standard input.
    #[arg(long)]
    pub input: PathBuf,
}

/// Runs the CLI; returns the process exit code.
/// Raises the soft open-file limit to the hard limit: every client and server connection is a
/// descriptor, and the soft limit a shell hands out (often 1024) would cap the gateway far
/// below what the machine allows. Logs what it could not do.
fn raise_fd_limit() {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    let raised = unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) != 0 {
            tracing::warn!("could not read the open-file limit");
            return;
        }
        if l.rlim_cur >= l.rlim_max {
            return;
        }
        let want = libc::rlimit {
            rlim_cur: l.rlim_max,
            rlim_max: l.rlim_max,
        };
        libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0
    };
    if raised {
        tracing::info!(
            from = l.rlim_cur,
            to = l.rlim_max,
            "raised the open-file limit to the hard limit"
        );
    } else {
        tracing::warn!(
            soft = l.rlim_cur,
            hard = l.rlim_max,
            "could not raise the open-file limit to the hard limit"
        );
    }
}

pub fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Command::Run(args) => run_gateway(args),
        Command::Policy(PolicyCommand::Test(args)) => policy_test(args),
        Command::Policy(PolicyCommand::Check(args)) => policy_check(args),
        Command::Plugin(PluginCommand::New(args)) => plugin_new(args),
        Command::Plugin(PluginCommand::Build(args)) => plugin_build(args),
        Command::Healthcheck(args) => Ok(healthcheck(args)),
    }
}

fn plugin_new(args: PluginNewArgs) -> anyhow::Result<i32> {
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(&args.name));
    let sdk = articdbm_plugin_build::Sdk::locate(args.sdk.as_deref())?;
    let written = articdbm_plugin_build::scaffold(args.lang.into(), &args.name, &dir, &sdk)?;
    println!("wrote {} file(s) into {}:", written.len(), dir.display());
    for f in &written {
        println!("  {}", f.display());
    }
    println!(
        "next: articdbm-gateway plugin build {d} && articdbm-gateway policy test --plugins {d}/dist --pack {d}/pack.toml --input {d}/traffic.jsonl\n  then: articdbm-gateway run --config {d}/gateway.toml (see {d}/README.md)",
        d = dir.display()
    );
    Ok(0)
}

fn plugin_build(args: PluginBuildArgs) -> anyhow::Result<i32> {
    let lang = match args.lang {
        Some(l) => l.into(),
        None => articdbm_plugin_build::Lang::detect(&args.dir)?,
    };
    let sdk = articdbm_plugin_build::Sdk::locate(args.sdk.as_deref())?;
    let out_dir = args.out_dir.unwrap_or_else(|| args.dir.join("dist"));
    let report = articdbm_plugin_build::build_into(lang, &args.dir, &out_dir, &sdk)?;
    println!(
        "built {} ({} bytes, {lang}) in {:.1} s; manifest {}",
        report.wasm.display(),
        report.size,
        report.elapsed.as_secs_f64(),
        report.manifest.display()
    );
    Ok(0)
}

/// Prints `ok URL` on success; the reason on stderr otherwise.
fn healthcheck(args: HealthcheckArgs) -> i32 {
    let timeout = std::time::Duration::from_secs_f64(args.timeout);
    match crate::config::healthcheck::check(&args.url, args.token.as_deref(), timeout) {
        Ok(_) => {
            println!("ok {}", args.url);
            0
        }
        Err(e) => {
            eprintln!("articdbm-gateway healthcheck: unhealthy: {e}");
            1
        }
    }
}

fn run_gateway(args: RunArgs) -> anyhow::Result<i32> {
    let config = crate::config::Config::load(&args.config)?;
    raise_fd_limit();
    let managed = match &args.manager {
        None => None,
        Some(url) => {
            if args.cluster_key.is_none() && args.manager_client_cert.is_none() {
                anyhow::bail!(
                    "--manager needs --cluster-key (or ARTICDBM_CLUSTER_KEY), or a client \
                     certificate the manager trusts (--manager-client-cert and \
                     --manager-client-key)"
                );
            }
            let state_dir = args.state_dir.clone().unwrap_or_else(|| {
                args.config
                    .parent()
                    .unwrap_or(std::path::Path::new("."))
                    .join("articdbm-state")
            });
            Some(crate::managed::ManagedOptions {
                url: url.clone(),
                cluster_key: args.cluster_key.clone(),
                state_dir,
                name: args.name.clone(),
                tls: crate::managed::ManagerTls {
                    ca: args.manager_ca.clone(),
                    pin: args.manager_pin.clone(),
                    client_cert: args.manager_client_cert.clone(),
                    client_key: args.manager_client_key.clone(),
                },
            })
        }
    };
    let workers = config.server.workers.unwrap_or_else(default_workers);
    let mut builder = if workers == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(workers);
        b
    };
    let spin_us = config.server.spin_us;
    let spin_under_quota = config.server.spin_under_quota;
    let rt = builder.enable_all().thread_name("articdbm").build()?;
    rt.block_on(async move {
        crate::spin::start(std::time::Duration::from_micros(spin_us), spin_under_quota);
        let gw = match managed {
            None => crate::pg::Gateway::start(config).await?,
            Some(opts) => crate::managed::start(&args.config, opts).await?.0,
        };
        // Scripts and tests wait for this line.
        println!(
            "articdbm-gateway listening postgres={} admin={}",
            gw.pg_addr(),
            gw.admin_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|| "off".into())
        );
        let _ = std::io::stdout().flush();
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down");
        gw.shutdown();
        Ok::<_, anyhow::Error>(())
    })?;
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    Ok(0)
}

fn engine(
    common: &CommonArgs,
) -> anyhow::Result<(Arc<Reloader>, crate::runtime::reload::ReloadReport)> {
    if !common.plugins.is_dir() {
        anyhow::bail!(
            "plugin directory {} does not exist (build the plugins with `cargo build`, or pass --plugins DIR)",
            common.plugins.display()
        );
    }
    let metrics = Arc::new(Metrics::new());
    let threats = Arc::new(ThreatStore::with_metrics(&metrics));
    let services = Arc::new(HostServices::new(
        Arc::new(MemoryKv::default()),
        Box::new(threats),
        metrics,
    ));
    let cache_dir = common.cache_dir.clone().or_else(default_cache_dir);
    let runtime = Arc::new(Runtime::new(
        RuntimeConfig {
            max_instances: 64,
            cache_dir,
            ..RuntimeConfig::default()
        },
        services,
    )?);
    let sources = Sources {
        plugin_dir: common.plugins.clone(),
        packs: common.packs.clone(),
    };
    let (reloader, report) = Reloader::start(runtime, sources, 10_000)?;
    for e in &report.plugin_errors {
        eprintln!("warning: {e}");
    }
    Ok((reloader, report))
}

pub(crate) fn default_cache_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map(|d| d.join("articdbm").join("components"))
}

fn policy_check(args: CommonArgs) -> anyhow::Result<i32> {
    let (reloader, report) = engine(&args)?;
    let snap = reloader.engine().snapshot();
    println!(
        "ok: {} plugin(s) loaded ({}); baseline {}; {} tenant pack(s)",
        report.plugins.len(),
        report.plugins.join(", "),
        if snap.packs.baseline().is_some() {
            "present"
        } else {
            "absent"
        },
        snap.packs.tenants().count()
    );
    Ok(if report.plugin_errors.is_empty() {
        0
    } else {
        1
    })
}

fn policy_test(args: TestArgs) -> anyhow::Result<i32> {
    let (reloader, _) = engine(&args.common)?;
    let engine = reloader.engine().clone();
    let default_tenant = {
        let snap = engine.snapshot();
        let tenants: Vec<String> = snap.packs.tenants().map(str::to_string).collect();
        if tenants.len() == 1 {
            tenants[0].clone()
        } else {
            "default".to_string()
        }
    };
    let reader: Box<dyn BufRead> = if args.input.as_os_str() == "-" {
        Box::new(std::io::BufReader::new(std::io::stdin()))
    } else {
        let f = std::fs::File::open(&args.input)
            .map_err(|e| anyhow::anyhow!("cannot open input {}: {e}", args.input.display()))?;
        Box::new(std::io::BufReader::new(f))
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = 0usize;
    for (i, line) in reader.lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| anyhow::anyhow!("reading input line {n}: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let input: TestInput = match serde_json::from_str(&line) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("error: input line {n}: {e}");
                failed += 1;
                continue;
            }
        };
        let result = evaluate_line(&engine, n, &input, &default_tenant);
        serde_json::to_writer(&mut out, &result)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    if failed > 0 {
        eprintln!("error: {failed} input line(s) could not be evaluated");
        return Ok(1);
    }
    Ok(0)
}

/// Worker threads when `server.workers` is not set: half the CPUs, at least one.
///
/// A proxy's work per message is small next to the kernel's socket work, which runs in the
/// sending thread's system calls either way; more workers than that mostly add wake-ups
/// between them. Measured with pgbench on 2 cores shared with PostgreSQL: one
/// single-threaded worker used about 33 µs of CPU per transaction, two work-stealing workers
/// about 39 µs, and the single worker served more transactions per second.
fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() / 2)
        .unwrap_or(1)
        .max(1)
}
