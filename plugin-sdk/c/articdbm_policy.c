/*
 * ArticDBM C SDK: the component's exports (calling the plugin's callbacks), verdict and fact
 * helpers, and wrappers over the host imports. See articdbm_policy.h.
 *
 * Ownership, as the generated bindings (configurable_policy.c) define it:
 *  - exported functions own their arguments (the wrapper frees only the argument area), so
 *    the connection, query and config string are freed here after the callback returns;
 *  - the strings of a returned verdict / configure error are freed with free() by the
 *    generated post-return function, so they must be malloc'd (or empty);
 *  - imported functions borrow their arguments and return values the caller owns (kv values,
 *    kv error messages, indicator matches): freed here or handed to the caller as documented.
 */
#include "articdbm_policy.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__) || defined(__clang__)
#define ARTICDBM_WEAK __attribute__((weak))
#else
#define ARTICDBM_WEAK
#endif

/* ---------------------------------------------------------------------------------------- */
/* Small internals                                                                           */
/* ---------------------------------------------------------------------------------------- */

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) abort(); /* as the bindings' cabi_realloc does: the instance is discarded */
    return p;
}

/* Length of the valid UTF-8 sequence at s[0..n), 0 when invalid (shared with articdbm_json.c). */
size_t articdbm_utf8_seq_len(const uint8_t *s, size_t n) {
    uint8_t c = s[0];
    size_t need;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < need) return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    return need;
}

/* WIT strings must be UTF-8 (the host traps on anything else): replaces each byte that does
 * not start a valid sequence with '?', in place. */
static void utf8_sanitize(uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        size_t k = articdbm_utf8_seq_len(s + i, n - i);
        if (k == 0) {
            s[i++] = '?';
        } else {
            i += k;
        }
    }
}

/* A WIT string owning a malloc'd, UTF-8-sanitised copy of s[0..len) (no allocation when
 * empty). */
static articdbm_str_t owned_str(const char *s, size_t len) {
    articdbm_str_t out = {NULL, 0};
    if (len > 0) {
        out.ptr = (uint8_t *)xmalloc(len);
        memcpy(out.ptr, s, len);
        out.len = len;
        utf8_sanitize(out.ptr, len);
    }
    return out;
}

/* A WIT string borrowing a C string (for import arguments, which are borrowed). */
static articdbm_str_t borrowed_str(const char *s) {
    articdbm_str_t out;
    out.ptr = (uint8_t *)(s ? s : "");
    out.len = s ? strlen(s) : 0;
    return out;
}

/* vsnprintf into a malloc'd buffer. */
static char *vformat(const char *fmt, va_list ap) {
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        char *s = (char *)xmalloc(1);
        s[0] = '\0';
        return s;
    }
    char *s = (char *)xmalloc((size_t)n + 1);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

static char *cstr_dup(const char *s) {
    size_t n = strlen(s);
    char *out = (char *)xmalloc(n + 1);
    memcpy(out, s, n + 1);
    return out;
}

/* ---------------------------------------------------------------------------------------- */
/* Verdicts                                                                                  */
/* ---------------------------------------------------------------------------------------- */

articdbm_verdict_t articdbm_allow(void) {
    articdbm_verdict_t v;
    memset(&v, 0, sizeof v);
    v.tag = ARTICDBM_VERDICT_ALLOW;
    return v;
}

static articdbm_verdict_t finding_verdict(uint8_t tag, const char *rule, const char *reason,
                                          size_t reason_len) {
    articdbm_verdict_t v;
    memset(&v, 0, sizeof v);
    v.tag = tag;
    articdbm_finding_t *f = tag == ARTICDBM_VERDICT_DENY ? &v.val.deny : &v.val.audit;
    if (!rule || !*rule) rule = "plugin.unnamed";
    f->rule = owned_str(rule, strlen(rule));
    f->reason = owned_str(reason ? reason : "", reason ? reason_len : 0);
    f->score.is_some = false;
    return v;
}

articdbm_verdict_t articdbm_deny(const char *rule, const char *reason) {
    return finding_verdict(ARTICDBM_VERDICT_DENY, rule, reason, reason ? strlen(reason) : 0);
}

articdbm_verdict_t articdbm_audit(const char *rule, const char *reason) {
    return finding_verdict(ARTICDBM_VERDICT_AUDIT, rule, reason, reason ? strlen(reason) : 0);
}

articdbm_verdict_t articdbm_denyf(const char *rule, const char *reason_fmt, ...) {
    va_list ap;
    va_start(ap, reason_fmt);
    char *reason = vformat(reason_fmt, ap);
    va_end(ap);
    articdbm_verdict_t v = articdbm_deny(rule, reason);
    free(reason);
    return v;
}

