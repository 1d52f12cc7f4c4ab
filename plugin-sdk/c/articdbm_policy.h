/*
 * ArticDBM policy plugins in C.
 *
 * A plugin is one file, `app.c`, that includes this header and defines the callbacks it needs
 * (every one has a default):
 *
 *     bool articdbm_policy_configure(const char *json, size_t len, char **err);
 *     articdbm_verdict_t articdbm_policy_on_connect(const articdbm_connection_t *conn);
 *     articdbm_verdict_t articdbm_policy_on_query(const articdbm_connection_t *conn,
 *                                                 const articdbm_query_t *query);
 *
 * `plugin-sdk/c/build.sh PLUGIN_DIR OUT.wasm` turns it into a component for the world
 * `articdbm:policy/configurable-policy@0.1.2` (wit/v0.1.2/policy.wit documents every type).
 *
 * The types are the ones wit-bindgen generates from the WIT (`configurable_policy.h`), under
 * shorter names. Memory rules, all handled here so a plugin never frees WIT data itself:
 *  - the connection and query a callback receives belong to the SDK and are freed when the
 *    callback returns: copy what must outlive the call (e.g. with articdbm_str_dup);
 *  - a verdict made with articdbm_deny/articdbm_audit owns copies of its strings; return it and
 *    the component frees them after the gateway has read them;
 *  - host wrappers borrow their arguments and hand back values the caller owns only where
 *    documented (articdbm_kv_get's buffer: free() it).
 */
#ifndef ARTICDBM_POLICY_H
#define ARTICDBM_POLICY_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "configurable_policy.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ARTICDBM_SDK_VERSION "0.1.0"
/* The WIT package the bindings come from. */
#define ARTICDBM_WIT_PACKAGE "articdbm:policy@0.1.2"

#if defined(__GNUC__) || defined(__clang__)
#define ARTICDBM_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define ARTICDBM_PRINTF(fmt, args)
#endif

/* ---------------------------------------------------------------------------------------- */
/* Types                                                                                     */
/* ---------------------------------------------------------------------------------------- */

/* A WIT string: UTF-8 bytes, not NUL-terminated. Print with "%.*s", ARTICDBM_STR_ARG(s). */
typedef configurable_policy_string_t articdbm_str_t;
#define ARTICDBM_STR_ARG(s) (int)(s).len, (const char *)(s).ptr

typedef articdbm_policy_types_connection_t articdbm_connection_t;
typedef articdbm_policy_types_query_t articdbm_query_t;
typedef articdbm_policy_types_query_facts_t articdbm_facts_t;
typedef articdbm_policy_types_table_access_t articdbm_table_t;
typedef articdbm_policy_types_function_call_t articdbm_function_call_t;
typedef articdbm_policy_types_comment_t articdbm_comment_t;
typedef articdbm_policy_types_constant_comparison_t articdbm_constant_comparison_t;
typedef articdbm_policy_types_verdict_t articdbm_verdict_t;
typedef articdbm_policy_types_finding_t articdbm_finding_t;
typedef articdbm_policy_types_statement_kind_t articdbm_statement_kind_t;
typedef articdbm_policy_types_access_mode_t articdbm_access_mode_t;
typedef articdbm_policy_types_protocol_t articdbm_protocol_t;
typedef articdbm_policy_types_clause_t articdbm_clause_t;
typedef articdbm_policy_indicators_indicator_match_t articdbm_indicator_match_t;
typedef articdbm_policy_types_indicator_kind_t articdbm_indicator_kind_t;
typedef articdbm_policy_log_level_t articdbm_log_level_t;

