//! The helper behind `tests/perf/pgbench-compare.sh`: starts PostgreSQL, PgBouncer and the
//! gateway (each on a free loopback port), alternates pgbench select-only runs against them in
//! rounds, prints every run, the medians and the ratios of each round, and ends with
//! `ratio simple=X prepared=Y varied=V latency1=Z cpu=C` (C: gateway / PgBouncer CPU per
//! transaction in simple mode).
//!
//! With `ARTICDBM_BENCH_NOSPIN=1` a second gateway, the same but with `spin_us = 0`
//! (`gateway-nospin`), runs in the same rounds wherever the gateway does, and the line before
//! the last is `spin simple=X prepared=Y varied=V latency1=Z cpu_simple=C cpu_latency1=D`:
//! gateway (polling) / gateway-nospin, per-round medians, for TPS, one-client latency and the
//! machine's CPU per transaction.
//!
//! Usage: `pgbench-compare --gateway PATH` or `pgbench-compare --no-gateway REASON`.
//! Environment: `ARTICDBM_BENCH_SECONDS` (pgbench -T, default 5), `ARTICDBM_BENCH_ROUNDS` (5),
//! `ARTICDBM_BENCH_CLIENTS` (16), `ARTICDBM_BENCH_POOL` (8), `ARTICDBM_BENCH_SCALE` (1),
//! `ARTICDBM_BENCH_KINDS` (comma-separated subset of `simple,prepared,latency1,varied`),
//! `ARTICDBM_BENCH_BACKEND` (`unix`, the default, or `tcp`: how both poolers reach PostgreSQL),
//! `ARTICDBM_BENCH_NOSPIN` (`1`: the gateway-nospin target),
//! `ARTICDBM_BENCH_GATEWAY_SPIN_UNDER_QUOTA` (`1`: the gateway polls under a CPU quota too),
//! `ARTICDBM_BENCH_PIDFILE_DIR` (where the gateways' pids are written for the script's trap).

use anyhow::{Context, Result, bail};
use articdbm_tests::net::{free_port, loopback};
use articdbm_tests::perf::{CpuTimes, GatewayProcess, Load, last_lines, median};
use articdbm_tests::{PgBouncer, PgOptions, PgServer, PoolMode, process, tools};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const USER: &str = "bench";
const PASSWORD: &str = "bench";
const DB: &str = "bench";
const GATEWAY_READY: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Target {
    Direct,
    Bouncer,
    Gateway,
    /// A second gateway, the same but with `spin_us = 0` (`ARTICDBM_BENCH_NOSPIN=1`).
    GatewayNoSpin,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Direct => "postgres",
            Target::Bouncer => "pgbouncer",
            Target::Gateway => "gateway",
            Target::GatewayNoSpin => "gateway-nospin",
        }
    }
}

/// One kind of measurement: pgbench's query protocol and client count.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    Simple,
    Prepared,
    Latency1,
    /// Simple protocol, 16 clients, and a statement whose text differs in every transaction
    /// (the account id in a comment as well as in the predicate): no cache keyed by statement
    /// text can make this one free.
    Varied,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Simple => "simple",
            Kind::Prepared => "prepared",
            Kind::Latency1 => "latency1",
            Kind::Varied => "varied",
        }
    }

    fn protocol(self) -> &'static str {
        match self {
            Kind::Prepared => "prepared",
            _ => "simple",
        }
    }

    /// PgBouncer cannot keep prepared statements under transaction pooling. `nospin` adds the
    /// gateway-nospin wherever the gateway runs.
    fn targets(self, nospin: bool) -> Vec<Target> {
        let mut targets = match self {
            Kind::Prepared => vec![Target::Direct, Target::Gateway],
            _ => vec![Target::Direct, Target::Bouncer, Target::Gateway],
        };
        if nospin {
            targets.push(Target::GatewayNoSpin);
        }
        targets
    }
}

struct Settings {
    seconds: u32,
    rounds: u32,
    clients: u32,
    pool: u32,
    scale: u32,
    backend: Backend,
    kinds: Vec<Kind>,
    /// `ARTICDBM_BENCH_NOSPIN=1`: the gateway-nospin target too.
    nospin: bool,
}

