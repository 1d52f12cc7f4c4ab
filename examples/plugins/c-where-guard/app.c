/*
 * where-guard: no UPDATE or DELETE without a WHERE clause.
 *
 * A forgotten WHERE rewrites or empties a whole table. The gateway's facts say which statements
 * are UPDATE / DELETE and which tables they write, but not whether a WHERE is there, so this
 * plugin scans the SQL text with the SDK's lexer for a WHERE at the top level of each such
 * statement (outside strings, quoted names, comments and subqueries). Statements that only write
 * tables listed in `exempt_tables` pass. Users holding one of `mode_audit_only_roles` get an audit
 * record instead of a refusal.
 *
 * Every refusal is counted per user in the key-value store (incr with a TTL of
 * `refusal_window_seconds`), in the counter `where_missing_total`, and logged with the time and
 * that count. Verdicts that allow declare reuse: they follow from the statement's text alone.
 *
 * Rule: where.missing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "articdbm_policy.h"

/* ---- configuration ---------------------------------------------------------------------- */

typedef struct {
    char **exempt_tables;
    size_t n_exempt;
    char **audit_roles;
    size_t n_audit;
    uint64_t window_ms;
} config_t;

static config_t cfg = {NULL, 0, NULL, 0, 3600 * 1000ULL};

static void free_list(char **items, size_t n) {
    for (size_t i = 0; i < n; i++) free(items[i]);
    free(items);
}

static void config_free(config_t *c) {
    free_list(c->exempt_tables, c->n_exempt);
    free_list(c->audit_roles, c->n_audit);
    memset(c, 0, sizeof *c);
}

/* Reads an optional array of non-empty strings. */
static bool read_strings(const articdbm_json_t *root, const char *field, char ***out, size_t *n,
                         char **err) {
    const articdbm_json_t *arr = articdbm_json_get(root, field);
    *out = NULL;
    *n = 0;
    if (!arr) return true;
    if (articdbm_json_type(arr) != ARTICDBM_JSON_ARRAY) {
        return articdbm_fail(err, "%s must be an array of strings, not %s", field,
                             articdbm_json_type_name(articdbm_json_type(arr)));
    }
    size_t len = articdbm_json_len(arr);
    char **items = calloc(len ? len : 1, sizeof *items);
    if (!items) return articdbm_fail(err, "out of memory");
    for (size_t i = 0; i < len; i++) {
        const char *s = articdbm_json_string(articdbm_json_at(arr, i));
        if (!s || !*s) {
            free_list(items, i);
            return articdbm_fail(err, "%s[%zu] must be a non-empty string", field, i);
        }
        items[i] = strdup(s);
        if (!items[i]) {
            free_list(items, i);
            return articdbm_fail(err, "out of memory");
        }
    }
    *out = items;
    *n = len;
    return true;
}

bool articdbm_policy_configure(const char *json, size_t len, char **err) {
    static const char *const fields[] = {"exempt_tables", "mode_audit_only_roles",
                                         "refusal_window_seconds", NULL};
    char *perr = NULL;
    articdbm_json_t *root = articdbm_json_parse(json, len, &perr);
    if (!root) {
        bool r = articdbm_fail(err, "config: %s", perr);
        free(perr);
        return r;
    }
    config_t next = {NULL, 0, NULL, 0, 3600 * 1000ULL};
    bool ok = false;
    if (articdbm_json_type(root) != ARTICDBM_JSON_OBJECT) {
        articdbm_fail(err, "config must be an object");
        goto done;
    }
    if (!articdbm_json_only_keys(root, fields, err)) goto done;
    if (!read_strings(root, "exempt_tables", &next.exempt_tables, &next.n_exempt, err)) goto done;
    if (!read_strings(root, "mode_audit_only_roles", &next.audit_roles, &next.n_audit, err))
        goto done;
    const articdbm_json_t *w = articdbm_json_get(root, "refusal_window_seconds");
    if (w) {
        int64_t secs;
        if (!articdbm_json_int(w, &secs) || secs < 1 || secs > 7 * 24 * 3600) {
            articdbm_fail(err, "refusal_window_seconds must be an integer in 1..604800");
            goto done;
        }
        next.window_ms = (uint64_t)secs * 1000;
    }
    config_free(&cfg); /* only now: a refused config leaves the previous one in force */
    cfg = next;
    memset(&next, 0, sizeof next);
    ok = true;
done:
    config_free(&next);
    articdbm_json_free(root);
    return ok;
}

/* ---- the WHERE scan --------------------------------------------------------------------- */

enum verb { VERB_NONE, VERB_UPDATE, VERB_DELETE, VERB_OTHER };