/* Statement kinds (query->facts.statements). */
#define ARTICDBM_STMT_SELECT ARTICDBM_POLICY_TYPES_STATEMENT_KIND_SELECT
#define ARTICDBM_STMT_INSERT ARTICDBM_POLICY_TYPES_STATEMENT_KIND_INSERT
#define ARTICDBM_STMT_UPDATE ARTICDBM_POLICY_TYPES_STATEMENT_KIND_UPDATE
#define ARTICDBM_STMT_DELETE ARTICDBM_POLICY_TYPES_STATEMENT_KIND_DELETE
#define ARTICDBM_STMT_MERGE ARTICDBM_POLICY_TYPES_STATEMENT_KIND_MERGE
#define ARTICDBM_STMT_CREATE ARTICDBM_POLICY_TYPES_STATEMENT_KIND_CREATE
#define ARTICDBM_STMT_ALTER ARTICDBM_POLICY_TYPES_STATEMENT_KIND_ALTER
#define ARTICDBM_STMT_DROP ARTICDBM_POLICY_TYPES_STATEMENT_KIND_DROP
#define ARTICDBM_STMT_TRUNCATE ARTICDBM_POLICY_TYPES_STATEMENT_KIND_TRUNCATE
#define ARTICDBM_STMT_GRANT ARTICDBM_POLICY_TYPES_STATEMENT_KIND_GRANT
#define ARTICDBM_STMT_REVOKE ARTICDBM_POLICY_TYPES_STATEMENT_KIND_REVOKE
#define ARTICDBM_STMT_BEGIN ARTICDBM_POLICY_TYPES_STATEMENT_KIND_BEGIN
#define ARTICDBM_STMT_COMMIT ARTICDBM_POLICY_TYPES_STATEMENT_KIND_COMMIT
#define ARTICDBM_STMT_ROLLBACK ARTICDBM_POLICY_TYPES_STATEMENT_KIND_ROLLBACK
#define ARTICDBM_STMT_SAVEPOINT ARTICDBM_POLICY_TYPES_STATEMENT_KIND_SAVEPOINT
#define ARTICDBM_STMT_SET ARTICDBM_POLICY_TYPES_STATEMENT_KIND_SET
#define ARTICDBM_STMT_SHOW ARTICDBM_POLICY_TYPES_STATEMENT_KIND_SHOW
#define ARTICDBM_STMT_COPY ARTICDBM_POLICY_TYPES_STATEMENT_KIND_COPY
#define ARTICDBM_STMT_EXPLAIN ARTICDBM_POLICY_TYPES_STATEMENT_KIND_EXPLAIN
#define ARTICDBM_STMT_CALL ARTICDBM_POLICY_TYPES_STATEMENT_KIND_CALL
#define ARTICDBM_STMT_PREPARE ARTICDBM_POLICY_TYPES_STATEMENT_KIND_PREPARE
#define ARTICDBM_STMT_EXECUTE ARTICDBM_POLICY_TYPES_STATEMENT_KIND_EXECUTE
#define ARTICDBM_STMT_DEALLOCATE ARTICDBM_POLICY_TYPES_STATEMENT_KIND_DEALLOCATE
#define ARTICDBM_STMT_LISTEN ARTICDBM_POLICY_TYPES_STATEMENT_KIND_LISTEN
#define ARTICDBM_STMT_NOTIFY ARTICDBM_POLICY_TYPES_STATEMENT_KIND_NOTIFY
#define ARTICDBM_STMT_VACUUM ARTICDBM_POLICY_TYPES_STATEMENT_KIND_VACUUM
#define ARTICDBM_STMT_ANALYZE ARTICDBM_POLICY_TYPES_STATEMENT_KIND_ANALYZE
#define ARTICDBM_STMT_LOCK ARTICDBM_POLICY_TYPES_STATEMENT_KIND_LOCK
#define ARTICDBM_STMT_USE_DATABASE ARTICDBM_POLICY_TYPES_STATEMENT_KIND_USE_DATABASE
#define ARTICDBM_STMT_OTHER ARTICDBM_POLICY_TYPES_STATEMENT_KIND_OTHER

/* How a statement uses a table (table->access). */
#define ARTICDBM_ACCESS_READ ARTICDBM_POLICY_TYPES_ACCESS_MODE_READ
#define ARTICDBM_ACCESS_INSERT ARTICDBM_POLICY_TYPES_ACCESS_MODE_INSERT
#define ARTICDBM_ACCESS_UPDATE ARTICDBM_POLICY_TYPES_ACCESS_MODE_UPDATE
#define ARTICDBM_ACCESS_DELETE ARTICDBM_POLICY_TYPES_ACCESS_MODE_DELETE
#define ARTICDBM_ACCESS_DDL ARTICDBM_POLICY_TYPES_ACCESS_MODE_DDL

