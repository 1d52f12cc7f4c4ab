//! Native tests through the SDK harness.

use articdbm_plugin_sdk::Verdict;
use articdbm_plugin_sdk::testing::{Harness, VerdictExt, advance_ms, connection, with_host};

use crate::Plugin;

fn net(config: &str) -> Harness<Plugin> {
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

fn reason(v: &Verdict) -> String {
    match v {
        Verdict::Deny(f) | Verdict::Audit(f) => f.reason.clone(),
        Verdict::Allow => String::new(),
    }
}

fn from(addr: &str) -> articdbm_plugin_sdk::Connection {
    connection().addr(addr).build()
}

#[test]
fn empty_config_admits_everyone() {
    let p = net("{}");
    for a in ["127.0.0.1", "2001:db8::1", "::ffff:8.8.8.8", "", "unix"] {
        assert!(p.on_connect(&from(a)).is_allow(), "{a}");
    }
    assert!(p.on_connect(&connection().tls(false).build()).is_allow());
}

#[test]
fn allowlist_admits_listed_blocks_only() {
    let p = net(r#"{"allow": ["10.20.0.0/16", "192.0.2.7", "2001:db8:ac::/48"]}"#);
    for ok in [
        "10.20.0.1",
        "10.20.255.255",
        "192.0.2.7",
        "2001:db8:ac:1::9",
        "::ffff:10.20.3.4",
    ] {
        assert!(p.on_connect(&from(ok)).is_allow(), "{ok}");
    }
    for no in [
        "10.21.0.0",
        "192.0.2.8",
        "2001:db8:ad::1",
        "::ffff:10.21.0.1",
        "127.0.0.1",
        "::1",
    ] {
        let v = p.on_connect(&from(no));
        assert_eq!(v.rule(), Some("network.address"), "{no}");
        assert!(
            reason(&v).contains(no) && reason(&v).contains("\"alice\""),
            "{}",
            reason(&v)
        );
    }
}

#[test]
fn non_ip_client_addresses_are_refused_when_an_allowlist_is_in_force() {
    let p = net(r#"{"allow": ["0.0.0.0/0", "::/0"]}"#);
    assert!(p.on_connect(&from("203.0.113.9")).is_allow());
    assert!(p.on_connect(&from("2001:db8::1")).is_allow());
    assert_eq!(p.on_connect(&from("")).rule(), Some("network.address"));
    assert_eq!(p.on_connect(&from("unix")).rule(), Some("network.address"));
}

#[test]
fn ipv6_allowlist_with_mapped_clients() {
    let p = net(r#"{"allow": ["::ffff:192.0.2.0/120"]}"#);
    assert!(p.on_connect(&from("192.0.2.200")).is_allow());
    assert!(p.on_connect(&from("::ffff:192.0.2.1")).is_allow());
    assert!(p.on_connect(&from("192.0.3.1")).is_deny());
    let p = net(r#"{"allow": ["fe80::/10"]}"#);
    assert!(p.on_connect(&from("fe80::1%eth0")).is_allow());
    assert!(p.on_connect(&from("[fe80::2]")).is_allow());
}

#[test]
fn tls_required_globally() {
    let p = net(r#"{"require_tls": true}"#);
    let v = p.on_connect(&connection().tls(false).build());
    assert_eq!(v.rule(), Some("network.tls"));
    assert!(reason(&v).contains("\"alice\""));
    assert!(p.on_connect(&connection().tls(true).build()).is_allow());
}

#[test]
fn tls_required_for_listed_users_only() {
    let p = net(r#"{"require_tls_users": ["admin", "dba"]}"#);
    assert!(p.on_connect(&connection().user("alice").build()).is_allow());
    assert_eq!(
        p.on_connect(&connection().user("admin").build()).rule(),
        Some("network.tls")
    );
    assert!(
        p.on_connect(&connection().user("admin").tls(true).build())
            .is_allow()
    );
    // overrides cannot lift a require_tls_users entry
    let p = net(r#"{"require_tls_users": ["admin"], "users": {"admin": {"require_tls": false}}}"#);
    assert!(p.on_connect(&connection().user("admin").build()).is_deny());
}

#[test]
fn address_is_checked_before_tls() {
    let p = net(r#"{"allow": ["10.0.0.0/8"], "require_tls": true}"#);
    assert_eq!(
        p.on_connect(&from("192.0.2.1")).rule(),
        Some("network.address")
    );
    assert_eq!(p.on_connect(&from("10.1.1.1")).rule(), Some("network.tls"));
    assert!(
        p.on_connect(&connection().addr("10.1.1.1").tls(true).build())
            .is_allow()
    );
}

#[test]
fn account_expiry() {
    let now = with_host(|h| h.now_ms);
    let p = net("{}");
    let conn = connection().expires_at(now + 1000).build();
    assert!(p.on_connect(&conn).is_allow());
    advance_ms(999);
    assert!(p.on_connect(&conn).is_allow());
    advance_ms(1);
    let v = p.on_connect(&conn);
    assert_eq!(v.rule(), Some("network.expired"));
    assert!(
        reason(&v).contains("2023-11-14T22:13:21Z"),
        "{}",
        reason(&v)
    );
    // no expiry: never expires
    assert!(p.on_connect(&connection().build()).is_allow());
    // opt out
    let p = net(r#"{"check_account_expiry": false}"#);
    assert!(p.on_connect(&conn).is_allow());
}

#[test]
fn expiry_is_checked_first() {
    let now = with_host(|h| h.now_ms);
    let p = net(r#"{"allow": ["10.0.0.0/8"], "require_tls": true}"#);
    let conn = connection().addr("8.8.8.8").expires_at(now).build();
    assert_eq!(p.on_connect(&conn).rule(), Some("network.expired"));
}

#[test]
fn overrides_most_specific_first() {
    let p = net(r#"{
        "allow": ["10.0.0.0/8"],
        "users": {
            "roamer": {"allow": []},
            "ops": {"allow": ["192.0.2.0/24"], "require_tls": true}
        },
        "tenants": {
            "acme": {
                "allow": ["172.16.0.0/12"],
                "users": {"ops": {"allow": ["198.51.100.0/24"]}}
            },
            "globex": {"require_tls": true}
        }
    }"#);
    let at = |tenant: &str, user: &str, addr: &str| {
        p.on_connect(&connection().tenant(tenant).user(user).addr(addr).build())
    };
    // global
    assert!(at("initech", "alice", "10.1.1.1").is_allow());
    assert!(at("initech", "alice", "172.16.0.1").is_deny());
    // tenant replaces global
    assert!(at("acme", "alice", "172.16.0.1").is_allow());
    assert!(at("acme", "alice", "10.1.1.1").is_deny());
    // user replaces tenant and global; empty = anywhere
    assert!(at("acme", "roamer", "203.0.113.1").is_allow());
    assert!(at("initech", "roamer", "2001:db8::1").is_allow());
    // user override's TLS requirement applies in every tenant
    assert_eq!(
        at("initech", "ops", "192.0.2.1").rule(),
        Some("network.tls")
    );
    // tenant user beats global user for addresses; TLS still from the global user level
    assert!(at("acme", "ops", "192.0.2.1").is_deny());
    assert_eq!(
        at("acme", "ops", "198.51.100.1").rule(),
        Some("network.tls")
    );
    // a tenant-level TLS requirement keeps the global allowlist
    assert_eq!(
        at("globex", "alice", "10.1.1.1").rule(),
        Some("network.tls")
    );
    assert_eq!(
        at("globex", "alice", "11.1.1.1").rule(),
        Some("network.address")
    );
}

#[test]
fn bad_configs_name_the_field() {
    let cases = [
        (r#"{"allow": ["10.0.0.0/8", "10.0.0.1/8"]}"#, "allow[1]"),
        (r#"{"allow": ["10.0.0.1/8"]}"#, "did you mean 10.0.0.0/8"),
        (r#"{"allow": ["2001:db8:acme::/48"]}"#, "allow[0]"),
        (r#"{"allow": ["10.0.0.0/33"]}"#, "allow[0]"),
        (
            r#"{"users": {"bob": {"allow": ["nope"]}}}"#,
            "users.bob.allow[0]",
        ),
        (
            r#"{"tenants": {"acme": {"allow": ["::/129"]}}}"#,
            "tenants.acme.allow[0]",
        ),
        (
            r#"{"tenants": {"acme": {"users": {"x": {"allow": ["1.2.3.4/40"]}}}}}"#,
            "tenants.acme.users.x.allow[0]",
        ),
        (
            r#"{"users": {"bob": {"require_tls": "yes"}}}"#,
            "invalid config",
        ),
        (r#"{"users": {"bob": {"tls": true}}}"#, "tls"),
        (r#"{"require_tls_users": [""]}"#, "require_tls_users[0]"),
        (r#"{"alow": []}"#, "alow"),
        (r#"{"allow": "10.0.0.0/8"}"#, "invalid config"),
    ];
    for (cfg, want) in cases {
        let e = refused(cfg);
        assert!(e.contains(want), "{cfg}: {e:?} lacks {want:?}");
    }
}

#[test]
fn example_pack_config_works_once_its_ipv6_block_is_valid() {
    // examples/packs/acme.toml writes "2001:db8:acme::/48": "acme" is not hexadecimal
    let e = refused(
        r#"{"require_tls": true, "allow": ["10.20.0.0/16", "192.0.2.0/24", "2001:db8:acme::/48"]}"#,
    );
    assert!(e.contains("allow[2]"), "{e}");
    let p = net(
        r#"{"require_tls": true, "allow": ["10.20.0.0/16", "192.0.2.0/24", "2001:db8:ac::/48"]}"#,
    );
    assert!(
        p.on_connect(&connection().addr("2001:db8:ac::5").tls(true).build())
            .is_allow()
    );
    assert!(
        p.on_connect(&connection().addr("10.20.0.5").tls(true).build())
            .is_allow()
    );
    assert_eq!(
        p.on_connect(&connection().addr("10.20.0.5").build()).rule(),
        Some("network.tls")
    );
}

#[test]
fn shipped_manifest_is_a_strict_schema() {
    let m: serde_json::Value = match serde_json::from_str(include_str!("../manifest.json")) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(m["name"], "network");
    let s = &m["config_schema"];
    assert_eq!(s["additionalProperties"], false);
    for field in [
        "allow",
        "require_tls",
        "require_tls_users",
        "check_account_expiry",
        "users",
        "tenants",
    ] {
        assert!(s["properties"][field]["description"].is_string(), "{field}");
    }
}