/* What is known of the statement open at one parenthesis depth. */
typedef struct {
    enum verb verb;
    bool prologue; /* inside WITH ... or EXPLAIN ... before the verb */
    bool where;
} level_t;

#define MAX_LEVELS 32

/* The verb of a level that ended as an UPDATE or DELETE without WHERE, else VERB_NONE. */
static enum verb check_level(const level_t *l) {
    return (l->verb == VERB_UPDATE || l->verb == VERB_DELETE) && !l->where ? l->verb : VERB_NONE;
}

/*
 * The first UPDATE or DELETE of the text without a WHERE of its own, as VERB_UPDATE /
 * VERB_DELETE; VERB_NONE when each has one. Statements are split at top-level ';', and a
 * parenthesised statement (a data-modifying WITH query: `WITH d AS (DELETE FROM t RETURNING *)
 * SELECT ...`) is checked on its own. A statement's verb is its first word, after a WITH clause
 * and after EXPLAIN and its options (EXPLAIN ANALYZE runs the statement); its WHERE must sit at
 * its own depth, so a WHERE in a subquery (`SET a = (SELECT ... WHERE ...)`) does not count.
 */
static enum verb unguarded_statement(const char *sql, size_t len, articdbm_sql_dialect_t dialect) {
    articdbm_sql_lexer_t lx;
    articdbm_sql_token_t tok;
    level_t levels[MAX_LEVELS];
    memset(levels, 0, sizeof levels);
    articdbm_sql_lexer_init(&lx, sql, len, dialect);
    unsigned statement = 0;
    enum verb bad = VERB_NONE;
    int open = 0; /* deepest level in use */
    for (;;) {
        bool more = articdbm_sql_next(&lx, &tok);
        if (!more || tok.statement != statement) {
            /* The statement ended: every level still open ends with it. */
            for (int d = open < MAX_LEVELS ? open : MAX_LEVELS - 1; d >= 0; d--) {
                if ((bad = check_level(&levels[d])) != VERB_NONE) return bad;
            }
            if (!more) return VERB_NONE;
            statement = tok.statement;
            memset(levels, 0, sizeof levels);
            open = 0;
        }
        int d = tok.depth;
        if (articdbm_sql_is_punct(&tok, '(')) {
            open = d + 1;
            if (open < MAX_LEVELS) memset(&levels[open], 0, sizeof levels[open]);
            continue;
        }
        if (articdbm_sql_is_punct(&tok, ')')) {
            /* The ')' token carries the depth outside it: level d + 1 ends here. */
            if (d + 1 < MAX_LEVELS && (bad = check_level(&levels[d + 1])) != VERB_NONE) return bad;
            if (d + 1 < MAX_LEVELS) memset(&levels[d + 1], 0, sizeof levels[d + 1]);
            open = d;
            continue;
        }
        if (tok.kind != ARTICDBM_SQL_WORD || d >= MAX_LEVELS) {
            if (d < MAX_LEVELS && levels[d].verb == VERB_NONE && !levels[d].prologue &&
                tok.kind != ARTICDBM_SQL_PUNCT)
                levels[d].verb = VERB_OTHER; /* `(1, 2)`, `('a')`: not a statement */
            continue;
        }
        level_t *l = &levels[d];
        if (l->verb == VERB_NONE) {
            if (articdbm_sql_is_word(&tok, "UPDATE")) {
                l->verb = VERB_UPDATE;
            } else if (articdbm_sql_is_word(&tok, "DELETE")) {
                l->verb = VERB_DELETE;
            } else if (articdbm_sql_is_word(&tok, "WITH") || articdbm_sql_is_word(&tok, "EXPLAIN")) {
                l->prologue = true;
            } else if (!l->prologue || articdbm_sql_is_word(&tok, "SELECT") ||
                       articdbm_sql_is_word(&tok, "INSERT") || articdbm_sql_is_word(&tok, "MERGE") ||
                       articdbm_sql_is_word(&tok, "VALUES") || articdbm_sql_is_word(&tok, "TABLE")) {
                l->verb = VERB_OTHER;
            }
            continue;
        }
        if (articdbm_sql_is_word(&tok, "WHERE")) l->where = true;
    }
}

/* ---- helpers ---------------------------------------------------------------------------- */

static bool exempt(const articdbm_table_t *t) {
    for (size_t i = 0; i < cfg.n_exempt; i++) {
        if (articdbm_table_matches(t, cfg.exempt_tables[i])) return true;
    }
    return false;
}

static bool audit_only(const articdbm_connection_t *conn) {
    for (size_t i = 0; i < cfg.n_audit; i++) {
        if (articdbm_has_role(conn, cfg.audit_roles[i])) return true;
    }
    return false;
}