/* Wire protocol of the connection (conn->protocol). */
#define ARTICDBM_PROTOCOL_POSTGRES ARTICDBM_POLICY_TYPES_PROTOCOL_POSTGRES
#define ARTICDBM_PROTOCOL_MYSQL ARTICDBM_POLICY_TYPES_PROTOCOL_MYSQL
#define ARTICDBM_PROTOCOL_SQLITE ARTICDBM_POLICY_TYPES_PROTOCOL_SQLITE

/* Verdict tags (verdict.tag). */
#define ARTICDBM_VERDICT_ALLOW ARTICDBM_POLICY_TYPES_VERDICT_ALLOW
#define ARTICDBM_VERDICT_DENY ARTICDBM_POLICY_TYPES_VERDICT_DENY
#define ARTICDBM_VERDICT_AUDIT ARTICDBM_POLICY_TYPES_VERDICT_AUDIT

/* Log levels. */
#define ARTICDBM_LOG_TRACE ARTICDBM_POLICY_LOG_LEVEL_TRACE
#define ARTICDBM_LOG_DEBUG ARTICDBM_POLICY_LOG_LEVEL_DEBUG
#define ARTICDBM_LOG_INFO ARTICDBM_POLICY_LOG_LEVEL_INFO
#define ARTICDBM_LOG_WARN ARTICDBM_POLICY_LOG_LEVEL_WARN
#define ARTICDBM_LOG_ERROR ARTICDBM_POLICY_LOG_LEVEL_ERROR

/* Verdict reuse (contract 0.1.1 / 0.1.2, see articdbm_reuse_verdict_for). */
#define ARTICDBM_REUSE_STATEMENT ARTICDBM_POLICY_REUSE_SCOPE_STATEMENT
#define ARTICDBM_REUSE_USER ARTICDBM_POLICY_REUSE_SCOPE_USER
#define ARTICDBM_REUSE_SHAPE ARTICDBM_POLICY_REUSE_BASIS_SHAPE
#define ARTICDBM_REUSE_FINGERPRINT ARTICDBM_POLICY_REUSE_BASIS_FINGERPRINT

/* Indicator kinds (articdbm_name_listed). */
#define ARTICDBM_INDICATOR_ADDRESS ARTICDBM_POLICY_TYPES_INDICATOR_KIND_ADDRESS
#define ARTICDBM_INDICATOR_DOMAIN ARTICDBM_POLICY_TYPES_INDICATOR_KIND_DOMAIN
#define ARTICDBM_INDICATOR_URL ARTICDBM_POLICY_TYPES_INDICATOR_KIND_URL
#define ARTICDBM_INDICATOR_USER ARTICDBM_POLICY_TYPES_INDICATOR_KIND_USER
#define ARTICDBM_INDICATOR_EMAIL ARTICDBM_POLICY_TYPES_INDICATOR_KIND_EMAIL
#define ARTICDBM_INDICATOR_SQL_PATTERN ARTICDBM_POLICY_TYPES_INDICATOR_KIND_SQL_PATTERN

/* ---------------------------------------------------------------------------------------- */
/* The callbacks a plugin defines (each has a weak default in articdbm_policy.c)             */
/* ---------------------------------------------------------------------------------------- */

/*
 * Receives the binding's JSON config (`json` is NUL-terminated, `len` bytes, already validated
 * by the gateway against the manifest's config_schema; "{}" when the binding gives none).
 * Return true to accept it. To refuse it, return false and set *err to a malloc'd message
 * naming the problem (articdbm_fail does both); the operator sees it and the pack is not
 * activated. Parse into locals and replace your globals only on success: a refused config
 * must leave the previous one in force.
 * Default: accepts `{}` (or nothing) and refuses any other config.
 * A hook called before any configure configures with "{}" first; if that is refused the hook
 * denies with rule `plugin.unconfigured` (fail closed).
 */
