/*
 * A native stand-in for the gateway, to test a C plugin's logic with gcc (or clang) on the
 * build machine, without wasm: `plugin-sdk/c/test.sh` compiles the plugin's app.c, the SDK, the
 * generated bindings, this host and a test file, and runs it (under ASan/UBSan when available).
 *
 * The host implements the component's imports at the canonical-ABI level the generated bindings
 * call (`__wasm_import_*`): returned strings and lists are malloc'd as the gateway's would be,
 * so a plugin or SDK that forgets to free them shows up as a leak. It keeps an in-memory
 * key-value store with TTLs, a settable clock, captured logs and counters, the reuse declaration
 * of the last call, and exact-match indicators.
 *
 * The driver functions (articdbm_test_on_query...) call the exports as the gateway does: the
 * plugin receives deep copies it owns, and the returned verdict is the caller's to free with
 * articdbm_verdict_free (the post-return step). Query facts are not computed natively: give
 * the statement kinds and tables a test needs.
 */
#ifndef ARTICDBM_TEST_HOST_H
#define ARTICDBM_TEST_HOST_H

#include <stdio.h>

#include "articdbm_policy.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Clears everything (kv, logs, counters, indicators, reuse, kv_down), sets the clock to
 * 1700000000000 ms and forgets that the plugin was configured. */
void articdbm_test_reset(void);

/* Clock. */
void articdbm_test_set_now_ms(uint64_t now_ms);
void articdbm_test_advance_ms(uint64_t ms);

/* Every kv call fails with `unavailable` while set. */
void articdbm_test_set_kv_down(bool down);
/* The live value at key as a C string (NULL when absent or expired); valid until the next
 * host call. */
const char *articdbm_test_kv_peek(const char *key);
/* The expiry of key in ms since the epoch (0: none or absent). */
uint64_t articdbm_test_kv_expiry(const char *key);

/* Captured log lines, oldest first. */
size_t articdbm_test_log_count(void);
const char *articdbm_test_log_at(size_t i, articdbm_log_level_t *level);
/* True when a captured line contains `needle`. */
bool articdbm_test_log_contains(const char *needle);

/* Counter value (0 when never added to). */
uint64_t articdbm_test_counter(const char *name);

/* The reuse declaration of the last hook call: false when none. */
bool articdbm_test_reuse(int *scope, int *basis);
/* True when the last hook call used the clock, kv or indicators (the gateway then ignores
 * a reuse declaration). */
bool articdbm_test_stateful(void);

/* Lists an indicator (exact, case-insensitive match). */
void articdbm_test_add_indicator(articdbm_indicator_kind_t kind, const char *value,
                                 uint8_t confidence);

/* --- inputs -------------------------------------------------------------------------------- */

typedef struct articdbm_test_table {
    const char *schema; /* NULL: none */
    const char *name;
    articdbm_access_mode_t access;
    bool nested;
} articdbm_test_table_t;

/* A connection (tenant "acme", database "shop", postgres, 192.0.2.7:50000, TLS) for `user`
 * with the NULL-terminated `roles` (may be NULL). Free with articdbm_test_connection_free. */
articdbm_connection_t articdbm_test_connection(const char *user, const char *const *roles);
void articdbm_test_connection_free(articdbm_connection_t *conn);

/* A parsed query with these statement kinds and tables. Free with articdbm_test_query_free. */
articdbm_query_t articdbm_test_query(const char *sql, const articdbm_statement_kind_t *kinds,
                                     size_t n_kinds, const articdbm_test_table_t *tables,
                                     size_t n_tables);
void articdbm_test_query_free(articdbm_query_t *query);

/* --- driving the exports ---------------------------------------------------------------------- */

/* configure(json): true when accepted; on refusal *err (may be NULL) gets the malloc'd
 * message. */
bool articdbm_test_configure(const char *json, char **err);
articdbm_verdict_t articdbm_test_on_connect(const articdbm_connection_t *conn);
articdbm_verdict_t articdbm_test_on_query(const articdbm_connection_t *conn,
                                          const articdbm_query_t *query);

/* --- a tiny assertion kit ------------------------------------------------------------------------ */

extern unsigned articdbm_test_passed, articdbm_test_failed;

#define ARTICDBM_CHECK(cond)                                                                   \
    do {                                                                                       \
        if (cond) {                                                                            \
            articdbm_test_passed++;                                                            \
        } else {                                                                               \
            articdbm_test_failed++;                                                            \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);           \
        }                                                                                      \
    } while (0)

/* Checks a verdict's tag and (for deny / audit) its rule, then frees it. */
#define ARTICDBM_CHECK_VERDICT(verdict_expr, tag_, rule_)                                      \
    do {                                                                                       \
        articdbm_verdict_t v_ = (verdict_expr);                                                \
        articdbm_test_check_verdict(&v_, (tag_), (rule_), __FILE__, __LINE__, #verdict_expr);  \
        articdbm_verdict_free(&v_);                                                            \
    } while (0)
void articdbm_test_check_verdict(const articdbm_verdict_t *v, int tag, const char *rule,
                                 const char *file, int line, const char *expr);

/* Prints "<suite>: N passed, N failed" and returns the process exit code. */
int articdbm_test_summary(const char *suite);

/* Not for plugins: forgets the SDK's configured state (articdbm_policy.c). */
void articdbm_sdk_reset_for_tests(void);

#ifdef __cplusplus
}
#endif
#endif
