/*
 * Native tests of the C SDK: JSON reader, SQL lexer, verdict / fact / string helpers, host
 * wrappers (against the test host) and the exports with the default callbacks (no app.c is
 * linked, so the SDK's weak defaults answer). Run by plugin-sdk/c/test.sh.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "articdbm_test_host.h"

#define CHECK ARTICDBM_CHECK

static articdbm_json_t *parse_ok(const char *text) {
    char *err = NULL;
    articdbm_json_t *v = articdbm_json_parse(text, strlen(text), &err);
    if (!v) fprintf(stderr, "unexpected JSON error for %s: %s\n", text, err);
    free(err);
    return v;
}

/* The error message for text, or NULL when it parses (freed by the next call). */
static const char *parse_err(const char *text, size_t len) {
    static char *last;
    free(last);
    last = NULL;
    articdbm_json_t *v = articdbm_json_parse(text, len, &last);
    if (v) {
        articdbm_json_free(v);
        return NULL;
    }
    return last ? last : "(no message)";
}

static void test_json(void) {
    articdbm_json_t *v = parse_ok(
        " {\"a\": [1, -2.5e3, true, false, null, \"x\\n\\u00e9\\ud83d\\ude00\"], \"b\": {},"
        " \"n\": 9223372036854775807, \"m\": -9223372036854775808, \"big\": 18446744073709551616,"
        " \"a\": \"dup\"} ");
    CHECK(v != NULL);
    CHECK(articdbm_json_type(v) == ARTICDBM_JSON_OBJECT);
    CHECK(articdbm_json_len(v) == 6);
    /* the last duplicate wins */
    CHECK(strcmp(articdbm_json_string(articdbm_json_get(v, "a")), "dup") == 0);
    const articdbm_json_t *a = articdbm_json_at(v, 0);
    CHECK(strcmp(articdbm_json_key_at(v, 0), "a") == 0);
    CHECK(articdbm_json_len(a) == 6);
    int64_t i = 0;
    CHECK(articdbm_json_int(articdbm_json_at(a, 0), &i) && i == 1);
    CHECK(!articdbm_json_int(articdbm_json_at(a, 1), &i));
    CHECK(articdbm_json_number(articdbm_json_at(a, 1)) == -2500.0);
    CHECK(articdbm_json_type(articdbm_json_at(a, 2)) == ARTICDBM_JSON_BOOL);
    CHECK(articdbm_json_bool(articdbm_json_at(a, 2)));
    CHECK(!articdbm_json_bool(articdbm_json_at(a, 3)));
    CHECK(articdbm_json_type(articdbm_json_at(a, 4)) == ARTICDBM_JSON_NULL);
    const articdbm_json_t *s = articdbm_json_at(a, 5);
    CHECK(strcmp(articdbm_json_string(s), "x\n\xc3\xa9\xf0\x9f\x98\x80") == 0);
    CHECK(articdbm_json_string_len(s) == 8);
    CHECK(articdbm_json_at(a, 6) == NULL);
    CHECK(articdbm_json_type(articdbm_json_get(v, "b")) == ARTICDBM_JSON_OBJECT);
    CHECK(articdbm_json_len(articdbm_json_get(v, "b")) == 0);
    CHECK(articdbm_json_int(articdbm_json_get(v, "n"), &i) && i == INT64_MAX);
    CHECK(articdbm_json_int(articdbm_json_get(v, "m"), &i) && i == INT64_MIN);
    CHECK(!articdbm_json_int(articdbm_json_get(v, "big"), &i));
    CHECK(articdbm_json_number(articdbm_json_get(v, "big")) > 1.8e19);
    CHECK(articdbm_json_get(v, "missing") == NULL);
    CHECK(articdbm_json_get(a, "a") == NULL); /* not an object */
    CHECK(articdbm_json_string(articdbm_json_get(v, "b")) == NULL);
    const char *allowed[] = {"a", "b", "n", "m", NULL};
    char *err = NULL;
    CHECK(!articdbm_json_only_keys(v, allowed, &err));
    CHECK(err && strstr(err, "\"big\""));
    free(err);
    articdbm_json_free(v);

    /* blank text is {} */
    v = parse_ok("  \n");
    CHECK(v && articdbm_json_type(v) == ARTICDBM_JSON_OBJECT && articdbm_json_len(v) == 0);
    articdbm_json_free(v);
    v = articdbm_json_parse(NULL, 0, NULL);
    CHECK(v && articdbm_json_type(v) == ARTICDBM_JSON_OBJECT);
    articdbm_json_free(v);

    /* a string with \u0000 keeps its length */
    v = parse_ok("\"a\\u0000b\"");
    CHECK(v && articdbm_json_string_len(v) == 3 && memcmp(articdbm_json_string(v), "a\0b", 3) == 0);
    articdbm_json_free(v);

    /* not NUL-terminated input: only len bytes are read */
    const char buf[] = {'[', '1', ']', 'x'};
    v = articdbm_json_parse(buf, 3, NULL);
    CHECK(v && articdbm_json_len(v) == 1);
    articdbm_json_free(v);

    /* errors name the byte */
    const char *e = parse_err("{\"a\": 1,}", 9);
    CHECK(e && strstr(e, "byte 8") && strstr(e, "member name"));
    e = parse_err("[1 2]", 5);
    CHECK(e && strstr(e, "byte 3") && strstr(e, "expected ',' or ']'"));
    CHECK(parse_err("01", 2) != NULL);
    CHECK(parse_err("1.", 2) != NULL);
    CHECK(parse_err("-", 1) != NULL);
    CHECK(parse_err("1e", 2) != NULL);
    CHECK(parse_err("tru", 3) != NULL);
    CHECK(parse_err("nul", 3) != NULL);
    CHECK(parse_err("\"abc", 4) != NULL);
    CHECK(parse_err("\"ab\\\"", 5) != NULL);
    CHECK(parse_err("\"a\tb\"", 5) != NULL);         /* raw control character */
    CHECK(parse_err("\"\\x\"", 4) != NULL);          /* bad escape */
    CHECK(parse_err("\"\\u12\"", 6) != NULL);        /* short \u */
    CHECK(parse_err("\"\\ud800\"", 8) != NULL);      /* lone high surrogate */
    CHECK(parse_err("\"\\udc00\"", 8) != NULL);      /* lone low surrogate */
    CHECK(parse_err("\"\xc3\"", 3) != NULL);         /* truncated UTF-8 */
    CHECK(parse_err("\"\xed\xa0\x80\"", 5) != NULL); /* UTF-8 surrogate */
    CHECK(parse_err("\"\xc0\xaf\"", 4) != NULL);     /* overlong */
    CHECK(parse_err("{} x", 4) != NULL);
    CHECK(parse_err("{\"a\" 1}", 7) != NULL);
    CHECK(parse_err("[", 1) != NULL);
    CHECK(parse_err("NaN", 3) != NULL);
    CHECK(parse_err("// c\n{}", 7) != NULL);
    CHECK(parse_err("0", 1) == NULL);
    CHECK(parse_err("-0.5e-3", 7) == NULL);
    CHECK(parse_err("\"\xe2\x82\xac\"", 5) == NULL);

    /* nesting limit */
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    e = parse_err(deep, 200);
    CHECK(e && strstr(e, "nested too deeply"));
    CHECK(parse_err(deep + 36, 128) == NULL); /* 64 levels are fine */

    /* a large array grows */
    char big[4000];
    size_t n = 0;
    big[n++] = '[';
    for (int k = 0; k < 1000; k++) n += (size_t)sprintf(big + n, k ? ",%d" : "%d", k % 10);
    big[n++] = ']';
    v = articdbm_json_parse(big, n, NULL);
    CHECK(v && articdbm_json_len(v) == 1000);
    CHECK(articdbm_json_int(articdbm_json_at(v, 999), &i) && i == 9);
    articdbm_json_free(v);
    articdbm_json_free(NULL);
    free((void *)parse_err("1", 1)); /* frees nothing; resets the static */
}

