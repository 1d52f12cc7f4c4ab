//! Per-query policy cost: facts extraction (cold and cached) and a full default-pack
//! evaluation through the real runtime with warm instances, for statements whose text repeats
//! and for `varied` text (a request id in a comment and a string literal, other values each
//! time, as ORMs and sqlcommenter send them). Besides criterion's estimates it prints p50 /
//! p99 / p99.9 of single evaluations, the figures the targets are stated in (p50 ≤ 10 µs,
//! p99 ≤ 30 µs).

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use articdbm_runtime::bindings::{Connection, Protocol};
use articdbm_runtime::host::HostServices;
use articdbm_runtime::indicators::NoIndicators;
use articdbm_runtime::kv::MemoryKv;
use articdbm_runtime::metrics::Metrics;
use articdbm_runtime::reload::{Reloader, Sources};
use articdbm_runtime::{PolicyEngine, Runtime, RuntimeConfig, StatementContext};
use criterion::{Criterion, criterion_group};

const STATEMENTS: &[&str] = &[
    "SELECT abalance FROM pgbench_accounts WHERE aid = $1",
    "UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2",
    "SELECT \"users\".\"id\", \"users\".\"email\", \"users\".\"created_at\" FROM \"users\" WHERE \"users\".\"tenant_id\" = $1 AND \"users\".\"deleted_at\" IS NULL ORDER BY \"users\".\"created_at\" DESC LIMIT 25 OFFSET 50",
    "INSERT INTO orders (customer_id, total, status) VALUES ($1, $2, 'pending') RETURNING id",
    "WITH recent AS (SELECT customer_id, sum(total) AS spent FROM orders WHERE created_at > now() - interval '30 days' GROUP BY customer_id) SELECT c.name, r.spent FROM customers c JOIN recent r ON r.customer_id = c.id ORDER BY r.spent DESC LIMIT 10",
];

/// Texts that differ in every evaluation: `count` of them, cycled.
fn varied(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| match i % 3 {
            0 => format!(
                "SELECT abalance FROM pgbench_accounts WHERE aid = {} /* request {i} */",
                i * 7919 % 100_000
            ),
            1 => format!(
                "SELECT id, email FROM users WHERE email = 'user{i}@example.com' AND tenant_id = {} /*controller='users',action='show',traceparent='00-{i:032x}-01'*/",
                i % 97
            ),
            _ => format!(
                "SELECT * FROM orders WHERE status = 'open' AND customer_id IN ({}) ORDER BY id LIMIT 10",
                (0..1 + i % 7)
                    .map(|k| (i * 31 + k).to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
        .collect()
}

fn conn() -> Connection {
    Connection {
        id: 1,
        tenant: "bench".into(),
        user: "app".into(),
        roles: vec![],
        database: "app".into(),
        client_addr: "127.0.0.1".into(),
        client_port: 5000,
        tls: false,
        protocol: Protocol::Postgres,
        application_name: Some("bench".into()),
        account_expires_at: None,
    }
}

fn default_pack_engine() -> Arc<PolicyEngine> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let services = Arc::new(HostServices::new(
        Arc::new(MemoryKv::default()),
        Box::new(NoIndicators),
        Arc::new(Metrics::new()),
    ));
    let runtime = Arc::new(
        Runtime::new(
            RuntimeConfig {
                max_instances: 64,
                ..RuntimeConfig::default()
            },
            services,
        )
        .expect("runtime"),
    );
    let sources = Sources {
        plugin_dir: articdbm_plugin_artifacts::PLUGIN_DIR.into(),
        packs: vec![root.join("policies/default.toml")],
    };
    let (reloader, report) = Reloader::start(runtime, sources, 10_000).expect("default pack");
    assert!(
        report.plugin_errors.is_empty(),
        "{:?}",
        report.plugin_errors
    );
    reloader.engine().clone()
}

fn bench(c: &mut Criterion) {
    let engine = default_pack_engine();
    let conn = conn();
    let ctx = StatementContext::default();

    let mut g = c.benchmark_group("facts");
    g.bench_function("extract_cold", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            black_box(articdbm_facts::extract(
                STATEMENTS[i % STATEMENTS.len()],
                articdbm_facts::Dialect::Postgres,
            ))
        })
    });
    g.bench_function("cached", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            black_box(engine.statement(STATEMENTS[i % STATEMENTS.len()], Protocol::Postgres))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("default_pack");
    g.bench_function("evaluate_warm", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            let d = engine.evaluate_sql(&conn, STATEMENTS[i % STATEMENTS.len()], &ctx);
            assert!(d.is_allowed());
            black_box(d)
        })
    });
    g.bench_function("evaluate_varied", |b| {
        let texts = varied(100_003);
        let mut i = 0;
        b.iter(|| {
            i += 1;
            let d = engine.evaluate_sql(&conn, &texts[i % texts.len()], &ctx);
            assert!(d.is_allowed());
            black_box(d)
        })
    });
    g.finish();

    let same: Vec<String> = STATEMENTS.iter().map(|s| s.to_string()).collect();
    percentiles("default-pack evaluation", &engine, &conn, &ctx, &same);
    percentiles(
        "default-pack evaluation, varied text",
        &engine,
        &conn,
        &ctx,
        &varied(100_003),
    );
}

/// Times single evaluations and prints the percentiles the targets are stated in.
fn percentiles(
    what: &str,
    engine: &PolicyEngine,
    conn: &Connection,
    ctx: &StatementContext,
    texts: &[String],
) {
    const N: usize = 100_000;
    let mut samples = Vec::with_capacity(N);
    for i in 0..N {
        let sql = &texts[i % texts.len()];
        let t = Instant::now();
        let d = engine.evaluate_sql(conn, sql, ctx);
        samples.push(t.elapsed().as_nanos() as u64);
        black_box(d);
    }
    samples.sort_unstable();
    let p = |q: f64| samples[((N as f64 * q) as usize).min(N - 1)] as f64 / 1000.0;
    println!(
        "{what} over {N} warm calls: p50 {:.2} µs, p99 {:.2} µs, p99.9 {:.2} µs (target p50 ≤ 10, p99 ≤ 30)",
        p(0.50),
        p(0.99),
        p(0.999)
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