fn nospin_from_env() -> Result<bool> {
    match std::env::var("ARTICDBM_BENCH_NOSPIN").as_deref() {
        Err(_) | Ok("") | Ok("0") => Ok(false),
        Ok("1") => Ok(true),
        Ok(other) => bail!("ARTICDBM_BENCH_NOSPIN={other:?}: expected `1` or `0`"),
    }
}

fn kinds_from_env() -> Result<Vec<Kind>> {
    let all = [Kind::Simple, Kind::Prepared, Kind::Latency1, Kind::Varied];
    match std::env::var("ARTICDBM_BENCH_KINDS") {
        Err(_) => Ok(all.to_vec()),
        Ok(v) if v.trim().is_empty() => Ok(all.to_vec()),
        Ok(v) => v
            .split(',')
            .map(|name| {
                all.iter()
                    .copied()
                    .find(|k| k.name() == name.trim())
                    .with_context(|| {
                        format!(
                            "ARTICDBM_BENCH_KINDS: unknown kind {name:?} (simple, prepared, latency1, varied)"
                        )
                    })
            })
            .collect(),
    }
}

/// How PgBouncer and the gateway reach PostgreSQL; always the same for both. pgbench itself
/// always connects over TCP, to all three targets.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Backend {
    /// The server's Unix-domain socket: a pooler deployed beside its database.
    Unix,
    /// TCP on loopback.
    Tcp,
}

impl Backend {
    fn from_env() -> Result<Backend> {
        match std::env::var("ARTICDBM_BENCH_BACKEND").as_deref() {
            Err(_) | Ok("") | Ok("unix") => Ok(Backend::Unix),
            Ok("tcp") => Ok(Backend::Tcp),
            Ok(other) => bail!("ARTICDBM_BENCH_BACKEND={other:?}: expected `unix` or `tcp`"),
        }
    }

    /// The `host` a pooler is given for `pg`.
    fn host(self, pg: &PgServer) -> String {
        match self {
            Backend::Unix => pg.socket_dir().display().to_string(),
            Backend::Tcp => pg.host().to_string(),
        }
    }
}

fn env_u32(name: &str, default: u32) -> Result<u32> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .with_context(|| format!("{name}={v:?} is not a number")),
        Err(_) => Ok(default),
    }
}

struct Sample {
    tps: f64,
    latency_ms: f64,
    /// Transactions pgbench completed.
    transactions: u64,
    /// The machine's CPU time per transaction, µs (NaN when unknown).
    cpu_us: f64,
}

fn main() {
    match run() {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("pgbench-compare: error: {e:#}");
            if nospin_from_env().unwrap_or(false) {
                println!(
                    "spin simple=n/a prepared=n/a varied=n/a latency1=n/a cpu_simple=n/a cpu_latency1=n/a"
                );
            }
            println!("ratio simple=n/a prepared=n/a varied=n/a latency1=n/a cpu=n/a");
            std::process::exit(2);
        }
    }
}

