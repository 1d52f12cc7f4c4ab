#!/usr/bin/env bash
# The main job, from a fresh clone with only the Rust toolchain: builds the gateway and every
# plugin component, then runs the example traffic in examples/traffic.jsonl through the shipped
# baseline pack (policies/default.toml) and prints one JSON verdict per statement.
#
# Extra arguments are passed to `articdbm-gateway policy test` (e.g. `--input your.jsonl`,
# `--pack examples/packs/acme.toml`).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2
fi
cargo build --release --locked -p articdbm-plugin-artifacts -p articdbm-gateway

input=examples/traffic.jsonl
for a in "$@"; do [ "$a" = "--input" ] && input=""; done
exec target/release/articdbm-gateway policy test \
    --pack policies --plugins target/plugins \
    ${input:+--input "$input"} "$@"