bool articdbm_policy_configure(const char *json, size_t len, char **err);

/* Decides whether the connection may exist. Default: allow. */
articdbm_verdict_t articdbm_policy_on_connect(const articdbm_connection_t *conn);

/* Decides whether the statement may run. Default: allow. */
articdbm_verdict_t articdbm_policy_on_query(const articdbm_connection_t *conn,
                                            const articdbm_query_t *query);

/* ---------------------------------------------------------------------------------------- */
/* Verdicts                                                                                  */
/* ---------------------------------------------------------------------------------------- */

/* Let it through. */
articdbm_verdict_t articdbm_allow(void);
/* Refuse it: `rule` is a stable id ("where.missing"), `reason` is shown to the client (never
 * put secrets in it). Both are copied; bytes that are not UTF-8 become '?' (as in log lines:
 * WIT strings are UTF-8). */
articdbm_verdict_t articdbm_deny(const char *rule, const char *reason);
articdbm_verdict_t articdbm_denyf(const char *rule, const char *reason_fmt, ...)
    ARTICDBM_PRINTF(2, 3);
/* Let it through and record the finding in the audit trail. Both strings are copied. */
articdbm_verdict_t articdbm_audit(const char *rule, const char *reason);
articdbm_verdict_t articdbm_auditf(const char *rule, const char *reason_fmt, ...)
    ARTICDBM_PRINTF(2, 3);
/* Sets the finding's risk score (clamped to [0, 1]); no effect on allow. Returns `v`. */
articdbm_verdict_t articdbm_with_score(articdbm_verdict_t v, float score);

static inline bool articdbm_is_allow(const articdbm_verdict_t *v) { return v->tag == ARTICDBM_VERDICT_ALLOW; }
static inline bool articdbm_is_deny(const articdbm_verdict_t *v) { return v->tag == ARTICDBM_VERDICT_DENY; }
static inline bool articdbm_is_audit(const articdbm_verdict_t *v) { return v->tag == ARTICDBM_VERDICT_AUDIT; }
/* The finding of a deny or audit verdict, NULL for allow. */
const articdbm_finding_t *articdbm_verdict_finding(const articdbm_verdict_t *v);
/* Frees a verdict you made and do not return (returned verdicts are freed by the component). */
void articdbm_verdict_free(articdbm_verdict_t *v);

/* Sets *err to a malloc'd printf-style message and returns false: `return articdbm_fail(err,
 * "exempt_tables[%zu] must be a string", i);` in articdbm_policy_configure. */
bool articdbm_fail(char **err, const char *fmt, ...) ARTICDBM_PRINTF(2, 3);

/* Length of the valid UTF-8 sequence starting at s[0] (n bytes available): 1 to 4, or 0 when
 * the bytes there are not valid UTF-8 (overlong forms and surrogates included). */
size_t articdbm_utf8_seq_len(const uint8_t *s, size_t n);

/* ---------------------------------------------------------------------------------------- */
/* Strings, connection and query facts                                                       */
/* ---------------------------------------------------------------------------------------- */

/* True when `s` equals the NUL-terminated `c` (exactly / ASCII case-insensitively). */
bool articdbm_str_eq(articdbm_str_t s, const char *c);
bool articdbm_str_eq_ci(articdbm_str_t s, const char *c);
/* A malloc'd NUL-terminated copy of `s` (NULL if out of memory); free() it. */
char *articdbm_str_dup(articdbm_str_t s);
/* Copies `s` into buf (always NUL-terminated, truncated to at most size-1 bytes without cutting
 * a UTF-8 sequence); returns buf. */
char *articdbm_str_copy(articdbm_str_t s, char *buf, size_t size);

/* True when the connection holds `role`. */
bool articdbm_has_role(const articdbm_connection_t *conn, const char *role);

/* True when any statement of the query is of `kind` (ARTICDBM_STMT_...). */
bool articdbm_has_statement(const articdbm_query_t *query, articdbm_statement_kind_t kind);
/* True when every statement is a plain read (SELECT / SHOW / EXPLAIN) without locking or file
 * access. */
