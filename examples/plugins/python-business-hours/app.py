"""business-hours: write windows per role, written in Python.

Writes (INSERT, UPDATE, DELETE, MERGE and DDL: CREATE, ALTER, DROP, TRUNCATE, GRANT, REVOKE,
or any table accessed other than for reading) are allowed only inside the weekly windows of the
connection's roles, never on a holiday; outside them the statement is denied with rule
`hours.closed` and a reason naming the windows. Reads are always allowed. Roles listed in
`always_open_roles` bypass the windows.

Host capabilities used: the clock (the time now), the key-value store (per user, the number of
refused writes today, with `incr` and a TTL to the end of the local day; and an "already warned
today" flag set with the same TTL), a counter (`refused_writes`) and the log (a warning on a
user's first refusal of the day).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Optional, Tuple

from articdbm_policy import (
    ConfigError,
    KvError,
    Policy,
    allow,
    clock,
    deny,
    export,
    kv,
    log,
    metrics,
    reuse,
)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
DAY_MS = 86_400_000
RULE = "hours.closed"
# Config key: the windows of a connection none of whose roles has an entry.
OTHER_ROLES = "*"


@dataclass(frozen=True)
class Window:
    """Open on `days` (0 = Monday) from `from_hour` to `to_hour` (exclusive) local time. A window
    whose `to_hour` is not after `from_hour` runs past midnight into the next day."""

    days: FrozenSet[int]
    from_hour: int
    to_hour: int

    def is_open(self, weekday: int, hour: int) -> bool:
        if self.from_hour < self.to_hour:
            return weekday in self.days and self.from_hour <= hour < self.to_hour
        # Overnight: the evening of a listed day, or the early hours of the day after it.
        return (weekday in self.days and hour >= self.from_hour) or (
            (weekday - 1) % 7 in self.days and hour < self.to_hour
        )

    def describe(self) -> str:
        return f"{describe_days(self.days)} {self.from_hour:02d}:00-{self.to_hour:02d}:00"


def describe_days(days: FrozenSet[int]) -> str:
    """`{0,1,2,3,4}` -> "Mon-Fri"; `{0,2}` -> "Mon, Wed"."""
    runs: List[Tuple[int, int]] = []
    for d in sorted(days):
        if runs and runs[-1][1] == d - 1:
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    parts = []
    for a, b in runs:
        if a == b:
            parts.append(DAY_NAMES[a])
        elif b == a + 1:
            parts.append(f"{DAY_NAMES[a]}, {DAY_NAMES[b]}")
        else:
            parts.append(f"{DAY_NAMES[a]}-{DAY_NAMES[b]}")
    return ", ".join(parts)


def describe_offset(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    h, m = divmod(abs(minutes), 60)
    return f"UTC{sign}{h:02d}:{m:02d}"


def _int(value, what: str, lo: int, hi: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise ConfigError(f"{what}: expected an integer in {lo}..{hi}, got {value!r}")
    return value


def parse_window(raw, where: str) -> Window:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected an object with days, from_hour and to_hour")
    unknown = set(raw) - {"days", "from_hour", "to_hour"}
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    days = raw.get("days")
    if not isinstance(days, list) or not days:
        raise ConfigError(f"{where}.days: expected a non-empty list of {', '.join(DAYS)}")
    indices = set()
    for d in days:
        if not isinstance(d, str) or d.lower() not in DAYS:
            raise ConfigError(f"{where}.days: {d!r} is not one of {', '.join(DAYS)}")
        indices.add(DAYS.index(d.lower()))
    for key in ("from_hour", "to_hour"):
        if key not in raw:
            raise ConfigError(f"{where}.{key}: missing")
    from_hour = _int(raw["from_hour"], f"{where}.from_hour", 0, 23)
    to_hour = _int(raw["to_hour"], f"{where}.to_hour", 1, 24)
    if from_hour == to_hour:
        raise ConfigError(f"{where}: from_hour and to_hour are equal ({from_hour}); use 0 and 24 for the whole day")
    return Window(frozenset(indices), from_hour, to_hour)


class BusinessHours(Policy):
    windows: Dict[str, List[Window]]
    offset_minutes: int
    holidays: FrozenSet[dt.date]
    always_open: FrozenSet[str]

    def configure(self, config: dict) -> None:
        known = {"windows", "utc_offset_minutes", "holidays", "always_open_roles"}
        unknown = set(config) - known
        if unknown:
            raise ConfigError(f"unknown field(s): {', '.join(sorted(unknown))}")
        raw_windows = config.get("windows")
        if not isinstance(raw_windows, dict) or not raw_windows:
            raise ConfigError("windows: expected an object mapping roles to lists of windows")
        self.windows = {}
        for role, items in raw_windows.items():
            if not role:
                raise ConfigError("windows: role names must not be empty")
            if not isinstance(items, list):
                raise ConfigError(f"windows.{role}: expected a list of windows ([] = never open)")
            self.windows[role] = [parse_window(w, f"windows.{role}[{i}]") for i, w in enumerate(items)]
        self.offset_minutes = _int(config.get("utc_offset_minutes", 0), "utc_offset_minutes", -720, 840)
        holidays = config.get("holidays", [])
        if not isinstance(holidays, list):
            raise ConfigError("holidays: expected a list of YYYY-MM-DD dates")
        dates = set()
        for h in holidays:
            try:
                if not isinstance(h, str) or len(h) != 10:
                    raise ValueError
                dates.add(dt.date.fromisoformat(h))
            except ValueError:
                raise ConfigError(f"holidays: {h!r} is not a date like 2026-12-25") from None
        self.holidays = frozenset(dates)
        roles = config.get("always_open_roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) and r for r in roles):
            raise ConfigError("always_open_roles: expected a list of role names")
        self.always_open = frozenset(roles)

    def windows_for(self, roles: List[str]) -> Tuple[List[str], List[Window]]:
        """The roles that have windows and all their windows; the `*` entry when none has."""
        named = [r for r in roles if r in self.windows]
        if not named and OTHER_ROLES in self.windows:
            named = [OTHER_ROLES]
        return named, [w for r in named for w in self.windows[r]]

    def on_query(self, conn, query):
        facts = query.facts
        # Unparsable statements cannot be shown to be reads: they count as writes.
        if facts.parsed and not facts.is_write():
            # Decided by the statement alone: the gateway may answer the same fingerprint
            # for every connection without calling us (no clock or kv used on this path).
            reuse("statement", "fingerprint")
            return allow()
        if any(r in self.always_open for r in conn.roles):
            # Decided by the roles alone: reusable for this user, roles and database.
            reuse("user", "fingerprint")
            return allow()

        now_ms = clock.now_ms()
        tz = dt.timezone(dt.timedelta(minutes=self.offset_minutes))
        local = dt.datetime.fromtimestamp(now_ms / 1000, tz)
        today = local.date()
        zone = describe_offset(self.offset_minutes)
        stamp = f"it is {DAY_NAMES[local.weekday()]} {local:%H:%M} {zone}"

        if today in self.holidays:
            reason = f"writes are closed on holidays ({today.isoformat()}, {zone})"
        else:
            roles, windows = self.windows_for(conn.roles)
            if any(w.is_open(local.weekday(), local.hour) for w in windows):
                return allow()
            if not roles:
                who = "roles " + ", ".join(conn.roles) if conn.roles else "a user without roles"
                reason = f"no write window is configured for {who}; {stamp}"
            elif not windows:
                reason = f"writes are never open for role {', '.join(roles)}; {stamp}"
            else:
                names = "; ".join(w.describe() for w in windows)
                label = "role" if len(roles) == 1 else "roles"
                reason = f"writes for {label} {', '.join(roles)} are open {names} ({zone}); {stamp}"

        self.record_refusal(conn.user, today, local, now_ms, reason)
        return deny(RULE, reason)

    def record_refusal(self, user: str, today: dt.date, local: dt.datetime, now_ms: int, reason: str) -> None:
        """Counts the refusal (per user per local day, in kv, and in the `refused_writes`
        counter) and logs a warning on the user's first refusal of the day."""
        metrics.counter_add("refused_writes", 1)
        midnight = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0), local.tzinfo)
        ttl_ms = max(1, int(midnight.timestamp() * 1000) - now_ms)
        day = today.isoformat()
        try:
            count = kv.incr(f"refused:{day}:{user}", 1, ttl_ms=ttl_ms)
            if kv.get(f"warned:{day}:{user}") is None:
                kv.set(f"warned:{day}:{user}", b"1", ttl_ms=ttl_ms)
                log.warn(f"business-hours: first write refused today for user {user} ({reason})")
            elif count % 100 == 0:
                log.info(f"business-hours: {count} writes refused today for user {user}")
        except KvError as e:
            # The verdict does not depend on the store: refuse anyway, say why we could not count.
            log.error(f"business-hours: could not count a refused write for user {user}: {e}")


export(BusinessHours)