fn run() -> Result<i32> {
    let settings = Settings {
        seconds: env_u32("ARTICDBM_BENCH_SECONDS", 5)?,
        rounds: env_u32("ARTICDBM_BENCH_ROUNDS", 5)?.max(1),
        clients: env_u32("ARTICDBM_BENCH_CLIENTS", 16)?,
        pool: env_u32("ARTICDBM_BENCH_POOL", 8)?,
        scale: env_u32("ARTICDBM_BENCH_SCALE", 1)?,
        backend: Backend::from_env()?,
        kinds: kinds_from_env()?,
        nospin: nospin_from_env()?,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let gateway_bin = match args.as_slice() {
        [flag, path] if flag == "--gateway" => Ok(PathBuf::from(path)),
        [flag, reason] if flag == "--no-gateway" => Err(reason.clone()),
        _ => bail!("usage: pgbench-compare --gateway PATH | --no-gateway REASON"),
    };

    eprintln!("starting PostgreSQL");
    let pg = PgServer::start_with(PgOptions {
        max_connections: 100,
        ..PgOptions::default()
    })?;
    pg.create_user(USER, PASSWORD)?;
    pg.create_database(DB, USER)?;
    eprintln!("pgbench -i -s {}", settings.scale);
    process::run(
        Command::new(tools::pgbench()?)
            .args(["-i", "-q", "-s", &settings.scale.to_string()])
            .args([
                "-h",
                pg.host(),
                "-p",
                &pg.port().to_string(),
                "-U",
                USER,
                DB,
            ])
            .env("PGPASSWORD", PASSWORD),
        Duration::from_secs(600),
    )
    .context("pgbench -i")?;

    let backend_host = settings.backend.host(&pg);
    eprintln!(
        "starting PgBouncer (transaction mode, pool {}, server at {backend_host})",
        settings.pool
    );
    let bouncer = PgBouncer::start_via(
        &pg,
        &backend_host,
        DB,
        USER,
        PASSWORD,
        settings.pool,
        PoolMode::Transaction,
    )?;

    let start_gateway = |target: Target| -> Option<Gateway> {
        let started = match &gateway_bin {
            Ok(bin) => {
                eprintln!("starting the {} ({})", target.name(), bin.display());
                Gateway::start(bin, target, &pg, &backend_host, settings.pool)
            }
            Err(reason) => Err(anyhow::anyhow!("{reason}")),
        };
        match started {
            Ok(g) => Some(g),
            Err(e) => {
                eprintln!(
                    "\nERROR: the {} leg cannot run, it is not measured:\n  {e:#}\n",
                    target.name()
                );
                None
            }
        }
    };
    let gateway = start_gateway(Target::Gateway);
    let nospin = if settings.nospin {
        start_gateway(Target::GatewayNoSpin)
    } else {
        None
    };

    let mut ports = BTreeMap::new();
    ports.insert(Target::Direct, pg.port());
    ports.insert(Target::Bouncer, bouncer.port());
    for g in [&gateway, &nospin].into_iter().flatten() {
        ports.insert(g.target, g.port);
    }

    let mut results: BTreeMap<(Kind, Target), Vec<(u32, Sample)>> = BTreeMap::new();
    let mut failures = Vec::new();
    println!(
        "{:<6} {:<9} {:<9} {:>7} {:<14} {:>12} {:>12} {:>6} {:>6} {:>9} {:>6}",
        "round",
        "kind",
        "protocol",
        "clients",
        "target",
        "tps",
        "latency_ms",
        "busy%",
        "steal%",
        "cpu_us/tx",
        "csw/tx"
    );
    for round in 0..settings.rounds {
        for &kind in &settings.kinds {
            let targets = kind.targets(settings.nospin);
            // Rotate the order every round so no target always runs first (cold) or last.
            for i in 0..targets.len() {
                let target = targets[(i + round as usize) % targets.len()];
                let Some(&port) = ports.get(&target) else {
                    continue;
                };
                let clients = if kind == Kind::Latency1 {
                    1
                } else {
                    settings.clients
                };
                let before = CpuTimes::read();
                let outcome = pgbench(
                    port,
                    kind.protocol(),
                    clients,
                    settings.seconds,
                    kind == Kind::Varied,
                );
                let load = match (before, CpuTimes::read()) {
                    (Some(a), Some(b)) => {
                        b.since(&a, outcome.as_ref().ok().map(|s| s.transactions))
                    }
                    _ => Load::unknown(),
                };
                let line = |tps: &str, lat: &str| {
                    println!(
                        "{:<6} {:<9} {:<9} {:>7} {:<14} {:>12} {:>12} {:>6} {:>6} {:>9} {:>6}",
                        round + 1,
                        kind.name(),
                        kind.protocol(),
                        clients,
                        target.name(),
                        tps,
                        lat,
                        load.busy,
                        load.steal,
                        load.cpu_per_tx,
                        load.csw_per_tx
                    )
                };
                match outcome {
                    Ok(mut s) => {
                        s.cpu_us = load.cpu_us.unwrap_or(f64::NAN);
                        line(&format!("{:.1}", s.tps), &format!("{:.3}", s.latency_ms));
                        results.entry((kind, target)).or_default().push((round, s));
                    }
                    Err(e) => {
                        line("failed", "-");
                        failures.push(format!(
                            "{} {} round {}: {e:#}",
                            kind.name(),
                            target.name(),
                            round + 1
                        ));
                    }
                }
            }
        }
    }

    println!(
        "\nmedians over {} round(s) of {} s:",
        settings.rounds, settings.seconds
    );
    println!(
        "{:<9} {:<14} {:>12} {:>12}",
        "kind", "target", "tps", "latency_ms"
    );
    for (&(kind, target), samples) in &results {
        let tps = median(samples.iter().map(|(_, s)| s.tps).collect());
        let lat = median(samples.iter().map(|(_, s)| s.latency_ms).collect());
        println!(
            "{:<9} {:<14} {:>12.1} {:>12.3}",
            kind.name(),
            target.name(),
            tps,
            lat
        );
    }
    for f in &failures {
        eprintln!("run failed: {f}");
    }
    for g in [&gateway, &nospin].into_iter().flatten() {
        g.check_alive();
        // Whether it polled: a CPU quota turns polling off unless `spin_under_quota`.
        match g.spin_counters() {
            Some((polls, pauses)) => {
                println!("{}: spinner polls={polls} pauses={pauses}", g.target.name())
            }
            None => println!(
                "{}: no spinner (spin_us = 0, or polling off under a CPU quota)",
                g.target.name()
            ),
        }
    }

    // Each ratio is the median of the ratios of the same round: the two runs of a pair are
    // seconds apart, so a slow spell of a shared machine weighs on both instead of on
    // whichever target it happened to hit.
    println!("\nratios per round (gateway / reference; a round where either run failed says so):");
    let rounds = settings.rounds;
    let paired = |kind: Kind, subject: Target, reference: Target, value: fn(&Sample) -> f64| {
        if !settings.kinds.contains(&kind) {
            return "n/a".to_string();
        }
        let per_round = per_round_ratios(&results, kind, subject, reference, value, rounds);
        let list: Vec<String> = per_round
            .iter()
            .map(|r| match r {
                Some(r) => format!("{r:.2}"),
                None => "failed".to_string(),
            })
            .collect();
        let label = match subject {
            Target::GatewayNoSpin => format!("{} (no spin)", reference.name()),
            _ => reference.name().to_string(),
        };
        println!("{:<9} vs {:<20} {}", kind.name(), label, list.join(" "));
        let ratios: Vec<f64> = per_round.into_iter().flatten().collect();
        if ratios.is_empty() {
            return "n/a".to_string();
        }
        format!("{:.2}", median(ratios))
    };
    let tps = |s: &Sample| s.tps;
    let latency = |s: &Sample| s.latency_ms;
    let cpu_us = |s: &Sample| s.cpu_us;
    let gw = Target::Gateway;
    let simple = paired(Kind::Simple, gw, Target::Bouncer, tps);
    let prepared = paired(Kind::Prepared, gw, Target::Direct, tps);
    let varied = paired(Kind::Varied, gw, Target::Bouncer, tps);
    let latency1 = paired(Kind::Latency1, gw, Target::Bouncer, latency);
    println!("cpu per transaction, gateway / PgBouncer:");
    let cpu = paired(Kind::Simple, gw, Target::Bouncer, cpu_us);
    let _ = paired(Kind::Varied, gw, Target::Bouncer, cpu_us);
    let spin = settings.nospin.then(|| {
        let ns = Target::GatewayNoSpin;
        println!("\nthe gateway without polling (spin_us = 0) / reference:");
        paired(Kind::Simple, ns, Target::Bouncer, tps);
        paired(Kind::Prepared, ns, Target::Direct, tps);
        paired(Kind::Varied, ns, Target::Bouncer, tps);
        paired(Kind::Latency1, ns, Target::Bouncer, latency);
        println!("cpu per transaction, gateway-nospin / PgBouncer:");
        paired(Kind::Simple, ns, Target::Bouncer, cpu_us);
        paired(Kind::Varied, ns, Target::Bouncer, cpu_us);
        println!("\npolling: gateway / gateway-nospin (TPS; latency1: latency):");
        let simple = paired(Kind::Simple, gw, ns, tps);
        let prepared = paired(Kind::Prepared, gw, ns, tps);
        let varied = paired(Kind::Varied, gw, ns, tps);
        let latency1 = paired(Kind::Latency1, gw, ns, latency);
        println!("cpu per transaction, gateway / gateway-nospin:");
        let cpu_simple = paired(Kind::Simple, gw, ns, cpu_us);
        let _ = paired(Kind::Prepared, gw, ns, cpu_us);
        let _ = paired(Kind::Varied, gw, ns, cpu_us);
        let cpu_latency1 = paired(Kind::Latency1, gw, ns, cpu_us);
        format!(
            "spin simple={simple} prepared={prepared} varied={varied} latency1={latency1} \
             cpu_simple={cpu_simple} cpu_latency1={cpu_latency1}"
        )
    });
    let complete =
        gateway.is_some() && (nospin.is_some() || !settings.nospin) && failures.is_empty();
    drop(gateway);
    drop(nospin);
    drop(bouncer);
    drop(pg);
    if let Some(line) = spin {
        println!("{line}");
    }
    println!(
        "ratio simple={simple} prepared={prepared} varied={varied} latency1={latency1} cpu={cpu}"
    );
    Ok(if complete { 0 } else { 1 })
}

/// For every round, `subject`'s value divided by `reference`'s for `kind`, or `None` when
/// either run of the round failed (or gave no value).
fn per_round_ratios(
    results: &BTreeMap<(Kind, Target), Vec<(u32, Sample)>>,
    kind: Kind,
    subject: Target,
    reference: Target,
    value: fn(&Sample) -> f64,
    rounds: u32,
) -> Vec<Option<f64>> {
    let run = |target: Target, round: u32| {
        results
            .get(&(kind, target))?
            .iter()
            .find(|(r, _)| *r == round)
            .map(|(_, s)| value(s))
            .filter(|v| v.is_finite())
    };
    (0..rounds)
        .map(|round| {
            let g = run(subject, round)?;
            let r = run(reference, round)?;
            (r > 0.0).then(|| g / r)
        })
        .collect()
}

/// The `varied` kind's transaction: `pgbench -S`'s statement with the account id repeated in
/// a string literal and in a comment, as ORMs interpolate values and sqlcommenter tags
/// requests, so that the statement text is new in (nearly) every transaction. (`filler` is
/// blank in every row: the string never filters one out.)
const VARIED_SCRIPT: &str = "\\set aid random(1, 100000 * :scale)\n\
    SELECT abalance FROM pgbench_accounts WHERE aid = :aid AND filler <> 'request-:aid' /* request :aid */;\n";

/// One `pgbench -S` run (or, `varied`, the [`VARIED_SCRIPT`] run) against `127.0.0.1:port`.
fn pgbench(port: u16, protocol: &str, clients: u32, seconds: u32, varied: bool) -> Result<Sample> {
    let threads = clients.clamp(1, 2);
    let script = tempfile::NamedTempFile::new()?;
    std::fs::write(script.path(), VARIED_SCRIPT)?;
    let mut cmd = Command::new(tools::pgbench()?);
    cmd.args(["-n", "-M", protocol]);
    if varied {
        cmd.arg("-f").arg(script.path());
    } else {
        cmd.arg("-S");
    }
    let out = process::output(
        cmd.args(["-c", &clients.to_string(), "-j", &threads.to_string()])
            .args(["-T", &seconds.to_string()])
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", USER, DB])
            .env("PGPASSWORD", PASSWORD)
            .env("PGSSLMODE", "disable"),
        Duration::from_secs(u64::from(seconds) + 120),
    )?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!(
            "pgbench exited with {}: {}",
            out.status,
            last_lines(&stderr, 5)
        );
    }
    let field = |prefix: &str| -> Result<f64> {
        stdout
            .lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .with_context(|| format!("no `{prefix}` in pgbench output:\n{stdout}"))
    };
    Ok(Sample {
        tps: field("tps = ")?,
        latency_ms: field("latency average = ")?,
        cpu_us: f64::NAN,
        transactions: field("number of transactions actually processed: ")? as u64,
    })
}

