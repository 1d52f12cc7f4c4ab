/* Native tests of faults-c (run by plugin-sdk/c/test.sh): only the harmless path; the trap,
 * spin and hog paths are exercised against the gateway (see the SDK README). */
#include "articdbm_test_host.h"

int main(void) {
    articdbm_test_reset();
    articdbm_connection_t conn = articdbm_test_connection("app", NULL);
    articdbm_statement_kind_t select[] = {ARTICDBM_STMT_SELECT};
    articdbm_query_t q = articdbm_test_query("SELECT 'trap me, spin me, hog me'", select, 1, NULL, 0);
    ARTICDBM_CHECK_VERDICT(articdbm_test_on_query(&conn, &q), ARTICDBM_VERDICT_ALLOW, NULL);
    articdbm_test_query_free(&q);
    articdbm_test_connection_free(&conn);
    return articdbm_test_summary("faults-c");
}