/* The words at depth 0 of sql, joined with spaces (strings as S, identifiers as I). */
static const char *top_words(const char *sql, articdbm_sql_dialect_t d) {
    static char out[512];
    size_t n = 0;
    articdbm_sql_lexer_t lx;
    articdbm_sql_token_t t;
    articdbm_sql_lexer_init(&lx, sql, strlen(sql), d);
    out[0] = '\0';
    while (articdbm_sql_next(&lx, &t)) {
        if (t.depth != 0) continue;
        const char *w = NULL;
        size_t len = t.len;
        if (t.kind == ARTICDBM_SQL_WORD) {
            w = t.start;
        } else if (t.kind == ARTICDBM_SQL_STRING) {
            w = "S";
            len = 1;
        } else if (t.kind == ARTICDBM_SQL_QUOTED_IDENT) {
            w = "I";
            len = 1;
        } else if (t.kind == ARTICDBM_SQL_PARAM) {
            w = "P";
            len = 1;
        } else if (articdbm_sql_is_punct(&t, ';')) {
            w = ";";
            len = 1;
        }
        if (!w || n + len + 2 >= sizeof out) continue;
        if (n) out[n++] = ' ';
        memcpy(out + n, w, len);
        n += len;
        out[n] = '\0';
    }
    return out;
}

