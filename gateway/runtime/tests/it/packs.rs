//! Packs through the runtime: monitor mode, tenant packs over the baseline, and clear errors
//! for packs that cannot be activated.

use articdbm_runtime::FindingKind;
use articdbm_runtime::indicators::NoIndicators;

use crate::fixture::*;

const ECHO_DENY_DROP: &str = "version = 1\nname = \"base\"\nkind = \"baseline\"\nmode = \"MODE\"\n[[binding]]\nid = \"guard\"\nplugin = \"echo\"\nconfig = { deny_word = \"DROP\" }\n";

#[test]
fn enforce_denies_and_monitor_only_records() {
    let f = Fixture::new(
        &["echo"],
        &[("base.toml", &ECHO_DENY_DROP.replace("MODE", "enforce"))],
    );
    let c = conn("acme", "alice");
    let d = f.query(&c, "DROP TABLE users");
    assert_eq!(rule(&d), Some("echo.v1"));
    assert_eq!(d.denied.as_ref().unwrap().binding, "guard");

    write_pack(
        f.dir.path(),
        "base.toml",
        &ECHO_DENY_DROP.replace("MODE", "monitor"),
    );
    let r = f.reloader.reload();
    assert!(r.pack_error.is_none(), "{:?}", r.pack_error);
    let d = f.query(&c, "DROP TABLE users");
    assert!(d.is_allowed());
    assert!(
        d.findings
            .iter()
            .any(|x| x.kind == FindingKind::WouldDeny && x.hit.rule == "echo.v1")
    );
}

#[test]
fn tenant_pack_adds_rules_for_its_tenant_only() {
    let tenant = "version = 1\nname = \"acme\"\nkind = \"tenant\"\ntenant = \"acme\"\n[[binding]]\nid = \"no-secrets\"\nplugin = \"echo\"\nconfig = { deny_word = \"secrets\" }\n";
    let f = Fixture::new(
        &["echo"],
        &[("base.toml", &baseline("echo", "")), ("acme.toml", tenant)],
    );
    let d = f.query(&conn("acme", "alice"), "SELECT * FROM secrets");
    assert_eq!(
        d.denied.as_ref().map(|h| h.binding.as_str()),
        Some("no-secrets")
    );
    assert!(
        f.query(&conn("globex", "bob"), "SELECT * FROM secrets")
            .is_allowed()
    );
}

#[test]
fn config_violating_the_plugin_schema_is_refused_at_start() {
    let bad = "version = 1\nname = \"base\"\nkind = \"baseline\"\n[[binding]]\nid = \"guard\"\nplugin = \"echo\"\nconfig = { deny_word = 42 }\n";
    let err = match Fixture::try_new(&["echo"], &[("base.toml", bad)], Box::new(NoIndicators)) {
        Err((_, e)) => e.to_string(),
        Ok(_) => panic!("a schema violation must refuse the pack"),
    };
    assert!(err.contains("base.toml"), "{err}");
    assert!(err.contains("guard"), "{err}");
    assert!(err.contains("deny_word"), "{err}");
}

#[test]
fn unknown_field_in_pack_names_file_and_field() {
    let bad = "version = 1\nname = \"base\"\nkind = \"baseline\"\n[[binding]]\nplugin = \"echo\"\nfailur = \"open\"\n";
    let err = match Fixture::try_new(&["echo"], &[("base.toml", bad)], Box::new(NoIndicators)) {
        Err((_, e)) => e.to_string(),
        Ok(_) => panic!("unknown fields must be refused"),
    };
    assert!(err.contains("base.toml"), "{err}");
    assert!(err.contains("failur"), "{err}");
}

#[test]
fn bad_pack_on_reload_keeps_the_previous_packs() {
    let f = Fixture::new(
        &["echo"],
        &[("base.toml", &ECHO_DENY_DROP.replace("MODE", "enforce"))],
    );
    write_pack(f.dir.path(), "base.toml", "version = 1\nname = [broken");
    let r = f.reloader.reload();
    let e = r.pack_error.expect("refused");
    assert!(e.contains("base.toml"), "{e}");
    assert_eq!(
        rule(&f.query(&conn("acme", "a"), "DROP TABLE t")),
        Some("echo.v1")
    );
}
