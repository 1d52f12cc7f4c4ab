"""The logic of the polyglot test plugins (plugins/testing/polyglot/py), natively."""

import json

import pytest

from articdbm_policy import exported
from articdbm_policy.testing import Harness, connection, query

from conftest import REPO, load_plugin

PLUGINS = REPO / "plugins" / "testing" / "polyglot" / "py"


def test_trivial_denies_drop_only():
    mod = load_plugin(PLUGINS / "trivial" / "app.py", "trivial_py_app")
    assert exported() is mod.Trivial
    h = Harness(mod.Trivial, {})
    v = h.on_query(connection(), query("DROP TABLE users"))
    assert (v.is_deny, v.rule, v.reason) == (True, "trivial.drop", "DROP is not allowed")
    assert h.on_query(connection(), query("SELECT 1; DROP TABLE t")).is_deny
    for sql in ("SELECT 1", "DELETE FROM t", "CREATE TABLE t (a int)"):
        assert h.on_query(connection(), query(sql)).is_allow, sql
    assert h.on_connect().is_allow
    # no host calls, no reuse: the bench measures the bare call
    assert h.host.logs == [] and h.host.counters == {} and h.host.kv == {} and h.reused is None


def test_faults_traps_on_request_and_allows_otherwise():
    mod = load_plugin(PLUGINS / "faults" / "app.py", "faults_py_app")
    h = Harness(mod.Faults, {})
    assert h.on_query(connection(), query("SELECT 'hello'")).is_allow
    with pytest.raises(RuntimeError, match="trap requested"):
        h.on_query(connection(), query("SELECT 'trap-me'"))


@pytest.mark.parametrize("name, world", [("trivial", "trivial-py"), ("faults", "faults-py")])
def test_manifests(name, world):
    m = json.loads((PLUGINS / name / "manifest.json").read_text())
    assert m["name"] == world
    assert m["world"] == "policy" and m["isolation"] == "warm"
    assert 1 <= m["limits"]["memory_mib"] <= 1024
    if name == "faults":
        assert m["limits"]["deadline_ms"] == 50