bool articdbm_is_read_only(const articdbm_query_t *query);
/* True when a function with this lowercase, unqualified name is called ("pg_sleep" matches
 * "pg_catalog.pg_sleep"). */
bool articdbm_calls(const articdbm_query_t *query, const char *function);

/* Table iteration: `for (size_t i = 0; i < articdbm_table_count(q); i++) t = articdbm_table_at(q, i)`,
 * or ARTICDBM_FOREACH_TABLE(q, t) { ... }. */
size_t articdbm_table_count(const articdbm_query_t *query);
const articdbm_table_t *articdbm_table_at(const articdbm_query_t *query, size_t i);
#define ARTICDBM_FOREACH_TABLE(query, t)                                                      \
    for (const articdbm_table_t *t = (query)->facts.tables.ptr;                               \
         t != NULL && t < (query)->facts.tables.ptr + (query)->facts.tables.len; t++)
/* The next table at or after index *cursor accessed with `mode`, advancing *cursor past it;
 * NULL when there is none. Start with `size_t cursor = 0`. */
const articdbm_table_t *articdbm_next_table_with(const articdbm_query_t *query,
                                                 articdbm_access_mode_t mode, size_t *cursor);
/* True when `t` is named `name` ("orders") or `schema.name` ("public.orders"); ASCII
 * case-insensitive. A bare name matches the table in any schema. */
bool articdbm_table_matches(const articdbm_table_t *t, const char *name);

/* Lowercase WIT names, for logs and messages ("update", "delete", "postgres"...). */
const char *articdbm_statement_kind_name(articdbm_statement_kind_t kind);
const char *articdbm_access_mode_name(articdbm_access_mode_t mode);
const char *articdbm_protocol_name(articdbm_protocol_t protocol);

/* ---------------------------------------------------------------------------------------- */
/* Host capabilities                                                                         */
/* ---------------------------------------------------------------------------------------- */

/* printf-style line in the gateway log, tagged with tenant and plugin (4 KiB max). */
void articdbm_log(articdbm_log_level_t level, const char *fmt, ...) ARTICDBM_PRINTF(2, 3);
void articdbm_vlog(articdbm_log_level_t level, const char *fmt, va_list ap);

/* Wall-clock milliseconds since the Unix epoch / monotonic nanoseconds (the sandbox has no
 * clock of its own). Using either in a call disables verdict reuse for that call. */
uint64_t articdbm_now_ms(void);
uint64_t articdbm_monotonic_ns(void);

/* Key-value store scoped to (tenant, plugin). Keys: 1..512 bytes; values up to 64 KiB. */
typedef enum articdbm_kv_status {
    ARTICDBM_KV_OK = 0,
    /* The backing store could not be reached (articdbm_kv_error() says why). */
    ARTICDBM_KV_UNAVAILABLE = 1,
    /* Empty or too long key, or too large value. */
    ARTICDBM_KV_INVALID = 2,
    /* articdbm_kv_incr on a value that is not an integer. */
    ARTICDBM_KV_NOT_AN_INTEGER = 3,
} articdbm_kv_status_t;
/* No expiry, for the ttl_ms arguments below. */
#define ARTICDBM_NO_TTL 0

/* *found tells whether the key exists (and has not expired). When it does, *value is a malloc'd
 * copy of the value with a NUL byte after its *len bytes (so text values are C strings):
 * free() it. `value`, `len` may be NULL when only presence matters. */
articdbm_kv_status_t articdbm_kv_get(const char *key, bool *found, char **value, size_t *len);
/* Stores `len` bytes at `key`, expiring after ttl_ms (ARTICDBM_NO_TTL: never). */
articdbm_kv_status_t articdbm_kv_set(const char *key, const void *value, size_t len,
                                     uint64_t ttl_ms);
/* Atomically adds delta to the integer at key (missing: 0) and stores the new value in *out
 * (may be NULL). ttl_ms applies when this call creates the key. */
articdbm_kv_status_t articdbm_kv_incr(const char *key, int64_t delta, uint64_t ttl_ms,
                                      int64_t *out);
