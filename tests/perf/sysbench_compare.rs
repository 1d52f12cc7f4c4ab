//! The helper behind `tests/perf/sysbench-compare.sh`: starts MariaDB and the gateway (default
//! pack, transaction pooling) on free loopback ports, runs sysbench `oltp_point_select`,
//! `oltp_read_only` and `varied` (point selects whose text differs per request,
//! `perf/sysbench/varied_point_select.lua`) against both in alternating rounds, prints every
//! run with the machine's CPU time per transaction, the medians and the ratios, and ends with
//! `ratio point_select=X read_only=Y latency1=Z` (X, Y: gateway TPS / direct TPS; Z: the
//! gateway's added latency at one thread, in microseconds).
//!
//! Usage: `sysbench-compare --gateway PATH`. Environment: `ARTICDBM_BENCH_SECONDS` (sysbench
//! --time, default 5), `ARTICDBM_BENCH_ROUNDS` (3), `ARTICDBM_BENCH_THREADS` (16),
//! `ARTICDBM_BENCH_POOL` (8), `ARTICDBM_BENCH_TABLE_SIZE` (10000), `ARTICDBM_BENCH_BACKEND`
//! (`unix`, the default: the gateway reaches MariaDB through its socket; or `tcp`).

use anyhow::{Context, Result, bail};
use articdbm_tests::MariaDb;
use articdbm_tests::net::free_port;
use articdbm_tests::perf::{CpuTimes, GatewayProcess, Load, last_lines, median};
use articdbm_tests::process;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const USER: &str = "sbtest";
const PASSWORD: &str = "sbtest-secret";
const DB: &str = "sbtest";

fn env_u32(name: &str, default: u32) -> Result<u32> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v.parse().with_context(|| format!("{name}={v:?}")),
        _ => Ok(default),
    }
}

struct Sample {
    tps: f64,
    latency_ms: f64,
    transactions: u64,
}

fn sysbench(
    test: &str,
    port: u16,
    threads: u32,
    seconds: u32,
    size: u32,
    action: &str,
) -> Result<String> {
    let mut cmd = Command::new("sysbench");
    cmd.arg(test)
        .arg("--db-driver=mysql")
        .arg("--mysql-host=127.0.0.1")
        .arg(format!("--mysql-port={port}"))
        .arg(format!("--mysql-user={USER}"))
        .arg(format!("--mysql-password={PASSWORD}"))
        .arg(format!("--mysql-db={DB}"))
        .arg("--mysql-ssl=off")
        .arg("--tables=1")
        .arg(format!("--table-size={size}"))
        .arg(format!("--threads={threads}"))
        .arg(format!("--time={seconds}"))
        .arg("--report-interval=0")
        .arg(action);
    let out = process::output(&mut cmd, Duration::from_secs(u64::from(seconds) + 120))?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        bail!(
            "sysbench {test} {action} failed: {}\n{}",
            last_lines(&text, 10),
            last_lines(&String::from_utf8_lossy(&out.stderr), 10)
        );
    }
    Ok(text)
}

fn parse(text: &str) -> Result<Sample> {
    let field = |prefix: &str| -> Option<&str> {
        text.lines()
            .map(str::trim)
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::trim)
    };
    // "transactions:                        123456 (24690.12 per sec.)"
    let tx = field("transactions:").context("no transactions line")?;
    let transactions: u64 = tx.split_whitespace().next().unwrap_or("0").parse()?;
    let tps: f64 = tx
        .split('(')
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .context("no per-second rate")?
        .parse()?;
    let latency_ms: f64 = field("avg:").context("no avg latency")?.parse()?;
    Ok(Sample {
        tps,
        latency_ms,
        transactions,
    })
}