static void test_sql(void) {
    const articdbm_sql_dialect_t PG = ARTICDBM_SQL_POSTGRES, MY = ARTICDBM_SQL_MYSQL,
                                 LITE = ARTICDBM_SQL_SQLITE;
    CHECK(strcmp(top_words("UPDATE t SET a = 1 WHERE id = 2", PG), "UPDATE t SET a WHERE id") == 0);
    /* strings, identifiers and comments hide keywords */
    CHECK(strcmp(top_words("update t set a = 'WHERE' -- where\n", PG), "update t set a S") == 0);
    CHECK(strcmp(top_words("update \"where\" set a = 1 /* where /* nested */ where */", PG),
                 "update I set a") == 0);
    CHECK(strcmp(top_words("update t set a = $x$ it's WHERE $x$, b = $$where$$", PG),
                 "update t set a S b S") == 0);
    CHECK(strcmp(top_words("update t set a = E'it\\'s where'", PG), "update t set a S") == 0);
    CHECK(strcmp(top_words("update t set a = 'it''s where'", PG), "update t set a S") == 0);
    CHECK(strcmp(top_words("update t set a = U&'wh\\0065re'", PG), "update t set a S") == 0);
    CHECK(strcmp(top_words("select $1, ?, :name, a::text", PG), "select P P P a text") == 0);
    /* PostgreSQL strings are standard: a backslash does not escape */
    CHECK(strcmp(top_words("select 'a\\' where", PG), "select S where") == 0);
    /* parentheses */
    CHECK(strcmp(top_words("update t set a = (select b from c where d) , e = f(g where)", PG),
                 "update t set a e f") == 0);
    CHECK(strcmp(top_words("delete from t where x in (1, (2))) where", PG),
                 "delete from t where x in where") == 0); /* a stray ) does not go negative */
    /* statements */
    articdbm_sql_lexer_t lx;
    articdbm_sql_token_t t;
    const char *stacked = "delete from a where x = 1; update b set y = 2;";
    articdbm_sql_lexer_init(&lx, stacked, strlen(stacked), PG);
    unsigned last = 0;
    bool saw_b = false;
    while (articdbm_sql_next(&lx, &t)) {
        if (articdbm_sql_is_word(&t, "b")) saw_b = t.statement == 1;
        last = t.statement;
    }
    CHECK(saw_b);
    CHECK(last == 1); /* the final ';' belongs to statement 1 */
    CHECK(!lx.unterminated);
    /* MySQL */
    CHECK(strcmp(top_words("update t set a = \"where\" # where\n", MY), "update t set a S") == 0);
    CHECK(strcmp(top_words("update `where` set a = 'x\\' where'", MY), "update I set a S") == 0);
    CHECK(strcmp(top_words("update t set a = 1--1 where b", MY), "update t set a where b") == 0);
    CHECK(strcmp(top_words("update t set a = 1 -- where b", MY), "update t set a") == 0);
    CHECK(strcmp(top_words("update t set a = 1 /*!50000 where b = 2 */", MY),
                 "update t set a where b") == 0);
    CHECK(strcmp(top_words("update t set a = 1 /* where /* b */", MY), "update t set a") == 0);
    /* PostgreSQL: # is an operator, "x" an identifier */
    CHECK(strcmp(top_words("select a # b from \"t\"", PG), "select a b from I") == 0);
    /* SQLite */
    CHECK(strcmp(top_words("update [where] set a = `b` where c", LITE), "update I set a I where c") ==
          0);
    /* unterminated input */
    const char *bad = "update t set a = 'where";
    articdbm_sql_lexer_init(&lx, bad, strlen(bad), PG);
    while (articdbm_sql_next(&lx, &t)) {
    }
    CHECK(lx.unterminated);
    bad = "update t /* where";
    articdbm_sql_lexer_init(&lx, bad, strlen(bad), PG);
    while (articdbm_sql_next(&lx, &t)) {
    }
    CHECK(lx.unterminated);
    bad = "select $tag$ where";
    articdbm_sql_lexer_init(&lx, bad, strlen(bad), PG);
    while (articdbm_sql_next(&lx, &t)) {
    }
    CHECK(lx.unterminated);
    /* numbers */
    CHECK(strcmp(top_words("select 1.5e3, 0x1F, .5, 1_000 from t", PG), "select from t") == 0);
    /* has_top_level_word */
    const char *u = "UPDATE t SET a = (SELECT 1 WHERE true)";
    CHECK(!articdbm_sql_has_top_level_word(u, strlen(u), PG, "where"));
    u = "UPDATE t SET a = 1 wHeRe id = 3";
    CHECK(articdbm_sql_has_top_level_word(u, strlen(u), PG, "WHERE"));
    CHECK(!articdbm_sql_has_top_level_word(u, strlen(u), PG, "WHER"));
    CHECK(!articdbm_sql_has_top_level_word(NULL, 0, PG, "WHERE"));
    /* words with $ and non-ASCII letters stay one word */
    CHECK(strcmp(top_words("select a$b, caf\xc3\xa9 from t", PG), "select a$b caf\xc3\xa9 from t") ==
          0);
    articdbm_connection_t c = articdbm_test_connection("u", NULL);
    CHECK(articdbm_sql_dialect_of(&c) == ARTICDBM_SQL_POSTGRES);
    c.protocol = ARTICDBM_PROTOCOL_MYSQL;
    CHECK(articdbm_sql_dialect_of(&c) == ARTICDBM_SQL_MYSQL);
    c.protocol = ARTICDBM_PROTOCOL_SQLITE;
    CHECK(articdbm_sql_dialect_of(&c) == ARTICDBM_SQL_SQLITE);
    articdbm_test_connection_free(&c);
}

