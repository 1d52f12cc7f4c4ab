"""Run a policy natively (pytest), without building wasm.

`MemoryHost` stands in for the gateway: a key-value store with TTLs driven by a settable
clock, indicators, and captured logs, counters and reuse declarations. `Harness` configures a
policy as the gateway does and calls its hooks with that host installed.

    from articdbm_policy.testing import Harness, connection, query

    def test_drop_is_refused():
        h = Harness(NoDrop, {})
        v = h.on_query(connection(user="alice"), query("DROP TABLE t"))
        assert v.is_deny and v.rule == "nodrop.drop"

`query()` guesses statement kinds from the first keyword of each `;`-separated statement; pass
`statements=` (and `tables=`, any other `QueryFacts` field) to state the facts exactly. The
gateway's real facts come from a SQL parser: check a built component with
``articdbm-gateway policy test``.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any, Dict, Iterable, List, Optional, Tuple, Type, Union

from . import _host
from ._host import Host, KvError, KvErrorKind
from .policy import Policy, Runner
from .types import (
    AccessMode,
    Connection,
    IndicatorKind,
    IndicatorMatch,
    Level,
    Protocol,
    Query,
    QueryFacts,
    ReuseBasis,
    ReuseScope,
    StatementKind,
    TableAccess,
    Verdict,
    access_of,
)

__all__ = [
    "MemoryHost",
    "Harness",
    "ConfigRefused",
    "connection",
    "query",
    "facts",
    "guess_statements",
]

DEFAULT_NOW_MS = 1_700_000_000_000
"""2023-11-14T22:13:20Z, the clock a fresh `MemoryHost` starts at (as the Rust SDK's)."""

MAX_KEY_BYTES = 512
MAX_VALUE_BYTES = 64 * 1024


class MemoryHost(Host):
    """An in-memory gateway for tests. Attributes are public so tests can look and poke:

    - `clock_ms`: the wall clock in ms since the epoch (`advance`, `set_time` move it); `monotonic_ns` follows it;
    - `kv`: key -> (bytes, expiry ms or None); entries past expiry are gone;
    - `logs`: list of (Level, message); `counters`: name -> total;
    - `indicators`: `IndicatorMatch` list (`add_indicator`); exact, case-insensitive match
      (no CIDR); sql patterns match as substrings;
    - `kv_down`: when True every kv call raises `KvError(UNAVAILABLE)`;
    - `reuse`: the (scope, basis) the current hook call declared; `stateful`: whether the
      call used the clock, the store or indicators (the gateway then ignores the declaration).
    """

    def __init__(self, now_ms: int = DEFAULT_NOW_MS) -> None:
        self.clock_ms = int(now_ms)
        self.kv: Dict[str, Tuple[bytes, Optional[int]]] = {}
        self.logs: List[Tuple[Level, str]] = []
        self.counters: Dict[str, int] = {}
        self.indicators: List[IndicatorMatch] = []
        self.kv_down = False
        self.reuse: Optional[Tuple[ReuseScope, ReuseBasis]] = None
        self.stateful = False

    # clock -----------------------------------------------------------------------------

    def advance(self, ms: int) -> None:
        """Moves the clock forward by `ms` milliseconds."""
        self.clock_ms += int(ms)

    def set_time(self, when: Union[int, _dt.datetime]) -> None:
        """Sets the clock: milliseconds since the epoch, or an aware `datetime`."""
        if isinstance(when, _dt.datetime):
            if when.tzinfo is None:
                raise ValueError("set_time needs an aware datetime (tzinfo set)")
            self.clock_ms = int(round(when.timestamp() * 1000))
        else:
            self.clock_ms = int(when)

    def now_ms(self) -> int:
        self.stateful = True
        return self.clock_ms

    def monotonic_ns(self) -> int:
        self.stateful = True
        return self.clock_ms * 1_000_000

    # log and metrics -------------------------------------------------------------------

    def log(self, level: Level, message: str) -> None:
        self.logs.append((level, message))

    def messages(self, level: Union[Level, str, None] = None) -> List[str]:
        """Logged messages, optionally only those at `level`."""
        if level is None:
            return [m for _, m in self.logs]
        level = Level.parse(level)
        return [m for lv, m in self.logs if lv is level]

    def counter_add(self, name: str, value: int) -> None:
        self.counters[name] = self.counters.get(name, 0) + value

    def counter(self, name: str) -> int:
        """The total of counter `name` (0 when never added to)."""
        return self.counters.get(name, 0)

    # kv --------------------------------------------------------------------------------

    def _check(self, key: str) -> None:
        if self.kv_down:
            raise KvError(KvErrorKind.UNAVAILABLE, "test host: kv is down")
        if not isinstance(key, str) or not 1 <= len(key.encode("utf-8")) <= MAX_KEY_BYTES:
            raise KvError(KvErrorKind.INVALID, "key must be 1..=512 bytes")

    def _live(self, key: str) -> Optional[bytes]:
        entry = self.kv.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires is not None and expires <= self.clock_ms:
            del self.kv[key]
            return None
        return value

    def kv_get(self, key: str) -> Optional[bytes]:
        self.stateful = True
        self._check(key)
        return self._live(key)

    def kv_set(self, key: str, value: bytes, ttl_ms: Optional[int]) -> None:
        self.stateful = True
        self._check(key)
        if len(value) > MAX_VALUE_BYTES:
            raise KvError(KvErrorKind.INVALID, "value exceeds 64 KiB")
        expires = None if ttl_ms is None else self.clock_ms + ttl_ms
        self.kv[key] = (bytes(value), expires)

    def kv_incr(self, key: str, delta: int, ttl_ms: Optional[int]) -> int:
        self.stateful = True
        self._check(key)
        current = self._live(key)
        if current is None:
            expires = None if ttl_ms is None else self.clock_ms + ttl_ms
            n = 0
        else:
            expires = self.kv[key][1]
            try:
                n = int(current.decode("ascii"))
            except (UnicodeDecodeError, ValueError):
                raise KvError(KvErrorKind.NOT_AN_INTEGER) from None
        n = max(-(1 << 63), min((1 << 63) - 1, n + delta))
        self.kv[key] = (str(n).encode("ascii"), expires)
        return n

    def kv_delete(self, key: str) -> None:
        self.stateful = True
        self._check(key)
        self.kv.pop(key, None)

    def ttl_ms(self, key: str) -> Optional[int]:
        """Milliseconds until `key` expires (None: no expiry or no such key)."""
        if self._live(key) is None:
            return None
        expires = self.kv[key][1]
        return None if expires is None else expires - self.clock_ms

    # indicators ------------------------------------------------------------------------

    def add_indicator(
        self, kind: Union[IndicatorKind, str], value: str, confidence: int = 90, source: str = "test"
    ) -> IndicatorMatch:
        m = IndicatorMatch(
            id=f"test--{len(self.indicators)}",
            kind=IndicatorKind.parse(kind),
            value=value,
            confidence=confidence,
            source=source,
        )
        self.indicators.append(m)
        return m

    def _lookup(self, kind: IndicatorKind, value: str) -> Optional[IndicatorMatch]:
        self.stateful = True
        best = None
        for m in self.indicators:
            if m.kind is kind and m.value.lower() == value.lower():
                if best is None or m.confidence > best.confidence:
                    best = m
        return best

    def address_listed(self, addr: str) -> Optional[IndicatorMatch]:
        return self._lookup(IndicatorKind.ADDRESS, addr)

    def name_listed(self, kind: IndicatorKind, name: str) -> Optional[IndicatorMatch]:
        return self._lookup(kind, name)

    def sql_pattern_match(self, sql: str) -> Optional[IndicatorMatch]:
        self.stateful = True
        hits = [m for m in self.indicators if m.kind is IndicatorKind.SQL_PATTERN and m.value in sql]
        return max(hits, key=lambda m: m.confidence) if hits else None

    # reuse -----------------------------------------------------------------------------

    def reuse_verdict_for(self, scope: ReuseScope, basis: ReuseBasis) -> None:
        self.reuse = (scope, basis)


class ConfigRefused(Exception):
    """The policy refused its config; `message` is what the gateway would show."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class Harness:
    """A configured policy under test, with its own `MemoryHost` (`host`).

    ``Harness(MyPolicy, {"max": 3})`` configures as the gateway would and raises
    `ConfigRefused` when the policy refuses; ``Harness(MyPolicy)`` leaves it unconfigured (a
    hook then configures with ``{}``, as in the component). `config` may be a dict or JSON text.
    """

    def __init__(
        self,
        cls: Type[Policy],
        config: Union[dict, str, None] = None,
        host: Optional[MemoryHost] = None,
    ) -> None:
        self.host = host if host is not None else MemoryHost()
        self.runner = Runner(cls)
        _host.install(self.host)
        if config is not None:
            err = self.configure(config)
            if err is not None:
                raise ConfigRefused(err)

    @property
    def plugin(self) -> Optional[Policy]:
        """The configured plugin object."""
        return self.runner.plugin

    def configure(self, config: Union[dict, str]) -> Optional[str]:
        """Configures again; returns None, or the message the gateway would show."""
        text = config if isinstance(config, str) else _json_dumps(config)
        _host.install(self.host)
        return self.runner.configure(text)

    def on_connect(self, conn: Optional[Connection] = None) -> Verdict:
        _host.install(self.host)
        self.host.reuse, self.host.stateful = None, False
        return self.runner.on_connect(conn if conn is not None else connection())

    def on_query(self, conn: Optional[Connection], q: Union[Query, str]) -> Verdict:
        """Calls on_query; `q` may be SQL text (facts guessed by `query`)."""
        _host.install(self.host)
        self.host.reuse, self.host.stateful = None, False
        if isinstance(q, str):
            q = query(q)
        return self.runner.on_query(conn if conn is not None else connection(), q)

    @property
    def reused(self) -> Optional[Tuple[ReuseScope, ReuseBasis]]:
        """The reuse the last hook call declared, as the gateway would take it: None when it
        declared none or used the clock, the store or indicators."""
        return None if self.host.stateful else self.host.reuse


def _json_dumps(value: Any) -> str:
    import json

    return json.dumps(value)


def connection(
    user: str = "alice",
    roles: Iterable[str] = (),
    *,
    tenant: str = "acme",
    database: str = "app",
    client_addr: str = "127.0.0.1",
    client_port: int = 50000,
    tls: bool = False,
    protocol: Union[Protocol, str] = Protocol.POSTGRES,
    application_name: Optional[str] = None,
    account_expires_at: Optional[int] = None,
    id: int = 1,
) -> Connection:
    """A `Connection` with test defaults: tenant acme, user alice, database app,
    127.0.0.1:50000, no TLS, PostgreSQL."""
    return Connection(
        id=id,
        tenant=tenant,
        user=user,
        roles=list(roles),
        database=database,
        client_addr=client_addr,
        client_port=client_port,
        tls=tls,
        protocol=Protocol.parse(protocol),
        application_name=application_name,
        account_expires_at=account_expires_at,
    )


_FIRST_WORD = {
    "start": StatementKind.BEGIN,
    "end": StatementKind.COMMIT,
    "use": StatementKind.USE_DATABASE,
    "with": StatementKind.SELECT,
    "values": StatementKind.SELECT,
    "table": StatementKind.SELECT,
    "replace": StatementKind.INSERT,
    "upsert": StatementKind.INSERT,
    "desc": StatementKind.EXPLAIN,
    "describe": StatementKind.EXPLAIN,
    "reset": StatementKind.SET,
    "release": StatementKind.SAVEPOINT,
}
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/|#[^\n]*", re.S)
_STRINGS = re.compile(r"'(?:[^']|'')*'")


def guess_statements(sql: str) -> List[StatementKind]:
    """Statement kinds from the first keyword of each `;`-separated statement (a rough guess
    for tests; the gateway parses SQL properly)."""
    text = _STRINGS.sub("''", _COMMENTS.sub(" ", sql))
    kinds = []
    for part in text.split(";"):
        words = part.split()
        if not words:
            continue
        word = words[0].lower().strip("(")
        kind = _FIRST_WORD.get(word)
        if kind is None:
            try:
                kind = StatementKind(word)
            except ValueError:
                kind = StatementKind.OTHER
        kinds.append(kind)
    return kinds


def _table(t: Union[TableAccess, str], default: AccessMode) -> TableAccess:
    if isinstance(t, TableAccess):
        return t
    name, _, mode = t.partition(":")
    schema, _, table = name.rpartition(".")
    return TableAccess(
        name=table,
        schema=schema or None,
        access=AccessMode.parse(mode) if mode else default,
    )


def facts(
    statements: Optional[Iterable[Union[StatementKind, str]]] = None,
    tables: Iterable[Union[TableAccess, str]] = (),
    **fields: Any,
) -> QueryFacts:
    """`QueryFacts` from statement kinds (members or names) and tables (`TableAccess` or
    ``"[schema.]name[:access]"``; the access defaults to that of the first statement), plus
    any other field by name."""
    kinds = [StatementKind.parse(k) for k in (statements or ())]
    default = (access_of(kinds[0]) if kinds else None) or AccessMode.READ
    f = QueryFacts(statements=kinds, tables=[_table(t, default) for t in tables], **fields)
    if "stacked" not in fields:
        f.stacked = len(kinds) > 1
    return f


def query(
    sql: str,
    statements: Optional[Iterable[Union[StatementKind, str]]] = None,
    tables: Iterable[Union[TableAccess, str]] = (),
    *,
    prepared_name: Optional[str] = None,
    in_transaction: bool = False,
    **fields: Any,
) -> Query:
    """A `Query` for `sql`. Without `statements` the kinds are guessed from the text
    (`guess_statements`); other `QueryFacts` fields may be given by name."""
    kinds = guess_statements(sql) if statements is None else statements
    return Query(
        sql=sql,
        facts=facts(kinds, tables, **fields),
        prepared_name=prepared_name,
        in_transaction=in_transaction,
    )