articdbm_verdict_t articdbm_auditf(const char *rule, const char *reason_fmt, ...) {
    va_list ap;
    va_start(ap, reason_fmt);
    char *reason = vformat(reason_fmt, ap);
    va_end(ap);
    articdbm_verdict_t v = articdbm_audit(rule, reason);
    free(reason);
    return v;
}

articdbm_verdict_t articdbm_with_score(articdbm_verdict_t v, float score) {
    articdbm_finding_t *f = v.tag == ARTICDBM_VERDICT_DENY    ? &v.val.deny
                            : v.tag == ARTICDBM_VERDICT_AUDIT ? &v.val.audit
                                                              : NULL;
    if (f) {
        if (!(score >= 0.0f)) score = 0.0f; /* also NaN */
        if (score > 1.0f) score = 1.0f;
        f->score.is_some = true;
        f->score.val = score;
    }
    return v;
}

const articdbm_finding_t *articdbm_verdict_finding(const articdbm_verdict_t *v) {
    if (v->tag == ARTICDBM_VERDICT_DENY) return &v->val.deny;
    if (v->tag == ARTICDBM_VERDICT_AUDIT) return &v->val.audit;
    return NULL;
}

void articdbm_verdict_free(articdbm_verdict_t *v) {
    articdbm_policy_types_verdict_free(v);
    *v = articdbm_allow();
}

bool articdbm_fail(char **err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        free(*err);
        *err = vformat(fmt, ap);
        va_end(ap);
    }
    return false;
}

/* ---------------------------------------------------------------------------------------- */
/* Strings and facts                                                                         */
/* ---------------------------------------------------------------------------------------- */

bool articdbm_str_eq(articdbm_str_t s, const char *c) {
    size_t n = strlen(c);
    return s.len == n && (n == 0 || memcmp(s.ptr, c, n) == 0);
}

bool articdbm_str_eq_ci(articdbm_str_t s, const char *c) {
    size_t n = strlen(c);
    if (s.len != n) return false;
    for (size_t i = 0; i < n; i++) {
        if (tolower((unsigned char)s.ptr[i]) != tolower((unsigned char)c[i])) return false;
    }
    return true;
}

char *articdbm_str_dup(articdbm_str_t s) {
    char *out = (char *)malloc(s.len + 1);
    if (!out) return NULL;
    if (s.len) memcpy(out, s.ptr, s.len);
    out[s.len] = '\0';
    return out;
}

char *articdbm_str_copy(articdbm_str_t s, char *buf, size_t size) {
    if (size == 0) return buf;
    size_t n = s.len < size - 1 ? s.len : size - 1;
    /* Never cut a UTF-8 sequence in two. */
    while (n > 0 && n < s.len && (s.ptr[n] & 0xC0) == 0x80) n--;
    if (n) memcpy(buf, s.ptr, n);
    buf[n] = '\0';
    return buf;
}

bool articdbm_has_role(const articdbm_connection_t *conn, const char *role) {
    for (size_t i = 0; i < conn->roles.len; i++) {
        if (articdbm_str_eq(conn->roles.ptr[i], role)) return true;
    }
    return false;
}

bool articdbm_has_statement(const articdbm_query_t *query, articdbm_statement_kind_t kind) {
    for (size_t i = 0; i < query->facts.statements.len; i++) {
        if (query->facts.statements.ptr[i] == kind) return true;
    }
    return false;
}

bool articdbm_is_read_only(const articdbm_query_t *query) {
    const articdbm_facts_t *f = &query->facts;
    if (f->locking_read || f->file_access) return false;
    for (size_t i = 0; i < f->statements.len; i++) {
        articdbm_statement_kind_t k = f->statements.ptr[i];
        if (k != ARTICDBM_STMT_SELECT && k != ARTICDBM_STMT_SHOW && k != ARTICDBM_STMT_EXPLAIN)
            return false;
    }
    return true;
}

bool articdbm_calls(const articdbm_query_t *query, const char *function) {
    size_t want = strlen(function);
    for (size_t i = 0; i < query->facts.functions.len; i++) {
        articdbm_str_t name = query->facts.functions.ptr[i].name;
        size_t start = 0;
        for (size_t j = 0; j < name.len; j++) {
            if (name.ptr[j] == '.') start = j + 1;
        }
        if (name.len - start == want && memcmp(name.ptr + start, function, want) == 0) return true;
    }
    return false;
}

