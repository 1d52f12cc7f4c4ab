/*
 * ArticDBM C SDK: a small JSON reader (RFC 8259) for plugin configs. A recursive-descent parser
 * into a tree; strict (no trailing commas, comments, NaN, leading zeros or invalid UTF-8).
 * Written for the SDK rather than vendored: configs are small, validated by the gateway against
 * the manifest's JSON Schema first, and this keeps the component small with no licence to carry.
 */
#include "articdbm_policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

struct articdbm_json {
    articdbm_json_type_t type;
    bool boolean;
    bool is_int;
    int64_t integer;
    double number;
    /* string: decoded bytes + NUL */
    char *str;
    size_t str_len;
    /* array / object */
    articdbm_json_t **items;
    char **keys; /* objects only */
    size_t len, cap;
};

typedef struct {
    const char *s;
    size_t len;
    size_t pos;
    char *err;
    bool oom;
} parser_t;

static bool fail(parser_t *p, const char *what) {
    if (!p->err) {
        char buf[160];
        if (p->pos >= p->len) {
            snprintf(buf, sizeof buf, "invalid JSON at byte %zu (end of text): %s", p->pos, what);
        } else {
            unsigned char c = (unsigned char)p->s[p->pos];
            if (c >= 0x20 && c < 0x7f) {
                snprintf(buf, sizeof buf, "invalid JSON at byte %zu ('%c'): %s", p->pos, c, what);
            } else {
                snprintf(buf, sizeof buf, "invalid JSON at byte %zu (0x%02x): %s", p->pos, c,
                         what);
            }
        }
        p->err = malloc(strlen(buf) + 1);
        if (p->err) memcpy(p->err, buf, strlen(buf) + 1);
    }
    return false;
}

static bool oom(parser_t *p) {
    p->oom = true;
    return fail(p, "out of memory");
}

static void skip_ws(parser_t *p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            p->pos++;
        } else {
            break;
        }
    }
}

static articdbm_json_t *new_node(parser_t *p, articdbm_json_type_t type) {
    articdbm_json_t *n = calloc(1, sizeof *n);
    if (!n) {
        oom(p);
        return NULL;
    }
    n->type = type;
    return n;
}

