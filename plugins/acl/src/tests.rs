//! Native tests through the SDK harness. Most build facts by hand (so they do not depend on
//! the extractor's coverage); `real_sql_*` run the gateway's extractor.

use articdbm_plugin_sdk::testing::{
    Harness, VerdictExt, advance_ms, connection, empty_facts, query_with, with_host,
};
use articdbm_plugin_sdk::{AccessMode, Protocol, Query, StatementKind, TableAccess, Verdict};

use crate::Plugin;

fn acl(config: &str) -> Harness<Plugin> {
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

fn table(spec: &str, access: AccessMode) -> TableAccess {
    let (schema, name) = match spec.rsplit_once('.') {
        Some((s, n)) => (Some(s.to_string()), n.to_string()),
        None => (None, spec.to_string()),
    };
    TableAccess {
        schema,
        name,
        access,
        nested: false,
    }
}

/// A parsed statement of `kind` touching `tables`.
fn q(kind: StatementKind, tables: &[(&str, AccessMode)]) -> Query {
    let mut f = empty_facts();
    f.statements = vec![kind];
    f.tables = tables.iter().map(|(t, a)| table(t, *a)).collect();
    query_with("-- hand-made facts", f)
}

fn select(t: &str) -> Query {
    q(StatementKind::Select, &[(t, AccessMode::Read)])
}

fn reason(v: &Verdict) -> String {
    match v {
        Verdict::Deny(f) | Verdict::Audit(f) => f.reason.clone(),
        Verdict::Allow => String::new(),
    }
}

fn now() -> u64 {
    with_host(|h| h.now_ms)
}

const ANALYST: &str = r#"{"grants": [
    {"roles": ["analyst"], "tables": ["public.orders", "customers"], "actions": ["read"]},
    {"users": ["app"], "databases": ["app"], "tables": ["public.*"], "actions": ["read", "insert", "update", "delete"]}
]}"#;

#[test]
fn empty_config_allows_everything() {
    for cfg in ["{}", "", "  "] {
        let p = acl(cfg);
        let conn = connection().build();
        assert!(p.on_query(&conn, &select("secret.keys")).is_allow());
        assert!(p.on_query(&conn, &q(StatementKind::Drop, &[])).is_allow());
        let mut f = empty_facts();
        f.parsed = false;
        assert!(p.on_query(&conn, &query_with("garbage", f)).is_allow());
    }
}

#[test]
fn grants_make_the_default_deny() {
    let p = acl(ANALYST);
    let alice = connection().user("alice").role("analyst").build();
    assert!(p.on_query(&alice, &select("orders")).is_allow());
    assert!(p.on_query(&alice, &select("public.orders")).is_allow());
    let v = p.on_query(&alice, &select("public.payments"));
    assert_eq!(v.rule(), Some("acl.table"));
    let r = reason(&v);
    assert!(
        r.contains("\"alice\"") && r.contains("read") && r.contains("public.payments"),
        "{r}"
    );
    // analyst may read, not write
    let v = p.on_query(
        &alice,
        &q(StatementKind::Insert, &[("orders", AccessMode::Insert)]),
    );
    assert_eq!(v.rule(), Some("acl.table"));
    assert!(
        reason(&v).contains("insert into table orders"),
        "{}",
        reason(&v)
    );
    // someone with no grant at all
    let bob = connection().user("bob").build();
    let v = p.on_query(&bob, &select("orders"));
    assert!(
        reason(&v).ends_with(": no grant covers it"),
        "{}",
        reason(&v)
    );
}

#[test]
fn unqualified_grant_matches_any_schema_and_qualified_only_its_own() {
    let p = acl(ANALYST);
    let alice = connection().role("analyst").build();
    // "customers" (unqualified grant) in any schema
    assert!(p.on_query(&alice, &select("customers")).is_allow());
    assert!(p.on_query(&alice, &select("crm.customers")).is_allow());
    // "public.orders" only in public
    assert!(p.on_query(&alice, &select("archive.orders")).is_deny());
}

#[test]
fn table_matching_is_case_insensitive() {
    let p = acl(
        r#"{"grants": [{"users": ["alice"], "tables": ["Public.Orders"], "actions": ["read"]}]}"#,
    );
    let alice = connection().build();
    assert!(p.on_query(&alice, &select("public.orders")).is_allow());
    assert!(p.on_query(&alice, &select("PUBLIC.ORDERS")).is_allow());
    assert!(p.on_query(&alice, &select("ORDERS")).is_allow());
}

