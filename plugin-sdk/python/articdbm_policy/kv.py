"""The key-value store scoped to (tenant, plugin), shared by every instance of the plugin and,
in a cluster, through Redis. Keys are 1..512 bytes, values at most 64 KiB. Every function raises
`KvError` (with `.kind`: unavailable, invalid, not-an-integer) when the host refuses.

    from articdbm_policy import kv
    n = kv.incr(f"refused:{user}", 1, ttl_ms=60_000)

Using the store in `on_query` makes the gateway ignore a reuse declaration of that call.
"""

from __future__ import annotations

from typing import Optional, Union

from . import _host
from ._host import KvError, KvErrorKind

__all__ = ["get", "get_str", "get_int", "set", "incr", "delete", "KvError", "KvErrorKind"]

_U64_MAX = (1 << 64) - 1
_S64_MIN = -(1 << 63)
_S64_MAX = (1 << 63) - 1


def _ttl(ttl_ms: Optional[int]) -> Optional[int]:
    if ttl_ms is None:
        return None
    if not isinstance(ttl_ms, int) or isinstance(ttl_ms, bool) or not 0 <= ttl_ms <= _U64_MAX:
        raise ValueError(f"ttl_ms must be None or an integer in 0..2**64-1, not {ttl_ms!r}")
    return ttl_ms


def get(key: str) -> Optional[bytes]:
    """The value stored at `key`, or None when missing or expired."""
    return _host.current().kv_get(key)


def get_str(key: str) -> Optional[str]:
    """The value at `key` decoded as UTF-8 (invalid bytes replaced), or None."""
    v = get(key)
    return None if v is None else v.decode("utf-8", "replace")


def get_int(key: str) -> Optional[int]:
    """The integer at `key` (as `incr` stores it), or None when missing. Raises
    `KvError(NOT_AN_INTEGER)` when the value is not an integer."""
    v = get(key)
    if v is None:
        return None
    try:
        return int(v.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise KvError(KvErrorKind.NOT_AN_INTEGER) from None


def set(key: str, value: Union[bytes, bytearray, str, int], ttl_ms: Optional[int] = None) -> None:
    """Stores `value` (bytes; str is stored as UTF-8, int as its decimal text, like `incr`)
    at `key`, expiring after `ttl_ms` milliseconds when given."""
    if isinstance(value, bool):
        raise TypeError("kv values are bytes, str or int, not bool")
    if isinstance(value, int):
        data = str(value).encode("ascii")
    elif isinstance(value, str):
        data = value.encode("utf-8")
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
    else:
        raise TypeError(f"kv values are bytes, str or int, not {type(value).__name__}")
    _host.current().kv_set(key, data, _ttl(ttl_ms))


def incr(key: str, delta: int = 1, ttl_ms: Optional[int] = None) -> int:
    """Atomically adds `delta` to the integer at `key` (missing keys count as 0) and returns the
    new value; `ttl_ms` applies when this call creates the key."""
    if not isinstance(delta, int) or isinstance(delta, bool) or not _S64_MIN <= delta <= _S64_MAX:
        raise ValueError(f"delta must be a 64-bit signed integer, not {delta!r}")
    return _host.current().kv_incr(key, delta, _ttl(ttl_ms))


def delete(key: str) -> None:
    """Removes `key`; removing a missing key is not an error."""
    _host.current().kv_delete(key)
