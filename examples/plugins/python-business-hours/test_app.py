"""Tests of the business-hours plugin's logic, natively, with articdbm_policy.testing.

Run with plugin-sdk/python/test.sh (or: PYTHONPATH=plugin-sdk/python pytest
examples/plugins/python-business-hours).
"""

import datetime as dt
import json
import pathlib

import pytest

from articdbm_policy import KvErrorKind, Level, ReuseBasis, ReuseScope
from articdbm_policy.testing import ConfigRefused, Harness, connection, query

from app import BusinessHours, describe_days

HERE = pathlib.Path(__file__).resolve().parent
UTC1 = dt.timezone(dt.timedelta(minutes=60))

CONFIG = {
    "utc_offset_minutes": 60,
    "holidays": ["2026-12-25"],
    "always_open_roles": ["dba"],
    "windows": {
        "dev": [{"days": ["mon", "tue", "wed", "thu", "fri"], "from_hour": 9, "to_hour": 18}],
        "batch": [{"days": ["sat"], "from_hour": 22, "to_hour": 6}],
        "auditor": [],
    },
}

# 2026-12-07 is a Monday.
MONDAY_10 = dt.datetime(2026, 12, 7, 10, 0, tzinfo=UTC1)
MONDAY_20 = dt.datetime(2026, 12, 7, 20, 30, tzinfo=UTC1)
CHRISTMAS_10 = dt.datetime(2026, 12, 25, 10, 0, tzinfo=UTC1)  # a Friday

UPDATE = "UPDATE orders SET status = 'void' WHERE id = 7"


def harness(config=CONFIG, at=MONDAY_10):
    h = Harness(BusinessHours, config)
    h.host.set_time(at)
    return h


def test_reads_are_always_allowed_and_reusable():
    h = harness(at=MONDAY_20)
    for sql in ("SELECT * FROM orders", "SHOW search_path", "EXPLAIN SELECT 1", "BEGIN"):
        v = h.on_query(connection(roles=["auditor"]), query(sql))
        assert v.is_allow, sql
    assert h.reused == (ReuseScope.STATEMENT, ReuseBasis.FINGERPRINT)
    assert h.host.counter("refused_writes") == 0


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO orders VALUES (1)",
        UPDATE,
        "DELETE FROM orders",
        "MERGE INTO orders USING x ON true WHEN MATCHED THEN DELETE",
        "CREATE TABLE t (a int)",
        "ALTER TABLE t ADD b int",
        "DROP TABLE t",
        "TRUNCATE t",
        "GRANT SELECT ON t TO x",
        "SELECT 1; DELETE FROM t",
    ],
)
def test_writes_outside_the_window_are_denied_naming_it(sql):
    v = harness(at=MONDAY_20).on_query(connection("bob", ["dev"]), query(sql))
    assert v.is_deny
    assert v.rule == "hours.closed"
    assert v.reason == "writes for role dev are open Mon-Fri 09:00-18:00 (UTC+01:00); it is Mon 20:30 UTC+01:00"


def test_copy_into_a_table_counts_as_a_write():
    v = harness(at=MONDAY_20).on_query(connection("bob", ["dev"]), query("COPY t FROM STDIN", tables=["t:insert"]))
    assert v.rule == "hours.closed"


def test_writes_inside_the_window_are_allowed_and_not_reused():
    h = harness(at=MONDAY_10)
    assert h.on_query(connection("bob", ["dev"]), query(UPDATE)).is_allow
    assert h.reused is None  # the verdict depends on the clock
    h.host.set_time(dt.datetime(2026, 12, 7, 17, 59, tzinfo=UTC1))
    assert h.on_query(connection("bob", ["dev"]), query(UPDATE)).is_allow
    h.host.advance(60_000)  # 18:00: closed
    assert h.on_query(connection("bob", ["dev"]), query(UPDATE)).is_deny


def test_the_offset_shifts_the_window():
    # 08:30 UTC is 09:30 at UTC+01:00: open; at UTC+00:00 it would be closed.
    at = dt.datetime(2026, 12, 7, 8, 30, tzinfo=dt.timezone.utc)
    assert harness(at=at).on_query(connection("bob", ["dev"]), query(UPDATE)).is_allow
    v = harness(dict(CONFIG, utc_offset_minutes=0), at=at).on_query(connection("bob", ["dev"]), query(UPDATE))
    assert v.is_deny and "it is Mon 08:30 UTC+00:00" in v.reason


def test_overnight_windows_run_into_the_next_day():
    h = harness()
    batch = connection("cron", ["batch"])
    for at, open_ in [
        (dt.datetime(2026, 12, 12, 21, 59, tzinfo=UTC1), False),  # Sat 21:59
        (dt.datetime(2026, 12, 12, 22, 0, tzinfo=UTC1), True),  # Sat 22:00
        (dt.datetime(2026, 12, 13, 5, 59, tzinfo=UTC1), True),  # Sun 05:59
        (dt.datetime(2026, 12, 13, 6, 0, tzinfo=UTC1), False),  # Sun 06:00
        (dt.datetime(2026, 12, 13, 23, 0, tzinfo=UTC1), False),  # Sun 23:00
        (dt.datetime(2026, 12, 7, 2, 0, tzinfo=UTC1), False),  # Mon 02:00 (Sun not listed)
    ]:
        h.host.set_time(at)
        assert h.on_query(batch, query(UPDATE)).is_allow is open_, at


