/*
 * ArticDBM C SDK: a SQL text lexer (see articdbm_policy.h), for checks the host's facts do not
 * cover, such as "is there a WHERE at the top level of this UPDATE".
 */
#include "articdbm_policy.h"

#include <ctype.h>
#include <string.h>

void articdbm_sql_lexer_init(articdbm_sql_lexer_t *lx, const char *sql, size_t len,
                             articdbm_sql_dialect_t dialect) {
    memset(lx, 0, sizeof *lx);
    lx->sql = sql ? sql : "";
    lx->len = sql ? len : 0;
    lx->dialect = dialect;
}

articdbm_sql_dialect_t articdbm_sql_dialect_of(const articdbm_connection_t *conn) {
    switch (conn->protocol) {
    case ARTICDBM_PROTOCOL_MYSQL: return ARTICDBM_SQL_MYSQL;
    case ARTICDBM_PROTOCOL_SQLITE: return ARTICDBM_SQL_SQLITE;
    default: return ARTICDBM_SQL_POSTGRES;
    }
}

static bool ident_start(unsigned char c) { return isalpha(c) || c == '_' || c >= 0x80; }
static bool ident_char(unsigned char c) { return isalnum(c) || c == '_' || c == '$' || c >= 0x80; }

static char at(const articdbm_sql_lexer_t *lx, size_t i) {
    return i < lx->len ? lx->sql[i] : '\0';
}

/* Skips whitespace and comments; false at the end of the text. */
static bool skip_blank(articdbm_sql_lexer_t *lx) {
    for (;;) {
        if (lx->pos >= lx->len) return false;
        char c = lx->sql[lx->pos];
        char d = at(lx, lx->pos + 1);
        if (isspace((unsigned char)c)) {
            lx->pos++;
            continue;
        }
        bool line = false;
        if (c == '-' && d == '-') {
            /* MySQL wants whitespace (or the end) after "--"; "1--1" is arithmetic there. */
            char e = at(lx, lx->pos + 2);
            line = lx->dialect != ARTICDBM_SQL_MYSQL || e == '\0' || isspace((unsigned char)e) ||
                   (unsigned char)e < 0x20;
        } else if (c == '#' && lx->dialect == ARTICDBM_SQL_MYSQL) {
            line = true;
        }
        if (line) {
            while (lx->pos < lx->len && lx->sql[lx->pos] != '\n') lx->pos++;
            continue;
        }
        if (c == '*' && d == '/' && lx->in_exec_comment) {
            lx->in_exec_comment = false;
            lx->pos += 2;
            continue;
        }
        if (c == '/' && d == '*') {
            if (lx->dialect == ARTICDBM_SQL_MYSQL && at(lx, lx->pos + 2) == '!' &&
                !lx->in_exec_comment) {
                /* Executable comment: its body is SQL (after an optional version number). */
                lx->pos += 3;
                while (lx->pos < lx->len && isdigit((unsigned char)lx->sql[lx->pos])) lx->pos++;
                lx->in_exec_comment = true;
                continue;
            }
            size_t depth = 1;
            lx->pos += 2;
            while (lx->pos < lx->len && depth > 0) {
                char x = lx->sql[lx->pos];
                char y = at(lx, lx->pos + 1);
                if (x == '*' && y == '/') {
                    depth--;
                    lx->pos += 2;
                } else if (x == '/' && y == '*' && lx->dialect == ARTICDBM_SQL_POSTGRES) {
                    depth++;
                    lx->pos += 2;
                } else {
                    lx->pos++;
                }
            }
            if (depth > 0) lx->unterminated = true;
            continue;
        }
        return true;
    }
}

/* Scans a quoted run starting at lx->pos (its opening delimiter) up to `close`; a doubled
 * closing quote is an escaped one (not for `]`), and so is a backslash-escaped character when
 * `backslash`. */
static void scan_quoted(articdbm_sql_lexer_t *lx, char close, bool backslash) {
    lx->pos++;
    while (lx->pos < lx->len) {
        char c = lx->sql[lx->pos];
        if (backslash && c == '\\') {
            lx->pos += 2;
            continue;
        }
        if (c == close) {
            if (at(lx, lx->pos + 1) == close && close != ']') {
                lx->pos += 2;
                continue;
            }
            lx->pos++;
            return;
        }
        lx->pos++;
    }
    lx->pos = lx->len;
    lx->unterminated = true;
}

/* PostgreSQL dollar quote at lx->pos: $tag$ ... $tag$. False when it is not one. */
static bool scan_dollar(articdbm_sql_lexer_t *lx) {
    size_t i = lx->pos + 1;
    if (i < lx->len && isdigit((unsigned char)lx->sql[i])) return false; /* $1 */
    while (i < lx->len && lx->sql[i] != '$') {
        unsigned char c = (unsigned char)lx->sql[i];
        if (!(ident_char(c) && c != '$')) return false;
        i++;
    }
    if (i >= lx->len) return false;
    size_t tag_len = i - lx->pos + 1; /* "$tag$" */
    const char *tag = lx->sql + lx->pos;
    size_t j = i + 1;
    while (j + tag_len <= lx->len) {
        if (lx->sql[j] == '$' && memcmp(lx->sql + j, tag, tag_len) == 0) {
            lx->pos = j + tag_len;
            return true;
        }
        j++;
    }
    lx->pos = lx->len;
    lx->unterminated = true;
    return true;
}