#[test]
fn schema_wildcards() {
    let p = acl(r#"{"grants": [
        {"users": ["alice"], "tables": ["public.*"], "actions": ["read"]},
        {"users": ["alice"], "tables": ["*.audit_log"], "actions": ["insert"]}
    ]}"#);
    let alice = connection().build();
    assert!(p.on_query(&alice, &select("public.anything")).is_allow());
    assert!(
        p.on_query(&alice, &select("anything")).is_allow(),
        "default schema is public"
    );
    assert!(p.on_query(&alice, &select("private.anything")).is_deny());
    let ins = |t| q(StatementKind::Insert, &[(t, AccessMode::Insert)]);
    assert!(p.on_query(&alice, &ins("ops.audit_log")).is_allow());
    assert!(p.on_query(&alice, &ins("audit_log")).is_allow());
    assert!(p.on_query(&alice, &ins("ops.other")).is_deny());
}

#[test]
fn null_default_schema_makes_unqualified_tables_match_only_unqualified_patterns() {
    let p = acl(
        r#"{"default_schema": null, "grants": [{"users": ["alice"], "tables": ["public.*"], "actions": ["read"]}]}"#,
    );
    let alice = connection().build();
    assert!(p.on_query(&alice, &select("public.t")).is_allow());
    assert!(p.on_query(&alice, &select("t")).is_deny());
    let p = acl(
        r#"{"default_schema": "app", "grants": [{"users": ["alice"], "tables": ["app.*"], "actions": ["read"]}]}"#,
    );
    assert!(p.on_query(&alice, &select("t")).is_allow());
}

#[test]
fn databases_restrict_grants() {
    let p = acl(ANALYST);
    let app = connection().user("app").database("app").build();
    let other = connection().user("app").database("billing").build();
    let upd = q(
        StatementKind::Update,
        &[("public.orders", AccessMode::Update)],
    );
    assert!(p.on_query(&app, &upd).is_allow());
    let v = p.on_query(&other, &upd);
    assert!(reason(&v).contains("\"billing\""), "{}", reason(&v));
    // the analyst grant has no `databases`: every database
    let analyst = connection().role("analyst").database("billing").build();
    assert!(p.on_query(&analyst, &select("orders")).is_allow());
}

#[test]
fn every_table_of_a_statement_must_be_covered() {
    let p = acl(ANALYST);
    let alice = connection().role("analyst").build();
    let join = q(
        StatementKind::Select,
        &[
            ("orders", AccessMode::Read),
            ("customers", AccessMode::Read),
        ],
    );
    assert!(p.on_query(&alice, &join).is_allow());
    let mut sneaky = select("orders");
    sneaky.facts.tables.push(TableAccess {
        nested: true,
        ..table("pg_catalog.pg_shadow", AccessMode::Read)
    });
    let v = p.on_query(&alice, &sneaky);
    assert!(
        reason(&v).contains("pg_catalog.pg_shadow"),
        "{}",
        reason(&v)
    );
    // INSERT ... SELECT: write on one, read on the other
    let app = connection().user("app").build();
    let copy = q(
        StatementKind::Insert,
        &[
            ("public.a", AccessMode::Insert),
            ("public.b", AccessMode::Read),
        ],
    );
    assert!(p.on_query(&app, &copy).is_allow());
}

#[test]
fn roles_and_wildcard_users() {
    let p = acl(r#"{"grants": [
        {"users": ["*"], "tables": ["public.lookup"], "actions": ["read"]},
        {"roles": ["ops", "dba"], "actions": ["read", "ddl"]}
    ]}"#);
    let anyone = connection().user("zed").build();
    assert!(p.on_query(&anyone, &select("lookup")).is_allow());
    assert!(p.on_query(&anyone, &select("orders")).is_deny());
    let dba = connection().user("zed").role("viewer").role("dba").build();
    assert!(p.on_query(&dba, &select("orders")).is_allow());
    assert!(
        p.on_query(
            &dba,
            &q(StatementKind::Drop, &[("orders", AccessMode::Ddl)])
        )
        .is_allow()
    );
    // roles do not leak into user names
    let named_dba = connection().user("dba").build();
    assert!(p.on_query(&named_dba, &select("orders")).is_deny());
}

