//! Policies in four languages through the real runtime: the same trivial policy (refuse DROP)
//! in Rust, Python, JavaScript and C, and each language's example plugin (Rust: rate-limit).
//! For each it prints:
//!
//! - the component's size;
//! - compile time at registration (compile and link on a fresh runtime, no cache);
//! - instantiate time (a new tenant's first statement: instantiate, configure, one call, less
//!   a warm call);
//! - warm call p50 and p99 over single evaluations (facts cached, the plugin called each time);
//! - memory per warm instance: its linear memory, and the process's resident growth per
//!   instance over many tenants' warm instances.
//!
//! Criterion's estimates of the warm call follow. docs/PLUGINS.md ("Languages compared")
//! publishes the figures. Under `cargo test --all-targets` (criterion's test mode, no
//! `--bench`) every count is scaled down so it runs in seconds.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use articdbm_gateway::runtime::bindings::{Connection, Protocol};
use articdbm_gateway::runtime::host::HostServices;
use articdbm_gateway::runtime::indicators::NoIndicators;
use articdbm_gateway::runtime::kv::MemoryKv;
use articdbm_gateway::runtime::metrics::Metrics;
use articdbm_gateway::runtime::reload::{Reloader, Sources};
use articdbm_gateway::runtime::{
    LoadedPlugin, PolicyEngine, Runtime, RuntimeConfig, StatementContext,
};
use articdbm_pack::PluginManifest;
use articdbm_tests::polyglot;
use criterion::{Criterion, criterion_group};

const TRIVIAL_SQL: &str = "SELECT abalance FROM pgbench_accounts WHERE aid = 17";

/// One component to measure.
struct Subject {
    label: String,
    name: String,
    wasm: PathBuf,
    manifest: PathBuf,
    /// The pack that binds it (the example's own, or a baseline binding the plugin).
    pack: Option<PathBuf>,
    /// Statements with their users and roles, cycled.
    traffic: Vec<(String, String, Vec<String>)>,
}

fn subjects() -> Vec<Subject> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let trivial_traffic = vec![(TRIVIAL_SQL.to_string(), "app".to_string(), vec![])];
    let mut out = vec![Subject {
        label: "rust trivial".into(),
        name: "trivial-rust".into(),
        wasm: articdbm_plugin_artifacts::TRIVIAL_RUST.into(),
        manifest: articdbm_plugin_artifacts::TRIVIAL_RUST_MANIFEST.into(),
        pack: None,
        traffic: trivial_traffic.clone(),
    }];
    for lang in polyglot::LANGS {
        let b = polyglot::component(&polyglot::testing_dir(lang, "trivial"))
            .unwrap_or_else(|e| panic!("{lang} trivial: {e:#}"));
        out.push(Subject {
            label: format!("{lang} trivial"),
            name: b.name,
            wasm: b.wasm,
            manifest: b.manifest,
            pack: None,
            traffic: trivial_traffic.clone(),
        });
    }
    let rate_limit = Path::new(articdbm_plugin_artifacts::PLUGIN_DIR);
    out.push(Subject {
        label: "rust example (rate-limit)".into(),
        name: "rate-limit".into(),
        wasm: rate_limit.join("rate-limit.wasm"),
        manifest: rate_limit.join("rate-limit.json"),
        pack: None,
        traffic: trivial_traffic,
    });
    for lang in polyglot::LANGS {
        let dir = root.join(polyglot::example_dir(lang));
        let b = polyglot::component(polyglot::example_dir(lang))
            .unwrap_or_else(|e| panic!("{lang} example: {e:#}"));
        out.push(Subject {
            label: format!("{lang} example ({})", b.name),
            name: b.name,
            wasm: b.wasm,
            manifest: b.manifest,
            pack: Some(dir.join("pack.toml")),
            traffic: traffic(&dir.join("traffic.jsonl")),
        });
    }
    out
}

fn traffic(path: &Path) -> Vec<(String, String, Vec<String>)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            (
                v["sql"].as_str().unwrap_or("SELECT 1").to_string(),
                v["user"].as_str().unwrap_or("app").to_string(),
                v["roles"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|r| r.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default(),
            )
        })
        .collect()
}

fn runtime(max_instances: u32) -> Arc<Runtime> {
    let services = Arc::new(HostServices::new(
        Arc::new(MemoryKv::default()),
        Box::new(NoIndicators),
        Arc::new(Metrics::new()),
    ));
    Arc::new(
        Runtime::new(
            RuntimeConfig {
                max_instances,
                warm_per_binding: 1,
                ..RuntimeConfig::default()
            },
            services,
        )
        .expect("runtime"),
    )
}

fn conn(tenant: &str, user: &str, roles: &[String]) -> Connection {
    Connection {
        id: 1,
        tenant: tenant.into(),
        user: user.into(),
        roles: roles.to_vec(),
        database: "shop".into(),
        client_addr: "127.0.0.1".into(),
        client_port: 5000,
        tls: false,
        protocol: Protocol::Postgres,
        application_name: None,
        account_expires_at: None,
    }
}

