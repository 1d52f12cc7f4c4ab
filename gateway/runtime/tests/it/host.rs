//! Host capabilities seen from a real component: the key-value store is scoped per tenant,
//! plugin counters reach Prometheus, the clock is the host's.

use crate::fixture::*;

fn audit_reason(f: &Fixture, tenant: &str, sql: &str) -> String {
    let d = f.query(&conn(tenant, "alice"), sql);
    assert!(d.is_allowed(), "{d:?}");
    d.findings[0].hit.reason.clone()
}

#[test]
fn kv_counters_are_scoped_per_tenant() {
    let f = Fixture::new(&["echo"], &[("base.toml", &baseline("echo", ""))]);
    assert_eq!(
        audit_reason(&f, "acme", "SELECT 'echo:count'"),
        "count=1 tenant=acme"
    );
    assert_eq!(
        audit_reason(&f, "acme", "SELECT 'echo:count' "),
        "count=2 tenant=acme"
    );
    assert_eq!(
        audit_reason(&f, "globex", "SELECT 'echo:count'"),
        "count=1 tenant=globex"
    );
    assert_eq!(
        audit_reason(&f, "acme", "SELECT  'echo:count'"),
        "count=3 tenant=acme"
    );
    let m = f.metrics();
    assert!(
        m.contains(
            "articdbm_plugin_counter_total{name=\"count_calls\",plugin=\"echo\",tenant=\"acme\"} 3"
        ),
        "{m}"
    );
}

#[test]
fn clock_is_the_host_wall_clock() {
    let f = Fixture::new(&["echo"], &[("base.toml", &baseline("echo", ""))]);
    let r = audit_reason(&f, "acme", "SELECT 'echo:clock'");
    let ms: u64 = r.trim_start_matches("now=").parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(now.abs_diff(ms) < 60_000, "{ms} vs {now}");
}

#[test]
fn fresh_isolation_gets_a_new_instance_every_call() {
    let f = Fixture::new(&["echo"], &[]);
    set_manifest(
        f.dir.path(),
        "echo",
        "/isolation",
        serde_json::json!("fresh"),
    );
    write_pack(f.dir.path(), "base.toml", &baseline("echo", ""));
    f.reloader.reload();
    // State in kv persists across instances (it lives in the host), so counting still works.
    assert_eq!(
        audit_reason(&f, "acme", "SELECT 'echo:count'"),
        "count=1 tenant=acme"
    );
    assert_eq!(
        audit_reason(&f, "acme", "SELECT 'echo:count' "),
        "count=2 tenant=acme"
    );
}
