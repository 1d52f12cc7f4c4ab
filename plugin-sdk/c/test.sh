#!/usr/bin/env bash
# Native tests of the C SDK and the C plugins, with gcc (or $CC) on this machine: no wasm.
#
#   plugin-sdk/c/test.sh
#
# Compiles the SDK's JSON reader, SQL lexer and helpers with the generated bindings and the test
# host (testing/), and runs plugin-sdk/c/tests/test_sdk.c; then, for every C plugin with a
# test_app.c next to its app.c (plugins/testing/polyglot/c/*, examples/plugins/c-*), builds and
# runs app.c + test_app.c the same way. Under AddressSanitizer (leaks included) and
# UndefinedBehaviorSanitizer when the compiler has them. Prints one "N passed, N failed" line per
# suite and a total; exits non-zero on any failure.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ARTICDBM_REPO="$(cd "$here/../.." && pwd)"
# shellcheck source=toolchain.sh
. "$here/toolchain.sh"

cc="${CC:-}"
if [ -z "$cc" ]; then
    if command -v gcc >/dev/null 2>&1; then
        cc=gcc
    elif command -v cc >/dev/null 2>&1; then
        cc=cc
    else
        echo "error: no C compiler for the native tests (install gcc: apt-get install -y gcc)" >&2
        exit 1
    fi
fi

state="${ARTICDBM_POLYGLOT_DIR:-$ARTICDBM_REPO/target/polyglot}/c"
mkdir -p "$state"
work="$(mktemp -d "$state/test.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# The generated bindings (no clang needed for this).
articdbm_c_builder --bindings "$work/gen"

flags=(-std=gnu11 -g -O1 -Wall -Wextra -Werror -Wno-unused-parameter -fno-omit-frame-pointer)
san=(-fsanitize=address,undefined -fno-sanitize-recover=all)
echo 'int main(void){return 0;}' >"$work/probe.c"
if ! "$cc" "${san[@]}" "$work/probe.c" -o "$work/probe" >/dev/null 2>&1 || ! "$work/probe"; then
    echo "note: $cc has no working -fsanitize=address,undefined here; running without sanitizers" >&2
    san=()
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

inc=(-I "$here" -I "$here/testing" -I "$work/gen")
# The generated code is not ours to lint.
"$cc" -std=gnu11 -g -O1 -w "${san[@]}" "${inc[@]}" -c "$work/gen/configurable_policy.c" -o "$work/bindings.o"
sdk=("$here/articdbm_policy.c" "$here/articdbm_json.c" "$here/articdbm_sql.c" "$here/testing/articdbm_test_host.c")

passed=0
failed=0
suites_failed=0
run_suite() { # name, binary
    local name="$1" bin="$2" out rc=0
    out="$("$bin" 2>&1)" || rc=$?
    printf '%s\n' "$out"
    local line p f
    line="$(printf '%s\n' "$out" | grep -E '^[A-Za-z0-9_-]+: [0-9]+ passed, [0-9]+ failed$' | tail -n 1 || true)"
    if [ -z "$line" ] || [ "$rc" -ne 0 ]; then
        suites_failed=$((suites_failed + 1))
    fi
    if [ -n "$line" ]; then
        p="$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\1/' <<<"$line")"
        f="$(sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed/\2/' <<<"$line")"
        passed=$((passed + p))
        failed=$((failed + f))
    else
        echo "$name: crashed or printed no summary (exit $rc)" >&2
        failed=$((failed + 1))
    fi
}

"$cc" "${flags[@]}" "${san[@]}" "${inc[@]}" "$here/tests/test_sdk.c" "${sdk[@]}" "$work/bindings.o" -lm -o "$work/test_sdk"
run_suite c-sdk "$work/test_sdk"

for dir in "$ARTICDBM_REPO"/plugins/testing/polyglot/c/*/ "$ARTICDBM_REPO"/examples/plugins/c-*/; do
    [ -f "$dir/app.c" ] && [ -f "$dir/test_app.c" ] || continue
    name="$(basename "$dir")"
    "$cc" "${flags[@]}" "${san[@]}" -I "$dir" "${inc[@]}" "$dir/test_app.c" "$dir/app.c" "${sdk[@]}" "$work/bindings.o" -lm -o "$work/test_$name"
    run_suite "$name" "$work/test_$name"
done

echo "c: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$suites_failed" -eq 0 ]
