#!/usr/bin/env bash
# Tests of the JavaScript / TypeScript plugin SDK, natively in Node (no wasm):
#   1. the generated WIT types (types/) are what tools/gen-types.mjs makes from wit/v0.1.2;
#   2. node --test over plugin-sdk/js/test/ (the SDK's pure layer against the in-memory host);
#   3. tsc --strict: the SDK's declared types (test/api-types.ts), the JavaScript test plugins
#      (checkJs), and examples/plugins/js-daily-budget (app.ts + app.test.ts), whose compiled
#      tests then run under node --test;
#   4. build.sh refuses broken plugins with a clear message (the cases that fail before
#      componentize-js, so this stays fast).
# Installs the pinned toolchain when missing (see build.sh). Exits non-zero on any failure.
#
#   plugin-sdk/js/test.sh
set -euo pipefail

SDK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=toolchain/ensure.sh
. "$SDK_DIR/toolchain/ensure.sh"
ensure_js_toolchain

WORK="$(mktemp -d "$JS_TC/work/test.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
TSC=("node" "$JS_TC/node_modules/typescript/bin/tsc")
EXAMPLE="$REPO/examples/plugins/js-daily-budget"
failed=0

step() { printf '\n== %s\n' "$*"; }
fail_step() { echo "FAILED: $*" >&2; failed=1; }

step "generated types are fresh (tools/gen-types.mjs vs plugin-sdk/js/types)"
node "$SDK_DIR/tools/gen-types.mjs" --toolchain "$JS_TC" --wit "$REPO/wit/v0.1.2" --out "$WORK/types"
if diff -ru "$SDK_DIR/types" "$WORK/types"; then
  echo "ok: types match wit/v0.1.2"
else
  fail_step "plugin-sdk/js/types is stale: run node plugin-sdk/js/tools/gen-types.mjs --toolchain $JS_TC --wit wit/v0.1.2 --out plugin-sdk/js/types"
fi

step "node --test plugin-sdk/js/test"
(cd "$SDK_DIR" && node --import ./tools/register.mjs --test test/*.test.js) || fail_step "SDK tests"

# A strict tsconfig resolving articdbm-policy to this SDK's declarations.
write_tsconfig() { # FILE OUTDIR_OR_EMPTY ALLOWJS TYPES_JSON FILES...
  local file="$1" out="$2" allowjs="$3" types="$4"
  shift 4
  node -e '
    const [file, out, allowjs, types, sdk, tc, ...files] = process.argv.slice(1);
    const o = {
      strict: true, target: "ES2022", module: "ES2022", moduleResolution: "bundler",
      lib: ["ES2022"], types: JSON.parse(types), typeRoots: [tc + "/node_modules/@types"],
      forceConsistentCasingInFileNames: true, noUnusedLocals: false,
      paths: { "articdbm-policy": [sdk + "/src/index.d.ts"], "articdbm-policy/testing": [sdk + "/src/testing.d.ts"] },
    };
    if (out) { o.outDir = out; o.rootDir = require("path").dirname(files[0]); o.noEmitOnError = true; } else { o.noEmit = true; }
    if (allowjs === "1") { o.allowJs = true; o.checkJs = true; }
    require("fs").writeFileSync(file, JSON.stringify({ compilerOptions: o, files }, null, 2));
  ' "$file" "$out" "$allowjs" "$types" "$SDK_DIR" "$JS_TC" "$@"
}

step "tsc --strict: SDK declarations (test/api-types.ts, types/)"
write_tsconfig "$WORK/tsconfig.api.json" "" 0 '[]' "$SDK_DIR/test/api-types.ts"
"${TSC[@]}" -p "$WORK/tsconfig.api.json" --pretty false && echo "ok" || fail_step "tsc over the SDK declarations"

step "tsc --strict --checkJs: JavaScript test plugins"
js_plugins=()
for f in "$REPO"/plugins/testing/polyglot/js/*/app.js; do js_plugins+=("$f"); done
write_tsconfig "$WORK/tsconfig.js.json" "" 1 '[]' "${js_plugins[@]}"
"${TSC[@]}" -p "$WORK/tsconfig.js.json" --pretty false && echo "ok: ${#js_plugins[@]} plugins" || fail_step "tsc --checkJs over the JavaScript test plugins"

step "tsc --strict + node --test: examples/plugins/js-daily-budget"
write_tsconfig "$WORK/tsconfig.example.json" "$WORK/example" 0 '["node"]' "$EXAMPLE/app.ts" "$EXAMPLE/app.test.ts"
if "${TSC[@]}" -p "$WORK/tsconfig.example.json" --pretty false; then
  node --import "$SDK_DIR/tools/register.mjs" --test "$WORK/example/" || fail_step "daily-budget tests"
else
  fail_step "tsc over examples/plugins/js-daily-budget"
fi

step "build.sh refuses broken plugins"
expect_build_error() { # NAME EXPECTED_MESSAGE_REGEX (plugin in $WORK/bad/NAME)
  local name="$1" want="$2" out rc=0
  out="$("$SDK_DIR/build.sh" "$WORK/bad/$name" "$WORK/bad/$name.wasm" 2>&1)" || rc=$?
  if [ "$rc" -eq 0 ]; then
    fail_step "build.sh accepted the broken plugin '$name'"
  elif ! grep -Eq "$want" <<<"$out"; then
    fail_step "build.sh on '$name': expected /$want/ in: $out"
  elif [ -e "$WORK/bad/$name.wasm" ]; then
    fail_step "build.sh on '$name' failed but left an output file"
  else
    echo "ok: $name -> $(grep -E "$want" <<<"$out" | head -n1)"
  fi
}
mkdir -p "$WORK/bad/empty" "$WORK/bad/both" "$WORK/bad/ts-error" "$WORK/bad/node-import" "$WORK/bad/bad-option"
echo 'export default 1;' >"$WORK/bad/both/app.js"
echo 'export default 1;' >"$WORK/bad/both/app.ts"
printf 'import { definePolicy, deny } from "articdbm-policy";\nexport default definePolicy({ onQuery: () => deny("x") });\n' >"$WORK/bad/ts-error/app.ts"
printf 'import { readFileSync } from "node:fs";\nexport const x = readFileSync;\n' >"$WORK/bad/node-import/app.js"
cp "$REPO/plugins/testing/polyglot/js/trivial/app.js" "$WORK/bad/bad-option/app.js"
echo '{"wasi_http": true}' >"$WORK/bad/bad-option/componentize.json"
expect_build_error empty 'has no app\.ts or app\.js'
expect_build_error both 'has both app\.ts and app\.js'
expect_build_error ts-error 'error TS2554: Expected 2-3 arguments, but got 1'
expect_build_error node-import 'Could not resolve "node:fs"'
expect_build_error bad-option 'unknown option "wasi_http"'
expect_build_error missing-dir 'is not a directory'

echo
if [ "$failed" -ne 0 ]; then
  echo "plugin-sdk/js: tests FAILED" >&2
  exit 1
fi
echo "plugin-sdk/js: all tests passed"