size_t articdbm_table_count(const articdbm_query_t *query) { return query->facts.tables.len; }

const articdbm_table_t *articdbm_table_at(const articdbm_query_t *query, size_t i) {
    return i < query->facts.tables.len ? &query->facts.tables.ptr[i] : NULL;
}

const articdbm_table_t *articdbm_next_table_with(const articdbm_query_t *query,
                                                 articdbm_access_mode_t mode, size_t *cursor) {
    for (size_t i = *cursor; i < query->facts.tables.len; i++) {
        if (query->facts.tables.ptr[i].access == mode) {
            *cursor = i + 1;
            return &query->facts.tables.ptr[i];
        }
    }
    *cursor = query->facts.tables.len;
    return NULL;
}

static bool bytes_eq_ci(const uint8_t *a, size_t alen, const char *b, size_t blen) {
    if (alen != blen) return false;
    for (size_t i = 0; i < alen; i++) {
        if (tolower(a[i]) != tolower((unsigned char)b[i])) return false;
    }
    return true;
}

bool articdbm_table_matches(const articdbm_table_t *t, const char *name) {
    const char *dot = strrchr(name, '.');
    if (!dot) return bytes_eq_ci(t->name.ptr, t->name.len, name, strlen(name));
    if (!bytes_eq_ci(t->name.ptr, t->name.len, dot + 1, strlen(dot + 1))) return false;
    return t->schema.is_some &&
           bytes_eq_ci(t->schema.val.ptr, t->schema.val.len, name, (size_t)(dot - name));
}

const char *articdbm_statement_kind_name(articdbm_statement_kind_t kind) {
    static const char *const names[] = {
        "select",   "insert",  "update",  "delete",     "merge",   "create",  "alter",
        "drop",     "truncate", "grant",  "revoke",     "begin",   "commit",  "rollback",
        "savepoint", "set",    "show",    "copy",       "explain", "call",    "prepare",
        "execute",  "deallocate", "listen", "notify",   "vacuum",  "analyze", "lock",
        "use-database", "other",
    };
    return kind < sizeof names / sizeof names[0] ? names[kind] : "unknown";
}

const char *articdbm_access_mode_name(articdbm_access_mode_t mode) {
    static const char *const names[] = {"read", "insert", "update", "delete", "ddl"};
    return mode < sizeof names / sizeof names[0] ? names[mode] : "unknown";
}

const char *articdbm_protocol_name(articdbm_protocol_t protocol) {
    static const char *const names[] = {"postgres", "mysql", "sqlite"};
    return protocol < sizeof names / sizeof names[0] ? names[protocol] : "unknown";
}

/* ---------------------------------------------------------------------------------------- */
/* Host capabilities                                                                         */
/* ---------------------------------------------------------------------------------------- */

void articdbm_vlog(articdbm_log_level_t level, const char *fmt, va_list ap) {
    char small[512];
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0) return;
    articdbm_str_t msg;
    char *big = NULL;
    if ((size_t)n < sizeof small) {
        msg.ptr = (uint8_t *)small;
        msg.len = (size_t)n;
    } else {
        big = vformat(fmt, ap);
        msg.ptr = (uint8_t *)big;
        msg.len = strlen(big);
    }
    utf8_sanitize(msg.ptr, msg.len);
    articdbm_policy_log_log(level, &msg);
    free(big);
}

void articdbm_log(articdbm_log_level_t level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    articdbm_vlog(level, fmt, ap);
    va_end(ap);
}

uint64_t articdbm_now_ms(void) { return articdbm_policy_clock_now_ms(); }
uint64_t articdbm_monotonic_ns(void) { return articdbm_policy_clock_monotonic_ns(); }

static char kv_last_error[256];

/* Records the error's message and frees the strings the host allocated for it. */
static articdbm_kv_status_t kv_fail(articdbm_policy_kv_kv_error_t *e) {
    articdbm_kv_status_t status;
    switch (e->tag) {
    case ARTICDBM_POLICY_KV_KV_ERROR_UNAVAILABLE:
        status = ARTICDBM_KV_UNAVAILABLE;
        articdbm_str_copy(e->val.unavailable, kv_last_error, sizeof kv_last_error);
        break;
    case ARTICDBM_POLICY_KV_KV_ERROR_INVALID:
        status = ARTICDBM_KV_INVALID;
        articdbm_str_copy(e->val.invalid, kv_last_error, sizeof kv_last_error);
        break;
    default:
        status = ARTICDBM_KV_NOT_AN_INTEGER;
        snprintf(kv_last_error, sizeof kv_last_error, "the stored value is not an integer");
        break;
    }
    articdbm_policy_kv_kv_error_free(e);
    return status;
}

