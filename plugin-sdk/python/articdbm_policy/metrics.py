"""Plugin-defined counters, exported by the gateway as
`articdbm_plugin_counter_total{plugin, tenant, name}` (at most 64 names per plugin)."""

from __future__ import annotations

from . import _host

__all__ = ["counter_add"]

_U64_MAX = (1 << 64) - 1


def counter_add(name: str, value: int = 1) -> None:
    """Adds `value` (an integer in 0..2**64-1) to counter `name`."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _U64_MAX:
        raise ValueError(f"counter value must be an integer in 0..2**64-1, not {value!r}")
    _host.current().counter_add(str(name), value)
