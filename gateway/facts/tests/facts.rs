//! Facts extraction on real SQL: ORM output, migrations, reporting queries, catalog queries and
//! injection-shaped statements; plus robustness on random input and the cache's bounds.

use articdbm_facts::{
    AccessMode as A, Clause, CommentKind, CommentPosition, Connective, Dialect, FactsCache,
    QueryFacts, StatementKind as K, extract,
};

fn pg(sql: &str) -> QueryFacts {
    extract(sql, Dialect::Postgres)
}
fn my(sql: &str) -> QueryFacts {
    extract(sql, Dialect::Mysql)
}
fn lite(sql: &str) -> QueryFacts {
    extract(sql, Dialect::Sqlite)
}

fn parsed(f: &QueryFacts) {
    assert!(f.parsed, "did not parse: {:?}", f.parse_error);
}

/// (schema, name, access, nested) of each table, sorted.
fn tables(f: &QueryFacts) -> Vec<(Option<&str>, &str, A, bool)> {
    let mut v: Vec<_> = f
        .tables
        .iter()
        .map(|t| (t.schema.as_deref(), t.name.as_str(), t.access, t.nested))
        .collect();
    v.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    v
}

fn functions(f: &QueryFacts) -> Vec<(&str, Clause)> {
    f.functions
        .iter()
        .map(|c| (c.name.as_str(), c.clause))
        .collect()
}

// ---------------------------------------------------------------- ORM output

#[test]
fn django_select() {
    let f = pg(
        r#"SELECT "auth_user"."id", "auth_user"."username" FROM "auth_user" WHERE "auth_user"."username" = $1 LIMIT 21"#,
    );
    parsed(&f);
    assert_eq!(f.statements, vec![K::Select]);
    assert!(!f.stacked);
    assert_eq!(tables(&f), vec![(None, "auth_user", A::Read, false)]);
    assert_eq!(f.literals.placeholders, 1);
    assert_eq!(f.literals.numbers, 1);
    assert!(f.constant_comparisons.is_empty());
    assert!(f.comments.is_empty());
    assert_eq!(f.union_count, 0);
}

#[test]
fn rails_insert_returning() {
    let f = pg(
        r#"INSERT INTO "articles" ("title", "body", "created_at", "updated_at") VALUES ($1, $2, $3, $4) RETURNING "id""#,
    );
    parsed(&f);
    assert_eq!(f.statements, vec![K::Insert]);
    assert_eq!(tables(&f), vec![(None, "articles", A::Insert, false)]);
    assert_eq!(f.literals.placeholders, 4);
}

#[test]
fn rails_mysql_update_with_backticks() {
    let f = my(
        "UPDATE `users` SET `users`.`sign_in_count` = 3, `users`.`updated_at` = '2024-01-01 10:00:00' WHERE `users`.`id` = 42",
    );
    parsed(&f);
    assert_eq!(f.statements, vec![K::Update]);
    assert_eq!(tables(&f), vec![(None, "users", A::Update, false)]);
    assert_eq!(f.literals.strings, 1);
    assert_eq!(f.literals.numbers, 2);
}

#[test]
fn hibernate_join_fetch_first() {
    let f = pg(
        "select o1_0.id,c1_0.name from orders o1_0 left join customers c1_0 on c1_0.id=o1_0.customer_id where o1_0.status=$1 order by o1_0.created_at desc fetch first $2 rows only",
    );
    parsed(&f);
    assert_eq!(
        tables(&f),
        vec![
            (None, "customers", A::Read, false),
            (None, "orders", A::Read, false)
        ]
    );
    assert_eq!(f.literals.placeholders, 2);
}

#[test]
fn sqlalchemy_in_and_exists() {
    let f = pg(
        "SELECT users.id, users.name FROM users WHERE users.id IN (1, 2, 3) AND EXISTS (SELECT 1 FROM addresses WHERE addresses.user_id = users.id AND addresses.email LIKE '%@example.com')",
    );
    parsed(&f);
    assert_eq!(
        tables(&f),
        vec![
            (None, "addresses", A::Read, true),
            (None, "users", A::Read, false)
        ]
    );
    assert!(f.constant_comparisons.is_empty());
}

