#!/usr/bin/env bash
# Builds a C policy plugin into a WebAssembly component.
#
#   plugin-sdk/c/build.sh PLUGIN_DIR OUT.wasm
#
# PLUGIN_DIR holds app.c (and its manifest.json). Installs the toolchain when missing (Debian:
# clang lld wasi-libc libclang-rt-14-dev-wasm32, see toolchain.sh), then runs the builder in
# plugin-sdk/build (bindings with wit-bindgen-c, clang --target=wasm32-wasi, wit-component with
# Wasmtime's wasi_snapshot_preview1 reactor adapter). Prints errors, or one line:
# `built OUT.wasm (N bytes)`. The same builder is `articdbm-gateway plugin build`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ARTICDBM_REPO="$(cd "$here/../.." && pwd)"
# shellcheck source=toolchain.sh
. "$here/toolchain.sh"

if [ $# -ne 2 ]; then
    echo "usage: $0 PLUGIN_DIR OUT.wasm" >&2
    exit 2
fi
plugin_dir="$1"
out="$2"
if [ ! -d "$plugin_dir" ]; then
    echo "error: plugin directory $plugin_dir does not exist" >&2
    exit 1
fi
if [ ! -f "$plugin_dir/app.c" ]; then
    echo "error: $plugin_dir/app.c does not exist: a C plugin's source is app.c in the plugin directory, next to its manifest.json" >&2
    exit 1
fi

articdbm_c_ensure_toolchain
articdbm_c_builder "$plugin_dir" "$out"
