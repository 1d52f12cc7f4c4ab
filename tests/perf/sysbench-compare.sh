#!/usr/bin/env bash
# Compares the MySQL gateway with direct MariaDB under sysbench: oltp_point_select and
# oltp_read_only at 16 threads (pool 8, transaction pooling, default pack), and
# oltp_point_select at one thread for the added latency, and `varied` (point selects whose text
# differs per request: tests/perf/sysbench/varied_point_select.lua), in alternating rounds on
# this machine. Prints every run with the machine's CPU time per transaction, the medians, the
# varied ratio, and ends with exactly
#   ratio point_select=X read_only=Y latency1=Z
# (X, Y: gateway TPS / direct TPS; Z: added latency at one thread, in microseconds).
# Environment: ARTICDBM_BENCH_SECONDS (5), ARTICDBM_BENCH_ROUNDS (3), ARTICDBM_BENCH_THREADS
# (16), ARTICDBM_BENCH_POOL (8), ARTICDBM_BENCH_TABLE_SIZE (10000).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

# MariaDB and its client: installed only when missing; sysbench too.
bash scripts/test.sh --deps-only
if ! command -v sysbench >/dev/null 2>&1; then
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends sysbench
fi
echo "==> building the gateway, the plugin components and the benchmark helper (release)" >&2
cargo build --release -p articdbm-gateway -p articdbm-plugin-artifacts >&2
cargo build --release -p articdbm-tests --bin sysbench-compare >&2
exec target/release/sysbench-compare --gateway "$root/target/release/articdbm-gateway"