#[test]
fn prisma_quoted_schema_and_case() {
    let f = pg(
        r#"SELECT "public"."User"."id", "public"."User"."email" FROM "public"."User" WHERE ("public"."User"."email" = $1 AND 1=1) LIMIT $2 OFFSET $3"#,
    );
    parsed(&f);
    assert_eq!(tables(&f), vec![(Some("public"), "User", A::Read, false)]);
    let c = &f.constant_comparisons;
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].connective, Connective::And);
    assert_eq!(c[0].position, 1);
    assert_eq!(c[0].chain_length, 2);
    assert!(c[0].beside_column_predicate);
}

#[test]
fn unquoted_names_are_lowercased() {
    let f = pg("SELECT * FROM Sales.Orders");
    assert_eq!(tables(&f), vec![(Some("sales"), "orders", A::Read, false)]);
}

#[test]
fn locking_reads() {
    assert!(pg("SELECT * FROM jobs WHERE id = $1 FOR UPDATE SKIP LOCKED").locking_read);
    assert!(pg("SELECT * FROM jobs FOR SHARE").locking_read);
    let f = my("SELECT * FROM jobs WHERE id = 1 LOCK IN SHARE MODE");
    parsed(&f);
    assert!(f.locking_read);
    assert!(!pg("SELECT * FROM jobs").locking_read);
}

// ---------------------------------------------------------------- DML shapes

#[test]
fn insert_select_reads_sources() {
    let f = pg(
        "INSERT INTO archive.orders (id, total) SELECT id, total FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.created_at < now() - interval '1 year'",
    );
    parsed(&f);
    assert_eq!(
        tables(&f),
        vec![
            (None, "customers", A::Read, false),
            (None, "orders", A::Read, false),
            (Some("archive"), "orders", A::Insert, false),
        ]
    );
    assert!(functions(&f).contains(&("now", Clause::Where)));
}

#[test]
fn update_from() {
    let f = pg(
        "UPDATE accounts SET balance = accounts.balance + t.amount FROM transfers t WHERE t.account_id = accounts.id",
    );
    parsed(&f);
    assert_eq!(
        tables(&f),
        vec![
            (None, "accounts", A::Update, false),
            (None, "transfers", A::Read, false)
        ]
    );
}

#[test]
fn delete_using() {
    let f = pg(
        "DELETE FROM sessions USING users WHERE sessions.user_id = users.id AND users.disabled RETURNING sessions.id",
    );
    parsed(&f);
    assert_eq!(f.statements, vec![K::Delete]);
    assert_eq!(
        tables(&f),
        vec![
            (None, "sessions", A::Delete, false),
            (None, "users", A::Read, false)
        ]
    );
}

#[test]
fn mysql_multi_table_delete() {
    let f = my("DELETE t1 FROM t1 JOIN t2 ON t1.id = t2.id WHERE t2.gone = 1");
    parsed(&f);
    assert!(tables(&f).contains(&(None, "t1", A::Delete, false)));
    assert!(tables(&f).contains(&(None, "t2", A::Read, false)));
}

#[test]
fn upsert_on_conflict() {
    let f = pg(
        "INSERT INTO counters (k, n) VALUES ($1, 1) ON CONFLICT (k) DO UPDATE SET n = counters.n + 1",
    );
    parsed(&f);
    assert_eq!(f.statements, vec![K::Insert]);
    assert!(tables(&f).contains(&(None, "counters", A::Insert, false)));
}

#[test]
fn merge_statement() {
    let f = pg(
        "MERGE INTO stock s USING deliveries d ON s.item = d.item WHEN MATCHED THEN UPDATE SET qty = s.qty + d.qty WHEN NOT MATCHED THEN INSERT (item, qty) VALUES (d.item, d.qty)",
    );
    parsed(&f);
    assert_eq!(f.statements, vec![K::Merge]);
    let t = tables(&f);
    assert!(t.contains(&(None, "stock", A::Update, false)));
    assert!(t.contains(&(None, "stock", A::Insert, false)));
    assert!(t.contains(&(None, "deliveries", A::Read, false)));
}