static void test_verdicts_and_facts(void) {
    articdbm_verdict_t v = articdbm_allow();
    CHECK(articdbm_is_allow(&v) && articdbm_verdict_finding(&v) == NULL);
    v = articdbm_with_score(v, 0.5f); /* no effect */
    CHECK(articdbm_is_allow(&v));

    v = articdbm_denyf("r.one", "table %s, %d rows", "orders", 3);
    CHECK(articdbm_is_deny(&v));
    const articdbm_finding_t *f = articdbm_verdict_finding(&v);
    CHECK(f && articdbm_str_eq(f->rule, "r.one") && articdbm_str_eq(f->reason, "table orders, 3 rows"));
    CHECK(!f->score.is_some);
    v = articdbm_with_score(v, 7.0f);
    CHECK(articdbm_verdict_finding(&v)->score.is_some && articdbm_verdict_finding(&v)->score.val == 1.0f);
    v = articdbm_with_score(v, NAN);
    CHECK(articdbm_verdict_finding(&v)->score.val == 0.0f);
    articdbm_verdict_free(&v);
    CHECK(articdbm_is_allow(&v));

    v = articdbm_audit("r.two", "");
    CHECK(articdbm_is_audit(&v) && articdbm_verdict_finding(&v)->reason.len == 0);
    articdbm_verdict_free(&v);
    v = articdbm_auditf(NULL, "%s", "x"); /* a missing rule gets a name, never an empty one */
    CHECK(articdbm_str_eq(articdbm_verdict_finding(&v)->rule, "plugin.unnamed"));
    articdbm_verdict_free(&v);
    v = articdbm_deny("r", NULL);
    CHECK(articdbm_verdict_finding(&v)->reason.len == 0);
    articdbm_verdict_free(&v);

    /* WIT strings must be UTF-8: invalid bytes become '?' */
    v = articdbm_deny("r", "caf\xc3\xa9 \xff\xc3 ok \xed\xa0\x80");
    CHECK(articdbm_str_eq(articdbm_verdict_finding(&v)->reason, "caf\xc3\xa9 ?? ok ???"));
    articdbm_verdict_free(&v);

    char *err = NULL;
    CHECK(!articdbm_fail(&err, "field %s", "x"));
    CHECK(err && strcmp(err, "field x") == 0);
    CHECK(!articdbm_fail(&err, "again")); /* replaces, no leak */
    CHECK(strcmp(err, "again") == 0);
    free(err);
    CHECK(!articdbm_fail(NULL, "ignored"));

    /* strings */
    articdbm_str_t s = {(uint8_t *)"Orders", 6};
    CHECK(articdbm_str_eq(s, "Orders") && !articdbm_str_eq(s, "orders") && !articdbm_str_eq(s, "Order"));
    CHECK(articdbm_str_eq_ci(s, "ORDERS") && !articdbm_str_eq_ci(s, "ORDER"));
    char *d = articdbm_str_dup(s);
    CHECK(d && strcmp(d, "Orders") == 0);
    free(d);
    char small[4];
    CHECK(strcmp(articdbm_str_copy(s, small, sizeof small), "Ord") == 0);
    articdbm_str_t accents = {(uint8_t *)"ab\xc3\xa9", 4};
    CHECK(strcmp(articdbm_str_copy(accents, small, sizeof small), "ab") == 0); /* not "ab\xc3" */
    char five[5];
    CHECK(strcmp(articdbm_str_copy(accents, five, sizeof five), "ab\xc3\xa9") == 0);
    articdbm_str_t empty = {NULL, 0};
    CHECK(articdbm_str_eq(empty, ""));
    d = articdbm_str_dup(empty);
    CHECK(d && d[0] == '\0');
    free(d);

    /* facts */
    const char *roles[] = {"dev", "dba", NULL};
    articdbm_connection_t c = articdbm_test_connection("alice", roles);
    CHECK(articdbm_has_role(&c, "dba") && !articdbm_has_role(&c, "db"));
    articdbm_statement_kind_t kinds[] = {ARTICDBM_STMT_SELECT, ARTICDBM_STMT_DELETE};
    articdbm_test_table_t tables[] = {
        {"public", "Orders", ARTICDBM_ACCESS_READ, false},
        {NULL, "audit_log", ARTICDBM_ACCESS_DELETE, false},
        {"app", "sessions", ARTICDBM_ACCESS_DELETE, true},
    };
    articdbm_query_t q = articdbm_test_query("...", kinds, 2, tables, 3);
    CHECK(articdbm_has_statement(&q, ARTICDBM_STMT_DELETE) && !articdbm_has_statement(&q, ARTICDBM_STMT_DROP));
    CHECK(!articdbm_is_read_only(&q));
    CHECK(articdbm_table_count(&q) == 3 && articdbm_table_at(&q, 3) == NULL);
    CHECK(articdbm_table_matches(articdbm_table_at(&q, 0), "orders"));
    CHECK(articdbm_table_matches(articdbm_table_at(&q, 0), "PUBLIC.orders"));
    CHECK(!articdbm_table_matches(articdbm_table_at(&q, 0), "app.orders"));
    CHECK(!articdbm_table_matches(articdbm_table_at(&q, 1), "public.audit_log")); /* no schema */
    size_t cursor = 0, n = 0;
    const articdbm_table_t *t;
    while ((t = articdbm_next_table_with(&q, ARTICDBM_ACCESS_DELETE, &cursor)) != NULL) n++;
    CHECK(n == 2);
    n = 0;
    ARTICDBM_FOREACH_TABLE(&q, tt) { n += tt->nested; }
    CHECK(n == 1);
    CHECK(strcmp(articdbm_statement_kind_name(ARTICDBM_STMT_USE_DATABASE), "use-database") == 0);
    CHECK(strcmp(articdbm_statement_kind_name(200), "unknown") == 0);
    CHECK(strcmp(articdbm_access_mode_name(ARTICDBM_ACCESS_DDL), "ddl") == 0);
    CHECK(strcmp(articdbm_protocol_name(c.protocol), "postgres") == 0);
    articdbm_test_query_free(&q);

    articdbm_statement_kind_t reads[] = {ARTICDBM_STMT_SELECT, ARTICDBM_STMT_SHOW};
    q = articdbm_test_query("select", reads, 2, NULL, 0);
    CHECK(articdbm_is_read_only(&q));
    q.facts.locking_read = true;
    CHECK(!articdbm_is_read_only(&q));
    /* functions, as the gateway names them */
    articdbm_function_call_t calls[2] = {
        {{(uint8_t *)"pg_catalog.pg_sleep", 19}, ARTICDBM_POLICY_TYPES_CLAUSE_WHERE},
        {{(uint8_t *)"now", 3}, ARTICDBM_POLICY_TYPES_CLAUSE_PROJECTION},
    };
    q.facts.functions.ptr = calls;
    q.facts.functions.len = 2;
    CHECK(articdbm_calls(&q, "pg_sleep") && articdbm_calls(&q, "now") && !articdbm_calls(&q, "sleep"));
    q.facts.functions.ptr = NULL;
    q.facts.functions.len = 0;
    articdbm_test_query_free(&q);
    articdbm_test_connection_free(&c);
}

