# Sourced by ../build.sh and ../test.sh (bash). Installs the pinned toolchain of
# toolchain/package-lock.json with `npm ci` into $JS_TC/node_modules when it is missing or the
# lock (or the Node ABI) changed, under an exclusive flock, then keeps a shared lock on fd 9
# for the caller's lifetime so that no other process reinstalls under a running build or test.
#
# Needs: SDK_DIR (plugin-sdk/js). Sets: REPO, POLY, JS_TC, NODE_BIN_DIR.

REPO="$(cd "$SDK_DIR/../.." && pwd)"
POLY="${ARTICDBM_POLYGLOT_DIR:-$REPO/target/polyglot}"
JS_TC="$POLY/js"
NODE_BIN_DIR="$JS_TC/node_modules/.bin"

js_toolchain_fail() {
  echo "error: JS toolchain: $*" >&2
  exit 1
}

ensure_js_toolchain() {
  command -v node >/dev/null 2>&1 || js_toolchain_fail "node is not on PATH (Node.js 20 or newer is required)"
  command -v npm >/dev/null 2>&1 || js_toolchain_fail "npm is not on PATH"
  command -v flock >/dev/null 2>&1 || js_toolchain_fail "flock (util-linux) is not on PATH"
  local major
  major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$major" -ge 20 ] || js_toolchain_fail "Node.js $(node --version) is too old: 20 or newer is required"

  mkdir -p "$JS_TC/work" || js_toolchain_fail "cannot create $JS_TC"
  exec 9>"$JS_TC/.install.lock"
  # Shared lock while checking, so that builds run side by side (and a test.sh holding the
  # lock can call build.sh); exclusive only to install.
  flock -s 9 || js_toolchain_fail "cannot lock $JS_TC/.install.lock"
  if ! js_toolchain_current; then
    flock -u 9
    flock -x 9 || js_toolchain_fail "cannot lock $JS_TC/.install.lock"
    if ! js_toolchain_current; then
      rm -f "$JS_TC/.installed"
      cp "$SDK_DIR/toolchain/package.json" "$SDK_DIR/toolchain/package-lock.json" "$JS_TC/" ||
        js_toolchain_fail "cannot copy the toolchain manifest into $JS_TC"
      if ! (cd "$JS_TC" && npm ci --no-audit --no-fund --loglevel=error >"$JS_TC/install.log" 2>&1); then
        tail -n 30 "$JS_TC/install.log" >&2
        js_toolchain_fail "'npm ci' in $JS_TC failed (pinned by plugin-sdk/js/toolchain/package-lock.json); full log: $JS_TC/install.log"
      fi
      js_toolchain_stamp >"$JS_TC/.installed"
    fi
    flock -s 9 || js_toolchain_fail "cannot downgrade the lock on $JS_TC/.install.lock"
  fi
}

js_toolchain_stamp() {
  echo "$(cat "$SDK_DIR/toolchain/package.json" "$SDK_DIR/toolchain/package-lock.json" | sha256sum | cut -d' ' -f1) node-abi-$(node -p process.versions.modules)"
}

js_toolchain_current() {
  [ -f "$JS_TC/.installed" ] && [ "$(cat "$JS_TC/.installed")" = "$(js_toolchain_stamp)" ] &&
    [ -x "$NODE_BIN_DIR/componentize-js" ] && [ -x "$NODE_BIN_DIR/tsc" ] && [ -x "$NODE_BIN_DIR/jco" ]
}
