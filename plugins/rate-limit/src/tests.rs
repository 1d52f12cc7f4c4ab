//! Native tests through the SDK harness, on its settable clock and in-memory store.

use articdbm_plugin_sdk::testing::{
    Harness, VerdictExt, advance_ms, connection, empty_facts, query_with, with_host,
};
use articdbm_plugin_sdk::{Connection, Level, Query, Verdict};

use crate::{Plugin, Rate, key};

fn rl(config: &str) -> Harness<Plugin> {
    match Harness::<Plugin>::new(config) {
        Ok(h) => h,
        Err(e) => panic!("config refused: {e}"),
    }
}

fn refused(config: &str) -> String {
    match Harness::<Plugin>::new(config) {
        Ok(_) => panic!("config accepted: {config}"),
        Err(e) => e,
    }
}

fn stmt() -> Query {
    query_with("SELECT 1", empty_facts())
}

fn reason(v: &Verdict) -> String {
    match v {
        Verdict::Deny(f) | Verdict::Audit(f) => f.reason.clone(),
        Verdict::Allow => String::new(),
    }
}

/// Puts the clock at the start of a window of `w` ms (and of an hour when `w` divides it).
fn align(w: u64) {
    with_host(|h| h.now_ms = (h.now_ms / 3_600_000 + 1) * 3_600_000 / w * w);
}

/// How many of `n` statements pass right now.
fn admitted(p: &Harness<Plugin>, conn: &Connection, n: usize) -> usize {
    (0..n)
        .filter(|_| p.on_query(conn, &stmt()).is_allow())
        .count()
}

/// The value of the only key starting with `prefix`.
fn counter(prefix: &str) -> Vec<String> {
    with_host(|h| {
        let mut v: Vec<String> =
            h.kv.iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(_, (v, _))| String::from_utf8_lossy(v).into_owned())
                .collect();
        v.sort();
        v
    })
}

#[test]
fn empty_config_imposes_no_limits_and_touches_no_store() {
    let p = rl("{}");
    with_host(|h| h.kv_down = true);
    let conn = connection().build();
    assert_eq!(admitted(&p, &conn, 10_000), 10_000);
    with_host(|h| {
        assert!(h.kv.is_empty() && h.logs.is_empty() && h.counters.is_empty());
    });
}

