/*
 * faults-c: misbehaves on purpose, to test how the gateway contains a C plugin. on-query looks
 * at the SQL text:
 *   "trap-me"  -> __builtin_trap(): the wasm `unreachable` instruction, C's natural crash;
 *   "spin-me"  -> an infinite loop (the deadline must stop it);
 *   "hog-me"   -> allocates 64 KiB blocks, touching and keeping every one, until malloc
 *                 returns NULL at the memory limit, then traps;
 *   otherwise  -> allow.
 */
#include <stdlib.h>
#include <string.h>

#include "articdbm_policy.h"

static bool contains(const articdbm_query_t *query, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= query->sql.len; i++) {
        if (memcmp(query->sql.ptr + i, needle, n) == 0) return true;
    }
    return false;
}

/* Keeps every block reachable, so nothing can be optimised away. */
static void **hoard;
static size_t hoard_len, hoard_cap;

articdbm_verdict_t articdbm_policy_on_query(const articdbm_connection_t *conn,
                                            const articdbm_query_t *query) {
    (void)conn;
    if (contains(query, "trap-me")) {
        __builtin_trap();
    }
    if (contains(query, "spin-me")) {
        volatile unsigned long spins = 0;
        for (;;) spins++;
    }
    if (contains(query, "hog-me")) {
        for (;;) {
            if (hoard_len == hoard_cap) {
                size_t cap = hoard_cap ? hoard_cap * 2 : 64;
                void **grown = realloc(hoard, cap * sizeof *grown);
                if (!grown) __builtin_trap();
                hoard = grown;
                hoard_cap = cap;
            }
            void *block = malloc(64 * 1024);
            if (!block) __builtin_trap(); /* out of memory: the natural end */
            memset(block, 0xA5, 64 * 1024);
            hoard[hoard_len++] = block;
        }
    }
    return articdbm_allow();
}
