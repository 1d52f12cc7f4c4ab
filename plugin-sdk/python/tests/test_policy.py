import json

import pytest

from articdbm_policy import (
    ConfigError,
    Policy,
    ReuseBasis,
    ReuseScope,
    StatementKind,
    allow,
    audit,
    clock,
    deny,
    export,
    exported,
    kv,
    parse_config,
    reuse,
)
from articdbm_policy.policy import Runner
from articdbm_policy.testing import ConfigRefused, Harness, connection, query


class MaxTables(Policy):
    """Denies statements touching more than `max` tables; audits DROP; counts configures."""

    configured = 0

    def configure(self, config):
        limit = config.get("max", 3)
        if not isinstance(limit, int) or limit < 1:
            raise ConfigError(f"max: expected a positive integer, got {limit!r}")
        self.max = limit
        MaxTables.configured += 1

    def on_query(self, conn, q):
        if len(q.facts.tables) > self.max:
            return deny("tables.many", f"more than {self.max} tables", score=0.9)
        if q.facts.has_statement(StatementKind.DROP):
            return audit("tables.drop", "a DROP")
        reuse("statement", "fingerprint")
        return allow()


def test_parse_config():
    assert parse_config("") == {}
    assert parse_config("  ") == {}
    assert parse_config('{"a": [1]}') == {"a": [1]}
    with pytest.raises(ConfigError, match="invalid config: Expecting"):
        parse_config("{nope")
    with pytest.raises(ConfigError, match="expected a JSON object, got list"):
        parse_config("[]")


def test_harness_configures_and_calls_hooks():
    h = Harness(MaxTables, {"max": 2})
    assert h.plugin.max == 2
    assert h.on_query(connection(), query("SELECT 1 FROM a, b", tables=["a", "b"])).is_allow
    v = h.on_query(connection(), query("SELECT 1 FROM a, b, c", tables=["a", "b", "c"]))
    assert v.is_deny and v.rule == "tables.many" and v.reason == "more than 2 tables"
    assert v.finding.score == 0.9
    assert h.on_query(None, "DROP TABLE a").rule == "tables.drop"
    assert h.on_connect().is_allow


def test_configure_refusal_is_a_message_not_an_exception():
    with pytest.raises(ConfigRefused) as e:
        Harness(MaxTables, {"max": 0})
    assert e.value.message == "max: expected a positive integer, got 0"
    r = Runner(MaxTables)
    assert r.configure("{bad json") .startswith("invalid config: ")
    assert r.configure('{"max": "x"}') == "max: expected a positive integer, got 'x'"
    assert r.plugin is None


def test_a_refused_reconfigure_keeps_the_previous_configuration():
    h = Harness(MaxTables, {"max": 5})
    assert h.configure({"max": -1}) == "max: expected a positive integer, got -1"
    assert h.plugin.max == 5
    assert h.configure('{"max": 1}') is None
    assert h.plugin.max == 1


def test_any_exception_in_configure_is_refused_with_its_type():
    class Crashy(Policy):
        def configure(self, config):
            return config["missing"]

    assert Runner(Crashy).configure("{}") == "KeyError: 'missing'"

    class Silent(Policy):
        def configure(self, config):
            raise RuntimeError()

    assert Runner(Silent).configure("{}") == "RuntimeError"

    class BadInit(Policy):
        def __init__(self):
            raise ValueError("cannot start")

    assert Runner(BadInit).configure("{}") == "cannot start"


def test_default_configure_accepts_only_an_empty_object():
    r = Runner(Policy)
    assert r.configure("{}") is None
    assert r.configure("") is None
    assert r.configure('{"b": 1, "a": 2}') == "Policy takes no configuration (got keys: a, b)"


def test_hooks_before_configure_configure_with_an_empty_object():
    MaxTables.configured = 0
    r = Runner(MaxTables)
    assert r.on_query(connection(), query("SELECT 1")).is_allow
    assert r.plugin.max == 3 and MaxTables.configured == 1
    r.on_connect(connection())
    assert MaxTables.configured == 1


def test_hooks_fail_closed_when_the_empty_config_is_refused():
    class NeedsConfig(Policy):
        def configure(self, config):
            if "x" not in config:
                raise ConfigError("x: required")

    h = Harness(NeedsConfig)
    for v in (h.on_query(None, "SELECT 1"), h.on_connect()):
        assert v.is_deny
        assert v.rule == "plugin.unconfigured"
        assert v.reason == "plugin has no valid configuration: x: required"


def test_a_hook_must_return_a_verdict():
    class Forgetful(Policy):
        def on_query(self, conn, q):
            pass

    h = Harness(Forgetful, {})
    with pytest.raises(TypeError, match="on_query returned None; return allow"):
        h.on_query(None, "SELECT 1")


def test_hook_exceptions_propagate():
    class Broken(Policy):
        def on_connect(self, conn):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        Harness(Broken, {}).on_connect()


def test_reuse_is_reported_unless_the_call_was_stateful():
    h = Harness(MaxTables, {})
    h.on_query(None, "SELECT 1")
    assert h.reused == (ReuseScope.STATEMENT, ReuseBasis.FINGERPRINT)
    h.on_query(None, "DROP TABLE t")
    assert h.reused is None  # reset per call

    class Stateful(Policy):
        def on_query(self, conn, q):
            reuse(ReuseScope.USER)
            if clock.now_ms() < 0:
                return deny("never", "never")
            return allow()

    s = Harness(Stateful, {})
    s.on_query(None, "SELECT 1")
    assert s.host.reuse == (ReuseScope.USER, ReuseBasis.SHAPE)
    assert s.reused is None


def test_reuse_rejects_unknown_names():
    with pytest.raises(ValueError):
        reuse("tenant")
    with pytest.raises(ValueError):
        reuse("user", "text")


def test_harnesses_have_separate_hosts():
    class Counter(Policy):
        def on_query(self, conn, q):
            n = kv.incr("n")
            return audit("count", str(n))

    a, b = Harness(Counter, {}), Harness(Counter, {})
    assert a.on_query(None, "SELECT 1").reason == "1"
    assert a.on_query(None, "SELECT 1").reason == "2"
    assert b.on_query(None, "SELECT 1").reason == "1"
    assert a.on_query(None, "SELECT 1").reason == "3"


def test_export():
    assert exported() is None

    @export
    class One(Policy):
        pass

    assert exported() is One
    assert export(One) is One  # again, same class: fine
    with pytest.raises(RuntimeError, match="export\\(\\) called twice"):
        export(MaxTables)
    with pytest.raises(TypeError):
        export(object)


def test_harness_accepts_json_text():
    assert Harness(MaxTables, json.dumps({"max": 7})).plugin.max == 7