#[test]
fn per_user_rate_allows_the_burst_then_refuses() {
    let p = rl(r#"{"per_user_qps": 5}"#);
    align(1000);
    let alice = connection().build();
    assert_eq!(admitted(&p, &alice, 5), 5);
    let v = p.on_query(&alice, &stmt());
    assert_eq!(v.rule(), Some("rate.user"));
    assert!(
        reason(&v).contains("\"alice\"") && reason(&v).contains("5 queries per second"),
        "{}",
        reason(&v)
    );
    // refusals are given back: the window still holds 5
    assert_eq!(admitted(&p, &alice, 100), 0);
    assert_eq!(counter("rl:u:"), ["5"]);
    // other users have their own buckets
    assert_eq!(admitted(&p, &connection().user("bob").build(), 5), 5);
    // ... and so do users of the same name in other tenants
    assert_eq!(admitted(&p, &connection().tenant("globex").build(), 5), 5);
}

#[test]
fn window_rollover_refills_gradually() {
    let p = rl(r#"{"per_user_qps": 10}"#);
    align(1000);
    let alice = connection().build();
    assert_eq!(admitted(&p, &alice, 20), 10);
    // next window: the previous one still weighs fully at its start...
    advance_ms(1000);
    assert_eq!(admitted(&p, &alice, 20), 0);
    // ...half at its middle: 10 * 0.5 = 5 counted, 5 free
    advance_ms(500);
    assert_eq!(admitted(&p, &alice, 20), 5);
    // two windows after the burst, only the 5 of the middle one count, and weigh little
    advance_ms(1400);
    assert_eq!(admitted(&p, &alice, 20), 10);
    // long idle: the whole burst is back
    advance_ms(10_000);
    assert_eq!(admitted(&p, &alice, 20), 10);
}

#[test]
fn a_client_at_the_rate_is_never_refused() {
    let p = rl(r#"{"per_user_qps": 10}"#);
    align(1000);
    advance_ms(1);
    let alice = connection().build();
    for i in 0..100 {
        assert!(p.on_query(&alice, &stmt()).is_allow(), "statement {i}");
        advance_ms(100);
    }
}

#[test]
fn a_client_at_twice_the_rate_gets_about_the_rate() {
    let p = rl(r#"{"per_user_qps": 10}"#);
    align(1000);
    advance_ms(7);
    let alice = connection().build();
    let mut passed = 0;
    for _ in 0..200 {
        if p.on_query(&alice, &stmt()).is_allow() {
            passed += 1;
        }
        advance_ms(50);
    }
    // 10 seconds at 20/s: a token bucket admits 10 + 10*10 - 10 = ~100
    assert!((90..=110).contains(&passed), "{passed}");
}

#[test]
fn burst_sets_the_bucket_size() {
    let p = rl(r#"{"per_user_qps": 2, "burst": 6}"#);
    // window = 3 s: the time to refill 6 at 2/s
    assert_eq!(Rate { qps: 2, burst: 6 }.window_ms(), 3000);
    align(3000);
    let alice = connection().build();
    assert_eq!(admitted(&p, &alice, 10), 6);
    advance_ms(3000 + 1500);
    // half the previous window's 6 still counts
    assert_eq!(admitted(&p, &alice, 10), 3);
    advance_ms(3000 * 4);
    assert_eq!(admitted(&p, &alice, 10), 6);
}

#[test]
fn burst_below_qps_spaces_statements_out() {
    let p = rl(r#"{"per_user_qps": 10, "burst": 1}"#);
    assert_eq!(Rate { qps: 10, burst: 1 }.window_ms(), 100);
    assert_eq!(Rate { qps: 3, burst: 1 }.window_ms(), 334);
    align(1000);
    let alice = connection().build();
    assert_eq!(admitted(&p, &alice, 5), 1);
    advance_ms(200);
    assert_eq!(admitted(&p, &alice, 5), 1);
}

#[test]
fn per_user_overrides() {
    let p =
        rl(r#"{"per_user_qps": 3, "users": {"batch": {"qps": 1}, "app": {"qps": 2, "burst": 8}}}"#);
    align(8000);
    assert_eq!(admitted(&p, &connection().user("batch").build(), 5), 1);
    assert_eq!(admitted(&p, &connection().user("app").build(), 20), 8);
    assert_eq!(admitted(&p, &connection().user("alice").build(), 5), 3);
    // overrides alone limit only their users (same limits share counters: move on in time)
    advance_ms(60_000);
    let p = rl(r#"{"users": {"batch": {"qps": 1}}}"#);
    assert_eq!(admitted(&p, &connection().user("batch").build(), 5), 1);
    assert_eq!(admitted(&p, &connection().user("alice").build(), 500), 500);
}

#[test]
fn tenant_hourly_quota_and_the_next_hour() {
    let p = rl(r#"{"per_tenant_hourly": 3}"#);
    align(3_600_000);
    advance_ms(3_599_000);
    let a = connection().user("a").build();
    let b = connection().user("b").database("other").build();
    assert!(p.on_query(&a, &stmt()).is_allow());
    assert!(p.on_query(&b, &stmt()).is_allow());
    assert!(p.on_query(&a, &stmt()).is_allow());
    let v = p.on_query(&b, &stmt());
    assert_eq!(v.rule(), Some("rate.tenant-quota"));
    assert!(
        reason(&v).contains("\"acme\"") && reason(&v).contains("3 queries this hour"),
        "{}",
        reason(&v)
    );
    // another tenant has its own quota
    assert_eq!(admitted(&p, &connection().tenant("globex").build(), 5), 3);
    // the clock hour rolls over one second later
    advance_ms(999);
    assert!(p.on_query(&a, &stmt()).is_deny());
    advance_ms(1);
    assert_eq!(admitted(&p, &a, 5), 3);
}

#[test]
fn database_hourly_quota() {
    let p = rl(r#"{"per_database_hourly": 2}"#);
    align(3_600_000);
    let app = connection().database("app").build();
    let other = connection().database("other").build();
    assert_eq!(admitted(&p, &app, 2), 2);
    let v = p.on_query(&app, &stmt());
    assert_eq!(v.rule(), Some("rate.database-quota"));
    assert!(reason(&v).contains("\"app\""), "{}", reason(&v));
    assert_eq!(admitted(&p, &other, 5), 2);
    advance_ms(3_600_000);
    assert_eq!(admitted(&p, &app, 5), 2);
}

#[test]
fn quota_keys_expire_with_their_hour() {
    let p = rl(r#"{"per_tenant_hourly": 100}"#);
    align(3_600_000);
    advance_ms(1_000_000);
    admitted(&p, &connection().build(), 1);
    let exp = with_host(|h| h.kv.values().filter_map(|(_, e)| *e).max());
    let end_of_hour = with_host(|h| (h.now_ms / 3_600_000 + 1) * 3_600_000);
    assert_eq!(exp, Some(end_of_hour + 60_000));
}

#[test]
fn refused_statements_use_up_no_limit() {
    // a database-quota refusal gives the tenant quota back
    let p = rl(r#"{"per_tenant_hourly": 3, "per_database_hourly": 1}"#);
    align(3_600_000);
    let db = |d: &str| connection().database(d).build();
    assert!(p.on_query(&db("a"), &stmt()).is_allow());
    assert_eq!(
        p.on_query(&db("a"), &stmt()).rule(),
        Some("rate.database-quota")
    );
    assert_eq!(
        p.on_query(&db("a"), &stmt()).rule(),
        Some("rate.database-quota")
    );
    assert!(p.on_query(&db("b"), &stmt()).is_allow());
    assert!(p.on_query(&db("c"), &stmt()).is_allow());
    assert_eq!(
        p.on_query(&db("d"), &stmt()).rule(),
        Some("rate.tenant-quota")
    );
    // a tenant-quota refusal gives the user's rate back
    let p = rl(r#"{"per_user_qps": 50, "per_tenant_hourly": 1}"#);
    let t = connection().tenant("t2").build();
    assert_eq!(admitted(&p, &t, 10), 1);
    with_host(|h| {
        let user_keys: Vec<_> =
            h.kv.iter()
                .filter(|(k, _)| k.starts_with("rl:u:") && k.contains(":2:t2:"))
                .map(|(_, (v, _))| v.clone())
                .collect();
        assert_eq!(user_keys, [b"1".to_vec()]);
    });
}

#[test]
fn store_down_allows_by_default_with_a_warning_and_a_counter() {
    let p = rl(r#"{"per_user_qps": 1, "per_tenant_hourly": 1}"#);
    with_host(|h| h.kv_down = true);
    let alice = connection().build();
    assert_eq!(admitted(&p, &alice, 3), 3);
    with_host(|h| {
        assert_eq!(h.counters.get("store_errors"), Some(&3));
        assert_eq!(h.logs.len(), 3);
        assert!(
            h.logs
                .iter()
                .all(|(l, m)| *l == Level::Warn && m.contains("unavailable"))
        );
    });
    // the store comes back: limits apply again
    with_host(|h| h.kv_down = false);
    assert_eq!(admitted(&p, &alice, 3), 1);
}

#[test]
fn store_down_denies_when_configured() {
    let p = rl(r#"{"per_database_hourly": 10, "on_store_error": "deny"}"#);
    with_host(|h| h.kv_down = true);
    let v = p.on_query(&connection().build(), &stmt());
    assert_eq!(v.rule(), Some("rate.store-unavailable"));
    assert!(
        !reason(&v).contains("test host"),
        "store internals leak: {}",
        reason(&v)
    );
    with_host(|h| {
        assert_eq!(h.counters.get("store_errors"), Some(&1));
        assert!(
            h.logs
                .iter()
                .any(|(l, m)| *l == Level::Warn && m.contains("test host: kv is down"))
        );
    });
}

#[test]
fn a_corrupt_counter_is_a_store_error() {
    let p = rl(r#"{"per_tenant_hourly": 10}"#);
    align(3_600_000);
    let alice = connection().build();
    assert!(p.on_query(&alice, &stmt()).is_allow());
    with_host(|h| {
        for (v, _) in h.kv.values_mut() {
            *v = b"garbage".to_vec();
        }
    });
    assert!(p.on_query(&alice, &stmt()).is_allow());
    with_host(|h| assert_eq!(h.counters.get("store_errors"), Some(&1)));
}

#[test]
fn long_and_odd_names_make_valid_distinct_keys() {
    let p = rl(r#"{"per_user_qps": 1}"#);
    let long = "u".repeat(600);
    let conn = connection().user(&long).build();
    assert_eq!(admitted(&p, &conn, 3), 1);
    with_host(|h| assert!(h.counters.is_empty() && h.kv.keys().all(|k| k.len() <= 512)));
    assert_ne!(key("p", &["a:1", "b"]), key("p", &["a", "1:b"]));
    assert_ne!(key("p", &[&"x".repeat(300)]), key("p", &[&"y".repeat(300)]));
    assert_eq!(admitted(&p, &connection().user("a:1").build(), 2), 1);
}

#[test]
fn bad_configs_name_the_field() {
    let cases = [
        (r#"{"per_user_qps": 0}"#, "per_user_qps"),
        (r#"{"per_user_qps": -1}"#, "invalid config"),
        (r#"{"burst": 5}"#, "burst"),
        (r#"{"per_user_qps": 5, "burst": 0}"#, "burst"),
        (r#"{"per_tenant_hourly": 0}"#, "per_tenant_hourly"),
        (r#"{"per_database_hourly": 0}"#, "per_database_hourly"),
        (r#"{"users": {"bob": {"qps": 0}}}"#, "users.bob.qps"),
        (
            r#"{"users": {"bob": {"qps": 1, "burst": 0}}}"#,
            "users.bob.burst",
        ),
        (r#"{"users": {"bob": {}}}"#, "qps"),
        (r#"{"users": {"bob": {"qps": 1, "rate": 2}}}"#, "rate"),
        (r#"{"on_store_error": "maybe"}"#, "maybe"),
        (r#"{"per_user_qsp": 5}"#, "per_user_qsp"),
    ];
    for (cfg, want) in cases {
        let e = refused(cfg);
        assert!(e.contains(want), "{cfg}: {e:?} lacks {want:?}");
    }
}

#[test]
fn example_pack_config_works() {
    // examples/packs/acme.toml
    let p = rl(r#"{"per_user_qps": 200, "burst": 400}"#);
    align(2000);
    let app = connection().user("app").build();
    assert_eq!(admitted(&p, &app, 500), 400);
    advance_ms(4000);
    assert_eq!(admitted(&p, &app, 500), 400);
}

#[test]
fn shipped_manifest_is_a_strict_schema() {
    let m: serde_json::Value = match serde_json::from_str(include_str!("../manifest.json")) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(m["name"], "rate-limit");
    let s = &m["config_schema"];
    assert_eq!(s["additionalProperties"], false);
    for field in [
        "per_user_qps",
        "burst",
        "per_tenant_hourly",
        "per_database_hourly",
        "users",
        "on_store_error",
    ] {
        assert!(s["properties"][field]["description"].is_string(), "{field}");
    }
}

#[test]
fn real_sql_statements_count_alike() {
    use articdbm_plugin_sdk::testing::query;
    let p = rl(r#"{"per_user_qps": 2}"#);
    align(1000);
    let alice = connection().build();
    assert!(p.on_query(&alice, &query("SELECT 1")).is_allow());
    assert!(p.on_query(&alice, &query("BEGIN")).is_allow());
    assert_eq!(
        p.on_query(&alice, &query("not even sql")).rule(),
        Some("rate.user")
    );
}