static void test_host_wrappers(void) {
    articdbm_test_reset();
    articdbm_log(ARTICDBM_LOG_WARN, "hello %s %d", "world", 42);
    articdbm_log_level_t level;
    CHECK(articdbm_test_log_count() == 1);
    CHECK(strcmp(articdbm_test_log_at(0, &level), "hello world 42") == 0 && level == ARTICDBM_LOG_WARN);
    /* a line longer than the stack buffer */
    char longer[2000];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    articdbm_log(ARTICDBM_LOG_INFO, "%s!", longer);
    CHECK(strlen(articdbm_test_log_at(1, NULL)) == 2000);
    articdbm_log(ARTICDBM_LOG_INFO, "bad \xff byte");
    CHECK(strcmp(articdbm_test_log_at(2, NULL), "bad ? byte") == 0);

    articdbm_test_set_now_ms(5000);
    CHECK(articdbm_now_ms() == 5000);
    CHECK(articdbm_monotonic_ns() == 5000000000ULL);

    bool found = true;
    char *value = NULL;
    size_t len = 9;
    CHECK(articdbm_kv_get("k", &found, &value, &len) == ARTICDBM_KV_OK);
    CHECK(!found && value == NULL && len == 0);
    CHECK(articdbm_kv_set("k", "abc", 3, 1000) == ARTICDBM_KV_OK);
    CHECK(articdbm_kv_get("k", &found, &value, &len) == ARTICDBM_KV_OK);
    CHECK(found && len == 3 && strcmp(value, "abc") == 0);
    free(value);
    CHECK(articdbm_kv_get("k", &found, NULL, NULL) == ARTICDBM_KV_OK && found);
    articdbm_test_advance_ms(1000);
    CHECK(articdbm_kv_get("k", &found, NULL, NULL) == ARTICDBM_KV_OK && !found); /* expired */

    int64_t count = 0;
    CHECK(articdbm_kv_incr("n", 2, 60000, &count) == ARTICDBM_KV_OK && count == 2);
    CHECK(articdbm_kv_incr("n", 3, 1, &count) == ARTICDBM_KV_OK && count == 5);
    CHECK(articdbm_test_kv_expiry("n") == 6000 + 60000); /* the TTL of the creating call */
    CHECK(strcmp(articdbm_test_kv_peek("n"), "5") == 0);
    CHECK(articdbm_kv_incr("n", -10, ARTICDBM_NO_TTL, NULL) == ARTICDBM_KV_OK);
    CHECK(strcmp(articdbm_test_kv_peek("n"), "-5") == 0);
    CHECK(articdbm_kv_set("s", "x", 1, ARTICDBM_NO_TTL) == ARTICDBM_KV_OK);
    CHECK(articdbm_test_kv_expiry("s") == 0);
    CHECK(articdbm_kv_incr("s", 1, 0, &count) == ARTICDBM_KV_NOT_AN_INTEGER);
    CHECK(strstr(articdbm_kv_error(), "not an integer") != NULL);
    CHECK(articdbm_kv_delete("s") == ARTICDBM_KV_OK && articdbm_test_kv_peek("s") == NULL);
    CHECK(articdbm_kv_delete("s") == ARTICDBM_KV_OK);
    CHECK(articdbm_kv_set("", "x", 1, 0) == ARTICDBM_KV_INVALID);
    CHECK(strstr(articdbm_kv_error(), "512") != NULL);
    CHECK(articdbm_kv_set("empty", NULL, 0, 0) == ARTICDBM_KV_OK);
    CHECK(articdbm_kv_get("empty", &found, &value, &len) == ARTICDBM_KV_OK && found && len == 0);
    CHECK(value && value[0] == '\0');
    free(value);
    articdbm_test_set_kv_down(true);
    CHECK(articdbm_kv_get("k", &found, NULL, NULL) == ARTICDBM_KV_UNAVAILABLE);
    CHECK(strcmp(articdbm_kv_error(), "test host: kv is down") == 0);
    CHECK(articdbm_kv_incr("n", 1, 0, NULL) == ARTICDBM_KV_UNAVAILABLE);
    CHECK(articdbm_kv_set("n", "1", 1, 0) == ARTICDBM_KV_UNAVAILABLE);
    CHECK(articdbm_kv_delete("n") == ARTICDBM_KV_UNAVAILABLE);
    articdbm_test_set_kv_down(false);
    CHECK(articdbm_kv_delete("n") == ARTICDBM_KV_OK);
    CHECK(articdbm_kv_error()[0] == '\0');
    CHECK(strcmp(articdbm_kv_status_name(ARTICDBM_KV_NOT_AN_INTEGER), "not-an-integer") == 0);

    articdbm_counter_add("c", 2);
    articdbm_counter_add("c", 3);
    CHECK(articdbm_test_counter("c") == 5 && articdbm_test_counter("d") == 0);

    articdbm_test_add_indicator(ARTICDBM_INDICATOR_ADDRESS, "198.51.100.9", 80);
    articdbm_test_add_indicator(ARTICDBM_INDICATOR_SQL_PATTERN, "xp_cmdshell", 90);
    articdbm_test_add_indicator(ARTICDBM_INDICATOR_USER, "Mallory", 70);
    articdbm_indicator_match_t m;
    CHECK(articdbm_address_listed("198.51.100.9", &m));
    CHECK(m.confidence == 80 && articdbm_str_eq(m.value, "198.51.100.9") && articdbm_str_eq(m.source, "test"));
    articdbm_indicator_match_free(&m);
    CHECK(articdbm_address_listed("198.51.100.9", NULL)); /* freed inside */
    CHECK(!articdbm_address_listed("192.0.2.1", &m));
    CHECK(articdbm_name_listed(ARTICDBM_INDICATOR_USER, "mallory", NULL));
    CHECK(!articdbm_name_listed(ARTICDBM_INDICATOR_DOMAIN, "mallory", NULL));
    const char *sql = "exec xp_cmdshell 'dir'";
    CHECK(articdbm_sql_pattern_match(sql, strlen(sql), &m) && m.kind == ARTICDBM_INDICATOR_SQL_PATTERN);
    articdbm_indicator_match_free(&m);
    CHECK(!articdbm_sql_pattern_match("select 1", 8, NULL));

    articdbm_reuse_verdict(ARTICDBM_REUSE_USER);
    int scope = -1, basis = -1;
    CHECK(articdbm_test_reuse(&scope, &basis) && scope == ARTICDBM_REUSE_USER && basis == ARTICDBM_REUSE_SHAPE);
    articdbm_reuse_verdict_for(ARTICDBM_REUSE_STATEMENT, ARTICDBM_REUSE_FINGERPRINT);
    CHECK(articdbm_test_reuse(&scope, &basis) && scope == ARTICDBM_REUSE_STATEMENT &&
          basis == ARTICDBM_REUSE_FINGERPRINT);
}

