//! The real `threat-match` component against the real [`ThreatStore`]: the store the test
//! fills is the one the host's `indicators` import reads (the same `Arc` a gateway hands out
//! from `Gateway::threats`), with tenant scoping, bypass and CIDR matching done by the store.

#[path = "it/fixture.rs"]
#[allow(dead_code)]
mod fixture;

use std::collections::HashMap;
use std::sync::Arc;

use articdbm_config::threat::{Bypass, IndicatorChange, IndicatorEntry};
use articdbm_runtime::indicators::ThreatStore;
use fixture::*;

fn upsert(
    feed: &str,
    tenant: Option<&str>,
    kind: &str,
    value: &str,
    id: &str,
    c: u8,
) -> IndicatorChange {
    IndicatorChange::Upsert(IndicatorEntry {
        feed: feed.into(),
        tenant: tenant.map(Into::into),
        kind: kind.into(),
        value: value.into(),
        id: id.into(),
        confidence: c,
        valid_from: None,
        valid_until: None,
    })
}

fn setup(config: &str) -> (Fixture, Arc<ThreatStore>) {
    let store = Arc::new(ThreatStore::new());
    let r = store.apply(&[
        upsert(
            "abuse",
            None,
            "address",
            "203.0.113.0/24",
            "indicator--1234",
            85,
        ),
        upsert("c2", None, "domain", "evil.example", "indicator--d1", 90),
        upsert(
            "acme/own",
            Some("acme"),
            "address",
            "198.51.100.7",
            "acme--1",
            80,
        ),
        upsert("acme/own", Some("acme"), "user", "mallory", "acme--2", 80),
        upsert("weak", None, "address", "192.0.2.1", "weak--1", 20),
    ]);
    assert_eq!((r.upserted, r.rejected), (5, 0), "{r:?}");
    let pack = baseline(
        "threat-match",
        &format!("hooks = [\"connect\", \"query\"]\n[binding.config]\n{config}\n"),
    );
    let f = match Fixture::try_new(
        &["threat-match"],
        &[("base.toml", &pack)],
        Box::new(Arc::clone(&store)),
    ) {
        Ok(f) => f,
        Err((_, e)) => panic!("fixture: {e:?}"),
    };
    assert!(
        f.report.plugin_errors.is_empty(),
        "{:?}",
        f.report.plugin_errors
    );
    assert_eq!(f.report.pack_error, None);
    (f, store)
}

fn from(tenant: &str, addr: &str) -> articdbm_runtime::bindings::Connection {
    let mut c = conn(tenant, "app");
    c.client_addr = addr.into();
    c
}

#[test]
fn connect_is_refused_for_listed_addresses_with_provenance() {
    let (f, _store) = setup("");
    let d = f.connect(&from("acme", "203.0.113.9"));
    assert_eq!(rule(&d), Some("threat.address"), "{d:?}");
    assert_eq!(
        reason(&d),
        "client address 203.0.113.9 is listed by threat feed \"abuse\" (indicator indicator--1234, 203.0.113.0/24, confidence 85)"
    );
    assert_eq!(
        rule(&f.connect(&from("acme", "::ffff:203.0.113.200"))),
        Some("threat.address")
    );
    assert!(f.connect(&from("acme", "203.0.114.1")).is_allowed());
    // below the default threshold of 50
    assert!(f.connect(&from("acme", "192.0.2.1")).is_allowed());
    assert!(
        f.metrics()
            .contains("articdbm_plugin_counter_total{name=\"blocks.address\",plugin=\"threat-match\",tenant=\"acme\"} 2"),
        "{}",
        f.metrics()
    );
}

#[test]
fn tenant_feeds_apply_to_their_tenant_only() {
    let (f, _store) = setup("");
    assert_eq!(
        rule(&f.connect(&from("acme", "198.51.100.7"))),
        Some("threat.address")
    );
    assert!(f.connect(&from("beta", "198.51.100.7")).is_allowed());
    assert_eq!(
        rule(&f.connect(&conn("acme", "mallory"))),
        Some("threat.user")
    );
    assert!(f.connect(&conn("beta", "mallory")).is_allowed());
}

#[test]
fn statement_literals_are_looked_up() {
    let (f, store) = setup("");
    let c = conn("acme", "app");
    let d = f.query(
        &c,
        "SELECT * FROM links WHERE url = 'https://cdn.Evil.Example/x.js'",
    );
    assert_eq!(rule(&d), Some("threat.query.domain"), "{d:?}");
    assert!(
        reason(&d).contains("indicator indicator--d1, evil.example, confidence 90"),
        "{}",
        reason(&d)
    );
    let d = f.query(&c, "INSERT INTO seen (ip) VALUES ('203.0.113.77')");
    assert_eq!(rule(&d), Some("threat.query.address"), "{d:?}");
    assert!(f.query(&c, "SELECT 'good.example', 'hello'").is_allowed());
    assert!(f.query(&c, "SELECT 1 -- 'evil.example'").is_allowed());
    // changes to the store are seen by the running plugin at once
    store.apply(&[IndicatorChange::Remove {
        feed: "c2".into(),
        kind: "domain".into(),
        value: "evil.example".into(),
    }]);
    assert!(
        f.query(&c, "SELECT 'https://cdn.evil.example/x.js'")
            .is_allowed()
    );
    store.apply(&[upsert(
        "c2",
        None,
        "domain",
        "evil.example",
        "indicator--d2",
        90,
    )]);
    assert_eq!(
        rule(&f.query(&c, "SELECT 'cdn.evil.example'")),
        Some("threat.query.domain")
    );
}

#[test]
fn bypass_from_the_manager_and_from_the_config() {
    let (f, store) = setup("bypass = { addresses = [\"203.0.113.128/25\"] }");
    // config bypass (every tenant)
    assert!(f.connect(&from("acme", "203.0.113.200")).is_allowed());
    assert_eq!(
        rule(&f.connect(&from("acme", "203.0.113.9"))),
        Some("threat.address")
    );
    // manager bypass, applied by the host for its tenant only
    let mut rules = HashMap::new();
    rules.insert(
        "acme".to_string(),
        Bypass {
            addresses: vec!["203.0.113.0/26".into()],
            users: vec!["mallory".into()],
            indicators: vec!["indicator--d1".into()],
        },
    );
    store.set_bypass(rules);
    assert!(f.connect(&from("acme", "203.0.113.9")).is_allowed());
    assert_eq!(
        rule(&f.connect(&from("beta", "203.0.113.9"))),
        Some("threat.address")
    );
    assert!(f.connect(&conn("acme", "mallory")).is_allowed());
    let c = conn("acme", "app");
    assert!(f.query(&c, "SELECT 'evil.example'").is_allowed());
    assert_eq!(
        rule(&f.query(&conn("beta", "app"), "SELECT 'evil.example'")),
        Some("threat.query.domain")
    );
}

#[test]
fn threshold_from_the_config() {
    let (f, _store) = setup("min_confidence = 10");
    assert_eq!(
        rule(&f.connect(&from("acme", "192.0.2.1"))),
        Some("threat.address")
    );
    let (f, _store) = setup("min_confidence = 95");
    assert!(f.connect(&from("acme", "203.0.113.9")).is_allowed());
}
