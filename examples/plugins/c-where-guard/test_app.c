/*
 * Native tests of where-guard (plugin-sdk/c/test.sh builds this with app.c, the C SDK and the
 * SDK's test host). The facts are given by hand: the gateway computes them in production.
 */
#include <stdlib.h>
#include <string.h>

#include "articdbm_test_host.h"

#define CHECK ARTICDBM_CHECK
#define ALLOW ARTICDBM_VERDICT_ALLOW
#define DENY ARTICDBM_VERDICT_DENY
#define AUDIT ARTICDBM_VERDICT_AUDIT

static const articdbm_statement_kind_t UPDATE[] = {ARTICDBM_STMT_UPDATE};
static const articdbm_statement_kind_t DELETE[] = {ARTICDBM_STMT_DELETE};
static const articdbm_statement_kind_t SELECT[] = {ARTICDBM_STMT_SELECT};

/* on_query for sql with one statement kind and one table written with `mode` (name NULL: no
 * table in the facts). */
static articdbm_verdict_t run(const articdbm_connection_t *conn, const char *sql,
                              const articdbm_statement_kind_t *kind, const char *schema,
                              const char *table, articdbm_access_mode_t mode) {
    articdbm_test_table_t t = {schema, table, mode, false};
    articdbm_query_t q = articdbm_test_query(sql, kind, 1, &t, table ? 1 : 0);
    articdbm_verdict_t v = articdbm_test_on_query(conn, &q);
    articdbm_test_query_free(&q);
    return v;
}

static bool reason_is(const articdbm_verdict_t *v, const char *expected) {
    const articdbm_finding_t *f = articdbm_verdict_finding(v);
    if (f && articdbm_str_eq(f->reason, expected)) return true;
    if (f) fprintf(stderr, "reason: %.*s\n", ARTICDBM_STR_ARG(f->reason));
    return false;
}

static void test_where_scan(void) {
    articdbm_test_reset();
    CHECK(articdbm_test_configure("{}", NULL));
    articdbm_connection_t app = articdbm_test_connection("app", NULL);
    const articdbm_access_mode_t U = ARTICDBM_ACCESS_UPDATE, D = ARTICDBM_ACCESS_DELETE;

    ARTICDBM_CHECK_VERDICT(run(&app, "UPDATE orders SET paid = true WHERE id = 7", UPDATE, NULL, "orders", U), ALLOW, NULL);
    ARTICDBM_CHECK_VERDICT(run(&app, "DELETE FROM orders WHERE id = 7", DELETE, NULL, "orders", D), ALLOW, NULL);
    ARTICDBM_CHECK_VERDICT(run(&app, "update orders set note = 'where' -- where\n", UPDATE, NULL, "orders", U), DENY, "where.missing");
    ARTICDBM_CHECK_VERDICT(run(&app, "DELETE FROM orders", DELETE, NULL, "orders", D), DENY, "where.missing");
    ARTICDBM_CHECK_VERDICT(run(&app, "DELETE FROM orders /* WHERE id = 1 */", DELETE, NULL, "orders", D), DENY, "where.missing");
    ARTICDBM_CHECK_VERDICT(run(&app, "DELETE FROM \"where\"", DELETE, NULL, "where", D), DENY, "where.missing");
    /* a WHERE in a subquery is not the statement's */
    ARTICDBM_CHECK_VERDICT(run(&app, "UPDATE orders SET total = (SELECT sum(x) FROM items WHERE items.o = 1)", UPDATE, NULL, "orders", U), DENY, "where.missing");
    ARTICDBM_CHECK_VERDICT(run(&app, "UPDATE orders SET total = 0 WHERE id IN (SELECT o FROM items)", UPDATE, NULL, "orders", U), ALLOW, NULL);
    /* WITH, EXPLAIN, data-modifying CTEs */
    ARTICDBM_CHECK_VERDICT(run(&app, "WITH old AS (SELECT id FROM orders WHERE ts < 5) DELETE FROM orders", DELETE, NULL, "orders", D), DENY, "where.missing");
    ARTICDBM_CHECK_VERDICT(run(&app, "WITH old AS (SELECT id FROM orders) DELETE FROM orders WHERE id IN (SELECT id FROM old)", DELETE, NULL, "orders", D), ALLOW, NULL);
    ARTICDBM_CHECK_VERDICT(run(&app, "WITH gone AS (DELETE FROM orders RETURNING *) SELECT count(*) FROM gone WHERE true", SELECT, NULL, "orders", D), DENY, "where.missing");
    ARTICDBM_CHECK_VERDICT(run(&app, "EXPLAIN (ANALYZE, FORMAT JSON) DELETE FROM orders", DELETE, NULL, "orders", D), DENY, "where.missing");
    ARTICDBM_CHECK_VERDICT(run(&app, "WHERE_IS_NOT_A_VERB", SELECT, NULL, NULL, U), ALLOW, NULL);
    /* upserts are not UPDATE statements */
    ARTICDBM_CHECK_VERDICT(run(&app, "INSERT INTO orders VALUES (1) ON CONFLICT (id) DO UPDATE SET n = 2", (articdbm_statement_kind_t[]){ARTICDBM_STMT_INSERT}, NULL, "orders", U), ALLOW, NULL);
    /* stacked: the second statement is the unguarded one, and the reason names its table */
    {
        articdbm_statement_kind_t kinds[] = {ARTICDBM_STMT_DELETE, ARTICDBM_STMT_UPDATE};
        articdbm_test_table_t tables[] = {{NULL, "a", D, false}, {"public", "b", U, false}};
        articdbm_query_t q = articdbm_test_query("DELETE FROM a WHERE x = 1; UPDATE public.b SET y = 2", kinds, 2, tables, 2);
        articdbm_verdict_t v = articdbm_test_on_query(&app, &q);
        CHECK(articdbm_is_deny(&v));
        CHECK(reason_is(&v, "UPDATE on table public.b has no WHERE clause (add one; WHERE true if every row is meant)"));
        articdbm_verdict_free(&v);
        articdbm_test_query_free(&q);
    }
    /* an unparsed statement is scanned all the same */
    {
        articdbm_query_t q = articdbm_test_query("DELETE FROM orders LIMIT ALL BUT", NULL, 0, NULL, 0);
        q.facts.parsed = false;
        articdbm_verdict_t v = articdbm_test_on_query(&app, &q);
        CHECK(articdbm_is_deny(&v));
        CHECK(reason_is(&v, "DELETE without a WHERE clause (add one; WHERE true if every row is meant)"));
        articdbm_verdict_free(&v);
        articdbm_test_query_free(&q);
    }
    /* MySQL: # comments and "..." strings */
    app.protocol = ARTICDBM_PROTOCOL_MYSQL;
    ARTICDBM_CHECK_VERDICT(run(&app, "UPDATE t SET a = \"x\" # WHERE id = 1", UPDATE, NULL, "t", U), DENY, "where.missing");
    ARTICDBM_CHECK_VERDICT(run(&app, "UPDATE t SET a = 1 WHERE id = 1 # ok", UPDATE, NULL, "t", U), ALLOW, NULL);
    articdbm_test_connection_free(&app);
}

