"""The component glue against componentize-py's real generated bindings, natively: the WIT
imports are replaced by fakes, the export classes are driven with binding-typed values."""

import importlib
import sys

import pytest

from articdbm_policy import (
    ConfigError,
    IndicatorKind,
    KvError,
    KvErrorKind,
    Level,
    Policy,
    ReuseBasis,
    ReuseScope,
    _host,
    allow,
    audit,
    deny,
    export,
    kv,
    log,
    reuse,
    types,
)


@pytest.fixture(scope="module")
def glue(bindings_dir):
    """(articdbm_policy._component, wit_world.imports.types, componentize_py_types)."""
    sys.path.insert(0, str(bindings_dir))
    previous = _host.current()
    try:
        component = importlib.import_module("articdbm_policy._component")
        wt = importlib.import_module("wit_world.imports.types")
        cpt = importlib.import_module("componentize_py_types")
    finally:
        _host.install(previous)  # importing the glue installs the WIT host: keep the test one
    yield component, wt, cpt
    sys.path.remove(str(bindings_dir))


@pytest.fixture
def fresh_runner(glue):
    component = glue[0]
    component._runner = None
    yield
    component._runner = None


@pytest.mark.parametrize(
    "wit_module, wit_name, sdk_enum",
    [
        ("types", "Protocol", types.Protocol),
        ("types", "StatementKind", types.StatementKind),
        ("types", "AccessMode", types.AccessMode),
        ("types", "Clause", types.Clause),
        ("types", "CommentKind", types.CommentKind),
        ("types", "CommentPosition", types.CommentPosition),
        ("types", "Connective", types.Connective),
        ("types", "IndicatorKind", types.IndicatorKind),
        ("log", "Level", types.Level),
        ("reuse", "Scope", types.ReuseScope),
        ("reuse", "Basis", types.ReuseBasis),
    ],
)
def test_sdk_enums_match_the_generated_bindings(glue, wit_module, wit_name, sdk_enum):
    wit_enum = getattr(importlib.import_module(f"wit_world.imports.{wit_module}"), wit_name)
    assert [m.name for m in wit_enum] == [m.name for m in sdk_enum]


def test_sdk_records_have_the_binding_fields(glue):
    _, wt, _ = glue
    import dataclasses

    for name in ("Connection", "TableAccess", "FunctionCall", "Comment", "ConstantComparison",
                 "LiteralCounts", "QueryFacts", "Query", "Finding"):
        wit_fields = {f.name for f in dataclasses.fields(getattr(wt, name))}
        sdk_fields = {f.name for f in dataclasses.fields(getattr(types, name))}
        assert wit_fields == sdk_fields, name


def wit_connection(wt, **over):
    fields = dict(
        id=9, tenant="acme", user="bob", roles=["dev", "ops"], database="shop",
        client_addr="192.0.2.7", client_port=5432, tls=True, protocol=wt.Protocol.MYSQL,
        application_name="psql", account_expires_at=None,
    )
    fields.update(over)
    return wt.Connection(**fields)


def wit_query(wt, sql="SELECT 1", kinds=None):
    facts = wt.QueryFacts(
        parsed=True, parse_error=None,
        statements=kinds if kinds is not None else [wt.StatementKind.SELECT],
        stacked=False,
        tables=[wt.TableAccess(schema="public", name="orders", access=wt.AccessMode.DDL, nested=True)],
        functions=[wt.FunctionCall(name="pg_sleep", clause=wt.Clause.FROM)],
        comments=[wt.Comment(kind=wt.CommentKind.CONDITIONAL, position=wt.CommentPosition.TRAILING, text="x")],
        union_count=2, union_literal_branch=True,
        constant_comparisons=[wt.ConstantComparison(
            op="=", value=True, connective=wt.Connective.OR, position=1, chain_length=2,
            clause=wt.Clause.WHERE, beside_column_predicate=False)],
        literals=wt.LiteralCounts(strings=1, numbers=2, placeholders=3, nulls=4, booleans=5, hex=6),
        file_access=False, locking_read=True,
    )
    return wt.Query(sql=sql, facts=facts, prepared_name="s1", in_transaction=True)


