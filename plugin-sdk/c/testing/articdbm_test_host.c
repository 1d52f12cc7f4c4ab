/*
 * Native test host for C plugins: see articdbm_test_host.h. Implements the `__wasm_import_*`
 * functions the generated bindings (configurable_policy.c) call, with the same flat layouts
 * (the bindings compute offsets with sizeof(void*), so they hold on a 64-bit host too).
 */
#include "articdbm_test_host.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define P sizeof(void *)

unsigned articdbm_test_passed, articdbm_test_failed;

typedef struct kv_entry {
    char *key;
    char *value; /* value bytes + NUL */
    size_t len;
    uint64_t expires; /* 0: never */
    struct kv_entry *next;
} kv_entry_t;

typedef struct log_line {
    articdbm_log_level_t level;
    char *text;
    struct log_line *next;
} log_line_t;

typedef struct counter {
    char *name;
    uint64_t value;
    struct counter *next;
} counter_t;

typedef struct indicator {
    articdbm_indicator_kind_t kind;
    char *value;
    uint8_t confidence;
    unsigned id;
    struct indicator *next;
} indicator_t;

static struct {
    uint64_t now_ms;
    bool kv_down;
    kv_entry_t *kv;
    log_line_t *logs, *logs_tail;
    size_t n_logs;
    counter_t *counters;
    indicator_t *indicators;
    unsigned n_indicators;
    bool reuse_set;
    int reuse_scope, reuse_basis;
    bool stateful;
} host = {1700000000000ULL, false, NULL, NULL, NULL, 0, NULL, NULL, 0, false, 0, 0, false};

