"""Time, from the host (the sandbox has no clock of its own).

Reading the clock in `on_query` makes the gateway ignore a reuse declaration of that call.
"""

from __future__ import annotations

import datetime as _dt

from . import _host

__all__ = ["now_ms", "monotonic_ns", "now"]


def now_ms() -> int:
    """Wall-clock milliseconds since the Unix epoch."""
    return _host.current().now_ms()


def monotonic_ns() -> int:
    """A monotonic clock in nanoseconds, for measuring intervals."""
    return _host.current().monotonic_ns()


def now(offset_minutes: int = 0) -> _dt.datetime:
    """The wall-clock time as an aware `datetime`, in UTC shifted by `offset_minutes`."""
    tz = _dt.timezone(_dt.timedelta(minutes=offset_minutes))
    return _dt.datetime.fromtimestamp(now_ms() / 1000, tz)
