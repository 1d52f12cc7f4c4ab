#!/usr/bin/env bash
# What an idle client costs the gateway: starts PostgreSQL and the gateway (default pack,
# transaction pooling) on free loopback ports in a temporary directory, opens
# ARTICDBM_IDLE_CLIENTS clients (default 10000; SCRAM, TLS off) that each run one query and
# then hold their connection, and reads the gateway's resident memory at rest, with the
# clients, and after they left. Its last line is exactly
#   idle clients=N kib_per_client=K rss_at_rest_mib=M
# Where the open-file limit is lower than the clients need, it says so and opens what it can.
# See tests/perf/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

# PostgreSQL: installed only when missing.
bash scripts/test.sh --deps-only

echo "==> building the gateway and the plugin components (release)" >&2
cargo build --release -p articdbm-gateway -p articdbm-plugin-artifacts >&2
echo "==> building the helper" >&2
cargo build --release -p articdbm-tests --bin idle-clients >&2

# The clients need a descriptor each, and the gateway raises its own soft limit to the hard
# one; the shell's soft limit is raised here for the helper and the servers it starts.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

work=$(mktemp -d "${TMPDIR:-/tmp}/articdbm-idle.XXXXXX")
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
TMPDIR=$work "$root/target/release/idle-clients" --gateway "$root/target/release/articdbm-gateway"