/* Removes key (a missing key is not an error). */
articdbm_kv_status_t articdbm_kv_delete(const char *key);
/* The message of the last failed kv call ("" when there is none). Valid until the next call. */
const char *articdbm_kv_error(void);
const char *articdbm_kv_status_name(articdbm_kv_status_t status);

/* Adds value to the plugin counter `name` (exported as articdbm_plugin_counter_total). */
void articdbm_counter_add(const char *name, uint64_t value);

/* Threat-intelligence lookups. True on a match, with *match filled (free it with
 * articdbm_indicator_match_free); `match` may be NULL when only the answer matters. */
bool articdbm_address_listed(const char *addr, articdbm_indicator_match_t *match);
bool articdbm_name_listed(articdbm_indicator_kind_t kind, const char *name,
                          articdbm_indicator_match_t *match);
bool articdbm_sql_pattern_match(const char *sql, size_t len, articdbm_indicator_match_t *match);
void articdbm_indicator_match_free(articdbm_indicator_match_t *match);

/* From on_query: the verdict being returned holds for every statement of the same shape
 * (ARTICDBM_REUSE_SHAPE) or fingerprint (ARTICDBM_REUSE_FINGERPRINT) within scope
 * (ARTICDBM_REUSE_STATEMENT: every connection; ARTICDBM_REUSE_USER: same user, roles and
 * database). Only for verdicts computed from the statement alone; the gateway ignores it when
 * the call used the clock, kv or indicators. See docs/PLUGINS.md, "Reusing verdicts". */
void articdbm_reuse_verdict(uint8_t scope);
void articdbm_reuse_verdict_for(uint8_t scope, uint8_t basis);

/* ---------------------------------------------------------------------------------------- */
/* JSON reader (enough for plugin configs)                                                   */
/* ---------------------------------------------------------------------------------------- */

typedef enum articdbm_json_type {
    ARTICDBM_JSON_NULL,
    ARTICDBM_JSON_BOOL,
    ARTICDBM_JSON_NUMBER,
    ARTICDBM_JSON_STRING,
    ARTICDBM_JSON_ARRAY,
    ARTICDBM_JSON_OBJECT,
} articdbm_json_type_t;

typedef struct articdbm_json articdbm_json_t;

/* Parses RFC 8259 JSON (one value, UTF-8; nesting up to 64 levels). On failure returns NULL and,
 * when err is not NULL, sets *err to a malloc'd message with the byte offset. Free the tree with
 * articdbm_json_free. An empty or all-blank text parses as an empty object. */
articdbm_json_t *articdbm_json_parse(const char *text, size_t len, char **err);
void articdbm_json_free(articdbm_json_t *value);

articdbm_json_type_t articdbm_json_type(const articdbm_json_t *value);
const char *articdbm_json_type_name(articdbm_json_type_t type);
/* Member of an object by key (NULL when absent or not an object). */
const articdbm_json_t *articdbm_json_get(const articdbm_json_t *object, const char *key);
/* Number of elements of an array / members of an object (0 otherwise). */
size_t articdbm_json_len(const articdbm_json_t *value);
/* i-th element of an array, or i-th member value of an object (NULL when out of range). */
const articdbm_json_t *articdbm_json_at(const articdbm_json_t *value, size_t i);
/* i-th member key of an object (NULL when out of range). */
const char *articdbm_json_key_at(const articdbm_json_t *object, size_t i);
/* Scalar values; NULL / false / 0 when the value is not of that type. Strings are decoded
 * UTF-8 (escapes resolved), NUL-terminated; a string holding "\u0000" is cut there, use
 * articdbm_json_string_len for its full length. */
const char *articdbm_json_string(const articdbm_json_t *value);
size_t articdbm_json_string_len(const articdbm_json_t *value);
bool articdbm_json_bool(const articdbm_json_t *value);
double articdbm_json_number(const articdbm_json_t *value);
/* True when the number is an integer that fits in int64_t; stores it in *out. */
bool articdbm_json_int(const articdbm_json_t *value, int64_t *out);
/* Returns false and sets *err (malloc'd) naming the first member of `object` whose key is not
 * in the NULL-terminated `allowed` list, as a JSON Schema `additionalProperties: false` does. */