#[test]
fn cte_names_are_not_tables() {
    let f = pg(
        "WITH RECURSIVE tree AS (SELECT id, parent_id FROM categories WHERE parent_id IS NULL UNION ALL SELECT c.id, c.parent_id FROM categories c JOIN tree t ON c.parent_id = t.id) SELECT * FROM tree",
    );
    parsed(&f);
    assert_eq!(f.statements, vec![K::Select]);
    let names: Vec<_> = f.tables.iter().map(|t| t.name.as_str()).collect();
    assert!(!names.contains(&"tree"), "{names:?}");
    assert!(names.contains(&"categories"));
    assert_eq!(f.union_count, 1);
    assert!(!f.union_literal_branch);
    // `IS NULL` is a test, not a NULL literal.
    assert_eq!(f.literals.nulls, 0);
}

#[test]
fn data_modifying_cte() {
    let f = pg(
        "WITH moved AS (DELETE FROM queue WHERE id = $1 RETURNING *) INSERT INTO done SELECT * FROM moved",
    );
    parsed(&f);
    assert_eq!(f.statements, vec![K::Insert]);
    let t = tables(&f);
    assert!(t.contains(&(None, "queue", A::Delete, false)));
    assert!(t.contains(&(None, "done", A::Insert, false)));
    assert!(!t.iter().any(|x| x.1 == "moved"));
}

#[test]
fn window_report() {
    let f = pg(
        "WITH monthly AS (SELECT date_trunc('month', created_at) AS m, sum(total) AS revenue FROM orders WHERE status = 'paid' GROUP BY 1 HAVING sum(total) > 0) SELECT m, revenue, lag(revenue) OVER (ORDER BY m) AS prev, rank() OVER (PARTITION BY m ORDER BY revenue DESC) FROM monthly ORDER BY m",
    );
    parsed(&f);
    assert_eq!(tables(&f), vec![(None, "orders", A::Read, false)]);
    let fns = functions(&f);
    assert!(fns.contains(&("date_trunc", Clause::Projection)));
    assert!(fns.contains(&("sum", Clause::Projection)));
    assert!(fns.contains(&("sum", Clause::Having)));
    assert!(fns.contains(&("lag", Clause::Projection)));
    assert!(fns.contains(&("rank", Clause::Projection)));
    assert_eq!(f.literals.strings, 2);
}

#[test]
fn psql_catalog_query() {
    let f = pg(
        r#"SELECT n.nspname as "Schema", c.relname as "Name", CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' END as "Type", pg_catalog.pg_get_userbyid(c.relowner) as "Owner" FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p','v','m','S','f','') AND n.nspname <> 'pg_catalog' AND n.nspname !~ '^pg_toast' AND pg_catalog.pg_table_is_visible(c.oid) ORDER BY 1,2"#,
    );
    parsed(&f);
    let t = tables(&f);
    assert!(t.contains(&(Some("pg_catalog"), "pg_class", A::Read, false)));
    assert!(t.contains(&(Some("pg_catalog"), "pg_namespace", A::Read, false)));
    let fns = functions(&f);
    assert!(fns.contains(&("pg_catalog.pg_get_userbyid", Clause::Projection)));
    assert!(fns.contains(&("pg_catalog.pg_table_is_visible", Clause::Where)));
    assert!(f.constant_comparisons.is_empty());
}

// ---------------------------------------------------------------- DDL, utility statements

#[test]
fn migration_statements() {
    let f = pg(
        "BEGIN; CREATE TABLE IF NOT EXISTS app.widgets (id bigserial PRIMARY KEY, name text NOT NULL DEFAULT ''); CREATE INDEX widgets_name ON app.widgets (name); ALTER TABLE app.widgets ADD COLUMN price numeric(10,2); COMMIT;",
    );
    parsed(&f);
    assert_eq!(
        f.statements,
        vec![K::Begin, K::Create, K::Create, K::Alter, K::Commit]
    );
    assert!(f.stacked);
    assert_eq!(tables(&f), vec![(Some("app"), "widgets", A::Ddl, false)]);
}

