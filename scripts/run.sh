#!/usr/bin/env bash
# The main job, from a fresh clone with only the Rust toolchain: builds the gateway and every
# plugin component, then runs the gateway with the shipped baseline pack in front of an
# embedded SQLite database (examples/gateway.toml):
#
#   PostgreSQL protocol on 127.0.0.1:6432, user "demo", password "demo", database "demo"
#   admin endpoints on http://127.0.0.1:9187/healthz and /metrics
#
# Connect with: PGPASSWORD=demo psql -h 127.0.0.1 -p 6432 -U demo demo
# Pass another config with: scripts/run.sh --config FILE
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2
fi
cargo build --release --locked -p articdbm-plugin-artifacts -p articdbm-gateway

config=examples/gateway.toml
if [ "${1:-}" = "--config" ] && [ -n "${2:-}" ]; then
    config=$2
fi
export ARTICDBM_LOG=${ARTICDBM_LOG:-info}
exec target/release/articdbm-gateway run --config "$config"