/* No app.c is linked: the SDK's default callbacks answer. */
static void test_default_exports(void) {
    articdbm_test_reset();
    articdbm_connection_t c = articdbm_test_connection("app", NULL);
    articdbm_statement_kind_t drop = ARTICDBM_STMT_DROP;
    articdbm_query_t q = articdbm_test_query("DROP TABLE t", &drop, 1, NULL, 0);
    /* a hook before configure configures with {} (accepted by the default) */
    ARTICDBM_CHECK_VERDICT(articdbm_test_on_query(&c, &q), ARTICDBM_VERDICT_ALLOW, NULL);
    ARTICDBM_CHECK_VERDICT(articdbm_test_on_connect(&c), ARTICDBM_VERDICT_ALLOW, NULL);
    CHECK(!articdbm_test_reuse(NULL, NULL));
    char *err = NULL;
    CHECK(articdbm_test_configure("{}", &err) && err == NULL);
    CHECK(articdbm_test_configure("", &err));
    CHECK(articdbm_test_configure(" { } ", &err));
    CHECK(!articdbm_test_configure("{\"x\": 1}", &err));
    CHECK(err && strstr(err, "takes no configuration"));
    free(err);
    CHECK(!articdbm_test_configure("{", &err));
    CHECK(err && strstr(err, "invalid config: invalid JSON at byte 1"));
    free(err);
    CHECK(!articdbm_test_configure("[]", NULL));
    CHECK(!articdbm_test_configure("\"\xff\"", &err)); /* the message quotes nothing invalid */
    CHECK(err && strstr(err, "0xff"));
    free(err);
    articdbm_test_query_free(&q);
    articdbm_test_connection_free(&c);
}

int main(void) {
    test_json();
    test_sql();
    test_verdicts_and_facts();
    test_host_wrappers();
    test_default_exports();
    return articdbm_test_summary("c-sdk");
}