#[test]
fn drop_truncate_grant() {
    let f = pg("DROP TABLE IF EXISTS old_logs, tmp CASCADE");
    assert_eq!(f.statements, vec![K::Drop]);
    assert_eq!(
        tables(&f),
        vec![
            (None, "old_logs", A::Ddl, false),
            (None, "tmp", A::Ddl, false)
        ]
    );
    let f = pg("TRUNCATE audit_log");
    assert_eq!(f.statements, vec![K::Truncate]);
    assert_eq!(tables(&f), vec![(None, "audit_log", A::Ddl, false)]);
    assert_eq!(
        pg("GRANT SELECT ON accounts TO reporting").statements,
        vec![K::Grant]
    );
    assert_eq!(
        pg("REVOKE ALL ON accounts FROM public").statements,
        vec![K::Revoke]
    );
}

#[test]
fn utility_statement_kinds() {
    let cases: &[(Dialect, &str, K)] = &[
        (
            Dialect::Postgres,
            "START TRANSACTION ISOLATION LEVEL SERIALIZABLE",
            K::Begin,
        ),
        (Dialect::Postgres, "ROLLBACK", K::Rollback),
        (Dialect::Postgres, "SAVEPOINT s1", K::Savepoint),
        (Dialect::Postgres, "SET search_path TO app, public", K::Set),
        (Dialect::Postgres, "SET statement_timeout = 5000", K::Set),
        (Dialect::Postgres, "SHOW server_version", K::Show),
        (
            Dialect::Postgres,
            "EXPLAIN ANALYZE SELECT * FROM t",
            K::Explain,
        ),
        (Dialect::Postgres, "CALL refresh_stats(1)", K::Call),
        (Dialect::Postgres, "PREPARE q AS SELECT 1", K::Prepare),
        (Dialect::Postgres, "EXECUTE q", K::Execute),
        (Dialect::Postgres, "DEALLOCATE q", K::Deallocate),
        (Dialect::Postgres, "LISTEN jobs", K::Listen),
        (Dialect::Postgres, "NOTIFY jobs, 'x'", K::Notify),
        (Dialect::Postgres, "VACUUM", K::Vacuum),
        (Dialect::Postgres, "COPY users TO STDOUT", K::Copy),
        (Dialect::Mysql, "USE shop", K::UseDatabase),
        (Dialect::Mysql, "SHOW TABLES", K::Show),
        (Dialect::Mysql, "LOCK TABLES t READ", K::Lock),
        (Dialect::Mysql, "ANALYZE TABLE orders", K::Analyze),
        (Dialect::Sqlite, "VALUES (1, 2)", K::Select),
    ];
    for (d, sql, k) in cases {
        let f = extract(sql, *d);
        assert!(f.parsed, "{sql}: {:?}", f.parse_error);
        assert_eq!(f.statements, vec![*k], "{sql}");
    }
}

#[test]
fn explain_reports_inner_tables() {
    let f = pg("EXPLAIN SELECT * FROM orders WHERE id = 1");
    assert_eq!(tables(&f), vec![(None, "orders", A::Read, false)]);
}

// ---------------------------------------------------------------- injection shapes

#[test]
fn or_tautology() {
    let f = pg("SELECT * FROM users WHERE id = 1 OR 1=1");
    parsed(&f);
    let c = &f.constant_comparisons;
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].op, "=");
    assert_eq!(c[0].value, Some(true));
    assert_eq!(c[0].connective, Connective::Or);
    assert_eq!(c[0].position, 1);
    assert_eq!(c[0].chain_length, 2);
    assert_eq!(c[0].clause, Clause::Where);
    assert!(c[0].beside_column_predicate);
}

#[test]
fn and_probe_with_trailing_comment() {
    let f = my("SELECT * FROM users WHERE name = 'x' AND 4821=4821-- '");
    parsed(&f);
    let c = &f.constant_comparisons;
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].value, Some(true));
    assert_eq!(c[0].connective, Connective::And);
    assert_eq!(c[0].position, 1);
    assert_eq!(f.comments.len(), 1);
    assert_eq!(f.comments[0].kind, CommentKind::Line);
    assert_eq!(f.comments[0].position, CommentPosition::Trailing);
    assert_eq!(f.comments[0].text, " '");
}

#[test]
fn stacked_drop() {
    let f = pg("SELECT * FROM users WHERE id = 1; DROP TABLE users");
    parsed(&f);
    assert!(f.stacked);
    assert_eq!(f.statements, vec![K::Select, K::Drop]);
    let t = tables(&f);
    assert!(t.contains(&(None, "users", A::Ddl, false)));
    assert!(t.contains(&(None, "users", A::Read, false)));
}

