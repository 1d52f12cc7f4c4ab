//! Plugins that trap, loop forever or allocate without bound cost one evaluation a
//! fail-closed deny naming the plugin, never the process; repeated failures quarantine.

use std::time::{Duration, Instant};

use articdbm_runtime::Decision;
use articdbm_runtime::FindingKind;
use articdbm_runtime::bindings::Connection;

use crate::fixture::*;

#[test]
fn trapping_plugin_denies_that_query_and_keeps_serving() {
    let f = Fixture::new(&["trap"], &[("base.toml", &baseline("trap", ""))]);
    let c = conn("acme", "alice");
    let d = f.query(&c, "SELECT 'please trap'");
    assert_eq!(rule(&d), Some("plugin.failure"));
    let why = reason(&d);
    assert!(why.contains("plugin 'trap' trapped"), "{why}");
    assert!(why.contains("fails closed"), "{why}");
    // The instance was discarded; the next query gets a fresh one and passes.
    assert!(f.query(&c, "SELECT 1").is_allowed());
    assert!(
        f.metrics()
            .contains("articdbm_plugin_traps_total{kind=\"trap\",plugin=\"trap\"} 1")
    );
}

/// The looping component bound in the baseline with a 25 ms deadline.
fn spin_fixture() -> Fixture {
    limited("spin", serde_json::json!({"deadline_ms": 25}))
}

/// Runs the looping statement and checks it was stopped at its 25 ms deadline, not before and
/// not much after.
fn spin_until_interrupted(f: &Fixture, c: &Connection) -> Decision {
    let start = Instant::now();
    let d = f.query(c, "SELECT 'spin forever'");
    let took = start.elapsed();
    assert!(
        reason(&d).contains("exceeded its CPU deadline of 25 ms"),
        "{}",
        reason(&d)
    );
    assert!(
        took >= Duration::from_millis(25),
        "interrupted too early: {took:?}"
    );
    assert!(took < Duration::from_secs(2), "not contained: {took:?}");
    d
}

#[test]
fn runaway_loop_is_interrupted_at_its_deadline() {
    let f = spin_fixture();
    let c = conn("acme", "alice");
    let d = spin_until_interrupted(&f, &c);
    assert_eq!(rule(&d), Some("plugin.failure"));
    assert!(f.query(&c, "SELECT 1").is_allowed());
}