static void test_host_use(void) {
    articdbm_test_reset();
    CHECK(articdbm_test_configure("{\"refusal_window_seconds\": 60}", NULL));
    articdbm_connection_t alice = articdbm_test_connection("alice", NULL);

    /* allowed statements declare reuse and touch no host state */
    articdbm_verdict_t v = run(&alice, "SELECT * FROM orders", SELECT, NULL, "orders", ARTICDBM_ACCESS_READ);
    int scope = -1, basis = -1;
    CHECK(articdbm_is_allow(&v));
    CHECK(articdbm_test_reuse(&scope, &basis) && scope == ARTICDBM_REUSE_STATEMENT && basis == ARTICDBM_REUSE_FINGERPRINT);
    CHECK(!articdbm_test_stateful());
    articdbm_verdict_free(&v);

    articdbm_test_set_now_ms(1714566896789ULL); /* 2024-05-01T12:34:56.789Z */
    v = run(&alice, "DELETE FROM orders", DELETE, "public", "orders", ARTICDBM_ACCESS_DELETE);
    CHECK(articdbm_is_deny(&v));
    CHECK(reason_is(&v, "DELETE on table public.orders has no WHERE clause (add one; WHERE true if every row is meant)"));
    articdbm_verdict_free(&v);
    CHECK(strcmp(articdbm_test_kv_peek("refusals:alice"), "1") == 0);
    CHECK(articdbm_test_kv_expiry("refusals:alice") == 1714566896789ULL + 60000);
    CHECK(articdbm_test_counter("where_missing_total") == 1);
    CHECK(articdbm_test_log_contains("where-guard: refused DELETE on public.orders without WHERE by alice in shop at 2024-05-01T12:34:56.789Z (1 in the last 60 s)"));

    articdbm_test_advance_ms(30000);
    ARTICDBM_CHECK_VERDICT(run(&alice, "UPDATE orders SET x = 1", UPDATE, NULL, "orders", ARTICDBM_ACCESS_UPDATE), DENY, "where.missing");
    CHECK(strcmp(articdbm_test_kv_peek("refusals:alice"), "2") == 0);
    CHECK(articdbm_test_log_contains("(2 in the last 60 s)"));
    articdbm_test_advance_ms(30000); /* the window started at the first refusal: expired */
    CHECK(articdbm_test_kv_peek("refusals:alice") == NULL);
    ARTICDBM_CHECK_VERDICT(run(&alice, "UPDATE orders SET x = 1", UPDATE, NULL, "orders", ARTICDBM_ACCESS_UPDATE), DENY, "where.missing");
    CHECK(strcmp(articdbm_test_kv_peek("refusals:alice"), "1") == 0);
    CHECK(articdbm_test_counter("where_missing_total") == 3);

    /* kv down: still refused, and the log says why it was not counted */
    articdbm_test_set_kv_down(true);
    ARTICDBM_CHECK_VERDICT(run(&alice, "DELETE FROM orders", DELETE, NULL, "orders", ARTICDBM_ACCESS_DELETE), DENY, "where.missing");
    CHECK(articdbm_test_log_contains("refusal not counted: kv unavailable: test host: kv is down"));
    articdbm_test_set_kv_down(false);
    articdbm_test_connection_free(&alice);
}

