#!/usr/bin/env bash
# Builds a JavaScript / TypeScript ArticDBM policy plugin into a component.
#
#   plugin-sdk/js/build.sh PLUGIN_DIR OUT.wasm
#
# PLUGIN_DIR holds app.ts (compiled with tsc, strict) or app.js, an ES module exporting what
# `definePolicy` from `articdbm-policy` returns (default export, or named `hooks` + `config`).
# The module is bundled with the SDK (esbuild) and componentized with componentize-js against
# wit/v0.1.2, world `configurable-policy`, with the `http` and `fetch-event` features disabled;
# the component's imports are then checked: only articdbm:policy and WASI 0.2 cli, clocks,
# random, io and filesystem are allowed (what the gateway links). An optional
# PLUGIN_DIR/componentize.json `{"http": true}` keeps `http` on (test components only: the
# gateway refuses them).
#
# The pinned toolchain (toolchain/package-lock.json) is installed with `npm ci` into
# ${ARTICDBM_POLYGLOT_DIR:-<repo>/target/polyglot}/js/ when missing or when the lock changed.
# Safe to run concurrently. Prints only errors and, on success, `built OUT.wasm (N bytes)`.
set -euo pipefail

SDK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [ $# -ne 2 ]; then
  echo "usage: $0 PLUGIN_DIR OUT.wasm" >&2
  exit 2
fi
PLUGIN_DIR="$1"
OUT="$2"
[ -d "$PLUGIN_DIR" ] || { echo "error: $PLUGIN_DIR is not a directory" >&2; exit 1; }
PLUGIN_DIR="$(cd "$PLUGIN_DIR" && pwd)"
if [ ! -f "$PLUGIN_DIR/app.ts" ] && [ ! -f "$PLUGIN_DIR/app.js" ]; then
  echo "error: $PLUGIN_DIR has no app.ts or app.js (the plugin's entry module)" >&2
  exit 1
fi
OUT_DIR="$(dirname "$OUT")"
mkdir -p "$OUT_DIR" || { echo "error: cannot create $OUT_DIR" >&2; exit 1; }
OUT="$(cd "$OUT_DIR" && pwd)/$(basename "$OUT")"

# shellcheck source=toolchain/ensure.sh
. "$SDK_DIR/toolchain/ensure.sh"
ensure_js_toolchain

WORK="$(mktemp -d "$JS_TC/work/build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

node "$SDK_DIR/tools/build.mjs" \
  --toolchain "$JS_TC" \
  --sdk "$SDK_DIR" \
  --wit "$REPO/wit/v0.1.2" \
  --plugin-dir "$PLUGIN_DIR" \
  --work "$WORK" \
  --out "$OUT"
