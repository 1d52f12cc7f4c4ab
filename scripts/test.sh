#!/usr/bin/env bash
# The whole test suite, from a fresh clone on a Debian machine with only the Rust toolchain.
# Installs what it needs (only when missing), builds every plugin component as part of the
# build, and runs every test of every crate.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    log "installing the wasm32-wasip2 target"
    rustup target add wasm32-wasip2
fi

log "building (plugins are compiled to wasm32-wasip2 components by plugins/artifacts)"
cargo build --workspace --all-targets --locked

log "running the test suite"
# --all-targets also runs the benchmarks once each in test mode, so they cannot rot.
cargo test --workspace --all-targets --locked