def test_holidays_close_every_window():
    v = harness(at=CHRISTMAS_10).on_query(connection("bob", ["dev"]), query(UPDATE))
    assert v.is_deny and v.reason == "writes are closed on holidays (2026-12-25, UTC+01:00)"


def test_holidays_follow_the_local_date():
    # 2026-12-24 23:30 UTC is already the 25th at UTC+01:00.
    h = harness(dict(CONFIG, windows={"*": [{"days": ["thu", "fri"], "from_hour": 0, "to_hour": 24}]}),
                at=dt.datetime(2026, 12, 24, 23, 30, tzinfo=dt.timezone.utc))
    assert "holidays (2026-12-25" in h.on_query(connection(), query(UPDATE)).reason


def test_always_open_roles_bypass_windows_and_holidays():
    h = harness(at=CHRISTMAS_10)
    assert h.on_query(connection("carol", ["dev", "dba"]), query("DROP TABLE t")).is_allow
    assert h.reused == (ReuseScope.USER, ReuseBasis.FINGERPRINT)


def test_any_role_with_an_open_window_allows():
    h = harness(at=MONDAY_10)
    assert h.on_query(connection("bob", ["auditor", "dev"]), query(UPDATE)).is_allow
    v = harness(at=MONDAY_20).on_query(connection("bob", ["auditor", "dev"]), query(UPDATE))
    assert v.reason.startswith("writes for roles auditor, dev are open Mon-Fri 09:00-18:00 (UTC+01:00)")


def test_empty_window_list_means_never():
    v = harness(at=MONDAY_10).on_query(connection("alice", ["auditor"]), query(UPDATE))
    assert v.reason == "writes are never open for role auditor; it is Mon 10:00 UTC+01:00"


def test_roles_without_windows_use_star_or_are_closed():
    v = harness().on_query(connection("eve", ["sales"]), query(UPDATE))
    assert v.reason == "no write window is configured for roles sales; it is Mon 10:00 UTC+01:00"
    v = harness().on_query(connection("eve", []), query(UPDATE))
    assert v.reason.startswith("no write window is configured for a user without roles")
    star = dict(CONFIG, windows={"*": [{"days": ["mon"], "from_hour": 10, "to_hour": 11}], "dev": []})
    assert harness(star).on_query(connection("eve", ["sales"]), query(UPDATE)).is_allow
    assert harness(star).on_query(connection("bob", ["dev"]), query(UPDATE)).is_deny  # dev has its own entry


def test_unparsable_statements_count_as_writes():
    q = query("SELEC oops", statements=["other"], parsed=False, parse_error="syntax")
    assert harness(at=MONDAY_20).on_query(connection("bob", ["dev"]), q).is_deny
    assert harness(at=MONDAY_10).on_query(connection("bob", ["dev"]), q).is_allow


def test_refusals_are_counted_per_user_per_day_with_ttl_to_midnight():
    h = harness(at=MONDAY_20)
    bob, alice = connection("bob", ["dev"]), connection("alice", ["auditor"])
    for _ in range(3):
        assert h.on_query(bob, query(UPDATE)).is_deny
    assert h.on_query(alice, query(UPDATE)).is_deny
    assert h.host.counter("refused_writes") == 4
    assert h.host.kv["refused:2026-12-07:bob"][0] == b"3"
    assert h.host.kv["refused:2026-12-07:alice"][0] == b"1"
    # Expires at local midnight: 20:30 -> 24:00 is 3.5 hours.
    assert h.host.ttl_ms("refused:2026-12-07:bob") == 3 * 3600_000 + 30 * 60_000
    assert h.host.ttl_ms("warned:2026-12-07:bob") == 3 * 3600_000 + 30 * 60_000
    h.host.set_time(dt.datetime(2026, 12, 8, 0, 0, tzinfo=UTC1))
    assert "refused:2026-12-07:bob" not in h.host.kv or h.host.ttl_ms("refused:2026-12-07:bob") is None
    assert h.on_query(bob, query(UPDATE)).is_deny
    assert h.host.kv["refused:2026-12-08:bob"][0] == b"1"


def test_one_warning_per_user_per_day():
    h = harness(at=MONDAY_20)
    bob, alice = connection("bob", ["dev"]), connection("alice", ["auditor"])
    h.on_query(bob, query(UPDATE))
    h.on_query(bob, query(UPDATE))
    h.on_query(alice, query(UPDATE))
    warnings = h.host.messages(Level.WARN)
    assert len(warnings) == 2
    assert warnings[0].startswith("business-hours: first write refused today for user bob (writes for role dev")
    assert "user alice" in warnings[1]
    h.host.advance(4 * 3600_000)  # Tuesday 00:30: a new day, a new warning
    h.on_query(bob, query(UPDATE))
    assert len(h.host.messages(Level.WARN)) == 3
    # reads and allowed writes log nothing
    h.host.logs.clear()
    h.on_query(bob, query("SELECT 1"))
    h.host.set_time(dt.datetime(2026, 12, 8, 10, 0, tzinfo=UTC1))
    h.on_query(bob, query(UPDATE))
    assert h.host.logs == []