def test_records_convert_field_by_field(glue):
    component, wt, _ = glue
    c = component.connection(wit_connection(wt))
    assert c == types.Connection(
        id=9, tenant="acme", user="bob", roles=["dev", "ops"], database="shop",
        client_addr="192.0.2.7", client_port=5432, tls=True, protocol=types.Protocol.MYSQL,
        application_name="psql", account_expires_at=None,
    )
    q = component.query(wit_query(wt, "SELECT x"))
    assert q == types.Query(
        sql="SELECT x",
        prepared_name="s1",
        in_transaction=True,
        facts=types.QueryFacts(
            parsed=True,
            parse_error=None,
            statements=[types.StatementKind.SELECT],
            stacked=False,
            tables=[types.TableAccess(name="orders", access=types.AccessMode.DDL, schema="public", nested=True)],
            functions=[types.FunctionCall("pg_sleep", types.Clause.FROM)],
            comments=[types.Comment(types.CommentKind.CONDITIONAL, types.CommentPosition.TRAILING, "x")],
            union_count=2,
            union_literal_branch=True,
            constant_comparisons=[types.ConstantComparison(
                op="=", value=True, connective=types.Connective.OR, position=1, chain_length=2,
                clause=types.Clause.WHERE, beside_column_predicate=False)],
            literals=types.LiteralCounts(strings=1, numbers=2, placeholders=3, nulls=4, booleans=5, hex=6),
            file_access=False,
            locking_read=True,
        ),
    )
    # an unparsed statement: the optional and boolean fields in the other position
    w = wit_query(wt)
    w.facts.parsed, w.facts.parse_error, w.facts.stacked, w.facts.file_access = False, "bad", True, True
    w.facts.locking_read, w.prepared_name, w.in_transaction = False, None, False
    f = component.query(w)
    assert (f.facts.parsed, f.facts.parse_error, f.facts.stacked, f.facts.file_access, f.facts.locking_read) == (
        False, "bad", True, True, False)
    assert (f.prepared_name, f.in_transaction) == (None, False)
    c2 = component.connection(wit_connection(wt, application_name=None, account_expires_at=99, tls=False))
    assert (c2.application_name, c2.account_expires_at, c2.tls) == (None, 99, False)


def test_every_statement_kind_converts(glue):
    component, wt, _ = glue
    kinds = list(wt.StatementKind)
    q = component.query(wit_query(wt, kinds=kinds))
    assert [k.name for k in q.facts.statements] == [k.name for k in kinds]


def test_verdicts_convert_back(glue):
    component, wt, _ = glue
    assert isinstance(component.verdict(allow()), wt.Verdict_Allow)
    d = component.verdict(deny("r.x", "why", 1))
    assert isinstance(d, wt.Verdict_Deny) and d.value == wt.Finding(rule="r.x", reason="why", score=1.0)
    a = component.verdict(audit("r.y", "noted"))
    assert isinstance(a, wt.Verdict_Audit) and a.value.score is None


class Fake:
    """Records calls to the WIT imports the glue makes."""

    def __init__(self):
        self.calls = []


@pytest.fixture
def wit_imports(glue, monkeypatch):
    component, wt, cpt = glue
    fake = Fake()
    wkv = importlib.import_module("wit_world.imports.kv")
    store = {}

    def get(key):
        fake.calls.append(("get", key))
        if key == "down":
            raise cpt.Err(wkv.KvError_Unavailable("redis is down"))
        if key == "":
            raise cpt.Err(wkv.KvError_Invalid("empty key"))
        return store.get(key)

    def set_(key, value, ttl):
        fake.calls.append(("set", key, value, ttl))
        store[key] = value

    def incr(key, delta, ttl):
        fake.calls.append(("incr", key, delta, ttl))
        if key == "text":
            raise cpt.Err(wkv.KvError_NotAnInteger())
        return 7

    def delete(key):
        fake.calls.append(("delete", key))

    for name, fn in (("get", get), ("set", set_), ("incr", incr), ("delete", delete)):
        monkeypatch.setattr(component._wkv, name, fn)
    monkeypatch.setattr(component._wlog, "log", lambda lv, m: fake.calls.append(("log", lv, m)))
    monkeypatch.setattr(component._wclock, "now_ms", lambda: 1234)
    monkeypatch.setattr(component._wclock, "monotonic_ns", lambda: 5678)
    monkeypatch.setattr(component._wmetrics, "counter_add", lambda n, v: fake.calls.append(("counter", n, v)))
    monkeypatch.setattr(component._wreuse, "reuse_verdict_for", lambda s, b: fake.calls.append(("reuse", s, b)))
    wind = importlib.import_module("wit_world.imports.indicators")
    listed = wind.IndicatorMatch(id="i1", kind=wt.IndicatorKind.EMAIL, value="a@b", confidence=77, source="feed")
    monkeypatch.setattr(component._wind, "address_listed", lambda a: listed if a == "1.2.3.4" else None)
    monkeypatch.setattr(component._wind, "name_listed", lambda k, n: fake.calls.append(("name", k, n)) or listed)
    monkeypatch.setattr(component._wind, "sql_pattern_match", lambda s: None)
    _host.install(component.WitHost())
    return fake