const char *articdbm_kv_error(void) { return kv_last_error; }

const char *articdbm_kv_status_name(articdbm_kv_status_t status) {
    switch (status) {
    case ARTICDBM_KV_OK: return "ok";
    case ARTICDBM_KV_UNAVAILABLE: return "unavailable";
    case ARTICDBM_KV_INVALID: return "invalid";
    case ARTICDBM_KV_NOT_AN_INTEGER: return "not-an-integer";
    }
    return "unknown";
}

articdbm_kv_status_t articdbm_kv_get(const char *key, bool *found, char **value, size_t *len) {
    articdbm_str_t k = borrowed_str(key);
    configurable_policy_option_list_u8_t got;
    articdbm_policy_kv_kv_error_t err;
    if (found) *found = false;
    if (value) *value = NULL;
    if (len) *len = 0;
    kv_last_error[0] = '\0';
    if (!articdbm_policy_kv_get(&k, &got, &err)) return kv_fail(&err);
    if (got.is_some) {
        if (found) *found = true;
        if (value) {
            char *copy = (char *)xmalloc(got.val.len + 1);
            if (got.val.len) memcpy(copy, got.val.ptr, got.val.len);
            copy[got.val.len] = '\0';
            *value = copy;
        }
        if (len) *len = got.val.len;
    }
    configurable_policy_option_list_u8_free(&got);
    return ARTICDBM_KV_OK;
}

articdbm_kv_status_t articdbm_kv_set(const char *key, const void *value, size_t len,
                                     uint64_t ttl_ms) {
    articdbm_str_t k = borrowed_str(key);
    configurable_policy_list_u8_t v;
    v.ptr = (uint8_t *)(value ? value : "");
    v.len = value ? len : 0;
    articdbm_policy_kv_kv_error_t err;
    kv_last_error[0] = '\0';
    if (!articdbm_policy_kv_set(&k, &v, ttl_ms ? &ttl_ms : NULL, &err)) return kv_fail(&err);
    return ARTICDBM_KV_OK;
}

articdbm_kv_status_t articdbm_kv_incr(const char *key, int64_t delta, uint64_t ttl_ms,
                                      int64_t *out) {
    articdbm_str_t k = borrowed_str(key);
    articdbm_policy_kv_kv_error_t err;
    int64_t value = 0;
    kv_last_error[0] = '\0';
    if (!articdbm_policy_kv_incr(&k, delta, ttl_ms ? &ttl_ms : NULL, &value, &err))
        return kv_fail(&err);
    if (out) *out = value;
    return ARTICDBM_KV_OK;
}

articdbm_kv_status_t articdbm_kv_delete(const char *key) {
    articdbm_str_t k = borrowed_str(key);
    articdbm_policy_kv_kv_error_t err;
    kv_last_error[0] = '\0';
    if (!articdbm_policy_kv_delete(&k, &err)) return kv_fail(&err);
    return ARTICDBM_KV_OK;
}

void articdbm_counter_add(const char *name, uint64_t value) {
    articdbm_str_t n = borrowed_str(name);
    articdbm_policy_metrics_counter_add(&n, value);
}

static bool indicator_result(bool hit, articdbm_indicator_match_t *got,
                             articdbm_indicator_match_t *match) {
    if (!hit) return false;
    if (match) {
        *match = *got;
    } else {
        articdbm_policy_indicators_indicator_match_free(got);
    }
    return true;
}

bool articdbm_address_listed(const char *addr, articdbm_indicator_match_t *match) {
    articdbm_str_t a = borrowed_str(addr);
    articdbm_indicator_match_t got;
    bool hit = articdbm_policy_indicators_address_listed(&a, &got);
    return indicator_result(hit, &got, match);
}

bool articdbm_name_listed(articdbm_indicator_kind_t kind, const char *name,
                          articdbm_indicator_match_t *match) {
    articdbm_str_t n = borrowed_str(name);
    articdbm_indicator_match_t got;
    bool hit = articdbm_policy_indicators_name_listed(kind, &n, &got);
    return indicator_result(hit, &got, match);
}

bool articdbm_sql_pattern_match(const char *sql, size_t len, articdbm_indicator_match_t *match) {
    articdbm_str_t s;
    s.ptr = (uint8_t *)(sql ? sql : "");
    s.len = sql ? len : 0;
    articdbm_indicator_match_t got;
    bool hit = articdbm_policy_indicators_sql_pattern_match(&s, &got);
    return indicator_result(hit, &got, match);
}

