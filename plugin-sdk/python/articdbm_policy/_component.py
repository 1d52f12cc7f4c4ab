"""The glue between componentize-py's generated bindings (module `wit_world`, made at build
time from wit/v0.1.2, world `configurable-policy`) and the SDK. Only the component imports
this module: build.sh generates an entry module that imports the plugin's `app` and then
re-exports `Hooks` and `Config` from here, the classes componentize-py looks for.

It converts the WIT records into `articdbm_policy.types` and back, installs a host backend
that calls the WIT imports, and runs the exported policy through `policy.Runner`.
"""

from __future__ import annotations

from typing import Optional

from wit_world import exports as _wexports
from componentize_py_types import Err
from wit_world.imports import clock as _wclock
from wit_world.imports import indicators as _wind
from wit_world.imports import kv as _wkv
from wit_world.imports import log as _wlog
from wit_world.imports import metrics as _wmetrics
from wit_world.imports import reuse as _wreuse
from wit_world.imports import types as _wt

from . import _host
from . import types as t
from ._host import KvError, KvErrorKind
from .policy import Runner, exported


def _enum_map(wit_enum, sdk_enum):
    """Binding member -> SDK member, by Python name (STATEMENT_KIND.USE_DATABASE ...)."""
    return {m: sdk_enum[m.name] for m in wit_enum}


_PROTOCOL = _enum_map(_wt.Protocol, t.Protocol)
_STATEMENT = _enum_map(_wt.StatementKind, t.StatementKind)
_ACCESS = _enum_map(_wt.AccessMode, t.AccessMode)
_CLAUSE = _enum_map(_wt.Clause, t.Clause)
_COMMENT_KIND = _enum_map(_wt.CommentKind, t.CommentKind)
_COMMENT_POSITION = _enum_map(_wt.CommentPosition, t.CommentPosition)
_CONNECTIVE = _enum_map(_wt.Connective, t.Connective)
_INDICATOR_KIND = _enum_map(_wt.IndicatorKind, t.IndicatorKind)
_INDICATOR_KIND_BACK = {v: k for k, v in _INDICATOR_KIND.items()}
_LEVEL_BACK = {v: k for k, v in _enum_map(_wlog.Level, t.Level).items()}
_SCOPE_BACK = {v: k for k, v in _enum_map(_wreuse.Scope, t.ReuseScope).items()}
_BASIS_BACK = {v: k for k, v in _enum_map(_wreuse.Basis, t.ReuseBasis).items()}


# The conversions run on every hook call, so they pass arguments by position (about twice as
# fast as keywords in CPython): the order is that of the dataclasses in types.py, and
# tests/test_component.py checks every field.
_Connection = t.Connection
_Query = t.Query
_QueryFacts = t.QueryFacts
_TableAccess = t.TableAccess
_FunctionCall = t.FunctionCall
_Comment = t.Comment
_ConstantComparison = t.ConstantComparison
_LiteralCounts = t.LiteralCounts


def connection(c) -> t.Connection:
    return _Connection(
        c.id,
        c.tenant,
        c.user,
        list(c.roles),
        c.database,
        c.client_addr,
        c.client_port,
        c.tls,
        _PROTOCOL[c.protocol],
        c.application_name,
        c.account_expires_at,
    )


def facts(f) -> t.QueryFacts:
    lit = f.literals
    return _QueryFacts(
        f.parsed,
        f.parse_error,
        [_STATEMENT[k] for k in f.statements],
        f.stacked,
        [_TableAccess(x.name, _ACCESS[x.access], x.schema, x.nested) for x in f.tables] if f.tables else [],
        [_FunctionCall(x.name, _CLAUSE[x.clause]) for x in f.functions] if f.functions else [],
        [_Comment(_COMMENT_KIND[x.kind], _COMMENT_POSITION[x.position], x.text) for x in f.comments]
        if f.comments
        else [],
        f.union_count,
        f.union_literal_branch,
        [
            _ConstantComparison(
                x.op,
                x.value,
                _CONNECTIVE[x.connective],
                x.position,
                x.chain_length,
                _CLAUSE[x.clause],
                x.beside_column_predicate,
            )
            for x in f.constant_comparisons
        ]
        if f.constant_comparisons
        else [],
        _LiteralCounts(lit.strings, lit.numbers, lit.placeholders, lit.nulls, lit.booleans, lit.hex),
        f.file_access,
        f.locking_read,
    )