void articdbm_json_free(articdbm_json_t *v) {
    if (!v) return;
    for (size_t i = 0; i < v->len; i++) {
        articdbm_json_free(v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    free(v);
}

static bool push_item(parser_t *p, articdbm_json_t *agg, char *key, articdbm_json_t *item) {
    if (agg->len == agg->cap) {
        size_t cap = agg->cap ? agg->cap * 2 : 4;
        articdbm_json_t **items = realloc(agg->items, cap * sizeof *items);
        if (!items) return oom(p);
        agg->items = items;
        if (agg->type == ARTICDBM_JSON_OBJECT) {
            char **keys = realloc(agg->keys, cap * sizeof *keys);
            if (!keys) return oom(p);
            agg->keys = keys;
        }
        agg->cap = cap;
    }
    agg->items[agg->len] = item;
    if (agg->type == ARTICDBM_JSON_OBJECT) agg->keys[agg->len] = key;
    agg->len++;
    return true;
}

/* Appends the UTF-8 encoding of cp to buf. */
static size_t put_utf8(char *buf, uint32_t cp) {
    if (cp < 0x80) {
        buf[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        buf[0] = (char)(0xC0 | (cp >> 6));
        buf[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        buf[0] = (char)(0xE0 | (cp >> 12));
        buf[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    buf[0] = (char)(0xF0 | (cp >> 18));
    buf[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    buf[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    buf[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static int hex4(parser_t *p, uint32_t *out) {
    if (p->len - p->pos < 4) return 0;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos + i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return 0;
    }
    p->pos += 4;
    *out = v;
    return 1;
}

/* Parses a string at p->pos (which is '"'); the decoded text is at most as long as the raw. */
static bool parse_string(parser_t *p, char **out, size_t *out_len) {
    p->pos++; /* opening quote */
    size_t start = p->pos;
    /* Find the closing quote to size the buffer. */
    size_t end = start;
    while (end < p->len && p->s[end] != '"') {
        if (p->s[end] == '\\') end++;
        end++;
    }
    if (end >= p->len) {
        p->pos = p->len;
        return fail(p, "unterminated string");
    }
    char *buf = malloc(end - start + 1);
    if (!buf) return oom(p);
    size_t n = 0;
    while (p->s[p->pos] != '"') {
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c < 0x20) {
            free(buf);
            return fail(p, "control character in string (escape it)");
        }
        if (c == '\\') {
            p->pos++;
            char e = p->s[p->pos++];
            switch (e) {
            case '"': buf[n++] = '"'; break;
            case '\\': buf[n++] = '\\'; break;
            case '/': buf[n++] = '/'; break;
            case 'b': buf[n++] = '\b'; break;
            case 'f': buf[n++] = '\f'; break;
            case 'n': buf[n++] = '\n'; break;
            case 'r': buf[n++] = '\r'; break;
            case 't': buf[n++] = '\t'; break;
            case 'u': {
                uint32_t cp;
                if (!hex4(p, &cp)) {
                    free(buf);
                    return fail(p, "\\u needs four hex digits");
                }
                if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    free(buf);
                    return fail(p, "lone low surrogate in \\u escape");
                }
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    uint32_t lo;
                    if (p->len - p->pos < 6 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
                        free(buf);
                        return fail(p, "high surrogate not followed by a \\u low surrogate");
                    }
                    p->pos += 2;
                    if (!hex4(p, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                        free(buf);
                        return fail(p, "high surrogate not followed by a \\u low surrogate");
                    }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                /* \uXXXX (6 raw bytes) decodes to at most 3 bytes, a pair (12) to 4. */
                n += put_utf8(buf + n, cp);
                break;
            }
            default:
                p->pos--;
                free(buf);
                return fail(p, "invalid escape");
            }
            continue;
        }
        size_t k = articdbm_utf8_seq_len((const uint8_t *)p->s + p->pos, end - p->pos);
        if (k == 0) {
            free(buf);
            return fail(p, "invalid UTF-8 in string");
        }
        memcpy(buf + n, p->s + p->pos, k);
        n += k;
        p->pos += k;
    }
    p->pos++; /* closing quote */
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return true;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static articdbm_json_t *parse_number(parser_t *p) {
    size_t start = p->pos;
    bool integral = true;
    if (p->pos < p->len && p->s[p->pos] == '-') p->pos++;
    if (p->pos >= p->len || !is_digit(p->s[p->pos])) {
        fail(p, "expected a digit");
        return NULL;
    }
    if (p->s[p->pos] == '0') {
        p->pos++;
        if (p->pos < p->len && is_digit(p->s[p->pos])) {
            fail(p, "leading zeros are not allowed");
            return NULL;
        }
    } else {
        while (p->pos < p->len && is_digit(p->s[p->pos])) p->pos++;
    }
    if (p->pos < p->len && p->s[p->pos] == '.') {
        integral = false;
        p->pos++;
        if (p->pos >= p->len || !is_digit(p->s[p->pos])) {
            fail(p, "expected a digit after '.'");
            return NULL;
        }
        while (p->pos < p->len && is_digit(p->s[p->pos])) p->pos++;
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        integral = false;
        p->pos++;
        if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-')) p->pos++;
        if (p->pos >= p->len || !is_digit(p->s[p->pos])) {
            fail(p, "expected a digit in the exponent");
            return NULL;
        }
        while (p->pos < p->len && is_digit(p->s[p->pos])) p->pos++;
    }
    size_t n = p->pos - start;
    char small[64];
    char *text = n < sizeof small ? small : malloc(n + 1);
    if (!text) {
        oom(p);
        return NULL;
    }
    memcpy(text, p->s + start, n);
    text[n] = '\0';
    articdbm_json_t *node = new_node(p, ARTICDBM_JSON_NUMBER);
    if (node) {
        node->number = strtod(text, NULL);
        if (integral) {
            /* Exact int64 when it fits. */
            const char *d = text;
            bool neg = *d == '-';
            if (neg) d++;
            uint64_t acc = 0;
            bool fits = true;
            for (; *d; d++) {
                uint64_t digit = (uint64_t)(*d - '0');
                if (acc > (UINT64_MAX - digit) / 10) {
                    fits = false;
                    break;
                }
                acc = acc * 10 + digit;
            }
            if (fits && !neg && acc <= (uint64_t)INT64_MAX) {
                node->is_int = true;
                node->integer = (int64_t)acc;
            } else if (fits && neg && acc <= (uint64_t)INT64_MAX + 1) {
                node->is_int = true;
                node->integer = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
            }
        }
    }
    if (text != small) free(text);
    return node;
}

static bool literal(parser_t *p, const char *word) {
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) return false;
    p->pos += n;
    return true;
}

static articdbm_json_t *parse_value(parser_t *p, int depth) {
    skip_ws(p);
    if (p->pos >= p->len) {
        fail(p, "expected a value");
        return NULL;
    }
    char c = p->s[p->pos];
    if (c == '{' || c == '[') {
        if (depth >= JSON_MAX_DEPTH) {
            fail(p, "nested too deeply");
            return NULL;
        }
        bool object = c == '{';
        char close = object ? '}' : ']';
        articdbm_json_t *agg = new_node(p, object ? ARTICDBM_JSON_OBJECT : ARTICDBM_JSON_ARRAY);
        if (!agg) return NULL;
        p->pos++;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == close) {
            p->pos++;
            return agg;
        }
        for (;;) {
            char *key = NULL;
            if (object) {
                skip_ws(p);
                if (p->pos >= p->len || p->s[p->pos] != '"') {
                    fail(p, "expected a member name in double quotes");
                    goto bad;
                }
                size_t klen;
                if (!parse_string(p, &key, &klen)) goto bad;
                skip_ws(p);
                if (p->pos >= p->len || p->s[p->pos] != ':') {
                    free(key);
                    fail(p, "expected ':' after the member name");
                    goto bad;
                }
                p->pos++;
            }
            articdbm_json_t *item = parse_value(p, depth + 1);
            if (!item) {
                free(key);
                goto bad;
            }
            if (!push_item(p, agg, key, item)) {
                free(key);
                articdbm_json_free(item);
                goto bad;
            }
            skip_ws(p);
            if (p->pos < p->len && p->s[p->pos] == ',') {
                p->pos++;
                continue;
            }
            if (p->pos < p->len && p->s[p->pos] == close) {
                p->pos++;
                return agg;
            }
            fail(p, object ? "expected ',' or '}'" : "expected ',' or ']'");
            goto bad;
        }
    bad:
        articdbm_json_free(agg);
        return NULL;
    }
    if (c == '"') {
        articdbm_json_t *s = new_node(p, ARTICDBM_JSON_STRING);
        if (!s) return NULL;
        if (!parse_string(p, &s->str, &s->str_len)) {
            articdbm_json_free(s);
            return NULL;
        }
        return s;
    }
    if (c == '-' || is_digit(c)) return parse_number(p);
    bool truth = literal(p, "true");
    if (truth || literal(p, "false")) {
        articdbm_json_t *b = new_node(p, ARTICDBM_JSON_BOOL);
        if (b) b->boolean = truth;
        return b;
    }
    if (literal(p, "null")) return new_node(p, ARTICDBM_JSON_NULL);
    fail(p, "expected a value (object, array, string, number, true, false or null)");
    return NULL;
}

articdbm_json_t *articdbm_json_parse(const char *text, size_t len, char **err) {
    parser_t p = {text ? text : "", text ? len : 0, 0, NULL, false};
    if (err) *err = NULL;
    skip_ws(&p);
    if (p.pos == p.len) {
        parser_t q = {"{}", 2, 0, NULL, false};
        return parse_value(&q, 0);
    }
    articdbm_json_t *v = parse_value(&p, 0);
    if (v) {
        skip_ws(&p);
        if (p.pos != p.len) {
            fail(&p, "unexpected text after the value");
            articdbm_json_free(v);
            v = NULL;
        }
    }
    if (!v) {
        if (err) {
            *err = p.err;
        } else {
            free(p.err);
        }
    }
    return v;
}

articdbm_json_type_t articdbm_json_type(const articdbm_json_t *v) {
    return v ? v->type : ARTICDBM_JSON_NULL;
}

const char *articdbm_json_type_name(articdbm_json_type_t type) {
    switch (type) {
    case ARTICDBM_JSON_NULL: return "null";
    case ARTICDBM_JSON_BOOL: return "boolean";
    case ARTICDBM_JSON_NUMBER: return "number";
    case ARTICDBM_JSON_STRING: return "string";
    case ARTICDBM_JSON_ARRAY: return "array";
    case ARTICDBM_JSON_OBJECT: return "object";
    }
    return "unknown";
}

const articdbm_json_t *articdbm_json_get(const articdbm_json_t *o, const char *key) {
    if (!o || o->type != ARTICDBM_JSON_OBJECT) return NULL;
    /* The last of duplicate members wins, as in most parsers. */
    for (size_t i = o->len; i-- > 0;) {
        if (strcmp(o->keys[i], key) == 0) return o->items[i];
    }
    return NULL;
}

size_t articdbm_json_len(const articdbm_json_t *v) {
    return v && (v->type == ARTICDBM_JSON_ARRAY || v->type == ARTICDBM_JSON_OBJECT) ? v->len : 0;
}

const articdbm_json_t *articdbm_json_at(const articdbm_json_t *v, size_t i) {
    return i < articdbm_json_len(v) ? v->items[i] : NULL;
}

const char *articdbm_json_key_at(const articdbm_json_t *o, size_t i) {
    return o && o->type == ARTICDBM_JSON_OBJECT && i < o->len ? o->keys[i] : NULL;
}

const char *articdbm_json_string(const articdbm_json_t *v) {
    return v && v->type == ARTICDBM_JSON_STRING ? v->str : NULL;
}

size_t articdbm_json_string_len(const articdbm_json_t *v) {
    return v && v->type == ARTICDBM_JSON_STRING ? v->str_len : 0;
}

bool articdbm_json_bool(const articdbm_json_t *v) {
    return v && v->type == ARTICDBM_JSON_BOOL && v->boolean;
}

double articdbm_json_number(const articdbm_json_t *v) {
    return v && v->type == ARTICDBM_JSON_NUMBER ? v->number : 0.0;
}

bool articdbm_json_int(const articdbm_json_t *v, int64_t *out) {
    if (!v || v->type != ARTICDBM_JSON_NUMBER || !v->is_int) return false;
    if (out) *out = v->integer;
    return true;
}

bool articdbm_json_only_keys(const articdbm_json_t *o, const char *const *allowed, char **err) {
    for (size_t i = 0; i < articdbm_json_len(o) && o->type == ARTICDBM_JSON_OBJECT; i++) {
        bool known = false;
        for (const char *const *a = allowed; *a; a++) {
            if (strcmp(*a, o->keys[i]) == 0) {
                known = true;
                break;
            }
        }
        if (!known) return articdbm_fail(err, "unknown config field \"%s\"", o->keys[i]);
    }
    return true;
}