#[test]
fn union_null_probe() {
    let f = pg("SELECT name, email, id FROM users WHERE id = 1 UNION ALL SELECT NULL,NULL,NULL--");
    parsed(&f);
    assert_eq!(f.union_count, 1);
    assert!(f.union_literal_branch);
    assert_eq!(f.literals.nulls, 3);
    assert_eq!(f.comments[0].position, CommentPosition::Trailing);
}

#[test]
fn union_version_probe() {
    let f = pg("SELECT name FROM products WHERE id = 3 UNION ALL SELECT NULL,NULL,version()--");
    parsed(&f);
    assert_eq!(f.union_count, 1);
    assert!(functions(&f).contains(&("version", Clause::Projection)));
    let f = pg("SELECT a FROM t UNION SELECT password FROM pg_shadow");
    assert!(tables(&f).contains(&(None, "pg_shadow", A::Read, true)));
    assert!(tables(&f).contains(&(None, "t", A::Read, false)));
    assert!(!f.union_literal_branch);
}

#[test]
fn sleep_subquery_is_not_constant() {
    let f = pg("SELECT * FROM users WHERE id = 1 AND 1=(SELECT 1 FROM pg_sleep(5))");
    parsed(&f);
    assert!(
        f.constant_comparisons.is_empty(),
        "{:?}",
        f.constant_comparisons
    );
    assert!(functions(&f).contains(&("pg_sleep", Clause::From)));
}

#[test]
fn builder_one_equals_one_with_placeholder() {
    let f = pg("SELECT * FROM t WHERE 1=1 AND a = $1");
    parsed(&f);
    let c = &f.constant_comparisons;
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].connective, Connective::And);
    assert_eq!(c[0].position, 0);
    assert_eq!(c[0].chain_length, 2);
    assert!(c[0].beside_column_predicate);
    assert_eq!(f.literals.placeholders, 1);
}

#[test]
fn lone_constant_predicates() {
    let f = pg("SELECT * FROM t WHERE 1=1");
    let c = &f.constant_comparisons;
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].connective, Connective::None);
    assert!(!c[0].beside_column_predicate);
    let f = my("SELECT * FROM t WHERE 1");
    assert_eq!(f.constant_comparisons[0].op, "TRUTH");
    assert_eq!(f.constant_comparisons[0].value, Some(true));
    let f = pg("SELECT * FROM t WHERE a = 'x' OR true");
    assert_eq!(f.constant_comparisons[0].op, "TRUTH");
    assert_eq!(f.constant_comparisons[0].connective, Connective::Or);
    assert_eq!(f.literals.booleans, 1);
}

#[test]
fn constant_comparison_forms() {
    let cases: &[(&str, &str, Option<bool>)] = &[
        ("SELECT * FROM t WHERE a=1 OR 'a'='a'", "=", Some(true)),
        ("SELECT * FROM t WHERE a=1 OR 'a'<>'b'", "<>", Some(true)),
        ("SELECT * FROM t WHERE a=1 OR 2>1", ">", Some(true)),
        ("SELECT * FROM t WHERE a=1 AND 1=2", "=", Some(false)),
        (
            "SELECT * FROM t WHERE a=1 OR 5 BETWEEN 1 AND 9",
            "BETWEEN",
            Some(true),
        ),
        (
            "SELECT * FROM t WHERE a=1 OR 'x' LIKE 'x'",
            "LIKE",
            Some(true),
        ),
        (
            "SELECT * FROM t WHERE a=1 OR 'abc' LIKE 'a%'",
            "LIKE",
            Some(true),
        ),
        (
            "SELECT * FROM t WHERE a=1 OR 3 IN (1,2,3)",
            "IN",
            Some(true),
        ),
        (
            "SELECT * FROM t WHERE a=1 OR NULL IS NULL",
            "IS",
            Some(true),
        ),
        ("SELECT * FROM t WHERE a=1 OR 10=010", "=", Some(true)),
        ("SELECT * FROM t WHERE a=1 OR 2=1+1", "=", Some(true)),
        ("SELECT * FROM t WHERE a=1 OR NOT 1=2", "=", Some(true)),
        ("SELECT * FROM t WHERE a=1 OR 1='1'", "=", None),
        (
            "SELECT * FROM t WHERE a=1 OR version()=version()",
            "=",
            None,
        ),
    ];
    for (sql, op, value) in cases {
        let f = pg(sql);
        assert!(f.parsed, "{sql}");
        assert_eq!(
            f.constant_comparisons.len(),
            1,
            "{sql}: {:?}",
            f.constant_comparisons
        );
        let c = &f.constant_comparisons[0];
        assert_eq!(c.op, *op, "{sql}");
        assert_eq!(c.value, *value, "{sql}");
        assert!(c.beside_column_predicate, "{sql}");
    }
    // Sides with a column or placeholder are not constant.
    for sql in [
        "SELECT * FROM t WHERE a = a",
        "SELECT * FROM t WHERE $1 = 1",
        "SELECT * FROM t WHERE 1 IN (SELECT 1)",
    ] {
        assert!(pg(sql).constant_comparisons.is_empty(), "{sql}");
    }
}

