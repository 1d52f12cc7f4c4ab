# Sourced by build.sh and test.sh: installs the pinned Python toolchain under
# $TOOL_DIR (= ${ARTICDBM_POLYGLOT_DIR:-<repo>/target/polyglot}/python) only when missing,
# under a lock so parallel builds install it once. Expects TOOL_DIR and VENV to be set.

# The pinned versions (componentize-py 0.25.1 bundles CPython 3.14 into the component).
COMPONENTIZE_PY_VERSION=0.25.1
PYTEST_VERSION=9.2.0

_toolchain_fail() {
    echo "plugin-sdk/python: error: $1" >&2
    [ -n "${2:-}" ] && [ -f "$2" ] && cat "$2" >&2
    exit 1
}

# _with_lock CHECK INSTALL: runs INSTALL under the lock unless CHECK succeeds (checked again
# once the lock is held, since another build may have installed meanwhile).
_with_lock() {
    local check=$1 install=$2
    "$check" && return 0
    mkdir -p "$TOOL_DIR" || _toolchain_fail "cannot create $TOOL_DIR"
    command -v flock >/dev/null || _toolchain_fail "flock (util-linux) is needed to install the toolchain safely"
    (
        flock 9
        "$check" || "$install"
    ) 9>"$TOOL_DIR/.install.lock"
}

_venv_ok() {
    [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys; sys.exit(0)' 2>/dev/null
}

_componentize_ok() {
    _venv_ok && [ -x "$VENV/bin/componentize-py" ] &&
        [ "$("$VENV/bin/componentize-py" --version 2>/dev/null)" = "componentize-py $COMPONENTIZE_PY_VERSION" ]
}

_make_venv() {
    _venv_ok && return 0
    local py
    py=$(command -v python3 || true)
    [ -n "$py" ] || _toolchain_fail "python3 not found: install Python 3.10 or newer (with the venv module)"
    "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' ||
        _toolchain_fail "$py is $("$py" --version 2>&1); Python 3.10 or newer is needed"
    rm -rf "$VENV"
    "$py" -m venv "$VENV" >"$TOOL_DIR/venv.log" 2>&1 ||
        _toolchain_fail "could not create a virtualenv at $VENV with $py -m venv (Debian: apt-get install python3-venv)" "$TOOL_DIR/venv.log"
}

_install_componentize() {
    _make_venv
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q \
        "componentize-py==$COMPONENTIZE_PY_VERSION" >"$TOOL_DIR/pip-componentize.log" 2>&1 ||
        _toolchain_fail "pip install componentize-py==$COMPONENTIZE_PY_VERSION into $VENV failed" "$TOOL_DIR/pip-componentize.log"
    _componentize_ok || _toolchain_fail "componentize-py $COMPONENTIZE_PY_VERSION is not runnable from $VENV/bin after install"
}

_pytest_ok() {
    _venv_ok && "$VENV/bin/python" -c "import pytest, sys; sys.exit(0 if pytest.__version__ == '$PYTEST_VERSION' else 1)" 2>/dev/null
}

_install_pytest() {
    _make_venv
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q \
        "pytest==$PYTEST_VERSION" >"$TOOL_DIR/pip-pytest.log" 2>&1 ||
        _toolchain_fail "pip install pytest==$PYTEST_VERSION into $VENV failed" "$TOOL_DIR/pip-pytest.log"
}

ensure_componentize_py() { _with_lock _componentize_ok _install_componentize; }
ensure_pytest() { _with_lock _pytest_ok _install_pytest; }