fn main() {
    match run() {
        Ok(()) => {}
        Err(e) => {
            eprintln!("sysbench-compare: error: {e:#}");
            println!("ratio point_select=n/a read_only=n/a latency1=n/a");
            std::process::exit(2);
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let gateway_bin = match args.iter().position(|a| a == "--gateway") {
        Some(i) => PathBuf::from(args.get(i + 1).context("--gateway PATH")?),
        None => bail!("usage: sysbench-compare --gateway PATH"),
    };
    let seconds = env_u32("ARTICDBM_BENCH_SECONDS", 5)?;
    let rounds = env_u32("ARTICDBM_BENCH_ROUNDS", 3)?.max(1);
    let threads = env_u32("ARTICDBM_BENCH_THREADS", 16)?;
    let pool = env_u32("ARTICDBM_BENCH_POOL", 8)?;
    let size = env_u32("ARTICDBM_BENCH_TABLE_SIZE", 10_000)?;

    eprintln!("==> starting MariaDB");
    let m = MariaDb::start_with(&["--max-connections=500", "--innodb-buffer-pool-size=128M"])?;
    m.root_sql(&format!(
        "CREATE DATABASE {DB};
         CREATE USER '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}';
         GRANT ALL ON *.* TO '{USER}'@'127.0.0.1';
         CREATE USER '{USER}'@'localhost' IDENTIFIED BY '{PASSWORD}';
         GRANT ALL ON *.* TO '{USER}'@'localhost';"
    ))?;
    sysbench("oltp_read_only", m.port(), 1, 1, size, "prepare")?;
    eprintln!("==> starting the gateway");
    // Like the pgbench comparison: the gateway reaches the server through its Unix-domain
    // socket, as a pooler deployed beside its database does (`ARTICDBM_BENCH_BACKEND=tcp`:
    // loopback TCP); sysbench always connects over TCP.
    let backend = match std::env::var("ARTICDBM_BENCH_BACKEND").as_deref() {
        Ok("tcp") => ("127.0.0.1".to_string(), m.port()),
        _ => (m.socket().display().to_string(), m.port()),
    };
    let gw = Gateway::start(&gateway_bin, &backend.0, backend.1, pool)?;

    // `varied`: point selects whose text differs in every request (a string literal and a
    // comment carrying the id), so the number is not one a statement-text cache makes free.
    let varied = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("perf/sysbench/varied_point_select.lua")
        .display()
        .to_string();
    let kinds: [(&str, &str, u32); 4] = [
        ("point_select", "oltp_point_select", threads),
        ("read_only", "oltp_read_only", threads),
        ("latency1", "oltp_point_select", 1),
        ("varied", varied.as_str(), threads),
    ];
    let mut results: Vec<(&str, &str, u32, Sample, Load)> = Vec::new();
    println!(
        "{:<6} {:<13} {:>7} {:<8} {:>11} {:>11} {:>5} {:>6} {:>9} {:>6}",
        "round",
        "kind",
        "threads",
        "target",
        "tps",
        "latency_ms",
        "busy%",
        "steal%",
        "cpu_us/tx",
        "csw/tx"
    );
    for round in 1..=rounds {
        for (kind, test, t) in kinds {
            // Alternate which goes first, so drift does not favour one side.
            let order: [(&str, u16); 2] = if round % 2 == 1 {
                [("direct", m.port()), ("gateway", gw.port)]
            } else {
                [("gateway", gw.port), ("direct", m.port())]
            };
            for (target, port) in order {
                let before = CpuTimes::read();
                let text = sysbench(test, port, t, seconds, size, "run").with_context(|| {
                    format!("{target}: gateway log:\n{}", last_lines(&gw.log_text(), 10))
                })?;
                let sample = parse(&text)?;
                let load = match (before, CpuTimes::read()) {
                    (Some(b), Some(a)) => a.since(&b, Some(sample.transactions)),
                    _ => Load::unknown(),
                };
                println!(
                    "{round:<6} {kind:<13} {t:>7} {target:<8} {:>11.1} {:>11.3} {:>5} {:>6} {:>9} {:>6}",
                    sample.tps,
                    sample.latency_ms,
                    load.busy,
                    load.steal,
                    load.cpu_per_tx,
                    load.csw_per_tx
                );
                results.push((kind, target, round, sample, load));
            }
        }
    }
    println!("\nmedians over {rounds} round(s) of {seconds} s:");
    let med = |kind: &str, target: &str, f: fn(&Sample) -> f64| {
        median(
            results
                .iter()
                .filter(|r| r.0 == kind && r.1 == target)
                .map(|r| f(&r.3))
                .collect(),
        )
    };
    let cpu = |kind: &str, target: &str| {
        median(
            results
                .iter()
                .filter(|r| r.0 == kind && r.1 == target)
                .filter_map(|r| r.4.cpu_per_tx.parse().ok())
                .collect(),
        )
    };
    for (kind, _, _) in kinds {
        for target in ["direct", "gateway"] {
            println!(
                "{kind:<13} {target:<8} tps {:>10.1}  latency_ms {:>7.3}  cpu_us/tx {:>7.1}",
                med(kind, target, |s| s.tps),
                med(kind, target, |s| s.latency_ms),
                cpu(kind, target)
            );
        }
    }
    let ratio = |kind: &str| {
        let per_round: Vec<f64> = (1..=rounds)
            .filter_map(|round| {
                let g = results
                    .iter()
                    .find(|r| r.0 == kind && r.1 == "gateway" && r.2 == round)?;
                let d = results
                    .iter()
                    .find(|r| r.0 == kind && r.1 == "direct" && r.2 == round)?;
                (d.3.tps > 0.0).then(|| g.3.tps / d.3.tps)
            })
            .collect();
        median(per_round)
    };
    let added_us = (med("latency1", "gateway", |s| s.latency_ms)
        - med("latency1", "direct", |s| s.latency_ms))
        * 1000.0;
    // The varied kind on its own line: the last line stays exactly as #15 asks.
    println!(
        "\nvaried (text differs per request) gateway/direct={:.2}",
        ratio("varied")
    );
    println!(
        "ratio point_select={:.2} read_only={:.2} latency1={:.0}",
        ratio("point_select"),
        ratio("read_only"),
        added_us
    );
    Ok(())
}

/// `articdbm-gateway run --config FILE` with the default pack, transaction pooling, MySQL.
struct Gateway {
    process: GatewayProcess,
    port: u16,
}

impl Gateway {
    fn start(bin: &Path, host: &str, mariadb_port: u16, pool: u32) -> Result<Gateway> {
        let port = free_port()?;
        let pg_port = free_port()?;
        let config = GatewayProcess::config(
            &format!("listen = \"127.0.0.1:{pg_port}\"\nmysql_listen = \"127.0.0.1:{port}\""),
            (USER, PASSWORD),
            &format!(
                "[[database]]\nname = \"{DB}\"\nprotocol = \"mysql\"\nserver_user = \"{USER}\"\n\
                 server_password = \"{PASSWORD}\"\nserver_database = \"{DB}\"\ntls = \"disable\"\n\
                 pool = {{ mode = \"transaction\", size = {pool}, min_idle = {pool} }}\n\n\
                 [[database.backend]]\nhost = {host:?}\nport = {mariadb_port}\n"
            ),
        )?;
        let mut process = GatewayProcess::spawn(bin, &config)?;
        process.wait_listening(port, Duration::from_secs(60))?;
        Ok(Gateway { process, port })
    }

    fn log_text(&self) -> String {
        self.process.log_text()
    }
}