#[test]
fn constants_in_join_and_having() {
    let f = pg(
        "SELECT a.id FROM a JOIN b ON a.id = b.a_id AND 1=1 GROUP BY a.id HAVING count(*) > 0 OR 2=2",
    );
    let c = &f.constant_comparisons;
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].clause, Clause::JoinCondition);
    assert_eq!(c[1].clause, Clause::Having);
    assert_eq!(c[1].connective, Connective::Or);
}

#[test]
fn nested_chain_position() {
    let f = pg("SELECT * FROM t WHERE a = 1 AND (b = 2 OR 'x'='x')");
    let c = &f.constant_comparisons[0];
    assert_eq!(c.connective, Connective::Or);
    assert_eq!(c.position, 1);
    assert_eq!(c.chain_length, 2);
}

#[test]
fn subquery_in_where_is_nested() {
    let f = pg(
        "SELECT * FROM products WHERE id = 1 AND 1=(SELECT COUNT(*) FROM information_schema.tables)",
    );
    assert!(tables(&f).contains(&(Some("information_schema"), "tables", A::Read, true)));
    assert!(tables(&f).contains(&(None, "products", A::Read, false)));
    // A derived table in FROM is not nested.
    let f = pg("SELECT * FROM (SELECT id FROM users) u");
    assert_eq!(tables(&f), vec![(None, "users", A::Read, false)]);
}

#[test]
fn comments_kinds_and_positions() {
    let f = my("/* app:web */ SELECT 1 /*! UNION SELECT 2 */ # tail");
    assert_eq!(f.comments.len(), 3);
    assert_eq!(f.comments[0].kind, CommentKind::Block);
    assert_eq!(f.comments[0].position, CommentPosition::Leading);
    assert_eq!(f.comments[0].text, " app:web ");
    assert_eq!(f.comments[1].kind, CommentKind::Conditional);
    assert_eq!(f.comments[1].position, CommentPosition::Trailing);
    assert_eq!(f.comments[1].text, " UNION SELECT 2 ");
    assert_eq!(f.comments[2].kind, CommentKind::Hash);
    let f = pg("SELECT /* inner */ 1 -- line\n");
    assert_eq!(f.comments[0].position, CommentPosition::Inner);
    assert_eq!(f.comments[1].text, " line");
    // Postgres has no conditional comments.
    assert_eq!(pg("SELECT 1 /*! x */").comments[0].kind, CommentKind::Block);
}

#[test]
fn comment_text_truncated_on_char_boundary() {
    let body = "é".repeat(300);
    let f = pg(&format!("SELECT 1 -- {body}"));
    let t = &f.comments[0].text;
    assert!(t.len() <= 256);
    assert!(t.len() >= 254);
}

#[test]
fn literal_counts() {
    let f = my("SELECT 'a', \"b\", 1, 2.5, NULL, TRUE, false, 0x41, X'41', b'01', ? FROM t");
    parsed(&f);
    assert_eq!(f.literals.strings, 2);
    assert_eq!(f.literals.numbers, 2);
    assert_eq!(f.literals.nulls, 1);
    assert_eq!(f.literals.booleans, 2);
    assert_eq!(f.literals.hex, 3);
    assert_eq!(f.literals.placeholders, 1);
    let f = lite("SELECT * FROM t WHERE a = :name AND b = ?1 AND c = ?");
    assert_eq!(f.literals.placeholders, 3);
}

