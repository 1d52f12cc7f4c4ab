#!/usr/bin/env bash
# Runs the Python SDK's native tests and the example plugin's tests with pytest:
#
#   plugin-sdk/python/test.sh [PYTEST ARGS...]
#
# Installs the pinned toolchain (componentize-py, used to generate the bindings the glue is
# tested against, and pytest) into ${ARTICDBM_POLYGLOT_DIR:-<repo>/target/polyglot}/python/venv
# when missing. Exits non-zero when a test fails.
set -euo pipefail


SDK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SDK_DIR/../.." && pwd)
POLYGLOT_DIR=${ARTICDBM_POLYGLOT_DIR:-$REPO/target/polyglot}
TOOL_DIR="$POLYGLOT_DIR/python"
VENV="$TOOL_DIR/venv"

# shellcheck source=toolchain.sh
. "$SDK_DIR/toolchain.sh"
ensure_componentize_py
ensure_pytest

cd "$REPO"
# The example's directory is on the path for its `import app`; the SDK tests load the test
# plugins' app.py files under other module names.
PYTHONPATH="$SDK_DIR:$REPO/examples/plugins/python-business-hours${PYTHONPATH:+:$PYTHONPATH}" \
ARTICDBM_COMPONENTIZE_PY="$VENV/bin/componentize-py" \
PYTHONDONTWRITEBYTECODE=1 \
    exec "$VENV/bin/python" -m pytest -p no:cacheprovider -q \
        "$SDK_DIR/tests" \
        "$REPO/examples/plugins/python-business-hours/test_app.py" \
        "$@"
