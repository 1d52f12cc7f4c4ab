"""Logging into the gateway's log, tagged with tenant and plugin.

    from articdbm_policy import log
    log.warn(f"user {conn.user} refused")

Lines longer than 4 KiB are truncated by the host; at most 16 lines per hook call are kept.
"""

from __future__ import annotations

from typing import Union

from . import _host
from .types import Level

__all__ = ["log", "trace", "debug", "info", "warn", "warning", "error", "Level"]


def log(level: Union[Level, str], message: str) -> None:
    """Writes `message` at `level` (a `Level` or its name: "info", "warn"...)."""
    _host.current().log(Level.parse(level), str(message))


def trace(message: str) -> None:
    _host.current().log(Level.TRACE, str(message))


def debug(message: str) -> None:
    _host.current().log(Level.DEBUG, str(message))


def info(message: str) -> None:
    _host.current().log(Level.INFO, str(message))


def warn(message: str) -> None:
    _host.current().log(Level.WARN, str(message))


warning = warn


def error(message: str) -> None:
    _host.current().log(Level.ERROR, str(message))