bool articdbm_json_only_keys(const articdbm_json_t *object, const char *const *allowed,
                             char **err);

/* ---------------------------------------------------------------------------------------- */
/* SQL text scanner                                                                          */
/* ---------------------------------------------------------------------------------------- */

/*
 * A lexer over the statement text, for what the facts do not say. It yields words, numbers,
 * parameters and punctuation with their parenthesis depth and statement index (statements are
 * split at top-level `;`). Whitespace and comments are skipped: `-- ...`, block comments (nested
 * in PostgreSQL) and MySQL `# ...`; the body of a MySQL executable comment is scanned as SQL.
 * String literals ('...', E'...', N'...', X'...', U&'...', $tag$...$tag$, MySQL "..." with
 * backslash escapes) and quoted identifiers ("...", `...`, SQLite [...]) come out as one token
 * of their own kind, so a keyword inside them is never taken for SQL.
 */
typedef enum articdbm_sql_dialect {
    ARTICDBM_SQL_POSTGRES = 0, /* "x" identifiers, E'' and $$ strings, nested block comments */
    ARTICDBM_SQL_MYSQL = 1,    /* `x` identifiers, "x" strings, backslash escapes, # comments */
    ARTICDBM_SQL_SQLITE = 2,   /* "x", `x` and [x] identifiers, '' strings */
} articdbm_sql_dialect_t;

typedef enum articdbm_sql_token_kind {
    ARTICDBM_SQL_WORD,         /* keyword or unquoted identifier */
    ARTICDBM_SQL_QUOTED_IDENT, /* "x", `x`, [x] (delimiters included) */
    ARTICDBM_SQL_STRING,       /* a string literal, delimiters and prefix included */
    ARTICDBM_SQL_NUMBER,
    ARTICDBM_SQL_PARAM,        /* $1, ?, :name */
    ARTICDBM_SQL_PUNCT,        /* one operator or punctuation character; ( ) ; included */
} articdbm_sql_token_kind_t;

typedef struct articdbm_sql_token {
    articdbm_sql_token_kind_t kind;
    const char *start;
    size_t len;
    /* Parenthesis depth of the token: 0 at top level; a "(" has the depth outside it. */
    int depth;
    /* Index of the statement the token belongs to (0-based, top-level ';' separates). */
    unsigned statement;
} articdbm_sql_token_t;

typedef struct articdbm_sql_lexer {
    const char *sql;
    size_t len;
    size_t pos;
    int depth;
    unsigned statement;
    articdbm_sql_dialect_t dialect;
    /* Set when the text ends inside a string, quoted identifier or block comment. */
    bool unterminated;
    /* Inside a MySQL executable comment; its closing delimiter is skipped. */
    bool in_exec_comment;
} articdbm_sql_lexer_t;

void articdbm_sql_lexer_init(articdbm_sql_lexer_t *lx, const char *sql, size_t len,
                             articdbm_sql_dialect_t dialect);
/* The dialect to scan a connection's statements with. */
articdbm_sql_dialect_t articdbm_sql_dialect_of(const articdbm_connection_t *conn);
/* Next token, false at the end. */
bool articdbm_sql_next(articdbm_sql_lexer_t *lx, articdbm_sql_token_t *tok);
/* True when tok is the word `word` (ASCII case-insensitive). */
bool articdbm_sql_is_word(const articdbm_sql_token_t *tok, const char *word);
/* True when tok is the punctuation character c. */
bool articdbm_sql_is_punct(const articdbm_sql_token_t *tok, char c);
/* True when the word `keyword` appears at parenthesis depth 0 of any statement of the text,
 * outside strings, quoted identifiers and comments. */
bool articdbm_sql_has_top_level_word(const char *sql, size_t len, articdbm_sql_dialect_t dialect,
                                     const char *keyword);

#ifdef __cplusplus
}
#endif
#endif /* ARTICDBM_POLICY_H */