static char *dup_n(const void *s, size_t n) {
    char *out = malloc(n + 1);
    if (!out) abort();
    if (n) memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

void articdbm_test_reset(void) {
    while (host.kv) {
        kv_entry_t *e = host.kv;
        host.kv = e->next;
        free(e->key);
        free(e->value);
        free(e);
    }
    while (host.logs) {
        log_line_t *l = host.logs;
        host.logs = l->next;
        free(l->text);
        free(l);
    }
    while (host.counters) {
        counter_t *c = host.counters;
        host.counters = c->next;
        free(c->name);
        free(c);
    }
    while (host.indicators) {
        indicator_t *i = host.indicators;
        host.indicators = i->next;
        free(i->value);
        free(i);
    }
    host.logs_tail = NULL;
    host.n_logs = 0;
    host.n_indicators = 0;
    host.now_ms = 1700000000000ULL;
    host.kv_down = false;
    host.reuse_set = false;
    host.stateful = false;
    articdbm_sdk_reset_for_tests();
}

void articdbm_test_set_now_ms(uint64_t now_ms) { host.now_ms = now_ms; }
void articdbm_test_advance_ms(uint64_t ms) { host.now_ms += ms; }
void articdbm_test_set_kv_down(bool down) { host.kv_down = down; }

static kv_entry_t **kv_find(const char *key, size_t key_len) {
    for (kv_entry_t **e = &host.kv; *e; e = &(*e)->next) {
        if (strlen((*e)->key) == key_len && memcmp((*e)->key, key, key_len) == 0) {
            if ((*e)->expires && (*e)->expires <= host.now_ms) {
                kv_entry_t *dead = *e;
                *e = dead->next;
                free(dead->key);
                free(dead->value);
                free(dead);
                return NULL;
            }
            return e;
        }
    }
    return NULL;
}

const char *articdbm_test_kv_peek(const char *key) {
    kv_entry_t **e = kv_find(key, strlen(key));
    return e ? (*e)->value : NULL;
}

uint64_t articdbm_test_kv_expiry(const char *key) {
    kv_entry_t **e = kv_find(key, strlen(key));
    return e ? (*e)->expires : 0;
}

size_t articdbm_test_log_count(void) { return host.n_logs; }

const char *articdbm_test_log_at(size_t i, articdbm_log_level_t *level) {
    log_line_t *l = host.logs;
    while (l && i--) l = l->next;
    if (!l) return NULL;
    if (level) *level = l->level;
    return l->text;
}

bool articdbm_test_log_contains(const char *needle) {
    for (log_line_t *l = host.logs; l; l = l->next) {
        if (strstr(l->text, needle)) return true;
    }
    return false;
}

uint64_t articdbm_test_counter(const char *name) {
    for (counter_t *c = host.counters; c; c = c->next) {
        if (strcmp(c->name, name) == 0) return c->value;
    }
    return 0;
}

bool articdbm_test_reuse(int *scope, int *basis) {
    if (host.reuse_set) {
        if (scope) *scope = host.reuse_scope;
        if (basis) *basis = host.reuse_basis;
    }
    return host.reuse_set;
}

bool articdbm_test_stateful(void) { return host.stateful; }

void articdbm_test_add_indicator(articdbm_indicator_kind_t kind, const char *value,
                                 uint8_t confidence) {
    indicator_t *i = calloc(1, sizeof *i);
    if (!i) abort();
    i->kind = kind;
    i->value = dup_n(value, strlen(value));
    i->confidence = confidence;
    i->id = host.n_indicators++;
    i->next = host.indicators;
    host.indicators = i;
}

/* ---- the imports, at the level the generated bindings call them ---------------------------- */

/* Writes a host-allocated string (the guest frees it) at ret+off. */
static void put_str(uint8_t *ret, size_t off, const char *s) {
    size_t n = strlen(s);
    uint8_t *copy = n ? (uint8_t *)dup_n(s, n) : NULL;
    *(uint8_t **)(ret + off) = copy;
    *(size_t *)(ret + off + P) = n;
}

/* Checks a kv call as the gateway does. On failure writes result::err: tag 1 at ret[0], the
 * kv-error's tag at ret+tag_off and its message at ret+str_off (P and 2P for get / set /
 * delete; 8 and 8+P for incr, whose ok payload is an s64). */
static bool kv_check(const uint8_t *key, size_t key_len, uint8_t *ret, size_t tag_off,
                     size_t str_off) {
    host.stateful = true;
    if (host.kv_down) {
        ret[0] = 1;
        ret[tag_off] = ARTICDBM_POLICY_KV_KV_ERROR_UNAVAILABLE;
        put_str(ret, str_off, "test host: kv is down");
        return false;
    }
    (void)key;
    if (key_len == 0 || key_len > 512) {
        ret[0] = 1;
        ret[tag_off] = ARTICDBM_POLICY_KV_KV_ERROR_INVALID;
        put_str(ret, str_off, "key must be 1..=512 bytes");
        return false;
    }
    return true;
}

void __wasm_import_articdbm_policy_log_log(int32_t level, uint8_t *ptr, size_t len);
void __wasm_import_articdbm_policy_log_log(int32_t level, uint8_t *ptr, size_t len) {
    log_line_t *l = calloc(1, sizeof *l);
    if (!l) abort();
    l->level = (articdbm_log_level_t)level;
    l->text = dup_n(ptr, len > 4096 ? 4096 : len);
    if (host.logs_tail) {
        host.logs_tail->next = l;
    } else {
        host.logs = l;
    }
    host.logs_tail = l;
    host.n_logs++;
    if (getenv("ARTICDBM_TEST_VERBOSE")) fprintf(stderr, "[log %d] %s\n", level, l->text);
}

int64_t __wasm_import_articdbm_policy_clock_now_ms(void);
int64_t __wasm_import_articdbm_policy_clock_now_ms(void) {
    host.stateful = true;
    return (int64_t)host.now_ms;
}

int64_t __wasm_import_articdbm_policy_clock_monotonic_ns(void);
int64_t __wasm_import_articdbm_policy_clock_monotonic_ns(void) {
    host.stateful = true;
    return (int64_t)(host.now_ms * 1000000ULL);
}

void __wasm_import_articdbm_policy_kv_get(uint8_t *key, size_t key_len, uint8_t *ret);
void __wasm_import_articdbm_policy_kv_get(uint8_t *key, size_t key_len, uint8_t *ret) {
    if (!kv_check(key, key_len, ret, P, 2 * P)) return;
    ret[0] = 0;
    kv_entry_t **e = kv_find((const char *)key, key_len);
    if (!e) {
        ret[P] = 0;
        return;
    }
    ret[P] = 1;
    uint8_t *copy = NULL;
    if ((*e)->len) {
        copy = malloc((*e)->len);
        if (!copy) abort();
        memcpy(copy, (*e)->value, (*e)->len);
    }
    *(uint8_t **)(ret + 2 * P) = copy;
    *(size_t *)(ret + 3 * P) = (*e)->len;
}

static void kv_store(const uint8_t *key, size_t key_len, const void *value, size_t len,
                     bool has_ttl, int64_t ttl, bool keep_expiry) {
    kv_entry_t **found = kv_find((const char *)key, key_len);
    kv_entry_t *e;
    if (found) {
        e = *found;
        free(e->value);
    } else {
        e = calloc(1, sizeof *e);
        if (!e) abort();
        e->key = dup_n(key, key_len);
        e->next = host.kv;
        host.kv = e;
        keep_expiry = false;
    }
    e->value = dup_n(value, len);
    e->len = len;
    if (!keep_expiry) e->expires = has_ttl ? host.now_ms + (uint64_t)ttl : 0;
}

void __wasm_import_articdbm_policy_kv_set(uint8_t *key, size_t key_len, uint8_t *value,
                                          size_t value_len, int32_t has_ttl, int64_t ttl,
                                          uint8_t *ret);
void __wasm_import_articdbm_policy_kv_set(uint8_t *key, size_t key_len, uint8_t *value,
                                          size_t value_len, int32_t has_ttl, int64_t ttl,
                                          uint8_t *ret) {
    if (!kv_check(key, key_len, ret, P, 2 * P)) return;
    if (value_len > 64 * 1024) {
        ret[0] = 1;
        ret[P] = ARTICDBM_POLICY_KV_KV_ERROR_INVALID;
        put_str(ret, 2 * P, "value exceeds 64 KiB");
        return;
    }
    kv_store(key, key_len, value, value_len, has_ttl != 0, ttl, false);
    ret[0] = 0;
}

void __wasm_import_articdbm_policy_kv_incr(uint8_t *key, size_t key_len, int64_t delta,
                                           int32_t has_ttl, int64_t ttl, uint8_t *ret);
void __wasm_import_articdbm_policy_kv_incr(uint8_t *key, size_t key_len, int64_t delta,
                                           int32_t has_ttl, int64_t ttl, uint8_t *ret) {
    if (!kv_check(key, key_len, ret, 8, 8 + P)) return;
    kv_entry_t **e = kv_find((const char *)key, key_len);
    int64_t current = 0;
    if (e) {
        char *end = NULL;
        const char *v = (*e)->value;
        long long parsed = strtoll(v, &end, 10);
        if ((*e)->len == 0 || end != v + (*e)->len || isspace((unsigned char)v[0])) {
            ret[0] = 1;
            ret[8] = ARTICDBM_POLICY_KV_KV_ERROR_NOT_AN_INTEGER;
            return;
        }
        current = (int64_t)parsed;
    }
    int64_t next;
    if (__builtin_add_overflow(current, delta, &next)) next = delta > 0 ? INT64_MAX : INT64_MIN;
    char text[32];
    snprintf(text, sizeof text, "%" PRId64, next);
    kv_store(key, key_len, text, strlen(text), has_ttl != 0, ttl, e != NULL);
    ret[0] = 0;
    *(int64_t *)(ret + 8) = next;
}

void __wasm_import_articdbm_policy_kv_delete(uint8_t *key, size_t key_len, uint8_t *ret);
void __wasm_import_articdbm_policy_kv_delete(uint8_t *key, size_t key_len, uint8_t *ret) {
    if (!kv_check(key, key_len, ret, P, 2 * P)) return;
    kv_entry_t **e = kv_find((const char *)key, key_len);
    if (e) {
        kv_entry_t *dead = *e;
        *e = dead->next;
        free(dead->key);
        free(dead->value);
        free(dead);
    }
    ret[0] = 0;
}

static void indicator_lookup(articdbm_indicator_kind_t kind, const uint8_t *value, size_t len,
                             bool substring, uint8_t *ret) {
    host.stateful = true;
    for (indicator_t *i = host.indicators; i; i = i->next) {
        if (i->kind != kind) continue;
        size_t n = strlen(i->value);
        bool hit = false;
        if (substring) {
            for (size_t k = 0; !hit && n <= len && k + n <= len; k++) {
                hit = memcmp(value + k, i->value, n) == 0;
            }
        } else if (n == len) {
            hit = true;
            for (size_t k = 0; k < n; k++) {
                if (tolower(value[k]) != tolower((unsigned char)i->value[k])) hit = false;
            }
        }
        if (!hit) continue;
        char id[32];
        snprintf(id, sizeof id, "test--%u", i->id);
        ret[0] = 1;
        put_str(ret, P, id);
        ret[3 * P] = kind;
        put_str(ret, 4 * P, i->value);
        ret[6 * P] = i->confidence;
        put_str(ret, 7 * P, "test");
        return;
    }
    ret[0] = 0;
}

void __wasm_import_articdbm_policy_indicators_address_listed(uint8_t *addr, size_t len,
                                                             uint8_t *ret);
void __wasm_import_articdbm_policy_indicators_address_listed(uint8_t *addr, size_t len,
                                                             uint8_t *ret) {
    indicator_lookup(ARTICDBM_INDICATOR_ADDRESS, addr, len, false, ret);
}

void __wasm_import_articdbm_policy_indicators_name_listed(int32_t kind, uint8_t *name,
                                                          size_t len, uint8_t *ret);
void __wasm_import_articdbm_policy_indicators_name_listed(int32_t kind, uint8_t *name,
                                                          size_t len, uint8_t *ret) {
    indicator_lookup((articdbm_indicator_kind_t)kind, name, len, false, ret);
}

void __wasm_import_articdbm_policy_indicators_sql_pattern_match(uint8_t *sql, size_t len,
                                                                uint8_t *ret);
void __wasm_import_articdbm_policy_indicators_sql_pattern_match(uint8_t *sql, size_t len,
                                                                uint8_t *ret) {
    indicator_lookup(ARTICDBM_INDICATOR_SQL_PATTERN, sql, len, true, ret);
}

void __wasm_import_articdbm_policy_metrics_counter_add(uint8_t *name, size_t len, int64_t value);
void __wasm_import_articdbm_policy_metrics_counter_add(uint8_t *name, size_t len, int64_t value) {
    for (counter_t *c = host.counters; c; c = c->next) {
        if (strlen(c->name) == len && memcmp(c->name, name, len) == 0) {
            c->value += (uint64_t)value;
            return;
        }
    }
    counter_t *c = calloc(1, sizeof *c);
    if (!c) abort();
    c->name = dup_n(name, len);
    c->value = (uint64_t)value;
    c->next = host.counters;
    host.counters = c;
}

void __wasm_import_articdbm_policy_reuse_reuse_verdict(int32_t scope);
void __wasm_import_articdbm_policy_reuse_reuse_verdict(int32_t scope) {
    host.reuse_set = true;
    host.reuse_scope = scope;
    host.reuse_basis = ARTICDBM_REUSE_SHAPE;
}

void __wasm_import_articdbm_policy_reuse_reuse_verdict_for(int32_t scope, int32_t basis);
void __wasm_import_articdbm_policy_reuse_reuse_verdict_for(int32_t scope, int32_t basis) {
    host.reuse_set = true;
    host.reuse_scope = scope;
    host.reuse_basis = basis;
}

/* The bindings reference the type-information object's symbol to keep it linked in wasm. */
void __component_type_object_force_link_configurable_policy(void);
void __component_type_object_force_link_configurable_policy(void) {}

/* ---- inputs ---------------------------------------------------------------------------------- */

static articdbm_str_t owned(const char *s) {
    articdbm_str_t out = {NULL, 0};
    if (s && *s) {
        out.len = strlen(s);
        out.ptr = (uint8_t *)dup_n(s, out.len);
    }
    return out;
}

static articdbm_str_t copy_str(articdbm_str_t s) {
    articdbm_str_t out = {NULL, 0};
    if (s.len) {
        out.ptr = (uint8_t *)dup_n(s.ptr, s.len);
        out.len = s.len;
    }
    return out;
}

static configurable_policy_option_string_t copy_opt(configurable_policy_option_string_t o) {
    configurable_policy_option_string_t out;
    memset(&out, 0, sizeof out);
    out.is_some = o.is_some;
    if (o.is_some) out.val = copy_str(o.val);
    return out;
}

articdbm_connection_t articdbm_test_connection(const char *user, const char *const *roles) {
    articdbm_connection_t c;
    memset(&c, 0, sizeof c);
    static uint64_t next_id = 1;
    c.id = next_id++;
    c.tenant = owned("acme");
    c.user = owned(user);
    size_t n = 0;
    while (roles && roles[n]) n++;
    if (n) {
        c.roles.ptr = calloc(n, sizeof *c.roles.ptr);
        if (!c.roles.ptr) abort();
        for (size_t i = 0; i < n; i++) c.roles.ptr[i] = owned(roles[i]);
        c.roles.len = n;
    }
    c.database = owned("shop");
    c.client_addr = owned("192.0.2.7");
    c.client_port = 50000;
    c.tls = true;
    c.protocol = ARTICDBM_PROTOCOL_POSTGRES;
    c.application_name.is_some = false;
    c.account_expires_at.is_some = false;
    return c;
}

void articdbm_test_connection_free(articdbm_connection_t *conn) {
    articdbm_policy_types_connection_free(conn);
}

static articdbm_connection_t copy_connection(const articdbm_connection_t *src) {
    articdbm_connection_t c = *src;
    c.tenant = copy_str(src->tenant);
    c.user = copy_str(src->user);
    c.roles.ptr = NULL;
    c.roles.len = 0;
    if (src->roles.len) {
        c.roles.ptr = calloc(src->roles.len, sizeof *c.roles.ptr);
        if (!c.roles.ptr) abort();
        for (size_t i = 0; i < src->roles.len; i++) c.roles.ptr[i] = copy_str(src->roles.ptr[i]);
        c.roles.len = src->roles.len;
    }
    c.database = copy_str(src->database);
    c.client_addr = copy_str(src->client_addr);
    c.application_name = copy_opt(src->application_name);
    return c;
}

articdbm_query_t articdbm_test_query(const char *sql, const articdbm_statement_kind_t *kinds,
                                     size_t n_kinds, const articdbm_test_table_t *tables,
                                     size_t n_tables) {
    articdbm_query_t q;
    memset(&q, 0, sizeof q);
    q.sql = owned(sql);
    q.facts.parsed = true;
    if (n_kinds) {
        q.facts.statements.ptr = malloc(n_kinds * sizeof *kinds);
        if (!q.facts.statements.ptr) abort();
        memcpy(q.facts.statements.ptr, kinds, n_kinds * sizeof *kinds);
        q.facts.statements.len = n_kinds;
    }
    q.facts.stacked = n_kinds > 1;
    if (n_tables) {
        q.facts.tables.ptr = calloc(n_tables, sizeof *q.facts.tables.ptr);
        if (!q.facts.tables.ptr) abort();
        for (size_t i = 0; i < n_tables; i++) {
            articdbm_table_t *t = &q.facts.tables.ptr[i];
            t->schema.is_some = tables[i].schema != NULL;
            if (tables[i].schema) t->schema.val = owned(tables[i].schema);
            t->name = owned(tables[i].name);
            t->access = tables[i].access;
            t->nested = tables[i].nested;
        }
        q.facts.tables.len = n_tables;
    }
    return q;
}

void articdbm_test_query_free(articdbm_query_t *query) { articdbm_policy_types_query_free(query); }

static articdbm_query_t copy_query(const articdbm_query_t *src) {
    articdbm_query_t q = *src;
    q.sql = copy_str(src->sql);
    q.facts.parse_error = copy_opt(src->facts.parse_error);
    q.prepared_name = copy_opt(src->prepared_name);
    const articdbm_facts_t *f = &src->facts;
    q.facts.statements.ptr = NULL;
    if (f->statements.len) {
        q.facts.statements.ptr = malloc(f->statements.len * sizeof *f->statements.ptr);
        if (!q.facts.statements.ptr) abort();
        memcpy(q.facts.statements.ptr, f->statements.ptr,
               f->statements.len * sizeof *f->statements.ptr);
    }
    q.facts.tables.ptr = NULL;
    if (f->tables.len) {
        q.facts.tables.ptr = calloc(f->tables.len, sizeof *f->tables.ptr);
        if (!q.facts.tables.ptr) abort();
        for (size_t i = 0; i < f->tables.len; i++) {
            q.facts.tables.ptr[i] = f->tables.ptr[i];
            q.facts.tables.ptr[i].schema = copy_opt(f->tables.ptr[i].schema);
            q.facts.tables.ptr[i].name = copy_str(f->tables.ptr[i].name);
        }
    }
    q.facts.functions.ptr = NULL;
    if (f->functions.len) {
        q.facts.functions.ptr = calloc(f->functions.len, sizeof *f->functions.ptr);
        if (!q.facts.functions.ptr) abort();
        for (size_t i = 0; i < f->functions.len; i++) {
            q.facts.functions.ptr[i] = f->functions.ptr[i];
            q.facts.functions.ptr[i].name = copy_str(f->functions.ptr[i].name);
        }
    }
    q.facts.comments.ptr = NULL;
    if (f->comments.len) {
        q.facts.comments.ptr = calloc(f->comments.len, sizeof *f->comments.ptr);
        if (!q.facts.comments.ptr) abort();
        for (size_t i = 0; i < f->comments.len; i++) {
            q.facts.comments.ptr[i] = f->comments.ptr[i];
            q.facts.comments.ptr[i].text = copy_str(f->comments.ptr[i].text);
        }
    }
    q.facts.constant_comparisons.ptr = NULL;
    if (f->constant_comparisons.len) {
        q.facts.constant_comparisons.ptr =
            calloc(f->constant_comparisons.len, sizeof *f->constant_comparisons.ptr);
        if (!q.facts.constant_comparisons.ptr) abort();
        for (size_t i = 0; i < f->constant_comparisons.len; i++) {
            q.facts.constant_comparisons.ptr[i] = f->constant_comparisons.ptr[i];
            q.facts.constant_comparisons.ptr[i].op = copy_str(f->constant_comparisons.ptr[i].op);
        }
    }
    return q;
}

/* ---- driving the exports ----------------------------------------------------------------------- */

static void before_call(void) {
    host.reuse_set = false;
    host.stateful = false;
}

bool articdbm_test_configure(const char *json, char **err) {
    before_call();
    articdbm_str_t arg = owned(json);
    articdbm_str_t e = {NULL, 0};
    if (err) *err = NULL;
    bool ok = exports_articdbm_policy_config_configure(&arg, &e);
    if (!ok) {
        if (err) *err = dup_n(e.ptr, e.len);
        configurable_policy_string_free(&e); /* post-return */
    }
    return ok;
}

articdbm_verdict_t articdbm_test_on_connect(const articdbm_connection_t *conn) {
    before_call();
    articdbm_connection_t c = copy_connection(conn);
    articdbm_verdict_t v;
    exports_articdbm_policy_hooks_on_connect(&c, &v);
    return v;
}

articdbm_verdict_t articdbm_test_on_query(const articdbm_connection_t *conn,
                                          const articdbm_query_t *query) {
    before_call();
    articdbm_connection_t c = copy_connection(conn);
    articdbm_query_t q = copy_query(query);
    articdbm_verdict_t v;
    exports_articdbm_policy_hooks_on_query(&c, &q, &v);
    return v;
}

/* ---- assertions ----------------------------------------------------------------------------------- */

void articdbm_test_check_verdict(const articdbm_verdict_t *v, int tag, const char *rule,
                                 const char *file, int line, const char *expr) {
    static const char *const names[] = {"allow", "deny", "audit"};
    const articdbm_finding_t *f = articdbm_verdict_finding(v);
    bool ok = v->tag == tag && (!rule || (f && articdbm_str_eq(f->rule, rule)));
    if (ok) {
        articdbm_test_passed++;
        return;
    }
    articdbm_test_failed++;
    fprintf(stderr, "%s:%d: %s: expected %s%s%s, got %s", file, line, expr,
            tag >= 0 && tag <= 2 ? names[tag] : "?", rule ? " " : "", rule ? rule : "",
            v->tag <= 2 ? names[v->tag] : "?");
    if (f) {
        fprintf(stderr, " %.*s (%.*s)", ARTICDBM_STR_ARG(f->rule), ARTICDBM_STR_ARG(f->reason));
    }
    fprintf(stderr, "\n");
}

int articdbm_test_summary(const char *suite) {
    articdbm_test_reset(); /* frees the host's state, so leak checks see only real leaks */
    printf("%s: %u passed, %u failed\n", suite, articdbm_test_passed, articdbm_test_failed);
    return articdbm_test_failed ? 1 : 0;
}