/* "2024-05-01T12:34:56.789Z" from milliseconds since the epoch. */
static void format_time(uint64_t ms, char *buf, size_t size) {
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (gmtime_r(&secs, &tm)) {
        size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(buf + n, size - n, ".%03uZ", (unsigned)(ms % 1000));
    } else {
        snprintf(buf, size, "%llu ms", (unsigned long long)ms);
    }
}

/* ---- hooks ------------------------------------------------------------------------------ */

articdbm_verdict_t articdbm_policy_on_query(const articdbm_connection_t *conn,
                                            const articdbm_query_t *query) {
    const articdbm_facts_t *facts = &query->facts;
    bool writes = !facts->parsed || articdbm_has_statement(query, ARTICDBM_STMT_UPDATE) ||
                  articdbm_has_statement(query, ARTICDBM_STMT_DELETE);
    for (size_t i = 0; !writes && i < facts->tables.len; i++) {
        articdbm_access_mode_t a = facts->tables.ptr[i].access;
        writes = a == ARTICDBM_ACCESS_UPDATE || a == ARTICDBM_ACCESS_DELETE;
    }
    enum verb verb = writes ? unguarded_statement((const char *)query->sql.ptr, query->sql.len,
                                                  articdbm_sql_dialect_of(conn))
                            : VERB_NONE;
    if (verb == VERB_NONE) {
        /* From the text alone (strings, numbers and comments aside): reusable everywhere. */
        articdbm_reuse_verdict_for(ARTICDBM_REUSE_STATEMENT, ARTICDBM_REUSE_FINGERPRINT);
        return articdbm_allow();
    }

    /* The tables this statement writes, from the facts: exempt ones pass. */
    articdbm_access_mode_t mode = verb == VERB_UPDATE ? ARTICDBM_ACCESS_UPDATE : ARTICDBM_ACCESS_DELETE;
    const char *what = verb == VERB_UPDATE ? "UPDATE" : "DELETE";
    const articdbm_table_t *named = NULL;
    size_t cursor = 0, written = 0;
    const articdbm_table_t *t;
    while ((t = articdbm_next_table_with(query, mode, &cursor)) != NULL) {
        written++;
        if (!exempt(t) && !named) named = t;
    }
    if (written > 0 && !named) {
        articdbm_reuse_verdict_for(ARTICDBM_REUSE_STATEMENT, ARTICDBM_REUSE_FINGERPRINT);
        return articdbm_allow();
    }

    char table[160] = "";
    if (named) {
        if (named->schema.is_some) {
            snprintf(table, sizeof table, "%.*s.%.*s", ARTICDBM_STR_ARG(named->schema.val),
                     ARTICDBM_STR_ARG(named->name));
        } else {
            snprintf(table, sizeof table, "%.*s", ARTICDBM_STR_ARG(named->name));
        }
    }

    /* Count the refusal for this user over the window (the TTL starts at the first one). */
    char key[600];
    snprintf(key, sizeof key, "refusals:%.*s", ARTICDBM_STR_ARG(conn->user));
    int64_t count = 0;
    articdbm_kv_status_t st = articdbm_kv_incr(key, 1, cfg.window_ms, &count);
    if (st != ARTICDBM_KV_OK) {
        articdbm_log(ARTICDBM_LOG_WARN, "where-guard: refusal not counted: kv %s: %s",
                     articdbm_kv_status_name(st), articdbm_kv_error());
    }
    bool audit = audit_only(conn);
    articdbm_counter_add(audit ? "where_missing_audited_total" : "where_missing_total", 1);

    char when[40];
    format_time(articdbm_now_ms(), when, sizeof when);
    articdbm_log(ARTICDBM_LOG_WARN,
                 "where-guard: %s %s on %s without WHERE by %.*s in %.*s at %s (%lld in the last %llu s)",
                 audit ? "audited" : "refused", what, named ? table : "an unknown table",
                 ARTICDBM_STR_ARG(conn->user), ARTICDBM_STR_ARG(conn->database), when,
                 (long long)count, (unsigned long long)(cfg.window_ms / 1000));

    char reason[320];
    if (named) {
        snprintf(reason, sizeof reason,
                 "%s on table %s has no WHERE clause (add one; WHERE true if every row is meant)",
                 what, table);
    } else {
        snprintf(reason, sizeof reason,
                 "%s without a WHERE clause (add one; WHERE true if every row is meant)", what);
    }
    return audit ? articdbm_audit("where.missing", reason) : articdbm_deny("where.missing", reason);
}
