/*
 * {{name}}: refuses DROP statements except for the users its config lists.
 *
 * Build with `articdbm-gateway plugin build .`; the SDK's reference is plugin-sdk/c/README.md
 * and plugin-sdk/c/articdbm_policy.h.
 */
#include <stdlib.h>
#include <string.h>

#include "articdbm_policy.h"

#define MAX_USERS 64

static char *allow_users[MAX_USERS];
static size_t allow_count;

bool articdbm_policy_configure(const char *json, size_t len, char **err) {
    articdbm_json_t *config = articdbm_json_parse(json, len, err);
    if (!config) return false;
    char *users[MAX_USERS];
    size_t count = 0;
    const articdbm_json_t *list = articdbm_json_get(config, "allow_users");
    for (size_t i = 0; list && i < articdbm_json_len(list); i++) {
        const char *user = articdbm_json_string(articdbm_json_at(list, i));
        if (!user || count == MAX_USERS) {
            for (size_t k = 0; k < count; k++) free(users[k]);
            articdbm_json_free(config);
            return articdbm_fail(err, "allow_users: expected at most %d user names", MAX_USERS);
        }
        users[count++] = strdup(user);
    }
    articdbm_json_free(config);
    /* Replace the previous config only once the new one is whole. */
    for (size_t k = 0; k < allow_count; k++) free(allow_users[k]);
    memcpy(allow_users, users, count * sizeof users[0]);
    allow_count = count;
    return true;
}

static bool allowed(const articdbm_connection_t *conn) {
    for (size_t i = 0; i < allow_count; i++) {
        if (articdbm_str_eq(conn->user, allow_users[i])) return true;
    }
    return false;
}

articdbm_verdict_t articdbm_policy_on_query(const articdbm_connection_t *conn,
                                            const articdbm_query_t *query) {
    if (articdbm_has_statement(query, ARTICDBM_STMT_DROP) && !allowed(conn)) {
        articdbm_counter_add("refused_drops", 1);
        return articdbm_denyf("{{name}}.drop", "%.*s may not DROP", ARTICDBM_STR_ARG(conn->user));
    }
    return articdbm_allow();
}