#[test]
fn file_access() {
    let f = my("SELECT * FROM users INTO OUTFILE '/tmp/users.csv' FIELDS TERMINATED BY ','");
    parsed(&f);
    assert!(f.file_access);
    assert_eq!(tables(&f), vec![(None, "users", A::Read, false)]);
    assert!(my("SELECT '<?php' INTO DUMPFILE '/var/www/x.php'").file_access);
    assert!(my("SELECT LOAD_FILE('/etc/passwd')").file_access);
    assert!(pg("SELECT pg_read_file('/etc/passwd')").file_access);
    assert!(pg("SELECT pg_ls_dir('.')").file_access);
    assert!(pg("COPY users FROM PROGRAM 'curl evil'").file_access);
    assert!(pg("COPY users TO '/tmp/u'").file_access);
    assert!(!pg("COPY users TO STDOUT").file_access);
    assert!(!pg("SELECT * FROM users").file_access);
}

// ---------------------------------------------------------------- unparsable input

#[test]
fn unparsable_keeps_token_facts() {
    let f = pg("SELECT * FROM users WHERE id = 1 OR 'a'='a' ;; FROBNICATE 'x' -- c");
    assert!(!f.parsed);
    assert!(f.parse_error.is_some());
    assert!(f.stacked);
    assert_eq!(f.literals.strings, 3);
    assert_eq!(f.comments.len(), 1);
    assert!(f.statements.is_empty());
}

#[test]
fn untokenizable_keeps_prefix_facts() {
    let f = pg("SELECT 1 /* c */; SELECT 'unterminated");
    assert!(!f.parsed);
    assert!(f.parse_error.is_some());
    assert_eq!(f.comments.len(), 1);
    assert!(f.stacked);
}

#[test]
fn oversized_statement_is_refused() {
    let sql = format!("SELECT '{}'", "a".repeat(articdbm_facts::MAX_SQL_BYTES));
    let f = pg(&sql);
    assert!(!f.parsed);
    assert!(
        f.parse_error
            .as_deref()
            .is_some_and(|e| e.contains("limit"))
    );
}

#[test]
fn deep_nesting_is_a_parse_error() {
    let sql = format!("SELECT {}1{}", "(".repeat(5000), ")".repeat(5000));
    assert!(!pg(&sql).parsed);
    let sql = format!(
        "SELECT * FROM t WHERE {}1=1{}",
        "NOT (".repeat(500),
        ")".repeat(500)
    );
    assert!(!pg(&sql).parsed);
}

#[test]
fn long_operator_chains_are_bounded() {
    // Run on a small stack, as on a runtime worker thread.
    let h = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let ok = format!("SELECT * FROM t WHERE {}a=1", "a=1 AND ".repeat(900));
            let f = pg(&ok);
            assert!(f.parsed, "{:?}", f.parse_error);
            let sum = format!("SELECT {}1", "1+".repeat(1900));
            let _ = pg(&sum);
            let huge = format!("SELECT * FROM t WHERE {}1=1", "1=1 AND ".repeat(100_000));
            let f = pg(&huge);
            assert!(!f.parsed);
        })
        .map(|h| h.join());
    assert!(matches!(h, Ok(Ok(()))));
}

#[test]
fn lists_are_capped() {
    let sql = format!(
        "SELECT {}1",
        "f(1), ".repeat(0) + &(0..400).map(|i| format!("f{i}(), ")).collect::<String>()
    );
    let f = pg(&sql);
    assert!(f.functions.len() <= articdbm_facts::MAX_LIST);
    let sql = (0..400).map(|i| format!("/* {i} */")).collect::<String>() + "SELECT 1";
    assert_eq!(pg(&sql).comments.len(), articdbm_facts::MAX_LIST);
}

