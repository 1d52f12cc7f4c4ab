//! Native tests through the SDK harness (the native host looks indicators up by exact value,
//! case-insensitively; CIDR matching, tenant scoping and expiry are the gateway's and are
//! tested there).

use articdbm_plugin_sdk::testing::{
    Harness, VerdictExt, connection, empty_facts, query, query_in, query_with, with_host,
};
use articdbm_plugin_sdk::{IndicatorKind, IndicatorMatch, Protocol, Verdict};

use crate::ThreatMatch;

fn plugin(config: &str) -> Harness<ThreatMatch> {
    match Harness::<ThreatMatch>::new(config) {
        Ok(h) => h,
        Err(e) => panic!("config refused: {e}"),
    }
}

fn refused(config: &str) -> String {
    match Harness::<ThreatMatch>::new(config) {
        Ok(_) => panic!("config accepted: {config}"),
        Err(e) => e,
    }
}

fn reason(v: &Verdict) -> String {
    match v {
        Verdict::Deny(f) | Verdict::Audit(f) => f.reason.clone(),
        Verdict::Allow => String::new(),
    }
}

/// Lists `value` with a given id, feed and confidence.
fn list(kind: IndicatorKind, value: &str, id: &str, feed: &str, confidence: u8) {
    with_host(|h| {
        h.indicators.push(IndicatorMatch {
            id: id.into(),
            kind,
            value: value.into(),
            confidence,
            source: feed.into(),
        })
    });
}

fn counter(name: &str) -> u64 {
    with_host(|h| h.counters.get(name).copied().unwrap_or(0))
}

fn from(addr: &str) -> articdbm_plugin_sdk::Connection {
    connection().addr(addr).build()
}

#[test]
fn listed_client_address_is_refused_with_provenance() {
    list(
        IndicatorKind::Address,
        "203.0.113.9",
        "indicator--1234",
        "abuse",
        85,
    );
    let p = plugin("{}");
    let v = p.on_connect(&from("203.0.113.9"));
    assert_eq!(v.rule(), Some("threat.address"), "{v:?}");
    assert_eq!(
        reason(&v),
        "client address 203.0.113.9 is listed by threat feed \"abuse\" (indicator indicator--1234, 203.0.113.9, confidence 85)"
    );
    match &v {
        Verdict::Deny(f) => assert_eq!(f.score, Some(0.85)),
        _ => panic!("{v:?}"),
    }
    assert_eq!(counter("blocks.address"), 1);
    // IPv4-mapped IPv6 clients are looked up as IPv4
    assert_eq!(
        p.on_connect(&from("::ffff:203.0.113.9")).rule(),
        Some("threat.address")
    );
    assert_eq!(counter("blocks.address"), 2);
    for ok in [
        "203.0.113.10",
        "2001:db8::1",
        "",
        "unix",
        "/tmp/.s.PGSQL.5432",
    ] {
        assert!(p.on_connect(&from(ok)).is_allow(), "{ok}");
    }
}

#[test]
fn listed_user_is_refused() {
    list(IndicatorKind::User, "mallory", "u-1", "insider", 90);
    let p = plugin("{}");
    let v = p.on_connect(&connection().user("mallory").build());
    assert_eq!(v.rule(), Some("threat.user"));
    assert!(
        reason(&v)
            .starts_with("user \"mallory\" is listed by threat feed \"insider\" (indicator u-1"),
        "{}",
        reason(&v)
    );
    assert_eq!(counter("blocks.user"), 1);
    assert!(p.on_connect(&connection().user("alice").build()).is_allow());
}

#[test]
fn checks_can_be_turned_off() {
    list(IndicatorKind::Address, "203.0.113.9", "a", "f", 90);
    list(IndicatorKind::User, "mallory", "u", "f", 90);
    list(IndicatorKind::Domain, "evil.example", "d", "f", 90);
    let p = plugin(
        r#"{"check_client_address": false, "check_user": false, "check_query_literals": false}"#,
    );
    let c = connection().addr("203.0.113.9").user("mallory").build();
    assert!(p.on_connect(&c).is_allow());
    assert!(
        p.on_query(&c, &query("SELECT * FROM t WHERE host = 'evil.example'"))
            .is_allow()
    );
}

