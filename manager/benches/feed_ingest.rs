//! A 100,000-indicator STIX 2.1 bundle parsed in the feed-parser sandbox, then parsed and
//! merged into a fresh SQLite store, as a feed fetch does. In `cargo test --all-targets`
//! (no `--bench`) the bundle has 5,000 indicators so the run stays short.

use std::sync::Arc;
use std::time::{Duration, Instant};

use articdbm_manager::feeds::sandbox::{Limits, Sandbox};
use articdbm_manager::feeds::{builtin_parsers, manifest_limits, to_new};
use articdbm_manager::store::Store;
use criterion::{Criterion, criterion_group, criterion_main};

fn bundle(n: usize) -> Vec<u8> {
    let mut s = String::with_capacity(n * 400);
    s.push_str(
        r#"{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":["#,
    );
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        let (a, b, c) = ((i >> 16) & 255, (i >> 8) & 255, i & 255);
        let pattern = match i % 4 {
            0 | 1 => format!("[ipv4-addr:value = '10.{a}.{b}.{c}']"),
            2 => format!("[domain-name:value = 'h{i}.bad.example']"),
            _ => format!("[ipv4-addr:value = '{}.{b}.{c}.0/24']", 100 + a),
        };
        s.push_str(&format!(
            r#"{{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-{i:012}","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"listed host {i}","indicator_types":["malicious-activity"],"pattern":"{pattern}","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z","confidence":80}}"#
        ));
    }
    s.push_str("]}");
    s.into_bytes()
}

fn parser() -> (Vec<u8>, Limits) {
    let (_, bytes, manifest) = builtin_parsers()
        .into_iter()
        .find(|(n, _, _)| *n == "feed-stix")
        .expect("built-in STIX parser");
    let limits = serde_json::from_str::<serde_json::Value>(manifest)
        .map(|m| manifest_limits(&m))
        .unwrap_or_default();
    (bytes.to_vec(), limits)
}

fn bench(c: &mut Criterion) {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 100_000 } else { 5_000 };
    let doc = bundle(n);
    let (component, limits) = parser();
    let sandbox = Sandbox::new().expect("sandbox");
    // Compile once outside the measurement.
    let out = sandbox
        .parse("feed-stix", &component, limits, "stix", &doc)
        .expect("the bundle parses");
    assert_eq!(out.indicators.len(), n);
    eprintln!("bundle: {n} indicators, {:.1} MB", doc.len() as f64 / 1e6);
    let mut g = c.benchmark_group("feed");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(if full { 30 } else { 1 }));
    g.bench_function(format!("stix_parse_{n}"), |b| {
        b.iter(|| {
            sandbox
                .parse("feed-stix", &component, limits, "stix", &doc)
                .expect("parses")
        })
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let component = Arc::new(component);
    g.bench_function(format!("stix_parse_and_store_{n}"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().expect("tempdir");
                let url = format!("sqlite:{}?mode=rwc", dir.path().join("m.db").display());
                let keys = std::sync::Arc::new(articdbm_manager::secrets::Keyring::ephemeral());
                let store = rt.block_on(Store::open(&url, keys)).expect("store");
                let started = Instant::now();
                let out = sandbox
                    .parse("feed-stix", &component, limits, "stix", &doc)
                    .expect("parses");
                let mut negated = 0;
                let items = to_new(out.indicators, 50, &mut negated);
                let r = rt
                    .block_on(store.ingest("bench", "", items, true))
                    .expect("ingest");
                total += started.elapsed();
                assert_eq!(r.live as usize, n);
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
