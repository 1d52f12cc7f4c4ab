"""The indirection between the SDK's host wrappers and whatever implements them.

Inside the component the glue (`articdbm_policy._component`) installs a backend that calls
the WIT imports. Natively (tests), `articdbm_policy.testing` installs an in-memory one; if
nothing was installed, the first host call installs a fresh `testing.MemoryHost`.
"""

from __future__ import annotations

import enum
from typing import Optional

from .types import IndicatorKind, IndicatorMatch, Level, ReuseBasis, ReuseScope

__all__ = ["Host", "KvError", "KvErrorKind", "install", "current"]


class KvErrorKind(str, enum.Enum):
    """The cases of the WIT `kv-error` variant."""

    UNAVAILABLE = "unavailable"
    INVALID = "invalid"
    NOT_AN_INTEGER = "not-an-integer"

    def __str__(self) -> str:
        return self.value


class KvError(Exception):
    """A key-value operation failed. `kind` says how (`KvErrorKind`), `message` why (empty for
    ``not-an-integer``)."""

    def __init__(self, kind: KvErrorKind, message: str = "") -> None:
        self.kind = KvErrorKind(kind)
        self.message = message
        super().__init__(f"kv {self.kind.value}: {message}" if message else f"kv {self.kind.value}")


class Host:
    """What a backend implements. Methods take and return SDK types; kv methods raise
    `KvError`."""

    def log(self, level: Level, message: str) -> None:
        raise NotImplementedError

    def now_ms(self) -> int:
        raise NotImplementedError

    def monotonic_ns(self) -> int:
        raise NotImplementedError

    def kv_get(self, key: str) -> Optional[bytes]:
        raise NotImplementedError

    def kv_set(self, key: str, value: bytes, ttl_ms: Optional[int]) -> None:
        raise NotImplementedError

    def kv_incr(self, key: str, delta: int, ttl_ms: Optional[int]) -> int:
        raise NotImplementedError

    def kv_delete(self, key: str) -> None:
        raise NotImplementedError

    def counter_add(self, name: str, value: int) -> None:
        raise NotImplementedError

    def address_listed(self, addr: str) -> Optional[IndicatorMatch]:
        raise NotImplementedError

    def name_listed(self, kind: IndicatorKind, name: str) -> Optional[IndicatorMatch]:
        raise NotImplementedError

    def sql_pattern_match(self, sql: str) -> Optional[IndicatorMatch]:
        raise NotImplementedError

    def reuse_verdict_for(self, scope: ReuseScope, basis: ReuseBasis) -> None:
        raise NotImplementedError


_current: Optional[Host] = None


def install(host: Optional[Host]) -> Optional[Host]:
    """Makes `host` the backend of every host call; returns the previous one."""
    global _current
    previous, _current = _current, host
    return previous


def current() -> Host:
    """The installed backend (a fresh in-memory host when none was installed)."""
    global _current
    if _current is None:
        from .testing import MemoryHost

        _current = MemoryHost()
    return _current
