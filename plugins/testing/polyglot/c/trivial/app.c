/*
 * trivial-c: the smallest useful C policy, for cross-language benches. Accepts the config {}
 * (the SDK's default configure), denies statements whose facts contain a DROP, allows the rest.
 * No reuse declaration and no host calls, like its Python and JavaScript twins.
 */
#include "articdbm_policy.h"

articdbm_verdict_t articdbm_policy_on_query(const articdbm_connection_t *conn,
                                            const articdbm_query_t *query) {
    (void)conn;
    if (articdbm_has_statement(query, ARTICDBM_STMT_DROP)) {
        return articdbm_deny("trivial.drop", "DROP is not allowed");
    }
    return articdbm_allow();
}