#[test]
fn statements_without_tables_need_no_grant() {
    let p = acl(ANALYST);
    let bob = connection().user("bob").build();
    for kind in [
        StatementKind::Select,
        StatementKind::Set,
        StatementKind::Begin,
        StatementKind::Commit,
        StatementKind::Show,
    ] {
        assert!(p.on_query(&bob, &q(kind, &[])).is_allow(), "{kind:?}");
    }
}

#[test]
fn table_less_ddl_needs_ddl_on_everything() {
    let p = acl(r#"{"grants": [
        {"users": ["alice"], "tables": ["public.*"], "actions": ["ddl"]},
        {"users": ["root"], "tables": ["*"], "actions": ["ddl"]}
    ]}"#);
    let alice = connection().build();
    let root = connection().user("root").build();
    let create_ext = q(StatementKind::Create, &[]);
    let v = p.on_query(&alice, &create_ext);
    assert_eq!(v.rule(), Some("acl.ddl"));
    assert!(
        reason(&v).contains("\"alice\"") && reason(&v).contains("no ddl grant on \"*\" covers it"),
        "{}",
        reason(&v)
    );
    assert!(p.on_query(&root, &create_ext).is_allow());
    for kind in [
        StatementKind::Drop,
        StatementKind::Grant,
        StatementKind::Revoke,
        StatementKind::Alter,
        StatementKind::Truncate,
    ] {
        assert_eq!(
            p.on_query(&alice, &q(kind, &[])).rule(),
            Some("acl.ddl"),
            "{kind:?}"
        );
    }
    // DDL on a table alice may change
    let create_t = q(StatementKind::Create, &[("public.t", AccessMode::Ddl)]);
    assert!(p.on_query(&alice, &create_t).is_allow());
    // a second, table-less DDL statement stacked after it
    let mut stacked = create_t.clone();
    stacked.facts.statements.push(StatementKind::Create);
    stacked.facts.stacked = true;
    assert_eq!(p.on_query(&alice, &stacked).rule(), Some("acl.ddl"));
    assert!(p.on_query(&root, &stacked).is_allow());
}

