#!/usr/bin/env bash
# Compares the gateway with PgBouncer and direct PostgreSQL under pgbench select-only load.
# Starts its own PostgreSQL, PgBouncer (transaction mode) and gateway (default pack,
# transaction mode, same pool size) on free loopback ports in a temporary directory, runs
# pgbench against them in alternating rounds, prints every run, the medians and the per-round
# ratios, and ends with
#   ratio simple=X prepared=Y varied=V latency1=Z cpu=C
# (with ARTICDBM_BENCH_NOSPIN=1, a second gateway with spin_us = 0 runs too, and the line
# before that one is `spin simple=X prepared=Y varied=V latency1=Z cpu_simple=C cpu_latency1=D`).
# See tests/perf/README.md. Environment: ARTICDBM_BENCH_SECONDS (default 5),
# ARTICDBM_BENCH_ROUNDS (5), ARTICDBM_BENCH_CLIENTS (16), ARTICDBM_BENCH_POOL (8),
# ARTICDBM_BENCH_SCALE (1), ARTICDBM_BENCH_BACKEND (unix|tcp), ARTICDBM_BENCH_KINDS,
# ARTICDBM_BENCH_NOSPIN (1: also gateway-nospin).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

# PostgreSQL, pgbench, PgBouncer: installed only when missing.
bash scripts/test.sh --deps-only

gateway_args=()
echo "==> building the gateway and the plugin components (release)" >&2
if cargo build --release -p articdbm-gateway -p articdbm-plugin-artifacts >&2; then
    gateway_args=(--gateway "$root/target/release/articdbm-gateway")
else
    echo "ERROR: building articdbm-gateway failed; the gateway leg will be skipped" >&2
    gateway_args=(--no-gateway "cargo build --release -p articdbm-gateway failed")
fi
echo "==> building the benchmark helper" >&2
cargo build --release -p articdbm-tests --bin pgbench-compare >&2

# Every server directory lives under $work (searchable, so the unprivileged server user can
# reach it when we are root). The helper stops everything on a normal exit; the trap covers
# an interrupted one, from the pid files the servers and the helper leave there.
work=$(mktemp -d "${TMPDIR:-/tmp}/articdbm-perf.XXXXXX")
chmod 755 "$work"
helper=""
cleanup() {
    trap - EXIT INT TERM
    if [ -n "$helper" ] && kill -0 "$helper" 2>/dev/null; then
        kill -KILL "$helper" 2>/dev/null || true
    fi
    local pidfile pid
    for pidfile in "$work"/gateway*.pid "$work"/*/pgbouncer.pid; do
        [ -f "$pidfile" ] || continue
        pid=$(head -n1 "$pidfile")
        [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    done
    for pidfile in "$work"/*/data/postmaster.pid; do
        [ -f "$pidfile" ] || continue
        pid=$(head -n1 "$pidfile")
        if [ -n "$pid" ]; then
            pkill -KILL -P "$pid" 2>/dev/null || true
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# In the background so that a signal runs the trap at once instead of after the helper.
TMPDIR=$work ARTICDBM_BENCH_PIDFILE_DIR=$work \
    "$root/target/release/pgbench-compare" "${gateway_args[@]}" &
helper=$!
status=0
wait "$helper" || status=$?
helper=""
exit "$status"