void articdbm_indicator_match_free(articdbm_indicator_match_t *match) {
    articdbm_policy_indicators_indicator_match_free(match);
}

void articdbm_reuse_verdict(uint8_t scope) { articdbm_policy_reuse_reuse_verdict(scope); }

void articdbm_reuse_verdict_for(uint8_t scope, uint8_t basis) {
    articdbm_policy_reuse_reuse_verdict_for(scope, basis);
}

/* ---------------------------------------------------------------------------------------- */
/* Default callbacks (weak: a plugin's own definitions replace them)                          */
/* ---------------------------------------------------------------------------------------- */

ARTICDBM_WEAK bool articdbm_policy_configure(const char *json, size_t len, char **err) {
    char *perr = NULL;
    articdbm_json_t *cfg = articdbm_json_parse(json, len, &perr);
    if (!cfg) {
        bool r = articdbm_fail(err, "invalid config: %s", perr);
        free(perr);
        return r;
    }
    bool empty = articdbm_json_type(cfg) == ARTICDBM_JSON_OBJECT && articdbm_json_len(cfg) == 0;
    articdbm_json_free(cfg);
    if (!empty) return articdbm_fail(err, "this plugin takes no configuration (give {})");
    return true;
}

ARTICDBM_WEAK articdbm_verdict_t articdbm_policy_on_connect(const articdbm_connection_t *conn) {
    (void)conn;
    return articdbm_allow();
}

ARTICDBM_WEAK articdbm_verdict_t articdbm_policy_on_query(const articdbm_connection_t *conn,
                                                          const articdbm_query_t *query) {
    (void)conn;
    (void)query;
    return articdbm_allow();
}

/* ---------------------------------------------------------------------------------------- */
/* Exports                                                                                   */
/* ---------------------------------------------------------------------------------------- */

static bool configured = false;

/* Calls the plugin's configure with a NUL-terminated copy; on refusal *why gets the message. */
static bool run_configure(const char *json, size_t len, char **why) {
    char *copy = (char *)xmalloc(len + 1);
    if (len) memcpy(copy, json, len);
    copy[len] = '\0';
    char *err = NULL;
    bool ok = articdbm_policy_configure(copy, len, &err);
    free(copy);
    if (ok) {
        free(err);
        configured = true;
        return true;
    }
    if (!err || !*err) {
        free(err);
        err = cstr_dup("configuration refused");
    }
    *why = err;
    return false;
}

/* A hook before configure configures with "{}" first (as the Rust SDK does). */
static bool ensure_configured(char **why) {
    if (configured) return true;
    return run_configure("{}", 2, why);
}

bool exports_articdbm_policy_config_configure(configurable_policy_string_t *config_json,
                                              configurable_policy_string_t *err) {
    char *why = NULL;
    bool ok = run_configure((const char *)config_json->ptr, config_json->len, &why);
    configurable_policy_string_free(config_json);
    if (ok) return true;
    /* Freed with free() by the generated post-return function. */
    err->ptr = (uint8_t *)why;
    err->len = strlen(why);
    utf8_sanitize(err->ptr, err->len);
    return false;
}

static articdbm_verdict_t unconfigured(char *why) {
    articdbm_verdict_t v =
        articdbm_denyf("plugin.unconfigured", "plugin has no valid configuration: %s", why);
    free(why);
    return v;
}

void exports_articdbm_policy_hooks_on_connect(exports_articdbm_policy_hooks_connection_t *conn,
                                              exports_articdbm_policy_hooks_verdict_t *ret) {
    char *why = NULL;
    if (ensure_configured(&why)) {
        *ret = articdbm_policy_on_connect(conn);
    } else {
        *ret = unconfigured(why);
    }
    exports_articdbm_policy_hooks_connection_free(conn);
}

void exports_articdbm_policy_hooks_on_query(exports_articdbm_policy_hooks_connection_t *conn,
                                            exports_articdbm_policy_hooks_query_t *query,
                                            exports_articdbm_policy_hooks_verdict_t *ret) {
    char *why = NULL;
    if (ensure_configured(&why)) {
        *ret = articdbm_policy_on_query(conn, query);
    } else {
        *ret = unconfigured(why);
    }
    exports_articdbm_policy_hooks_connection_free(conn);
    exports_articdbm_policy_hooks_query_free(query);
}

/* For the native test host (testing/articdbm_test_host.c): a fresh instance's state. */
void articdbm_sdk_reset_for_tests(void);
void articdbm_sdk_reset_for_tests(void) {
    configured = false;
    kv_last_error[0] = '\0';
}
