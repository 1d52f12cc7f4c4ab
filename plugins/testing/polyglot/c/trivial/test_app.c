/* Native tests of trivial-c (run by plugin-sdk/c/test.sh). */
#include <stdlib.h>
#include <string.h>

#include "articdbm_test_host.h"

int main(void) {
    articdbm_test_reset();
    char *err = NULL;
    ARTICDBM_CHECK(articdbm_test_configure("{}", &err));
    ARTICDBM_CHECK(!articdbm_test_configure("{\"x\": 1}", &err));
    ARTICDBM_CHECK(err && strstr(err, "takes no configuration"));
    free(err);

    articdbm_connection_t conn = articdbm_test_connection("app", NULL);
    articdbm_statement_kind_t drop[] = {ARTICDBM_STMT_SELECT, ARTICDBM_STMT_DROP};
    articdbm_statement_kind_t select[] = {ARTICDBM_STMT_SELECT};
    articdbm_query_t q = articdbm_test_query("SELECT 1; DROP TABLE users", drop, 2, NULL, 0);
    articdbm_verdict_t v = articdbm_test_on_query(&conn, &q);
    ARTICDBM_CHECK(articdbm_is_deny(&v));
    ARTICDBM_CHECK(articdbm_str_eq(articdbm_verdict_finding(&v)->rule, "trivial.drop"));
    ARTICDBM_CHECK(articdbm_str_eq(articdbm_verdict_finding(&v)->reason, "DROP is not allowed"));
    articdbm_verdict_free(&v);
    articdbm_test_query_free(&q);

    q = articdbm_test_query("SELECT 'DROP TABLE users'", select, 1, NULL, 0);
    ARTICDBM_CHECK_VERDICT(articdbm_test_on_query(&conn, &q), ARTICDBM_VERDICT_ALLOW, NULL);
    ARTICDBM_CHECK_VERDICT(articdbm_test_on_connect(&conn), ARTICDBM_VERDICT_ALLOW, NULL);
    articdbm_test_query_free(&q);

    /* no reuse, no host calls */
    ARTICDBM_CHECK(!articdbm_test_reuse(NULL, NULL));
    ARTICDBM_CHECK(!articdbm_test_stateful());
    ARTICDBM_CHECK(articdbm_test_log_count() == 0);
    articdbm_test_connection_free(&conn);
    return articdbm_test_summary("trivial-c");
}