/// `articdbm-gateway run --config FILE` with the default pack, transaction pooling; as
/// `Target::GatewayNoSpin`, with `spin_us = 0`.
struct Gateway {
    target: Target,
    process: GatewayProcess,
    port: u16,
    admin: u16,
}

impl Gateway {
    fn start(bin: &Path, target: Target, pg: &PgServer, host: &str, pool: u32) -> Result<Gateway> {
        let port = free_port()?;
        let admin = free_port()?;
        let workers = match std::env::var("ARTICDBM_BENCH_GATEWAY_WORKERS") {
            Ok(n) if !n.is_empty() => format!("workers = {n}"),
            _ => String::new(),
        };
        let spin = match std::env::var("ARTICDBM_BENCH_GATEWAY_SPIN_US") {
            _ if target == Target::GatewayNoSpin => "spin_us = 0".to_string(),
            Ok(n) if !n.is_empty() => format!("spin_us = {n}"),
            _ => String::new(),
        };
        let under_quota = match std::env::var("ARTICDBM_BENCH_GATEWAY_SPIN_UNDER_QUOTA") {
            Ok(v) if v == "1" => "spin_under_quota = true",
            _ => "",
        };
        let pipeline = match std::env::var("ARTICDBM_BENCH_GATEWAY_PIPELINE_MS") {
            Ok(n) if !n.is_empty() => format!(", pipeline_short_ms = {n}"),
            _ => String::new(),
        };
        let config = GatewayProcess::config(
            &format!(
                "listen = \"127.0.0.1:{port}\"\nadmin_listen = \"127.0.0.1:{admin}\"\n\
                 {workers}\n{spin}\n{under_quota}"
            ),
            (USER, PASSWORD),
            &format!(
                "[[database]]\nname = \"{DB}\"\nserver_user = \"{su}\"\nserver_password = {supw:?}\n\
                 server_database = \"{DB}\"\ntls = \"disable\"\n\
                 pool = {{ mode = \"transaction\", size = {pool}, min_idle = {pool}{pipeline} }}\n\n\
                 [[database.backend]]\nhost = {host:?}\nport = {pgport}\n",
                su = pg.superuser(),
                supw = pg.password(),
                pgport = pg.port(),
            ),
        )?;
        let mut process = GatewayProcess::spawn(bin, &config)?;
        if let Some(dir) = std::env::var_os("ARTICDBM_BENCH_PIDFILE_DIR") {
            let _ = std::fs::write(
                Path::new(&dir).join(format!("{}.pid", target.name())),
                process.pid().to_string(),
            );
        }
        process
            .wait_listening(port, GATEWAY_READY)
            .with_context(|| format!("the {} did not start", target.name()))?;
        let gateway = Gateway {
            target,
            process,
            port,
            admin,
        };
        // Listening is not enough: one real query, as pgbench will send it.
        articdbm_tests::pg::psql("127.0.0.1", port, DB, USER, PASSWORD, "SELECT 1").with_context(
            || format!("the {} listens but does not answer a query", target.name()),
        )?;
        Ok(gateway)
    }

    fn log_text(&self) -> String {
        self.process.log_text()
    }

    fn check_alive(&self) {
        let text = self.log_text();
        if !text.trim().is_empty() {
            eprintln!(
                "{} log (last lines):\n{}",
                self.target.name(),
                last_lines(&text, 10)
            );
        }
    }

    /// `articdbm_spin_polls_total` and `articdbm_spin_pauses_total` from its `/metrics`;
    /// `None` when no spinner runs (or the endpoint cannot be read).
    fn spin_counters(&self) -> Option<(u64, u64)> {
        use std::io::{Read, Write};
        let mut http = std::net::TcpStream::connect(loopback(self.admin)).ok()?;
        http.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        http.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .ok()?;
        let mut text = String::new();
        http.read_to_string(&mut text).ok()?;
        let counter = |name: &str| -> Option<u64> {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        };
        Some((
            counter("articdbm_spin_polls_total ")?,
            counter("articdbm_spin_pauses_total ")?,
        ))
    }
}