bool articdbm_sql_next(articdbm_sql_lexer_t *lx, articdbm_sql_token_t *tok) {
    if (!skip_blank(lx)) return false;
    size_t start = lx->pos;
    unsigned char c = (unsigned char)lx->sql[start];
    char d = at(lx, start + 1);
    tok->depth = lx->depth;
    tok->statement = lx->statement;
    bool mysql = lx->dialect == ARTICDBM_SQL_MYSQL;

    if (c == '\'') {
        tok->kind = ARTICDBM_SQL_STRING;
        scan_quoted(lx, '\'', mysql);
    } else if ((c == 'E' || c == 'e') && d == '\'' && lx->dialect == ARTICDBM_SQL_POSTGRES) {
        tok->kind = ARTICDBM_SQL_STRING;
        lx->pos++;
        scan_quoted(lx, '\'', true);
    } else if ((c == 'N' || c == 'n' || c == 'X' || c == 'x' || c == 'B' || c == 'b') &&
               d == '\'') {
        tok->kind = ARTICDBM_SQL_STRING;
        lx->pos++;
        scan_quoted(lx, '\'', mysql);
    } else if ((c == 'U' || c == 'u') && d == '&' && at(lx, start + 2) == '\'' &&
               lx->dialect == ARTICDBM_SQL_POSTGRES) {
        tok->kind = ARTICDBM_SQL_STRING;
        lx->pos += 2;
        scan_quoted(lx, '\'', false);
    } else if (c == '"') {
        tok->kind = mysql ? ARTICDBM_SQL_STRING : ARTICDBM_SQL_QUOTED_IDENT;
        scan_quoted(lx, '"', mysql);
    } else if (c == '`' && lx->dialect != ARTICDBM_SQL_POSTGRES) {
        tok->kind = ARTICDBM_SQL_QUOTED_IDENT;
        scan_quoted(lx, '`', false);
    } else if (c == '[' && lx->dialect == ARTICDBM_SQL_SQLITE) {
        tok->kind = ARTICDBM_SQL_QUOTED_IDENT;
        scan_quoted(lx, ']', false);
    } else if (c == '$' && lx->dialect == ARTICDBM_SQL_POSTGRES && scan_dollar(lx)) {
        tok->kind = ARTICDBM_SQL_STRING;
    } else if (c == '$' && isdigit((unsigned char)d)) {
        tok->kind = ARTICDBM_SQL_PARAM;
        lx->pos++;
        while (lx->pos < lx->len && isdigit((unsigned char)lx->sql[lx->pos])) lx->pos++;
    } else if (c == '?') {
        tok->kind = ARTICDBM_SQL_PARAM;
        lx->pos++;
    } else if (c == ':' && ident_start((unsigned char)d) && d != '\0' &&
               (start == 0 || lx->sql[start - 1] != ':')) { /* not the type of a :: cast */
        tok->kind = ARTICDBM_SQL_PARAM;
        lx->pos++;
        while (lx->pos < lx->len && ident_char((unsigned char)lx->sql[lx->pos])) lx->pos++;
    } else if (isdigit(c) || (c == '.' && isdigit((unsigned char)d))) {
        tok->kind = ARTICDBM_SQL_NUMBER;
        if (c == '0' && (d == 'x' || d == 'X')) {
            lx->pos += 2;
            while (lx->pos < lx->len && isxdigit((unsigned char)lx->sql[lx->pos])) lx->pos++;
        } else {
            while (lx->pos < lx->len && (isdigit((unsigned char)lx->sql[lx->pos]) ||
                                         lx->sql[lx->pos] == '.' || lx->sql[lx->pos] == '_'))
                lx->pos++;
            char e = at(lx, lx->pos);
            if (e == 'e' || e == 'E') {
                size_t k = lx->pos + 1;
                if (at(lx, k) == '+' || at(lx, k) == '-') k++;
                if (isdigit((unsigned char)at(lx, k))) {
                    lx->pos = k;
                    while (lx->pos < lx->len && isdigit((unsigned char)lx->sql[lx->pos]))
                        lx->pos++;
                }
            }
        }
    } else if (ident_start(c)) {
        tok->kind = ARTICDBM_SQL_WORD;
        while (lx->pos < lx->len && ident_char((unsigned char)lx->sql[lx->pos])) lx->pos++;
    } else {
        tok->kind = ARTICDBM_SQL_PUNCT;
        lx->pos++;
        if (c == '(') {
            lx->depth++;
        } else if (c == ')') {
            if (lx->depth > 0) lx->depth--;
            tok->depth = lx->depth;
        } else if (c == ';' && lx->depth == 0) {
            lx->statement++;
        }
    }
    tok->start = lx->sql + start;
    tok->len = lx->pos - start;
    return true;
}

bool articdbm_sql_is_word(const articdbm_sql_token_t *tok, const char *word) {
    if (tok->kind != ARTICDBM_SQL_WORD) return false;
    size_t n = strlen(word);
    if (tok->len != n) return false;
    for (size_t i = 0; i < n; i++) {
        if (tolower((unsigned char)tok->start[i]) != tolower((unsigned char)word[i])) return false;
    }
    return true;
}

bool articdbm_sql_is_punct(const articdbm_sql_token_t *tok, char c) {
    return tok->kind == ARTICDBM_SQL_PUNCT && tok->len == 1 && tok->start[0] == c;
}

bool articdbm_sql_has_top_level_word(const char *sql, size_t len, articdbm_sql_dialect_t dialect,
                                     const char *keyword) {
    articdbm_sql_lexer_t lx;
    articdbm_sql_token_t tok;
    articdbm_sql_lexer_init(&lx, sql, len, dialect);
    while (articdbm_sql_next(&lx, &tok)) {
        if (tok.depth == 0 && articdbm_sql_is_word(&tok, keyword)) return true;
    }
    return false;
}
