#!/usr/bin/env bash
# CI check of the web console (see docs/UI.md): installs the locked dependencies, lints,
# type-checks, runs the component tests, and rebuilds the bundle into a temporary directory,
# which must be byte-identical to the committed dist/ (the manager embeds dist/, so what ships
# must come from these sources).
set -euo pipefail
cd "$(dirname "$0")"

echo "== npm ci"
npm ci --no-audit --no-fund --loglevel=error >/dev/null
echo "== lint"
npm run --silent lint
echo "== typecheck"
npm run --silent typecheck
echo "== vitest"
npm run --silent test
echo "== reproducible build"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
ARTICDBM_UI_OUT="$out/dist" npx --no-install vite build --logLevel warn
if ! diff -r "$out/dist" dist >/dev/null; then
  diff -r "$out/dist" dist | head -20 >&2 || true
  echo "the committed manager/ui/dist differs from a build of the sources; run \`npm run build\` in manager/ui and commit dist" >&2
  exit 1
fi
echo "ok: dist/ matches a build of the sources"
