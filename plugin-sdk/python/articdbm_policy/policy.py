"""The `Policy` base class, verdict helpers, reuse declarations and `export`."""

from __future__ import annotations

import json
from typing import Any, Optional, Type, Union

from . import _host
from .types import (
    Connection,
    Finding,
    Query,
    ReuseBasis,
    ReuseScope,
    Verdict,
    VerdictKind,
)

__all__ = [
    "Policy",
    "ConfigError",
    "allow",
    "deny",
    "audit",
    "reuse",
    "export",
    "exported",
    "parse_config",
]

_ALLOW = Verdict(VerdictKind.ALLOW)


def allow() -> Verdict:
    """Let the statement (or connection) through."""
    return _ALLOW


def deny(rule: str, reason: str, score: Optional[float] = None) -> Verdict:
    """Refuse it. The client gets an error naming `rule` and `reason` (never put secrets in
    the reason); `score` is an optional risk score in [0, 1]."""
    return Verdict(VerdictKind.DENY, Finding(rule, reason, score))


def audit(rule: str, reason: str, score: Optional[float] = None) -> Verdict:
    """Let it through but record the finding in the audit trail."""
    return Verdict(VerdictKind.AUDIT, Finding(rule, reason, score))


def reuse(
    scope: Union[ReuseScope, str] = ReuseScope.STATEMENT,
    basis: Union[ReuseBasis, str] = ReuseBasis.SHAPE,
) -> None:
    """Declares, from inside `on_query`, that the verdict being returned holds for every
    statement of the same `basis` ("shape" or "fingerprint") within `scope` ("statement": every
    connection of the tenant; "user": connections of the same user, roles and database), so
    the gateway answers those without calling the plugin again.

    Declare it only for a verdict computed from the statement alone (for "statement" scope, not
    from the connection); the gateway ignores it when the call used the clock, the key-value
    store or indicators. A second call replaces the first; outside `on_query` it does nothing.
    See the `reuse` interface in wit/v0.1.2/policy.wit.
    """
    _host.current().reuse_verdict_for(ReuseScope.parse(scope), ReuseBasis.parse(basis))


class ConfigError(ValueError):
    """Raise from `Policy.configure` to refuse a config; the message reaches the operator."""


def parse_config(config_json: str) -> dict:
    """Parses the binding's JSON config; an empty text counts as ``{}``. Raises `ConfigError`
    naming the problem."""
    text = config_json if config_json and config_json.strip() else "{}"
    try:
        value = json.loads(text)
    except ValueError as e:
        raise ConfigError(f"invalid config: {e}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"invalid config: expected a JSON object, got {type(value).__name__}")
    return value


class Policy:
    """A policy plugin. Subclass it, override what you need, and pass the class to `export`.

    The gateway creates the plugin (the class is called without arguments), calls `configure`
    once with the binding's config (already validated against the manifest's JSON Schema),
    then the hooks, many times, on the same object: keep per-statement state out of `self`,
    and cross-call state in `kv` (shared by every instance and gateway).
    """

    def configure(self, config: dict) -> None:
        """Receives the binding's config as parsed JSON. Raise (`ConfigError` or any exception)
        to refuse it: the pack is not activated and the operator sees the message.
        Default: accept ``{}`` only."""
        if config:
            raise ConfigError(
                f"{type(self).__name__} takes no configuration (got keys: {', '.join(sorted(config))})"
            )

    def on_connect(self, conn: Connection) -> Verdict:
        """Runs once per client connection, after authentication. Default: allow."""
        return _ALLOW

    def on_query(self, conn: Connection, query: Query) -> Verdict:
        """Runs for every statement. Default: allow."""
        return _ALLOW


_exported: Optional[Type[Policy]] = None


def export(cls: Type[Policy]) -> Type[Policy]:
    """Makes `cls` the policy the component exports. Call it once in ``app.py``
    (``export(MyPolicy)``), or use it as a class decorator."""
    global _exported
    if not (isinstance(cls, type) and issubclass(cls, Policy)):
        raise TypeError(f"export() takes a subclass of articdbm_policy.Policy, not {cls!r}")
    if _exported is not None and _exported is not cls:
        raise RuntimeError(
            f"export() called twice: {_exported.__qualname__} and {cls.__qualname__}; a plugin exports one policy"
        )
    _exported = cls
    return cls


def exported() -> Optional[Type[Policy]]:
    """The class passed to `export`, if any."""
    return _exported


def _message(e: BaseException) -> str:
    text = str(e)
    if isinstance(e, ValueError) and text:
        return text
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _checked(verdict: Any, hook: str) -> Verdict:
    if isinstance(verdict, Verdict):
        return verdict
    raise TypeError(
        f"{hook} returned {verdict!r}; return allow(), deny(rule, reason) or audit(rule, reason)"
    )


class Runner:
    """Drives one plugin object the way the gateway does: `configure` turns any exception into
    an error message (the config is refused, the previous configuration stays), a hook called
    before any successful `configure` first configures with ``{}`` and denies with rule
    ``plugin.unconfigured`` when that is refused (fail closed), and a hook that raises or
    returns something other than a `Verdict` raises (in the component: a trap, which the
    gateway turns into its binding's failure mode). The component glue and
    `testing.Harness` both use it."""

    def __init__(self, cls: Type[Policy]) -> None:
        self.cls = cls
        self.plugin: Optional[Policy] = None

    def configure(self, config_json: str) -> Optional[str]:
        """Configures a new plugin object; returns None on success, else the error message."""
        try:
            config = parse_config(config_json)
            plugin = self.cls()
            plugin.configure(config)
        except Exception as e:  # noqa: BLE001 - every refusal becomes the Err message
            return _message(e)
        self.plugin = plugin
        return None

    def _ready(self) -> Optional[Verdict]:
        if self.plugin is None:
            err = self.configure("{}")
            if err is not None:
                return deny("plugin.unconfigured", f"plugin has no valid configuration: {err}")
        return None

    def on_connect(self, conn: Connection) -> Verdict:
        refused = self._ready()
        if refused is not None:
            return refused
        return _checked(self.plugin.on_connect(conn), "on_connect")

    def on_query(self, conn: Connection, query: Query) -> Verdict:
        refused = self._ready()
        if refused is not None:
            return refused
        return _checked(self.plugin.on_query(conn, query), "on_query")