/// The epoch ticker parks when no guest has run for a while; a call that begins then must
/// wake it, or a runaway loop would never reach its deadline.
#[test]
fn runaway_loop_is_interrupted_after_the_ticker_parked() {
    let f = spin_fixture();
    let runtime = f.engine().runtime();
    let waited = Instant::now();
    while !runtime.epoch_ticker_parked() {
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "the epoch ticker never parked with no guest running"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let c = conn("acme", "alice");
    spin_until_interrupted(&f, &c);
}

/// A manifest may ask for up to 10 s, but a query hook is cut at the gateway's cap of
/// 100 ms: every statement waits for it.
#[test]
fn a_query_hook_deadline_is_capped_whatever_the_manifest_asks() {
    let f = limited("spin", serde_json::json!({"deadline_ms": 5000}));
    let c = conn("acme", "alice");
    let start = Instant::now();
    let d = f.query(&c, "SELECT 'spin forever'");
    let took = start.elapsed();
    assert_eq!(rule(&d), Some("plugin.failure"));
    assert!(
        reason(&d).contains("exceeded its CPU deadline of 100 ms"),
        "{}",
        reason(&d)
    );
    assert!(
        took < Duration::from_millis(2000),
        "a 5 s manifest deadline was not capped: {took:?}"
    );
}

#[test]
fn allocation_past_the_cap_is_contained() {
    let f = limited("hog", serde_json::json!({"memory_mib": 16}));
    let c = conn("acme", "alice");
    let d = f.query(&c, "SELECT 'hog memory'");
    assert_eq!(rule(&d), Some("plugin.failure"));
    assert!(
        reason(&d).contains("exceeded its memory cap of 16 MiB"),
        "{}",
        reason(&d)
    );
    assert!(f.query(&c, "SELECT 1").is_allowed());
}

/// A guest heap that only grows (1 MiB a call here; componentize-js grows by a few hundred
/// bytes a call) never costs a statement: the instance is retired before it reaches its cap.
#[test]
fn an_instance_whose_memory_only_grows_is_retired_before_its_cap() {
    let f = limited("hog", serde_json::json!({"memory_mib": 16}));
    let c = conn("acme", "alice");
    // 60 MiB leaked in all: almost four caps' worth.
    for i in 0..60 {
        let d = f.query(&c, "SELECT 'leak'");
        assert!(d.is_allowed(), "call {i}: {}", reason(&d));
    }
    let m = f.metrics();
    let recycled = m
        .lines()
        .find(|l| l.starts_with("articdbm_plugin_instances_recycled_total{plugin=\"hog\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(recycled >= 3, "{m}");
    assert!(
        m.contains("articdbm_plugin_traps_total{kind=\"memory\",plugin=\"hog\"} 0"),
        "{m}"
    );
}

/// The gateway calls plugins on its tokio workers. A guest writing to stderr there (Rust's
/// panic message; CPython's and the JS engine's uncaught exceptions) must cost its statement a
/// fail-closed deny, never the caller: wasmtime-wasi's own blocking stream functions would
/// `block_on` the runtime from inside it and panic.
#[test]
fn a_guest_writing_to_stderr_from_a_tokio_worker_is_contained() {
    let f = Fixture::new(&["trap"], &[("base.toml", &baseline("trap", ""))]);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let c = conn("acme", "alice");
    let (trapped, after) =
        rt.block_on(async { (f.query(&c, "SELECT 'trap'"), f.query(&c, "SELECT 1")) });
    assert_eq!(rule(&trapped), Some("plugin.failure"));
    assert!(reason(&trapped).contains("trapped"), "{}", reason(&trapped));
    assert!(after.is_allowed());
}

#[test]
fn fail_open_binding_allows_and_records_the_failure() {
    let f = Fixture::new(
        &["trap"],
        &[("base.toml", &baseline("trap", "failure = \"open\""))],
    );
    let d = f.query(&conn("acme", "alice"), "SELECT 'trap'");
    assert!(d.is_allowed());
    assert_eq!(d.findings.len(), 1);
    assert_eq!(d.findings[0].kind, FindingKind::FailedOpen);
    assert!(d.findings[0].hit.reason.contains("fails open"));
}

#[test]
fn repeated_traps_quarantine_the_binding_with_backoff() {
    let f = Fixture::new(&["trap"], &[("base.toml", &baseline("trap", ""))]);
    let c = conn("acme", "alice");
    for _ in 0..5 {
        assert!(reason(&f.query(&c, "SELECT 'trap'")).contains("trapped"));
    }
    // Quarantined: even a harmless query is refused without calling the plugin.
    let d = f.query(&c, "SELECT 1");
    assert!(
        reason(&d).contains("quarantined after repeated failures"),
        "{}",
        reason(&d)
    );
    assert!(
        f.metrics()
            .contains("articdbm_plugin_quarantined{plugin=\"trap\",tenant=\"acme\"} 1")
    );
    // Other tenants are not affected by acme's quarantine.
    assert!(f.query(&conn("globex", "bob"), "SELECT 1").is_allowed());
}

#[test]
fn hostile_plugins_under_concurrency_leave_the_process_healthy() {
    let f = Fixture::new(
        &["trap", "spin", "echo"],
        &[(
            "base.toml",
            "version = 1\nname = \"b\"\nkind = \"baseline\"\n[[binding]]\nplugin = \"trap\"\nfailure = \"open\"\n[[binding]]\nplugin = \"spin\"\nfailure = \"open\"\n[[binding]]\nplugin = \"echo\"\n",
        )],
    );
    std::thread::scope(|s| {
        for t in 0..4 {
            let f = &f;
            s.spawn(move || {
                let c = conn(&format!("tenant{t}"), "u");
                for i in 0..20 {
                    let sql = match i % 3 {
                        0 => "SELECT 'trap'",
                        1 => "SELECT 'spin'",
                        _ => "SELECT 1",
                    };
                    let d = f.query(&c, sql);
                    assert!(d.is_allowed(), "fail-open bindings never deny");
                    assert!(d.findings.iter().any(|x| x.hit.rule == "echo.v1"));
                }
            });
        }
    });
}

/// A fixture serving `plugin` alone in the baseline pack, its manifest's `limits` replaced.
fn limited(plugin: &str, limits: serde_json::Value) -> Fixture {
    let f = Fixture::new(&[plugin], &[]);
    set_manifest(f.dir.path(), plugin, "/limits", limits);
    write_pack(f.dir.path(), "base.toml", &baseline(plugin, ""));
    let r = f.reloader.reload();
    assert!(r.pack_error.is_none(), "{:?}", r.pack_error);
    f
}
