# Sourced by build.sh and test.sh: the C toolchain for wasm32-wasi, installed only when missing.
#
# The toolchain is Debian's (Debian 12: clang 14): the packages in ARTICDBM_C_APT_PACKAGES.
# They install system-wide with apt-get (as root), under a lock in
# ${ARTICDBM_POLYGLOT_DIR:-<repo>/target/polyglot}/c/ so parallel builds install once; the log
# of the last install is kept there. ARTICDBM_CLANG names another clang and WASI_SYSROOT another
# wasi-libc (a wasi-sdk install, say): the checks then look there, and nothing is installed for
# the parts they provide. ARTICDBM_NO_INSTALL=1 only reports what is missing.

ARTICDBM_C_APT_PACKAGES="clang lld wasi-libc libclang-rt-14-dev-wasm32"

# Prints the Debian packages of the toolchain that are missing (nothing when complete).
articdbm_c_missing_packages() {
    local clang="${ARTICDBM_CLANG:-clang}" missing=""
    if ! command -v "$clang" >/dev/null 2>&1; then
        [ -n "${ARTICDBM_CLANG:-}" ] || missing="$missing clang"
    fi
    if ! command -v wasm-ld >/dev/null 2>&1 && ! command -v wasm-ld-14 >/dev/null 2>&1; then
        [ -n "${ARTICDBM_CLANG:-}" ] || missing="$missing lld"
    fi
    if [ -n "${WASI_SYSROOT:-}" ]; then
        :
    elif [ ! -f /usr/lib/wasm32-wasi/libc.a ] || [ ! -f /usr/include/wasm32-wasi/stdlib.h ]; then
        missing="$missing wasi-libc"
    fi
    if [ -z "${ARTICDBM_CLANG:-}" ]; then
        local resource=""
        if command -v "$clang" >/dev/null 2>&1; then
            resource="$("$clang" -print-resource-dir 2>/dev/null || true)"
        fi
        if [ -z "$resource" ] || [ ! -f "$resource/lib/wasi/libclang_rt.builtins-wasm32.a" ]; then
            missing="$missing libclang-rt-14-dev-wasm32"
        fi
    fi
    echo "${missing# }"
}

# Installs the missing packages (root + apt-get), under a lock. Returns non-zero with a message
# naming what failed.
articdbm_c_ensure_toolchain() {
    local missing
    missing="$(articdbm_c_missing_packages)"
    [ -z "$missing" ] && return 0
    local state="${ARTICDBM_POLYGLOT_DIR:-$ARTICDBM_REPO/target/polyglot}/c"
    if [ -n "${ARTICDBM_NO_INSTALL:-}" ]; then
        echo "error: the C toolchain for wasm32-wasi is incomplete: missing Debian packages: $missing (install with: apt-get install -y $ARTICDBM_C_APT_PACKAGES)" >&2
        return 1
    fi
    if ! command -v apt-get >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
        echo "error: the C toolchain for wasm32-wasi is incomplete: missing $missing; install as root: apt-get install -y $ARTICDBM_C_APT_PACKAGES (Debian/Ubuntu), or set ARTICDBM_CLANG / WASI_SYSROOT to a wasi-sdk" >&2
        return 1
    fi
    mkdir -p "$state"
    (
        flock 9
        # Another build may have installed it while this one waited for the lock.
        missing="$(articdbm_c_missing_packages)"
        [ -z "$missing" ] && exit 0
        local log="$state/install.log" started=$SECONDS
        : >"$log"
        export DEBIAN_FRONTEND=noninteractive
        # shellcheck disable=SC2086
        if ! apt-get install -y -q --no-install-recommends $ARTICDBM_C_APT_PACKAGES >>"$log" 2>&1; then
            # A fresh machine may have no package lists yet.
            apt-get update -q >>"$log" 2>&1 || true
            # shellcheck disable=SC2086
            if ! apt-get install -y -q --no-install-recommends $ARTICDBM_C_APT_PACKAGES >>"$log" 2>&1; then
                echo "error: installing the C toolchain failed: apt-get install -y $ARTICDBM_C_APT_PACKAGES (log: $log):" >&2
                tail -n 15 "$log" >&2
                exit 1
            fi
        fi
        missing="$(articdbm_c_missing_packages)"
        if [ -n "$missing" ]; then
            echo "error: installed $ARTICDBM_C_APT_PACKAGES but still missing: $missing (log: $log)" >&2
            exit 1
        fi
        echo "installed $ARTICDBM_C_APT_PACKAGES in $((SECONDS - started)) s" >>"$log"
    ) 9>"$state/install.lock"
}

# Runs the builder binary (plugin-sdk/build) through cargo: build.sh and test.sh share it.
articdbm_c_builder() {
    if ! command -v cargo >/dev/null 2>&1; then
        echo "error: cargo is needed to run the C plugin builder (plugin-sdk/build); install Rust (rustup)" >&2
        return 1
    fi
    cargo run -q --manifest-path "$ARTICDBM_REPO/Cargo.toml" -p articdbm-plugin-build \
        --bin articdbm-build-c -- "$@"
}