#[test]
fn ddl_grant_on_everything_does_not_grant_reads() {
    let p = acl(r#"{"grants": [{"users": ["alice"], "actions": ["ddl"]}]}"#);
    let alice = connection().build();
    assert!(
        p.on_query(&alice, &q(StatementKind::Create, &[]))
            .is_allow()
    );
    assert_eq!(p.on_query(&alice, &select("t")).rule(), Some("acl.table"));
}

#[test]
fn unparsable_sql_is_denied_under_default_deny() {
    let mut f = empty_facts();
    f.parsed = false;
    f.parse_error = Some("syntax error".into());
    let garbage = query_with("SELEC * FORM t", f);
    let alice = connection().role("analyst").build();
    let v = acl(ANALYST).on_query(&alice, &garbage);
    assert_eq!(v.rule(), Some("acl.unparsable"));
    assert!(reason(&v).contains("\"alice\""));
    // opt out
    let p =
        acl(r#"{"deny_unparsable": false, "grants": [{"users": ["alice"], "actions": ["read"]}]}"#);
    assert!(p.on_query(&alice, &garbage).is_allow());
    // opt in under default allow
    let p = acl(r#"{"deny_unparsable": true}"#);
    assert_eq!(p.on_query(&alice, &garbage).rule(), Some("acl.unparsable"));
}

#[test]
fn expired_grants_do_not_count() {
    let t = now();
    let cfg = format!(
        r#"{{"grants": [{{"users": ["alice"], "tables": ["orders"], "actions": ["read"], "expires_at": {}}}]}}"#,
        t + 60_000
    );
    let p = acl(&cfg);
    let alice = connection().build();
    assert!(p.on_query(&alice, &select("orders")).is_allow());
    advance_ms(59_999);
    assert!(p.on_query(&alice, &select("orders")).is_allow());
    advance_ms(1);
    let v = p.on_query(&alice, &select("orders"));
    assert_eq!(v.rule(), Some("acl.table"));
    assert!(
        reason(&v).contains("grants[0] expired at"),
        "{}",
        reason(&v)
    );
}

#[test]
fn rfc3339_expiry_and_the_expires_alias() {
    // the harness clock starts at 2023-11-14T22:13:20Z
    let p = acl(r#"{"grants": [
        {"users": ["alice"], "tables": ["old"], "actions": ["read"], "expires_at": "2023-11-14T22:13:19Z"},
        {"users": ["alice"], "tables": ["new"], "actions": ["read"], "expires": "2023-11-14T23:13:20+01:00"}
    ]}"#);
    let alice = connection().build();
    let v = p.on_query(&alice, &select("old"));
    assert!(
        reason(&v).contains("expired at 2023-11-14T22:13:19Z"),
        "{}",
        reason(&v)
    );
    with_host(|h| h.now_ms = 1_700_000_000_000 - 1);
    assert!(p.on_query(&alice, &select("new")).is_allow());
    with_host(|h| h.now_ms = 1_700_000_000_000);
    assert!(p.on_query(&alice, &select("new")).is_deny());
}

#[test]
fn deny_rules_override_grants_and_expire_too() {
    let t = now();
    let cfg = format!(
        r#"{{"default": "allow", "grants": [
            {{"users": ["*"], "tables": ["*"], "actions": ["read", "insert", "update", "delete", "ddl"]}},
            {{"effect": "deny", "users": ["intern"], "tables": ["payroll.*"], "actions": ["read"]}},
            {{"effect": "deny", "roles": ["suspended"], "actions": ["read", "insert", "update", "delete", "ddl"], "expires_at": {}}}
        ]}}"#,
        t + 1000
    );
    let p = acl(&cfg);
    let intern = connection().user("intern").build();
    let v = p.on_query(&intern, &select("payroll.salaries"));
    assert_eq!(v.rule(), Some("acl.table"));
    assert!(reason(&v).contains("deny rule grants[1]"), "{}", reason(&v));
    assert!(p.on_query(&intern, &select("public.orders")).is_allow());
    let sus = connection().user("x").role("suspended").build();
    assert!(p.on_query(&sus, &select("orders")).is_deny());
    assert_eq!(
        p.on_query(&sus, &q(StatementKind::Create, &[])).rule(),
        Some("acl.ddl")
    );
    advance_ms(1000);
    assert!(p.on_query(&sus, &select("orders")).is_allow());
}

