//! Unit tests through the SDK's native harness, with facts from the gateway's extractor.

use articdbm_plugin_sdk::Protocol;
use articdbm_plugin_sdk::testing::{Harness, VerdictExt, connection, query, query_in};

use crate::Plugin;

fn guard() -> Harness<Plugin> {
    Harness::<Plugin>::new("{}").unwrap()
}

fn rule_pg(sql: &str) -> Option<String> {
    let v = guard().on_query(&connection().build(), &query(sql));
    if v.is_allow() {
        None
    } else {
        v.rule().map(str::to_string)
    }
}

fn rule_my(sql: &str) -> Option<String> {
    let conn = connection().protocol(Protocol::Mysql).build();
    let v = guard().on_query(&conn, &query_in(sql, Protocol::Mysql));
    if v.is_allow() {
        None
    } else {
        v.rule().map(str::to_string)
    }
}

#[test]
fn builder_idioms_pass() {
    assert_eq!(rule_pg("SELECT * FROM t WHERE 1=1 AND a = $1"), None);
    assert_eq!(rule_pg("SELECT a FROM t WHERE 1 != 1"), None);
    assert_eq!(rule_pg("SELECT a FROM t WHERE b = 2 AND 1=0"), None);
    assert_eq!(
        rule_pg("SELECT a FROM t WHERE (a = $1 AND 1=1) LIMIT $2"),
        None
    );
}

#[test]
fn boolean_probe_is_denied_whatever_its_truth() {
    for sql in [
        "SELECT * FROM products WHERE id = 1 AND 4821=4821",
        "SELECT * FROM products WHERE id = 1 AND 4821=5923",
        "SELECT * FROM users WHERE name = 'x' AND 'ab'='ab'",
        "SELECT * FROM users WHERE name = 'x' AND 'ab'='cd'",
    ] {
        assert_eq!(rule_pg(sql).as_deref(), Some("sqli.tautology"), "{sql}");
    }
}

#[test]
fn or_true_is_denied() {
    assert_eq!(
        rule_pg("SELECT * FROM users WHERE id = 1 OR 1=1").as_deref(),
        Some("sqli.tautology")
    );
}

#[test]
fn lone_sleep_is_admin_but_embedded_sleep_is_not() {
    assert_eq!(rule_pg("SELECT pg_sleep(1)"), None);
    assert_eq!(
        rule_pg("SELECT * FROM users WHERE id = 1 AND 1=(SELECT 1 FROM pg_sleep(5))").as_deref(),
        Some("sqli.time-delay")
    );
    assert_eq!(rule_my("SELECT SLEEP(1)"), None);
    assert_eq!(
        rule_my("SELECT * FROM users WHERE id = 1 AND SLEEP(5)").as_deref(),
        Some("sqli.time-delay")
    );
}