def test_host_calls_reach_the_wit_imports(glue, wit_imports):
    component, wt, _ = glue
    wlog = importlib.import_module("wit_world.imports.log")
    wreuse = importlib.import_module("wit_world.imports.reuse")
    from articdbm_policy import clock, indicators, metrics

    kv.set("k", "v", ttl_ms=10)
    assert kv.get("k") == b"v"
    assert kv.incr("n", 2) == 7
    kv.delete("k")
    log.warn("careful")
    metrics.counter_add("refused", 3)
    reuse("user", "fingerprint")
    assert (clock.now_ms(), clock.monotonic_ns()) == (1234, 5678)
    m = indicators.address_listed("1.2.3.4")
    assert m == types.IndicatorMatch(id="i1", kind=IndicatorKind.EMAIL, value="a@b", confidence=77, source="feed")
    assert indicators.address_listed("5.6.7.8") is None
    indicators.name_listed("email", "a@b")
    assert indicators.sql_pattern_match("x") is None
    assert wit_imports.calls == [
        ("set", "k", b"v", 10),
        ("get", "k"),
        ("incr", "n", 2, None),
        ("delete", "k"),
        ("log", wlog.Level.WARN, "careful"),
        ("counter", "refused", 3),
        ("reuse", wreuse.Scope.USER, wreuse.Basis.FINGERPRINT),
        ("name", wt.IndicatorKind.EMAIL, "a@b"),
    ]


@pytest.mark.parametrize(
    "call, kind, message",
    [
        (lambda: kv.get("down"), KvErrorKind.UNAVAILABLE, "redis is down"),
        (lambda: kv.get(""), KvErrorKind.INVALID, "empty key"),
        (lambda: kv.incr("text"), KvErrorKind.NOT_AN_INTEGER, ""),
    ],
)
def test_kv_error_variants_become_kv_error(glue, wit_imports, call, kind, message):
    with pytest.raises(KvError) as e:
        call()
    assert e.value.kind is kind and e.value.message == message


def test_every_log_level_maps(glue, wit_imports):
    for level in Level:
        log.log(level, level.value)
    assert [c[1].name for c in wit_imports.calls] == [lv.name for lv in Level]


class Demo(Policy):
    def configure(self, config):
        if config.get("fail"):
            raise ConfigError(f"fail: {config['fail']}")
        self.word = config.get("word", "drop")

    def on_connect(self, conn):
        if not conn.tls:
            return deny("demo.tls", "TLS required")
        return allow()

    def on_query(self, conn, q):
        if q.facts.has_statement(self.word):
            return deny("demo.word", f"{self.word} by {conn.user} in {conn.protocol}", 0.25)
        if "boom" in q.sql:
            raise RuntimeError("boom")
        return audit("demo.seen", ",".join(conn.roles))


def test_export_classes_drive_the_policy(glue, fresh_runner):
    component, wt, cpt = glue
    export(Demo)
    component.check_exported()
    config, hooks = component.Config(), component.Hooks()
    config.configure('{"word": "select"}')
    v = hooks.on_query(wit_connection(wt), wit_query(wt))
    assert isinstance(v, wt.Verdict_Deny)
    assert v.value == wt.Finding(rule="demo.word", reason="select by bob in mysql", score=0.25)
    v = hooks.on_query(wit_connection(wt), wit_query(wt, kinds=[wt.StatementKind.INSERT]))
    assert isinstance(v, wt.Verdict_Audit) and v.value.reason == "dev,ops"
    assert isinstance(hooks.on_connect(wit_connection(wt)), wt.Verdict_Allow)
    assert isinstance(hooks.on_connect(wit_connection(wt, tls=False)), wt.Verdict_Deny)


def test_configure_that_raises_returns_err_with_the_message(glue, fresh_runner):
    component, wt, cpt = glue
    export(Demo)
    config = component.Config()
    with pytest.raises(cpt.Err) as e:
        config.configure('{"fail": "no good"}')
    assert e.value.value == "fail: no good"
    with pytest.raises(cpt.Err) as e:
        config.configure("not json")
    assert e.value.value.startswith("invalid config: ")
    config.configure("{}")  # and a good one afterwards works


def test_a_raising_hook_propagates_so_the_component_traps(glue, fresh_runner):
    component, wt, _ = glue
    export(Demo)
    with pytest.raises(RuntimeError, match="boom"):
        component.Hooks().on_query(wit_connection(wt), wit_query(wt, "SELECT 'boom'"))


def test_check_exported_fails_the_build_without_export(glue, fresh_runner):
    component = glue[0]
    with pytest.raises(RuntimeError, match="exported no policy"):
        component.check_exported()