static void test_config(void) {
    articdbm_test_reset();
    char *err = NULL;
    CHECK(articdbm_test_configure(
        "{\"exempt_tables\": [\"sessions\", \"app.cache\"], \"mode_audit_only_roles\": [\"dba\"]}", &err));
    const char *dba_roles[] = {"dev", "dba", NULL};
    articdbm_connection_t dba = articdbm_test_connection("root", dba_roles);
    articdbm_connection_t bob = articdbm_test_connection("bob", NULL);
    const articdbm_access_mode_t D = ARTICDBM_ACCESS_DELETE;

    ARTICDBM_CHECK_VERDICT(run(&bob, "DELETE FROM sessions", DELETE, "public", "sessions", D), ALLOW, NULL);
    ARTICDBM_CHECK_VERDICT(run(&bob, "DELETE FROM app.cache", DELETE, "app", "cache", D), ALLOW, NULL);
    ARTICDBM_CHECK_VERDICT(run(&bob, "DELETE FROM public.cache", DELETE, "public", "cache", D), DENY, "where.missing");
    ARTICDBM_CHECK_VERDICT(run(&dba, "DELETE FROM orders", DELETE, NULL, "orders", D), AUDIT, "where.missing");
    CHECK(articdbm_test_counter("where_missing_audited_total") == 1);
    CHECK(articdbm_test_log_contains("where-guard: audited DELETE on orders"));
    /* a statement writing an exempt and a guarded table is refused, naming the guarded one */
    {
        articdbm_test_table_t tables[] = {{NULL, "sessions", D, false}, {NULL, "orders", D, false}};
        articdbm_query_t q = articdbm_test_query("DELETE sessions, orders FROM sessions JOIN orders", DELETE, 1, tables, 2);
        articdbm_verdict_t v = articdbm_test_on_query(&bob, &q);
        CHECK(reason_is(&v, "DELETE on table orders has no WHERE clause (add one; WHERE true if every row is meant)"));
        articdbm_verdict_free(&v);
        articdbm_test_query_free(&q);
    }

    /* refused configs name the problem and leave the previous one in force */
    CHECK(!articdbm_test_configure("{\"exempt_table\": []}", &err));
    CHECK(err && strcmp(err, "unknown config field \"exempt_table\"") == 0);
    free(err);
    CHECK(!articdbm_test_configure("{\"exempt_tables\": \"orders\"}", &err));
    CHECK(err && strcmp(err, "exempt_tables must be an array of strings, not string") == 0);
    free(err);
    CHECK(!articdbm_test_configure("{\"mode_audit_only_roles\": [\"a\", 1]}", &err));
    CHECK(err && strcmp(err, "mode_audit_only_roles[1] must be a non-empty string") == 0);
    free(err);
    CHECK(!articdbm_test_configure("{\"refusal_window_seconds\": 0}", &err));
    CHECK(err && strstr(err, "1..604800"));
    free(err);
    CHECK(!articdbm_test_configure("{\"refusal_window_seconds\": 1.5}", &err));
    free(err);
    CHECK(!articdbm_test_configure("[1]", &err));
    CHECK(err && strcmp(err, "config must be an object") == 0);
    free(err);
    CHECK(!articdbm_test_configure("{\"exempt_tables\": [", &err));
    CHECK(err && strstr(err, "config: invalid JSON at byte 19"));
    free(err);
    ARTICDBM_CHECK_VERDICT(run(&bob, "DELETE FROM sessions", DELETE, NULL, "sessions", D), ALLOW, NULL);

    /* a new config replaces the old one */
    CHECK(articdbm_test_configure("{}", NULL));
    ARTICDBM_CHECK_VERDICT(run(&bob, "DELETE FROM sessions", DELETE, NULL, "sessions", D), DENY, "where.missing");
    ARTICDBM_CHECK_VERDICT(run(&dba, "DELETE FROM orders", DELETE, NULL, "orders", D), DENY, "where.missing");
    articdbm_test_connection_free(&dba);
    articdbm_test_connection_free(&bob);
}

int main(void) {
    test_where_scan();
    test_host_use();
    test_config();
    return articdbm_test_summary("where-guard");
}