/// Deterministic xorshift64* generator.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn random_input_never_panics() {
    const PIECES: &[&str] = &[
        "SELECT ",
        "* ",
        "FROM ",
        "t ",
        "WHERE ",
        "1=1 ",
        "AND ",
        "OR ",
        "(",
        ")",
        "'",
        "\"",
        "`",
        "--",
        "/*",
        "*/",
        "/*!",
        "#",
        ";",
        "UNION ",
        "ALL ",
        "NULL",
        ",",
        "$1",
        "?",
        ":x",
        "0x41",
        "X'4",
        "é",
        "\n",
        "INTO OUTFILE ",
        "LOCK IN SHARE MODE",
        "WITH a AS ",
        "IN (",
        "BETWEEN ",
        "NOT ",
        "= ",
        "pg_sleep(1)",
        "E'\\'",
        "$$",
        "[",
        "]",
        "::int",
        "CASE WHEN ",
        "END ",
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let start = std::time::Instant::now();
    for i in 0..3000 {
        let mut s = String::new();
        let n = (rng.next() % 40) as usize;
        for _ in 0..n {
            if i % 3 == 0 {
                // Random chars, including control and multibyte ones.
                let c = char::from_u32((rng.next() % 0x2FF) as u32).unwrap_or('x');
                s.push(c);
            } else {
                s.push_str(PIECES[(rng.next() as usize) % PIECES.len()]);
            }
        }
        for d in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite] {
            let f = extract(&s, d);
            assert!(
                f.parsed || f.parse_error.is_some() || s.trim().is_empty(),
                "{s:?}"
            );
        }
    }
    assert!(start.elapsed().as_secs() < 60);
}

// ---------------------------------------------------------------- cache

#[test]
fn cache_hits_and_counts() {
    let c = FactsCache::new(100);
    let a = c.get("SELECT 1", Dialect::Postgres);
    let b = c.get("SELECT 1", Dialect::Postgres);
    assert!(std::sync::Arc::ptr_eq(&a, &b));
    let m = c.get("SELECT 1", Dialect::Mysql);
    assert!(!std::sync::Arc::ptr_eq(&a, &m));
    assert_eq!(c.hits(), 1);
    assert_eq!(c.misses(), 2);
    assert_eq!(c.len(), 2);
}

#[test]
fn cache_is_bounded_by_entries_and_bytes() {
    let c = FactsCache::new(10);
    for i in 0..100 {
        c.get(&format!("SELECT {i}"), Dialect::Postgres);
    }
    assert_eq!(c.len(), 10);
    let c = FactsCache::<QueryFacts>::with_limits(1000, 200);
    for i in 0..100 {
        c.get(
            &format!("SELECT {i} /* padding padding */"),
            Dialect::Postgres,
        );
    }
    assert!(c.text_bytes() <= 200);
    assert!(!c.is_empty());
    // Too big to cache at all: answered, not stored.
    let big = format!("SELECT '{}'", "x".repeat(500));
    assert!(c.get(&big, Dialect::Postgres).parsed);
    assert!(c.text_bytes() <= 200);
    let zero = FactsCache::new(0);
    zero.get("SELECT 1", Dialect::Postgres);
    assert_eq!(zero.len(), 0);
}

#[test]
fn cache_clock_keeps_hot_entries() {
    let c = FactsCache::new(8);
    c.get("SELECT 'hot'", Dialect::Postgres);
    for i in 0..50 {
        c.get("SELECT 'hot'", Dialect::Postgres);
        c.get(&format!("SELECT {i}"), Dialect::Postgres);
    }
    let misses = c.misses();
    c.get("SELECT 'hot'", Dialect::Postgres);
    assert_eq!(c.misses(), misses);
}

#[test]
fn cache_generic_value_and_threads() {
    let c = std::sync::Arc::new(FactsCache::<usize>::new(10_000));
    let hs: Vec<_> = (0..4)
        .map(|t| {
            let c = std::sync::Arc::clone(&c);
            std::thread::spawn(move || {
                for i in 0..500 {
                    let sql = format!("SELECT {} FROM t{}", i % 50, t % 2);
                    let v = c.get_or_insert_with(&sql, Dialect::Postgres, |f| f.tables.len());
                    assert_eq!(*v, 1);
                }
            })
        })
        .collect();
    for h in hs {
        assert!(h.join().is_ok());
    }
    assert_eq!(c.len(), 100);
    assert_eq!(c.hits() + c.misses(), 2000);
}

#[test]
fn facts_serialize() {
    let v = serde_json::to_value(pg("SELECT 1")).unwrap_or_default();
    assert_eq!(v["statements"][0], "select");
}
