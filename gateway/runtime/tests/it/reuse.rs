//! Reused verdicts (`articdbm:policy/reuse@0.1.1`) through the real runtime: a verdict a plugin
//! declares reusable answers later statements of the same shape without a call, within its
//! scope, never when the call used host state, and never across a reload. Components built
//! against the 0.1.0 contract load and are called for every statement.

use articdbm_runtime::StatementContext;
use articdbm_runtime::bindings::Protocol;

use crate::fixture::*;

fn audit_reason(f: &Fixture, c: &articdbm_runtime::Connection, sql: &str) -> String {
    let d = f.query(c, sql);
    assert!(d.is_allowed(), "{d:?}");
    d.findings[0].hit.reason.clone()
}

fn metric(f: &Fixture, name: &str) -> u64 {
    f.metrics()
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_reusable_verdict_answers_every_statement_of_its_shape() {
    let f = Fixture::new(&["echo"], &[("base.toml", &baseline("echo", ""))]);
    let alice = conn("acme", "alice");
    let bob = conn("acme", "bob");
    let sql = |id: &str| format!("SELECT 'echo:reuse' FROM t WHERE id = {id}");
    assert_eq!(audit_reason(&f, &alice, &sql("1")), "call 1 for alice");
    // Other integer values, other users of the tenant: the same verdict, no call.
    assert_eq!(audit_reason(&f, &alice, &sql("2")), "call 1 for alice");
    assert_eq!(audit_reason(&f, &bob, &sql("99999")), "call 1 for alice");
    assert_eq!(
        metric(&f, "articdbm_plugin_verdicts_reused_total{plugin=\"echo\"}"),
        2
    );
    assert_eq!(
        metric(
            &f,
            "articdbm_plugin_duration_seconds_count{plugin=\"echo\"}"
        ),
        1
    );
    // Another shape: a string where the integer was, another column.
    assert_eq!(audit_reason(&f, &alice, &sql("'1'")), "call 2 for alice");
    assert_eq!(
        audit_reason(&f, &alice, "SELECT 'echo:reuse' FROM t WHERE other = 1"),
        "call 3 for alice"
    );
    // The same shape inside a transaction block or under a statement name is another key.
    let engine = f.engine();
    let text = sql("7");
    let stmt = engine.statement(&text, Protocol::Postgres);
    for (ctx, expect) in [
        (
            StatementContext {
                in_transaction: true,
                prepared_name: None,
            },
            "call 4 for alice",
        ),
        (
            StatementContext {
                in_transaction: false,
                prepared_name: Some("s1".into()),
            },
            "call 5 for alice",
        ),
        (StatementContext::default(), "call 1 for alice"),
    ] {
        let d = engine.evaluate_statement(&alice, &text, &stmt, &ctx);
        assert_eq!(d.findings[0].hit.reason, expect);
    }
    // Another tenant has its own bindings and its own reused verdicts.
    assert_eq!(
        audit_reason(&f, &conn("globex", "bob"), &sql("1")),
        "call 1 for bob"
    );
}

#[test]
fn user_scope_reuses_only_for_the_same_user_roles_and_database() {
    let f = Fixture::new(&["echo"], &[("base.toml", &baseline("echo", ""))]);
    let sql = |id: u32| format!("SELECT 'echo:reuse-user' FROM t WHERE id = {id}");
    let alice = conn("acme", "alice");
    assert_eq!(audit_reason(&f, &alice, &sql(1)), "call 1 for alice");
    assert_eq!(audit_reason(&f, &alice, &sql(2)), "call 1 for alice");
    assert_eq!(
        audit_reason(&f, &conn("acme", "bob"), &sql(3)),
        "call 2 for bob"
    );
    let mut admin = conn("acme", "alice");
    admin.roles = vec!["admin".into()];
    assert_eq!(audit_reason(&f, &admin, &sql(4)), "call 3 for alice");
    let mut other_db = conn("acme", "alice");
    other_db.database = "reports".into();
    assert_eq!(audit_reason(&f, &other_db, &sql(5)), "call 4 for alice");
    assert_eq!(audit_reason(&f, &alice, &sql(6)), "call 1 for alice");
}

#[test]
fn a_call_that_read_host_state_is_never_reused() {
    let f = Fixture::new(&["echo"], &[("base.toml", &baseline("echo", ""))]);
    let alice = conn("acme", "alice");
    for n in 1..=3 {
        assert_eq!(
            audit_reason(&f, &alice, "SELECT 'echo:reuse-clock' FROM t WHERE id = 1"),
            format!("call {n} for alice")
        );
    }
    assert_eq!(
        metric(&f, "articdbm_plugin_verdicts_reused_total{plugin=\"echo\"}"),
        0
    );
}

#[test]
fn a_reload_forgets_reused_verdicts() {
    let f = Fixture::new(&["echo"], &[("base.toml", &baseline("echo", ""))]);
    let alice = conn("acme", "alice");
    let sql = "SELECT 'echo:reuse' FROM t WHERE id = 1";
    assert_eq!(audit_reason(&f, &alice, sql), "call 1 for alice");
    assert_eq!(audit_reason(&f, &alice, sql), "call 1 for alice");
    // A config change builds the tenant's bindings anew: the plugin decides again.
    write_pack(
        f.dir.path(),
        "base.toml",
        &baseline("echo", "config = { deny_word = \"forbidden\" }"),
    );
    let report = f.reloader.reload();
    assert!(report.pack_error.is_none(), "{:?}", report.pack_error);
    let d = f.query(
        &alice,
        "SELECT 'echo:reuse' FROM t WHERE id = 2 AND forbidden",
    );
    assert_eq!(rule(&d), Some("echo.v1"), "{d:?}");
    let calls = |f: &Fixture| metric(f, "articdbm_plugin_duration_seconds_count{plugin=\"echo\"}");
    let before = calls(&f);
    // New bindings, new instances: the count starts again, from a real call.
    assert_eq!(audit_reason(&f, &alice, sql), "call 1 for alice");
    assert_eq!(calls(&f), before + 1);
    assert_eq!(audit_reason(&f, &alice, sql), "call 1 for alice");
    assert_eq!(calls(&f), before + 1);
}

#[test]
fn a_component_built_against_contract_0_1_0_loads_and_is_called_every_time() {
    let f = Fixture::new(&["legacy"], &[("base.toml", &baseline("legacy", ""))]);
    assert!(
        f.report.plugin_errors.is_empty(),
        "{:?}",
        f.report.plugin_errors
    );
    let alice = conn("acme", "alice");
    for n in 1..=3 {
        let d = f.query(&alice, &format!("SELECT a FROM t WHERE id = {n}"));
        assert!(d.is_allowed(), "{d:?}");
        assert_eq!(d.findings[0].hit.rule, "legacy.v010");
        assert_eq!(d.findings[0].hit.reason, format!("call {n}"));
    }
    let d = f.query(&alice, "SELECT 'legacy:deny'");
    assert_eq!(rule(&d), Some("legacy.v010"));
    assert!(f.connect(&alice).is_allowed());
}

#[test]
fn sqli_guard_reuses_verdicts_but_never_across_integer_values_it_judges() {
    let f = Fixture::new(
        &["sqli-guard"],
        &[("base.toml", &baseline("sqli-guard", ""))],
    );
    let alice = conn("acme", "alice");
    for id in [1, 2, 3] {
        let d = f.query(&alice, &format!("SELECT * FROM accounts WHERE id = {id}"));
        assert!(d.is_allowed(), "{d:?}");
    }
    assert_eq!(
        metric(
            &f,
            "articdbm_plugin_verdicts_reused_total{plugin=\"sqli-guard\"}"
        ),
        2
    );
    // Same shapes, values that matter to the rules: each is judged on its own.
    assert!(
        f.query(&alice, "SELECT a, b FROM accounts ORDER BY 2")
            .is_allowed()
    );
    assert_eq!(
        rule(&f.query(&alice, "SELECT a, b FROM accounts ORDER BY 7361")),
        Some("sqli.union")
    );
    assert!(
        f.query(
            &alice,
            "SELECT * FROM accounts WHERE id IN (SELECT generate_series(1, 10))"
        )
        .is_allowed()
    );
    assert_eq!(
        rule(&f.query(
            &alice,
            "SELECT * FROM accounts WHERE id IN (SELECT generate_series(1, 50000000))"
        )),
        Some("sqli.time-delay")
    );
    // An attack is never answered with a benign statement's verdict.
    assert_eq!(
        rule(&f.query(&alice, "SELECT * FROM accounts WHERE id = 1 OR 1=1")),
        Some("sqli.tautology")
    );
    assert_eq!(
        rule(&f.query(&alice, "SELECT * FROM accounts WHERE id = 4 OR 4821=4821")),
        Some("sqli.tautology")
    );
    assert!(
        f.query(&alice, "SELECT * FROM accounts WHERE id = 5")
            .is_allowed()
    );
}

#[test]
fn a_fingerprint_verdict_covers_other_strings_comments_and_list_lengths() {
    let f = Fixture::new(&["echo"], &[("base.toml", &baseline("echo", ""))]);
    let alice = conn("acme", "alice");
    let sql = |name: &str, ids: &str, comment: &str| {
        format!(
            "SELECT 1 FROM t WHERE name = {name} AND id IN ({ids}) /* echo:reuse-fp {comment} */"
        )
    };
    assert_eq!(
        audit_reason(&f, &alice, &sql("'x'", "1", "a")),
        "call 1 for alice"
    );
    // Other strings, comment texts and list lengths: the same fingerprint, no call.
    assert_eq!(
        audit_reason(&f, &alice, &sql("'O''Brien'", "1, 2, 3", "request 7")),
        "call 1 for alice"
    );
    assert_eq!(
        audit_reason(&f, &alice, &sql("'; DROP TABLE t; --'", "9", "x")),
        "call 1 for alice"
    );
    // A comment that opens with a quote, a prefixed string, a constant comparison: other
    // fingerprints (or none), so the plugin is called.
    assert_eq!(
        audit_reason(
            &f,
            &alice,
            "SELECT 1 FROM t WHERE name = 'x' AND id IN (1) /* ' echo:reuse-fp */"
        ),
        "call 2 for alice"
    );
    assert_eq!(
        audit_reason(&f, &alice, &sql("E'x'", "1", "a")),
        "call 3 for alice"
    );
    let tautology = "SELECT 1 FROM t WHERE 'a' = 'a' /* echo:reuse-fp */";
    assert_eq!(audit_reason(&f, &alice, tautology), "call 4 for alice");
    assert_eq!(
        audit_reason(&f, &alice, &tautology.replace("'a' = 'a'", "'a' = 'b'")),
        "call 5 for alice"
    );
    // The shape basis (`reuse-verdict`) covers other integers only: another string is a call.
    let shape = |name: &str, id: &str| {
        format!("SELECT 'echo:reuse' FROM t WHERE name = {name} AND id = {id} /* c */")
    };
    assert_eq!(
        audit_reason(&f, &alice, &shape("'x'", "1")),
        "call 6 for alice"
    );
    assert_eq!(
        audit_reason(&f, &alice, &shape("'x'", "2")),
        "call 6 for alice"
    );
    assert_eq!(
        audit_reason(&f, &alice, &shape("'y'", "2")),
        "call 7 for alice"
    );
}