#[test]
fn deny_rules_alone_keep_the_default_allow() {
    let p = acl(r#"{"grants": [{"effect": "deny", "users": ["bob"], "actions": ["delete"]}]}"#);
    let bob = connection().user("bob").build();
    assert!(p.on_query(&bob, &select("t")).is_allow());
    assert!(
        p.on_query(
            &bob,
            &q(StatementKind::Delete, &[("t", AccessMode::Delete)])
        )
        .is_deny()
    );
    let mut f = empty_facts();
    f.parsed = false;
    assert!(
        p.on_query(&bob, &query_with("x", f)).is_allow(),
        "deny_unparsable follows default"
    );
}

#[test]
fn explicit_default_deny_without_grants_denies_table_access() {
    let p = acl(r#"{"default": "deny"}"#);
    let alice = connection().build();
    assert!(p.on_query(&alice, &select("t")).is_deny());
    assert!(
        p.on_query(&alice, &q(StatementKind::Select, &[]))
            .is_allow()
    );
}

#[test]
fn mysql_qualifier_is_the_database() {
    let p = acl(
        r#"{"grants": [{"users": ["alice"], "databases": ["app"], "tables": ["orders"], "actions": ["read"]}]}"#,
    );
    let alice = connection()
        .database("app")
        .protocol(Protocol::Mysql)
        .build();
    assert!(p.on_query(&alice, &select("orders")).is_allow());
    assert!(p.on_query(&alice, &select("app.orders")).is_allow());
    let v = p.on_query(&alice, &select("billing.orders"));
    assert!(
        reason(&v).contains("database \"billing\""),
        "{}",
        reason(&v)
    );
    // and a pattern's schema part names the database
    let p = acl(r#"{"grants": [{"users": ["alice"], "tables": ["app.*"], "actions": ["read"]}]}"#);
    assert!(p.on_query(&alice, &select("orders")).is_allow());
    assert!(p.on_query(&alice, &select("billing.orders")).is_deny());
}

#[test]
fn sqlite_unqualified_tables_are_in_main() {
    let p = acl(r#"{"grants": [{"users": ["alice"], "tables": ["main.*"], "actions": ["read"]}]}"#);
    let alice = connection().protocol(Protocol::Sqlite).build();
    assert!(p.on_query(&alice, &select("t")).is_allow());
    assert!(p.on_query(&alice, &select("other.t")).is_deny());
}

#[test]
fn bad_configs_name_the_field() {
    let cases = [
        (
            r#"{"grants": [{"users": ["a"], "actions": ["frobnicate"]}]}"#,
            "frobnicate",
        ),
        (r#"{"grants": [{"users": ["a"]}]}"#, "actions"),
        (
            r#"{"grants": [{"users": ["a"], "actions": []}]}"#,
            "grants[0].actions",
        ),
        (r#"{"grants": [{"actions": ["read"]}]}"#, "grants[0]"),
        (
            r#"{"grants": [{"users": ["a"], "roles": ["*"], "actions": ["read"]}]}"#,
            "grants[0].roles",
        ),
        (
            r#"{"grants": [{"users": [""], "actions": ["read"]}]}"#,
            "grants[0].users[0]",
        ),
        (
            r#"{"grants": [{"users": ["a"], "tables": [], "actions": ["read"]}]}"#,
            "grants[0].tables",
        ),
        (
            r#"{"grants": [{"users": ["a"], "tables": ["pub*.x"], "actions": ["read"]}]}"#,
            "grants[0].tables[0]",
        ),
        (
            r#"{"grants": [{"users": ["a"], "tables": ["a..b"], "actions": ["read"]}]}"#,
            "grants[0].tables[0]",
        ),
        (
            r#"{"grants": [{"users": ["a"], "databases": [], "actions": ["read"]}]}"#,
            "grants[0].databases",
        ),
        (
            r#"{"grants": [{"users": ["a"], "actions": ["read"]}, {"users": ["a"], "actions": ["read"], "expires_at": "tomorrow"}]}"#,
            "grants[1].expires_at",
        ),
        (
            r#"{"grants": [{"users": ["a"], "actions": ["read"], "expires_at": "2026-02-30T00:00:00Z"}]}"#,
            "grants[0].expires_at",
        ),
        (
            r#"{"grants": [{"users": ["a"], "actions": ["read"], "expires": 1, "expires_at": 2}]}"#,
            "expires_at",
        ),
        (r#"{"default": "maybe"}"#, "maybe"),
        (r#"{"defualt": "deny"}"#, "defualt"),
        (r#"{"default_schema": "a.b"}"#, "default_schema"),
        (r#"{"default_schema": "pub*"}"#, "default_schema"),
        (r#"[]"#, "invalid config"),
    ];
    for (cfg, want) in cases {
        let e = refused(cfg);
        assert!(e.contains(want), "{cfg}: {e:?} lacks {want:?}");
    }
}

#[test]
fn example_pack_configs_work() {
    // examples/packs/acme.toml and globex-monitor.toml, as JSON
    let p = acl(r#"{"grants": [
        {"users": ["app"], "tables": ["public.*"], "actions": ["read", "insert", "update", "delete"]},
        {"roles": ["analyst"], "tables": ["public.orders", "public.customers"], "actions": ["read"], "expires": "2026-12-31T23:59:59Z"}
    ]}"#);
    let app = connection().user("app").build();
    assert!(
        p.on_query(
            &app,
            &q(StatementKind::Delete, &[("orders", AccessMode::Delete)])
        )
        .is_allow()
    );
    assert_eq!(
        p.on_query(
            &app,
            &q(StatementKind::Drop, &[("orders", AccessMode::Ddl)])
        )
        .rule(),
        Some("acl.table")
    );
    let analyst = connection().user("ann").role("analyst").build();
    assert!(p.on_query(&analyst, &select("customers")).is_allow());
    let p = acl(r#"{"grants": [
        {"roles": ["reader"], "tables": ["*"], "actions": ["read"]},
        {"users": ["migrator"], "tables": ["*"], "actions": ["read", "insert", "update", "delete", "ddl"], "expires": "2026-06-30T00:00:00Z"}
    ]}"#);
    let migrator = connection().user("migrator").build();
    assert!(
        p.on_query(&migrator, &q(StatementKind::Create, &[]))
            .is_allow()
    );
    with_host(|h| h.now_ms = 1_782_777_600_000); // 2026-06-30T00:00:00Z
    assert_eq!(
        p.on_query(&migrator, &q(StatementKind::Create, &[])).rule(),
        Some("acl.ddl")
    );
}

#[test]
fn shipped_manifest_is_a_strict_schema() {
    let m: serde_json::Value = match serde_json::from_str(include_str!("../manifest.json")) {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(m["name"], "acl");
    let s = &m["config_schema"];
    assert_eq!(s["additionalProperties"], false);
    assert_eq!(
        s["properties"]["grants"]["items"]["additionalProperties"],
        false
    );
    for field in ["default", "grants", "deny_unparsable", "default_schema"] {
        assert!(s["properties"][field]["description"].is_string(), "{field}");
    }
    let grant_fields = s["properties"]["grants"]["items"]["properties"]
        .as_object()
        .map(|o| o.len())
        .unwrap_or(0);
    assert_eq!(grant_fields, 9);
}

/// Real facts from the gateway's extractor.
mod real_sql {
    use super::*;
    use articdbm_plugin_sdk::testing::query;

    #[test]
    fn real_sql_reads_writes_and_ddl() {
        let p = acl(ANALYST);
        let alice = connection().role("analyst").build();
        assert!(p.on_query(&alice, &query("SELECT 1")).is_allow());
        assert!(
            p.on_query(&alice, &query("SELECT id FROM orders WHERE total > 10"))
                .is_allow()
        );
        assert!(
            p.on_query(
                &alice,
                &query("SELECT * FROM public.orders o JOIN customers c ON c.id = o.customer_id")
            )
            .is_allow()
        );
        assert_eq!(
            p.on_query(
                &alice,
                &query("SELECT * FROM orders WHERE id IN (SELECT id FROM secrets)")
            )
            .rule(),
            Some("acl.table")
        );
        assert_eq!(
            p.on_query(&alice, &query("DELETE FROM orders")).rule(),
            Some("acl.table")
        );
        assert_eq!(
            p.on_query(&alice, &query("CREATE EXTENSION hstore")).rule(),
            Some("acl.ddl")
        );
        assert!(
            p.on_query(&alice, &query("SET search_path = public"))
                .is_allow()
        );
        assert!(p.on_query(&alice, &query("BEGIN")).is_allow());
        assert_eq!(
            p.on_query(&alice, &query("SELEC nonsense FROM")).rule(),
            Some("acl.unparsable")
        );
        let app = connection().user("app").build();
        assert!(
            p.on_query(
                &app,
                &query("INSERT INTO orders (id) SELECT id FROM public.staging")
            )
            .is_allow()
        );
        assert_eq!(
            p.on_query(&app, &query("DROP TABLE orders")).rule(),
            Some("acl.table")
        );
    }
}

#[test]
fn verdicts_are_reusable_per_user_unless_an_expiry_was_checked() {
    use articdbm_plugin_sdk::ReuseScope;
    let alice = connection().user("alice").build();
    let p = acl(r#"{"grants": [{"users": ["alice"], "tables": ["orders"], "actions": ["read"]}]}"#);
    assert!(p.on_query(&alice, &select("orders")).is_allow());
    assert_eq!(p.reused(), Some(ReuseScope::User));
    assert!(p.on_query(&alice, &select("secrets")).is_deny());
    assert_eq!(p.reused(), Some(ReuseScope::User));
    let until = now() + 60_000;
    let p = acl(&format!(
        r#"{{"grants": [{{"users": ["alice"], "tables": ["orders"], "actions": ["read"], "expires_at": {until}}}]}}"#
    ));
    assert!(p.on_query(&alice, &select("orders")).is_allow());
    assert_eq!(
        p.reused(),
        None,
        "the verdict changes when the grant expires"
    );
    // The time-bound grant does not cover this table: the clock was never needed.
    assert!(p.on_query(&alice, &select("secrets")).is_deny());
    assert_eq!(p.reused(), Some(ReuseScope::User));
}
