"""Lookups in the threat-intelligence indicator store the gateway holds for this tenant.

Each returns the best `IndicatorMatch` or None. A lookup in `on_query` makes the gateway ignore
a reuse declaration of that call.
"""

from __future__ import annotations

from typing import Optional, Union

from . import _host
from .types import IndicatorKind, IndicatorMatch

__all__ = ["address_listed", "name_listed", "sql_pattern_match", "IndicatorKind", "IndicatorMatch"]


def address_listed(addr: str) -> Optional[IndicatorMatch]:
    """The best match for an IP address (exact or CIDR), if any."""
    return _host.current().address_listed(str(addr))


def name_listed(kind: Union[IndicatorKind, str], name: str) -> Optional[IndicatorMatch]:
    """The best match for a name of the given kind ("domain", "url", "user", "email")."""
    return _host.current().name_listed(IndicatorKind.parse(kind), str(name))


def sql_pattern_match(sql: str) -> Optional[IndicatorMatch]:
    """The best `sql-pattern` indicator matching the statement text, if any."""
    return _host.current().sql_pattern_match(str(sql))
