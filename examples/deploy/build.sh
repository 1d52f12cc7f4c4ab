#!/usr/bin/env bash
# Builds the manager, the gateway and the first-party plugin components, and stages the tree a
# runtime image (or a host install) needs into OUT_DIR:
#
#   OUT_DIR/usr/local/bin/articdbm-manager, articdbm-gateway
#   OUT_DIR/usr/share/articdbm/plugins/NAME.wasm + NAME.json   the first-party policy plugins
#   OUT_DIR/usr/share/articdbm/policies/*.toml                  the provider baseline pack
#   OUT_DIR/usr/share/articdbm/packs/*.toml                     example tenant packs
#   OUT_DIR/etc/articdbm/gateway.toml                           listeners for a container
#
# (The feed parsers are built into the manager binary.) The Dockerfile runs this script; CI
# runs it too (tests/tests/deploy.rs), without a container.
#
#   examples/deploy/build.sh OUT_DIR
#
# ARTICDBM_BUILD_PROFILE   cargo profile, default `release`; `dev` reuses a test build
# ARTICDBM_BUILD_ARGS      what `cargo build` builds, default the three packages
#                          (`-p articdbm-plugin-artifacts -p articdbm-gateway -p articdbm-manager`);
#                          the test suite passes `--workspace --all-targets`, the build it has
#                          already made, so nothing is rebuilt
# CARGO_TARGET_DIR         as for cargo (default: target/ in the checkout)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:?usage: examples/deploy/build.sh OUT_DIR}
profile=${ARTICDBM_BUILD_PROFILE:-release}
case "$profile" in
    dev | test) profile_dir=debug ;;
    release | bench) profile_dir=release ;;
    *) profile_dir=$profile ;;
esac
target=${CARGO_TARGET_DIR:-$root/target}
cargo=${CARGO:-cargo}

if command -v rustup >/dev/null 2>&1 \
    && ! rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    rustup target add wasm32-wasip2
fi

# shellcheck disable=SC2086 # ARTICDBM_BUILD_ARGS is a list of words
(cd "$root" && "$cargo" build --locked --profile "$profile" \
    ${ARTICDBM_BUILD_ARGS:--p articdbm-plugin-artifacts -p articdbm-gateway -p articdbm-manager})

# The plugin build (plugins/artifacts/build.rs) always writes into the checkout's target/.
plugins="$root/target/plugins"
for f in "$target/$profile_dir/articdbm-manager" "$target/$profile_dir/articdbm-gateway"; do
    [ -x "$f" ] || { echo "build.sh: $f was not built" >&2; exit 1; }
done
compgen -G "$plugins/*.wasm" >/dev/null || { echo "build.sh: no components in $plugins" >&2; exit 1; }

rm -rf "$out/usr/local/bin/articdbm-"* "$out/usr/share/articdbm" "$out/etc/articdbm"
install -d "$out/usr/local/bin" "$out/usr/share/articdbm/plugins" \
    "$out/usr/share/articdbm/policies" "$out/usr/share/articdbm/packs" "$out/etc/articdbm"
# A hard link when OUT_DIR is on the target directory's file system (debug binaries are large;
# cargo replaces, never rewrites, its outputs), a copy otherwise.
for bin in articdbm-manager articdbm-gateway; do
    ln -f "$target/$profile_dir/$bin" "$out/usr/local/bin/$bin" 2>/dev/null \
        || install -m 0755 "$target/$profile_dir/$bin" "$out/usr/local/bin/$bin"
done
for wasm in "$plugins"/*.wasm; do
    manifest=${wasm%.wasm}.json
    [ -f "$manifest" ] || { echo "build.sh: $wasm has no manifest" >&2; exit 1; }
    install -m 0644 "$wasm" "$manifest" "$out/usr/share/articdbm/plugins/"
done
install -m 0644 "$root"/policies/*.toml "$out/usr/share/articdbm/policies/"
install -m 0644 "$root"/examples/packs/*.toml "$out/usr/share/articdbm/packs/"
install -m 0644 "$root/examples/deploy/config/gateway.toml" "$out/etc/articdbm/gateway.toml"
echo "staged $(find "$out" -type f | wc -l) files in $out ($profile build)"