def test_every_hundredth_refusal_is_logged():
    h = harness(at=MONDAY_20)
    for _ in range(200):
        h.on_query(connection("bob", ["dev"]), query(UPDATE))
    assert h.host.messages(Level.INFO) == [
        "business-hours: 100 writes refused today for user bob",
        "business-hours: 200 writes refused today for user bob",
    ]


def test_a_kv_outage_still_refuses_and_logs_an_error():
    h = harness(at=MONDAY_20)
    h.host.kv_down = True
    v = h.on_query(connection("bob", ["dev"]), query(UPDATE))
    assert v.is_deny and v.rule == "hours.closed"
    assert h.host.counter("refused_writes") == 1
    [err] = h.host.messages(Level.ERROR)
    assert err == f"business-hours: could not count a refused write for user bob: kv {KvErrorKind.UNAVAILABLE}: test host: kv is down"


@pytest.mark.parametrize(
    "config, message",
    [
        ({}, "windows: expected an object mapping roles to lists of windows"),
        ({"windows": {}}, "windows: expected an object mapping roles to lists of windows"),
        ({"windows": {"dev": {}}}, "windows.dev: expected a list of windows ([] = never open)"),
        ({"windows": {"dev": [{"days": ["mon"], "from_hour": 9}]}}, "windows.dev[0].to_hour: missing"),
        ({"windows": {"dev": [{"days": ["monday"], "from_hour": 9, "to_hour": 17}]}},
         "windows.dev[0].days: 'monday' is not one of mon, tue, wed, thu, fri, sat, sun"),
        ({"windows": {"dev": [{"days": ["mon"], "from_hour": 9, "to_hour": 25}]}},
         "windows.dev[0].to_hour: expected an integer in 1..24, got 25"),
        ({"windows": {"dev": [{"days": ["mon"], "from_hour": 9, "to_hour": 9}]}},
         "windows.dev[0]: from_hour and to_hour are equal (9); use 0 and 24 for the whole day"),
        ({"windows": {"dev": [{"days": ["mon"], "from_hour": 9, "to_hour": 17, "tz": 1}]}},
         "windows.dev[0]: unknown field(s) tz"),
        ({"windows": {"dev": []}, "holidays": ["2026-02-30"]}, "holidays: '2026-02-30' is not a date like 2026-12-25"),
        ({"windows": {"dev": []}, "holidays": ["20261225"]}, "holidays: '20261225' is not a date like 2026-12-25"),
        ({"windows": {"dev": []}, "utc_offset_minutes": 900}, "utc_offset_minutes: expected an integer in -720..840, got 900"),
        ({"windows": {"dev": []}, "always_open_roles": "dba"}, "always_open_roles: expected a list of role names"),
        ({"windows": {"dev": []}, "timezone": "CET"}, "unknown field(s): timezone"),
    ],
)
def test_bad_configs_are_refused_with_the_field(config, message):
    with pytest.raises(ConfigRefused) as e:
        Harness(BusinessHours, config)
    assert e.value.message == message


def test_describe_days():
    assert describe_days(frozenset({0, 1, 2, 3, 4})) == "Mon-Fri"
    assert describe_days(frozenset({0, 2, 5, 6})) == "Mon, Wed, Sat, Sun"
    assert describe_days(frozenset({0, 1, 3})) == "Mon, Tue, Thu"


def _load_toml(path):
    try:
        import tomllib
    except ImportError:  # Python < 3.11
        pytest.skip("tomllib needs Python 3.11")
    with open(path, "rb") as f:
        return tomllib.load(f)


def test_the_pack_config_is_accepted_and_the_traffic_shows_allow_and_deny():
    pack = _load_toml(HERE / "pack.toml")
    [binding] = pack["binding"]
    assert binding["plugin"] == json.loads((HERE / "manifest.json").read_text())["name"] == "business-hours"
    h = harness(binding["config"], at=dt.datetime(2026, 12, 7, 20, 0, tzinfo=UTC1))
    verdicts = []
    for line in (HERE / "traffic.jsonl").read_text().splitlines():
        t = json.loads(line)
        verdicts.append(h.on_query(connection(t["user"], t.get("roles", []), database=t["database"]), query(t["sql"])))
    assert [v.kind.value for v in verdicts] == ["allow", "deny", "allow", "deny", "deny"]


def test_manifest_schema_is_closed_and_documented():
    schema = json.loads((HERE / "manifest.json").read_text())["config_schema"]
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == {"windows", "utc_offset_minutes", "holidays", "always_open_roles"}
    assert all("description" in p for p in schema["properties"].values())
    window = schema["properties"]["windows"]["additionalProperties"]["items"]
    assert window["additionalProperties"] is False