def query(q) -> t.Query:
    return _Query(q.sql, facts(q.facts), q.prepared_name, q.in_transaction)


_WIT_ALLOW = _wt.Verdict_Allow()


def verdict(v: t.Verdict):
    """SDK verdict -> binding verdict."""
    f = v.finding
    if f is None:
        return _WIT_ALLOW
    finding = _wt.Finding(rule=f.rule, reason=f.reason, score=None if f.score is None else float(f.score))
    if v.kind is t.VerdictKind.DENY:
        return _wt.Verdict_Deny(finding)
    return _wt.Verdict_Audit(finding)


def indicator_match(m) -> Optional[t.IndicatorMatch]:
    if m is None:
        return None
    return t.IndicatorMatch(
        id=m.id, kind=_INDICATOR_KIND[m.kind], value=m.value, confidence=m.confidence, source=m.source
    )


def kv_error(e: Err) -> KvError:
    v = e.value
    if isinstance(v, _wkv.KvError_Unavailable):
        return KvError(KvErrorKind.UNAVAILABLE, v.value)
    if isinstance(v, _wkv.KvError_Invalid):
        return KvError(KvErrorKind.INVALID, v.value)
    if isinstance(v, _wkv.KvError_NotAnInteger):
        return KvError(KvErrorKind.NOT_AN_INTEGER)
    return KvError(KvErrorKind.UNAVAILABLE, repr(v))


class WitHost(_host.Host):
    """The backend that calls the component's WIT imports."""

    def log(self, level, message):
        _wlog.log(_LEVEL_BACK[level], message)

    def now_ms(self):
        return _wclock.now_ms()

    def monotonic_ns(self):
        return _wclock.monotonic_ns()

    def kv_get(self, key):
        try:
            return _wkv.get(key)
        except Err as e:
            raise kv_error(e) from None

    def kv_set(self, key, value, ttl_ms):
        try:
            _wkv.set(key, value, ttl_ms)
        except Err as e:
            raise kv_error(e) from None

    def kv_incr(self, key, delta, ttl_ms):
        try:
            return _wkv.incr(key, delta, ttl_ms)
        except Err as e:
            raise kv_error(e) from None

    def kv_delete(self, key):
        try:
            _wkv.delete(key)
        except Err as e:
            raise kv_error(e) from None

    def counter_add(self, name, value):
        _wmetrics.counter_add(name, value)

    def address_listed(self, addr):
        return indicator_match(_wind.address_listed(addr))

    def name_listed(self, kind, name):
        return indicator_match(_wind.name_listed(_INDICATOR_KIND_BACK[kind], name))

    def sql_pattern_match(self, sql):
        return indicator_match(_wind.sql_pattern_match(sql))

    def reuse_verdict_for(self, scope, basis):
        _wreuse.reuse_verdict_for(_SCOPE_BACK[scope], _BASIS_BACK[basis])


_host.install(WitHost())
_runner: Optional[Runner] = None


def runner() -> Runner:
    global _runner
    if _runner is None:
        cls = exported()
        if cls is None:
            raise RuntimeError("the plugin exported no policy: call articdbm_policy.export(MyPolicy) in app.py")
        _runner = Runner(cls)
    return _runner


def check_exported() -> None:
    """Called by the generated entry module at build time (pre-initialisation): fails the
    build when app.py exported no policy."""
    runner()


class Hooks(_wexports.Hooks):
    def on_connect(self, conn):
        return verdict(runner().on_connect(connection(conn)))

    def on_query(self, conn, query_):
        return verdict(runner().on_query(connection(conn), query(query_)))


class Config(_wexports.Config):
    def configure(self, config_json):
        err = runner().configure(config_json)
        if err is not None:
            raise Err(err)