fn engine_for(s: &Subject, max_instances: u32, dir: &Path) -> Arc<PolicyEngine> {
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    std::fs::copy(&s.wasm, plugins.join(format!("{}.wasm", s.name))).unwrap();
    std::fs::copy(&s.manifest, plugins.join(format!("{}.json", s.name))).unwrap();
    let pack = match &s.pack {
        Some(p) => p.clone(),
        None => {
            let p = dir.join("pack.toml");
            std::fs::write(
                &p,
                format!(
                    "version = 1\nname = \"bench\"\nkind = \"baseline\"\nmode = \"enforce\"\n\n\
                     [[binding]]\nid = \"b\"\nplugin = \"{}\"\nhooks = [\"query\"]\n",
                    s.name
                ),
            )
            .unwrap();
            p
        }
    };
    let sources = Sources {
        plugin_dir: plugins,
        packs: vec![pack],
    };
    let (reloader, report) = Reloader::start(runtime(max_instances), sources, 10_000).unwrap();
    assert!(
        report.plugin_errors.is_empty(),
        "{}: {:?}",
        s.label,
        report.plugin_errors
    );
    reloader.engine().clone()
}

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

struct Figures {
    size: u64,
    compile: Duration,
    instantiate: Duration,
    p50: f64,
    p99: f64,
    linear_mib: f64,
    rss_mib: f64,
}

fn measure(s: &Subject, full: bool) -> Figures {
    let bytes = std::fs::read(&s.wasm).unwrap();
    let manifest_text = std::fs::read_to_string(&s.manifest).unwrap();
    let manifest = PluginManifest::parse(&manifest_text, "manifest").unwrap();

    // Registration: compile and link on a fresh runtime each time (no cache).
    let compile = median(
        (0..if full { 3 } else { 1 })
            .map(|_| {
                let rt = runtime(4);
                let t = Instant::now();
                LoadedPlugin::load_bytes(&rt, &bytes, manifest.clone(), &s.wasm)
                    .unwrap_or_else(|e| panic!("{}: {e}", s.label));
                t.elapsed()
            })
            .collect(),
    );

    let tenants = if full { 40 } else { 3 };
    let dir = tempfile::tempdir().unwrap();
    let engine = engine_for(s, tenants + 8, dir.path());
    let ctx = StatementContext::default();
    let (sql0, user0, roles0) = &s.traffic[0];
    // Warm one tenant first so that code pages and caches are in before the measurement.
    black_box(engine.evaluate_sql(&conn("warmup", user0, roles0), sql0, &ctx));
    let warm_call = {
        let c = conn("warmup", user0, roles0);
        median(
            (0..200)
                .map(|_| {
                    let t = Instant::now();
                    black_box(engine.evaluate_sql(&c, sql0, &ctx));
                    t.elapsed()
                })
                .collect(),
        )
    };
    let rss_before = rss_bytes();
    let firsts: Vec<Duration> = (0..tenants)
        .map(|i| {
            let c = conn(&format!("t{i}"), user0, roles0);
            let t = Instant::now();
            black_box(engine.evaluate_sql(&c, sql0, &ctx));
            t.elapsed()
        })
        .collect();
    let rss_per = (rss_bytes().saturating_sub(rss_before)) as f64 / tenants as f64;
    let instantiate = median(firsts).saturating_sub(warm_call);
    let snap = engine.snapshot();
    let linear: Vec<usize> = (0..tenants)
        .filter_map(|i| snap.tenant(&format!("t{i}")))
        .flat_map(|t| {
            t.bindings
                .iter()
                .flat_map(|b| b.warm_linear_memory())
                .collect::<Vec<_>>()
        })
        .collect();
    let linear_mib = linear.iter().sum::<usize>() as f64 / linear.len().max(1) as f64 / 1048576.0;

    // Warm calls, one tenant, the subject's traffic cycled.
    let n = if full { 20_000 } else { 200 };
    let conns: Vec<Connection> = s.traffic.iter().map(|(_, u, r)| conn("t0", u, r)).collect();
    let mut samples: Vec<u64> = (0..n)
        .map(|i| {
            let k = i % s.traffic.len();
            let t = Instant::now();
            black_box(engine.evaluate_sql(&conns[k], &s.traffic[k].0, &ctx));
            t.elapsed().as_nanos() as u64
        })
        .collect();
    samples.sort_unstable();
    let pct = |q: f64| samples[((n as f64 * q) as usize).min(n - 1)] as f64 / 1000.0;
    Figures {
        size: bytes.len() as u64,
        compile,
        instantiate,
        p50: pct(0.50),
        p99: pct(0.99),
        linear_mib,
        rss_mib: rss_per / 1048576.0,
    }
}

fn bench(c: &mut Criterion) {
    let full = std::env::args().any(|a| a == "--bench");
    let subjects = subjects();
    println!(
        "\n{:<34} {:>10} {:>11} {:>12} {:>9} {:>9} {:>12} {:>10}",
        "component",
        "size KiB",
        "compile ms",
        "instance µs",
        "p50 µs",
        "p99 µs",
        "linear MiB",
        "RSS MiB"
    );
    for s in &subjects {
        let f = measure(s, full);
        println!(
            "{:<34} {:>10.0} {:>11.0} {:>12.0} {:>9.2} {:>9.2} {:>12.2} {:>10.2}",
            s.label,
            f.size as f64 / 1024.0,
            f.compile.as_secs_f64() * 1e3,
            f.instantiate.as_secs_f64() * 1e6,
            f.p50,
            f.p99,
            f.linear_mib,
            f.rss_mib
        );
    }
    let mut g = c.benchmark_group("polyglot_warm_call");
    for s in subjects.iter().filter(|s| s.pack.is_none()) {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine_for(s, 8, dir.path());
        let conn = conn("t", "app", &[]);
        let ctx = StatementContext::default();
        g.bench_function(s.label.replace(' ', "_"), |b| {
            b.iter(|| black_box(engine.evaluate_sql(&conn, TRIVIAL_SQL, &ctx)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
