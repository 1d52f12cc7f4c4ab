"""Shared fixtures: every test starts with no exported policy and a fresh in-memory host."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SDK_DIR = Path(__file__).resolve().parent.parent
REPO = SDK_DIR.parent.parent
if str(SDK_DIR) not in sys.path:
    sys.path.insert(0, str(SDK_DIR))

from articdbm_policy import _host, policy  # noqa: E402
from articdbm_policy.testing import MemoryHost  # noqa: E402


@pytest.fixture(autouse=True)
def isolated_sdk_state():
    """Saves and restores the exported policy and the installed host around each test."""
    saved_export = policy._exported
    policy._exported = None
    saved_host = _host.install(MemoryHost())
    yield
    policy._exported = saved_export
    _host.install(saved_host)


@pytest.fixture
def host() -> MemoryHost:
    """The in-memory host installed for this test."""
    return _host.current()


def _componentize_py() -> str:
    explicit = os.environ.get("ARTICDBM_COMPONENTIZE_PY")
    if explicit:
        return explicit
    beside = Path(sys.executable).parent / "componentize-py"
    if beside.exists():
        return str(beside)
    found = shutil.which("componentize-py")
    if not found:
        pytest.fail("componentize-py not found: run plugin-sdk/python/test.sh (it installs it)")
    return found


@pytest.fixture(scope="session")
def bindings_dir(tmp_path_factory) -> Path:
    """componentize-py's bindings for wit/v0.1.2 world configurable-policy, generated into a
    temporary directory (the same generator build.sh runs)."""
    out = tmp_path_factory.mktemp("bindings")
    subprocess.run(
        [_componentize_py(), "-d", str(REPO / "wit" / "v0.1.2"), "-w", "configurable-policy", "bindings", str(out)],
        check=True,
        capture_output=True,
    )
    return out


def load_plugin(path: Path, name: str):
    """Imports a plugin's app.py under a unique module name; returns the module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