#[test]
fn confidence_threshold_and_tenant_override() {
    list(IndicatorKind::Address, "203.0.113.9", "a", "f", 40);
    let p = plugin(r#"{"tenants": {"strict": {"min_confidence": 30}}}"#);
    assert!(p.on_connect(&from("203.0.113.9")).is_allow());
    let strict = connection().tenant("strict").addr("203.0.113.9").build();
    assert_eq!(p.on_connect(&strict).rule(), Some("threat.address"));
    let p = plugin(r#"{"min_confidence": 40}"#);
    assert_eq!(
        p.on_connect(&from("203.0.113.9")).rule(),
        Some("threat.address")
    );
    let p = plugin(r#"{"min_confidence": 41}"#);
    assert!(p.on_connect(&from("203.0.113.9")).is_allow());
    let p = plugin(r#"{"min_confidence": 0}"#);
    assert!(!p.on_connect(&from("203.0.113.9")).is_allow());
}

#[test]
fn bypass_lists() {
    list(IndicatorKind::Address, "203.0.113.9", "a", "f", 90);
    list(IndicatorKind::Address, "198.51.100.1", "b", "f", 90);
    list(IndicatorKind::User, "mallory", "u", "f", 90);
    list(IndicatorKind::Domain, "evil.example", "d-1", "f", 90);
    let p = plugin(
        r#"{
            "bypass": {"addresses": ["203.0.113.0/24"], "users": ["mallory"], "indicators": ["d-1"]},
            "tenants": {"acme2": {"bypass": {"addresses": ["198.51.100.1"]}}}
        }"#,
    );
    assert!(p.on_connect(&from("203.0.113.9")).is_allow());
    assert!(p.on_connect(&from("::ffff:203.0.113.9")).is_allow());
    assert_eq!(
        p.on_connect(&from("198.51.100.1")).rule(),
        Some("threat.address")
    );
    // tenant bypass adds to the global one
    let t = connection().tenant("acme2").addr("198.51.100.1").build();
    assert!(p.on_connect(&t).is_allow());
    let t = connection().tenant("acme2").addr("203.0.113.9").build();
    assert!(p.on_connect(&t).is_allow());
    assert!(
        p.on_connect(&connection().user("mallory").build())
            .is_allow()
    );
    let c = connection().build();
    assert!(
        p.on_query(&c, &query("SELECT 'evil.example'")).is_allow(),
        "indicator id bypassed"
    );
    assert!(
        p.on_query(&c, &query("SELECT '203.0.113.9'")).is_allow(),
        "address bypass covers literals too"
    );
    assert_eq!(
        p.on_query(&c, &query("SELECT '198.51.100.1'")).rule(),
        Some("threat.query.address")
    );
}

#[test]
fn query_literal_kinds() {
    list(IndicatorKind::Address, "203.0.113.9", "a", "abuse", 80);
    list(
        IndicatorKind::Url,
        "http://phish.example/login",
        "u",
        "phish",
        80,
    );
    list(IndicatorKind::Email, "boss@fraud.example", "e", "bec", 80);
    list(IndicatorKind::Domain, "evil.example", "d", "c2", 80);
    let p = plugin("{}");
    let c = connection().build();
    let cases = [
        (
            "SELECT * FROM logins WHERE ip = '203.0.113.9'",
            "threat.query.address",
        ),
        ("SELECT inet '203.0.113.9/32'", "threat.query.address"),
        (
            "INSERT INTO links VALUES ('HTTP://Phish.Example/login')",
            "threat.query.url",
        ),
        (
            "INSERT INTO links VALUES ('https://203.0.113.9/x')",
            "threat.query.address",
        ),
        (
            "UPDATE users SET email = 'Boss@Fraud.Example'",
            "threat.query.email",
        ),
        (
            "SELECT 'see https://cdn.evil.example/a.js'",
            "threat.query.domain",
        ),
        ("SELECT 'mail me: x@mx.evil.example'", "threat.query.domain"),
        (
            "SELECT * FROM t WHERE h = 'a.b.evil.example'",
            "threat.query.domain",
        ),
        ("SELECT E'\\x65vil.example'", "threat.query.domain"),
        ("SELECT $$evil.example$$", "threat.query.domain"),
        ("SELECT $q$evil.example$q$", "threat.query.domain"),
    ];
    for (sql, rule) in cases {
        let v = p.on_query(&c, &query(sql));
        assert_eq!(v.rule(), Some(rule), "{sql}: {v:?}");
    }
    let v = p.on_query(&c, &query("SELECT 'a.b.evil.example'"));
    assert_eq!(
        reason(&v),
        "the statement mentions domain \"a.b.evil.example\", listed by threat feed \"c2\" (indicator d, evil.example, confidence 80)"
    );
    assert_eq!(counter("blocks.query.domain"), 7);
    assert_eq!(counter("blocks.query.address"), 3);
    for sql in [
        "SELECT 'good.example', 'nothing', '203.0.113.10'",
        "SELECT 1 -- 'evil.example'",
        "SELECT /* 'evil.example' */ 'fine'",
        "SELECT \"evil.example\" FROM t WHERE x = 'y'",
        "SELECT 'evil.examples'",
        "SELECT 'notevil.example'",
    ] {
        assert!(p.on_query(&c, &query(sql)).is_allow(), "{sql}");
    }
}

#[test]
fn mysql_strings() {
    list(IndicatorKind::Domain, "evil.example", "d", "c2", 80);
    let p = plugin("{}");
    let my = connection().protocol(Protocol::Mysql).build();
    let v = p.on_query(
        &my,
        &query_in(
            "SELECT * FROM t WHERE h = \"evil.example\"",
            Protocol::Mysql,
        ),
    );
    assert_eq!(v.rule(), Some("threat.query.domain"), "{v:?}");
    let v = p.on_query(
        &my,
        &query_in("SELECT 'x\\'y', 'evil.example'", Protocol::Mysql),
    );
    assert_eq!(v.rule(), Some("threat.query.domain"), "{v:?}");
    let v = p.on_query(
        &my,
        &query_in("SELECT 1 # 'evil.example'\n", Protocol::Mysql),
    );
    assert!(v.is_allow(), "{v:?}");
}

#[test]
fn fast_path_skips_statements_without_string_literals() {
    list(IndicatorKind::Domain, "evil.example", "d", "c2", 80);
    let p = plugin("{}");
    let c = connection().build();
    // facts say there are no string literals: the text is not scanned at all
    let q = query_with("SELECT 'evil.example'", empty_facts());
    assert!(p.on_query(&c, &q).is_allow());
    let mut facts = empty_facts();
    facts.literals.strings = 1;
    let q = query_with("SELECT 'evil.example'", facts);
    assert_eq!(p.on_query(&c, &q).rule(), Some("threat.query.domain"));
    assert!(
        p.on_query(&c, &query("SELECT * FROM t WHERE id = $1"))
            .is_allow()
    );
}

#[test]
fn max_literals_bounds_the_scan() {
    list(IndicatorKind::Domain, "evil.example", "d", "c2", 80);
    let c = connection().build();
    let sql = "SELECT 'a', 'b', 'evil.example'";
    let p = plugin(r#"{"max_literals": 2}"#);
    assert!(p.on_query(&c, &query(sql)).is_allow());
    let p = plugin(r#"{"max_literals": 3}"#);
    assert!(!p.on_query(&c, &query(sql)).is_allow());
    // a literal over 2 KiB is skipped
    let long = format!("SELECT '{} evil.example'", "x".repeat(2100));
    assert!(p.on_query(&c, &query(&long)).is_allow());
}

#[test]
fn configs_are_checked() {
    for (config, field) in [
        (r#"{"min_confidence": 101}"#, "min_confidence"),
        (r#"{"max_literals": 0}"#, "max_literals"),
        (
            r#"{"bypass": {"addresses": ["10.0.0.1/8"]}}"#,
            "bypass.addresses[0]",
        ),
        (r#"{"bypass": {"users": [""]}}"#, "bypass.users[0]"),
        (r#"{"bypass": {"nope": []}}"#, "nope"),
        (
            r#"{"tenants": {"t": {"min_confidence": 200}}}"#,
            "tenants.t.min_confidence",
        ),
        (
            r#"{"tenants": {"t": {"bypass": {"addresses": ["x"]}}}}"#,
            "tenants.t.bypass.addresses[0]",
        ),
        (r#"{"unknown": 1}"#, "unknown"),
    ] {
        let e = refused(config);
        assert!(e.contains(field), "{config}: {e}");
    }
    plugin("");
    plugin(
        r#"{"min_confidence": 70, "check_client_address": true, "check_user": true,
            "check_query_literals": true, "max_literals": 64,
            "bypass": {"addresses": ["10.0.0.0/8", "2001:db8::/32"], "users": ["svc"], "indicators": ["x"]},
            "tenants": {"acme": {"min_confidence": 90, "bypass": {"users": ["ops"]}}}}"#,
    );
}