#[test]
fn stacked_after_query_is_denied_but_migrations_pass() {
    assert_eq!(
        rule_pg("SELECT * FROM users WHERE id = 1; DROP TABLE users").as_deref(),
        Some("sqli.stacked")
    );
    assert_eq!(
        rule_pg("BEGIN; ALTER TABLE a ADD COLUMN b int; COMMIT"),
        None
    );
    let strict = Harness::<Plugin>::new(r#"{"allow_stacked_ddl": false}"#).unwrap();
    let v = strict.on_query(
        &connection().build(),
        &query("CREATE INDEX a ON t (a); CREATE INDEX b ON t (b)"),
    );
    assert_eq!(v.rule(), Some("sqli.stacked"));
}

#[test]
fn union_probes_and_catalog_reads_are_denied() {
    assert_eq!(
        rule_pg("SELECT name FROM products WHERE id = 1 UNION ALL SELECT NULL").as_deref(),
        Some("sqli.union")
    );
    assert_eq!(
        rule_pg("SELECT name FROM products WHERE id = 0 UNION SELECT usename FROM pg_user")
            .as_deref(),
        Some("sqli.catalog-probe")
    );
    assert_eq!(
        rule_pg("SELECT id, email FROM customers UNION SELECT id, email FROM leads"),
        None
    );
    assert_eq!(
        rule_pg("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"),
        None
    );
}

#[test]
fn error_probes_and_encodings_are_denied() {
    assert_eq!(
        rule_my("SELECT * FROM t WHERE id = 1 AND extractvalue(1, concat(0x7e, version()))")
            .as_deref(),
        Some("sqli.error-probe")
    );
    assert_eq!(
        rule_pg(
            "SELECT * FROM t WHERE id = 1 AND 1=CAST('~'||(SELECT current_user)||'~' AS numeric)"
        )
        .as_deref(),
        Some("sqli.error-probe")
    );
    assert_eq!(
        rule_my("SELECT * FROM users WHERE name = 0x61646d696e").as_deref(),
        Some("sqli.encoded-string")
    );
    assert_eq!(
        rule_pg("SELECT CAST(amount AS numeric(12,2)) FROM payments"),
        None
    );
}

#[test]
fn truncation_comments_are_denied_but_annotations_pass() {
    assert_eq!(
        rule_my("SELECT * FROM users WHERE name = 'admin'-- ' AND password = 'x'").as_deref(),
        Some("sqli.comment-truncation")
    );
    assert_eq!(
        rule_pg("SELECT * FROM t WHERE id = $1 /*controller='orders',action='show'*/"),
        None
    );
    assert_eq!(rule_pg("-- migration 0042\nCREATE INDEX i ON t (a)"), None);
    assert_eq!(rule_pg("SELECT 1 -- keepalive"), None);
}

#[test]
fn executable_comments_are_denied() {
    assert_eq!(
        rule_my("SELECT * FROM users WHERE id = 1 /*!50000UNION*/ /*!50000SELECT*/ 1,2").as_deref(),
        Some("sqli.comment-obfuscation")
    );
    assert_eq!(rule_my("/*!40101 SET NAMES utf8mb4 */"), None);
}

#[test]
fn unparsable_needs_a_trace_unless_configured() {
    assert_eq!(
        rule_pg("SELECT * FROM users WHERE name = '''").as_deref(),
        Some("sqli.unparsable")
    );
    let strict = Harness::<Plugin>::new(r#"{"deny_unparsable": true}"#).unwrap();
    let v = strict.on_query(&connection().build(), &query("SELEC 1"));
    assert_eq!(v.rule(), Some("sqli.unparsable"));
    assert_eq!(rule_pg("SELEC 1"), None);
}

#[test]
fn modes_and_disabled_rules() {
    let p = Harness::<Plugin>::new(
        r#"{"mode_per_rule": {"sqli.tautology": "audit"}, "disabled_rules": ["sqli.stacked"]}"#,
    )
    .unwrap();
    let conn = connection().build();
    assert!(
        p.on_query(&conn, &query("SELECT * FROM t WHERE id = 1 AND 5=5"))
            .is_audit()
    );
    assert!(
        p.on_query(&conn, &query("SELECT * FROM t WHERE id = 1; DROP TABLE t"))
            .is_allow()
    );
}

#[test]
fn config_is_strict() {
    assert!(Harness::<Plugin>::new(r#"{"nope": 1}"#).is_err());
    assert!(Harness::<Plugin>::new(r#"{"disabled_rules": ["sqli.nope"]}"#).is_err());
    assert!(Harness::<Plugin>::new(r#"{"min_score": 0}"#).is_err());
    assert!(Harness::<Plugin>::new("").is_ok());
}

#[test]
fn reasons_do_not_echo_sql() {
    let long = format!(
        "SELECT * FROM t WHERE id = 1 AND 5=5 AND x = '{}'",
        "a".repeat(10_000)
    );
    let v = guard().on_query(&connection().build(), &query(&long));
    match v {
        articdbm_plugin_sdk::Verdict::Deny(f) => assert!(f.reason.len() < 200),
        other => panic!("expected deny, got {other:?}"),
    }
}

#[test]
fn manifest_schema_names_every_rule() {
    let m: serde_json::Value = serde_json::from_str(include_str!("../manifest.json")).unwrap();
    assert_eq!(m["name"], "sqli-guard");
    let props = &m["config_schema"]["properties"];
    let listed: Vec<&str> = props["mode_per_rule"]["propertyNames"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(listed, crate::RULES);
    let disabled: Vec<&str> = props["disabled_rules"]["items"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(disabled, crate::RULES);
    assert_eq!(m["config_schema"]["additionalProperties"], false);
}

#[test]
fn scanner_survives_hostile_text() {
    let deep = "(".repeat(500) + &")".repeat(499);
    for sql in [
        "",
        "'",
        "$$",
        "$a$ unterminated",
        "/* open",
        "x'4",
        "0x",
        "É'é''",
        "SELECT 1 = 1 = 1 = 1",
        deep.as_str(),
        "/*!",
        "))))",
        "\u{0}\u{1}\u{ffff}",
    ] {
        let _ = crate::scan(sql, true);
        let _ = crate::scan(sql, false);
        let _ = guard().on_query(&connection().build(), &query(sql));
    }
}

#[test]
fn verdicts_are_reusable_unless_an_integer_value_was_judged() {
    let reused = |sql: &str| {
        let g = guard();
        g.on_query(&connection().build(), &query(sql));
        g.reused()
    };
    use articdbm_plugin_sdk::ReuseScope;
    for sql in [
        "SELECT abalance FROM pgbench_accounts WHERE aid = 80125",
        "UPDATE accounts SET balance = balance + 5 WHERE id = 7",
        "SELECT * FROM t LIMIT 10 OFFSET 20",
        "SELECT * FROM t WHERE id = 1 UNION SELECT NULL, NULL",
    ] {
        assert_eq!(reused(sql), Some(ReuseScope::Statement), "{sql}");
    }
    for sql in [
        "SELECT a, b FROM t ORDER BY 2",
        "SELECT * FROM t WHERE id IN (SELECT generate_series(1, 10))",
        "SELECT a FROM t GROUP BY a HAVING COUNT(*) > RAND(0)",
        "SELECT a FROM t WHERE b = 2 AND 3=3",
        "SELECT * FROM t WHERE id = 1 OR 1=1",
    ] {
        assert_eq!(reused(sql), None, "{sql}");
    }
}

#[test]
fn constant_conditions_are_denied_true_or_false() {
    for sql in [
        "SELECT * FROM users WHERE name = 'x' OR 't'",
        "SELECT * FROM users WHERE name = 'x' AND 'f'",
        "SELECT * FROM users WHERE name = 'x' OR 'true'::boolean",
        "SELECT * FROM users WHERE name = 'x' OR CAST('1' AS boolean)",
        "SELECT * FROM users WHERE name = 'x' AND 0::bool",
        "SELECT * FROM users WHERE name = 'x' OR 'a' ~ 'a'",
        "SELECT * FROM users WHERE name = 'x' OR 'a' SIMILAR TO 'b'",
        "SELECT * FROM users WHERE name = 'x' OR 1 = ANY(ARRAY[1])",
        "SELECT * FROM users WHERE name = 'x' OR int4eq(1,2)",
        "SELECT * FROM users WHERE name = 'x' OR EXISTS(SELECT 1)",
        "SELECT * FROM users WHERE name = 'x' OR (SELECT 1)=2",
        "SELECT * FROM users WHERE name = 'x' OR 1=(SELECT 1 WHERE 1=1)",
    ] {
        assert_eq!(rule_pg(sql).as_deref(), Some("sqli.tautology"), "{sql}");
    }
}

#[test]
fn server_facts_cast_or_probed_are_denied() {
    for sql in [
        "SELECT * FROM t WHERE id = 1 AND 1=CAST(version() AS int)",
        "SELECT * FROM t WHERE id = current_user::int",
        "SELECT * FROM t WHERE id = 1 AND 1=(SELECT string_agg(usename,',') FROM pg_user)::int",
    ] {
        assert_eq!(rule_pg(sql).as_deref(), Some("sqli.error-probe"), "{sql}");
    }
    for sql in [
        "SELECT * FROM t WHERE id = 1 AND (CASE WHEN substr(version(),1,1)='P' THEN 1 ELSE 0 END)=1",
        "SELECT * FROM t WHERE id = 1 AND ascii(substr(current_user,1,1))>100",
        "SELECT * FROM t WHERE id = 1 AND current_setting('is_superuser')='off'",
    ] {
        assert_eq!(rule_pg(sql).as_deref(), Some("sqli.server-probe"), "{sql}");
    }
    assert_eq!(
        rule_my("SELECT * FROM t WHERE id = 1 AND substring(@@version,1,1)='8'").as_deref(),
        Some("sqli.server-probe")
    );
}

#[test]
fn remote_connections_are_denied() {
    for sql in [
        "SELECT * FROM t WHERE id = 1 AND dblink_connect('host=evil') = 'OK'",
        "SELECT * FROM dblink('host=evil', 'SELECT 1') AS x(a int)",
        "SELECT * FROM t WHERE id = 1 AND postgres_fdw_disconnect_all()",
    ] {
        assert_eq!(rule_pg(sql).as_deref(), Some("sqli.remote"), "{sql}");
    }
}

#[test]
fn the_same_constructs_over_columns_pass() {
    for sql in [
        "SELECT * FROM users WHERE true",
        "SELECT * FROM users WHERE 1=1 AND a = $1",
        "SELECT CAST(x AS int), y::int FROM t",
        "SELECT * FROM u WHERE EXISTS (SELECT 1 FROM t WHERE t.a = u.b)",
        "SELECT * FROM u WHERE name ~ '^a' AND code SIMILAR TO 'x%' AND id = ANY($1)",
        "SELECT CASE WHEN status = 'a' THEN 1 ELSE 0 END FROM t",
        "SELECT * FROM t WHERE CASE WHEN status = 'a' THEN 1 ELSE 0 END = 1",
        "SELECT version()",
        "SELECT current_user",
        "SELECT substr(name,1,3) FROM t",
        "SELECT current_setting('TimeZone')",
        "SELECT * FROM t WHERE tenant_id = current_setting('app.tenant')::int",
        "SELECT * FROM t WHERE date > '2024-01-01' AND first = 'x'",
        "SELECT count(*) FROM t GROUP BY 1 HAVING count(*) > 10",
    ] {
        assert_eq!(rule_pg(sql), None, "{sql}");
    }
    assert_eq!(
        rule_my(r#"SELECT * FROM "t" WHERE "t"."deleted_at" IS NULL AND id = 1"#),
        None
    );
}

#[test]
fn mysql_benchmark_is_a_delay_even_alone() {
    assert_eq!(
        rule_my("SELECT BENCHMARK(1000000, MD5('a'))").as_deref(),
        Some("sqli.time-delay")
    );
    assert_eq!(
        rule_my("SELECT * FROM items WHERE id = 1 AND BENCHMARK(5000000,MD5(1))").as_deref(),
        Some("sqli.time-delay")
    );
    // A lone SLEEP stays an admin's.
    assert_eq!(rule_my("SELECT SLEEP(1)"), None);
}

#[test]
fn mysql_symbolic_connectives_are_connectives() {
    for sql in [
        // `||` is OR in MySQL's default sql_mode, `&&` AND, `!` NOT.
        "SELECT * FROM items WHERE name = 'a' || 'b'='b'",
        "SELECT * FROM items WHERE id = 1 || 1=1",
        "SELECT * FROM items WHERE id = 1 || 1",
        "SELECT * FROM items WHERE id = 1 || TRUE",
        "SELECT * FROM items WHERE id = 1 && 1=1",
        "SELECT * FROM items WHERE id = 1 && 2=2",
        "SELECT * FROM items WHERE id = 1 || !0",
        "SELECT * FROM items WHERE id = 1 AND !(1=2)",
        "SELECT * FROM items WHERE id = 1 XOR 1=1",
        "SELECT * FROM items WHERE id = 1 OR 1 XOR 0",
        "SELECT * FROM items WHERE id = 1 OR 1",
    ] {
        assert_eq!(rule_my(sql).as_deref(), Some("sqli.tautology"), "{sql}");
    }
    for sql in [
        "SELECT * FROM users WHERE role = 'admin' || role = 'owner'",
        "SELECT * FROM users WHERE active = 1 && email_verified = 1",
        "SELECT * FROM items WHERE NOT archived AND !hidden",
        "SELECT * FROM items WHERE is_public XOR is_draft",
        "SELECT * FROM items WHERE 1 AND category_id = 4",
    ] {
        assert_eq!(rule_my(sql), None, "{sql}");
    }
    // PostgreSQL: `||` concatenates.
    assert_eq!(rule_pg("SELECT * FROM items WHERE name = 'a' || 'b'"), None);
}

#[test]
fn mysql_operators_and_literals() {
    for sql in [
        "SELECT * FROM items WHERE id = 1 AND 1<=>1",
        "SELECT * FROM items WHERE id = 1 OR 2 DIV 1 = 2",
        "SELECT * FROM items WHERE id = 1 OR 'a' LIKE 'a'",
        "SELECT * FROM items WHERE id = 1 OR 'a' RLIKE 'a'",
        "SELECT * FROM items WHERE id = 1 OR 'a' REGEXP '^a'",
        "SELECT * FROM items WHERE id = 1 AND 'a' SOUNDS LIKE 'a'",
        "SELECT * FROM items WHERE id = 1 OR 0x31=0x31",
        "SELECT * FROM items WHERE id = 1 OR X'31'=X'31'",
        "SELECT * FROM items WHERE id = 1 OR b'1'=b'1'",
        "SELECT * FROM items WHERE id = 1 AND (SELECT 1 FROM DUAL WHERE 1=1)",
    ] {
        assert_eq!(rule_my(sql).as_deref(), Some("sqli.tautology"), "{sql}");
    }
    for sql in [
        "SELECT * FROM items WHERE parent_id <=> 5",
        "SELECT * FROM items WHERE stock DIV 10 = 3",
        "SELECT * FROM items WHERE stock DIV 10 = 3 AND category_id = 2",
        "SELECT id FROM events WHERE payload->'$.amount' > 100",
        "SELECT id, payload->>'$.type' FROM events WHERE payload->>'$.type' = 'a'",
        "SELECT id FROM files WHERE checksum = X'9f86d081884c7d65'",
        "SELECT id FROM flags WHERE bits & b'0101' = b'0101'",
        "SELECT * FROM items WHERE name RLIKE '^[a-z]+' AND id > 10",
        "SELECT * FROM items WHERE price - -1 > 0",
        "SELECT * FROM items WHERE id = 1--1",
    ] {
        assert_eq!(rule_my(sql), None, "{sql}");
    }
}

#[test]
fn mysql_strings_quotes_and_comments() {
    // A backslash escapes the quote: the string does not end at `\'`.
    assert_eq!(
        rule_my("SELECT * FROM items WHERE name = 'it\\'s -- x' AND id = 2"),
        None
    );
    assert_eq!(
        rule_my("INSERT INTO notes (body) VALUES ('path C:\\\\tmp\\\\ # not a comment')"),
        None
    );
    assert_eq!(
        rule_my("SELECT * FROM items WHERE name = 'it\\'s' OR 'x'='x'").as_deref(),
        Some("sqli.tautology")
    );
    // `x\` swallows the application's quote.
    assert_eq!(
        rule_my("SELECT * FROM users WHERE name = 'a\\\\' OR 1=1 -- '").as_deref(),
        Some("sqli.tautology")
    );
    assert_eq!(
        rule_my("SELECT * FROM `items` WHERE `name` = 'a' OR `x` = 1"),
        None
    );
    // `#` and `-- ` comments; `--` without a space is two minus signs.
    assert_eq!(
        rule_my("SELECT * FROM users WHERE username = 'admin'#' AND password = 'x'").as_deref(),
        Some("sqli.comment-truncation")
    );
    assert_eq!(
        rule_my("SELECT * FROM users WHERE username = 'admin'-- ' AND password = 'x'").as_deref(),
        Some("sqli.comment-truncation")
    );
    assert_eq!(rule_my("SELECT * FROM orders WHERE id = 5 # note"), None);
    // Executable comments, MySQL's and MariaDB's.
    for sql in [
        "SELECT * FROM items WHERE name = 'a'/*!50000 UNION SELECT 1,2 */",
        "SELECT * FROM items WHERE id = 1 /*!OR*/ 1=1",
        "SELECT * FROM items WHERE id = 1 /*M!100000 OR 1=1 */",
    ] {
        assert_eq!(
            rule_my(sql).as_deref(),
            Some("sqli.comment-obfuscation"),
            "{sql}"
        );
    }
}

#[test]
fn mysql_catalogue_and_credential_reads() {
    // ORM and migration introspection passes.
    for sql in [
        "SELECT table_name FROM information_schema.tables",
        "SELECT table_name FROM information_schema.tables WHERE table_schema = database() AND table_name = 'users'",
        "SELECT SUM(found) FROM ((SELECT 1 as found FROM information_schema.tables WHERE table_schema='shop') UNION ALL (SELECT 1 as found FROM information_schema.views WHERE table_schema='shop' LIMIT 1)) as all_found",
        "SELECT table_name AS table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY BINARY table_name",
        "SELECT user, host FROM mysql.user ORDER BY user",
        "SELECT COUNT(*) FROM mysql.user",
    ] {
        assert_eq!(rule_my(sql), None, "{sql}");
    }
    // Password hashes, and catalogue reads in injection shapes.
    for sql in [
        "SELECT user, authentication_string FROM mysql.user",
        "SELECT `User`, `authentication_string` FROM `mysql`.`user`",
        "SELECT * FROM mysql.user",
        "SELECT host, user, password FROM mysql.user",
        "SELECT * FROM mysql.global_priv",
        "SELECT * FROM items WHERE id=1 UNION SELECT table_name,2 FROM information_schema.tables",
        "SELECT * FROM items WHERE id=1 AND (SELECT COUNT(*) FROM information_schema.tables)>0",
        "SELECT * FROM items WHERE id=(SELECT 1 FROM mysql.user LIMIT 1)",
    ] {
        assert_eq!(rule_my(sql).as_deref(), Some("sqli.catalog-probe"), "{sql}");
    }
    // Conditions on constants make a catalogue query an injection too.
    assert_eq!(
        rule_my("SELECT table_name FROM information_schema.tables WHERE table_schema = 'x' OR 1=1")
            .as_deref(),
        Some("sqli.tautology")
    );
}
