import datetime as dt

import pytest

from articdbm_policy import (
    IndicatorKind,
    KvError,
    KvErrorKind,
    Level,
    clock,
    indicators,
    kv,
    log,
    metrics,
)
from articdbm_policy.testing import DEFAULT_NOW_MS, MemoryHost


def test_clock_follows_the_memory_host(host):
    assert clock.now_ms() == DEFAULT_NOW_MS
    host.advance(1500)
    assert clock.now_ms() == DEFAULT_NOW_MS + 1500
    assert clock.monotonic_ns() == (DEFAULT_NOW_MS + 1500) * 1_000_000
    host.set_time(dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.timezone.utc))
    assert clock.now() == dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.timezone.utc)
    assert clock.now(offset_minutes=60).hour == 10
    with pytest.raises(ValueError):
        host.set_time(dt.datetime(2026, 3, 2))


def test_kv_set_get_delete_and_value_types(host):
    assert kv.get("k") is None
    kv.set("k", b"\x00\x01")
    assert kv.get("k") == b"\x00\x01"
    kv.set("s", "héllo")
    assert kv.get("s") == "héllo".encode() and kv.get_str("s") == "héllo"
    kv.set("n", 42)
    assert kv.get("n") == b"42" and kv.get_int("n") == 42
    assert kv.incr("n", 1) == 43
    kv.delete("k")
    kv.delete("k")  # deleting a missing key is fine
    assert kv.get("k") is None
    with pytest.raises(TypeError):
        kv.set("b", True)
    with pytest.raises(TypeError):
        kv.set("l", [1])


def test_kv_ttl_expires_with_the_clock(host):
    kv.set("short", b"x", ttl_ms=1000)
    kv.set("forever", b"y")
    host.advance(999)
    assert kv.get("short") == b"x"
    assert host.ttl_ms("short") == 1
    host.advance(1)
    assert kv.get("short") is None
    assert kv.get("forever") == b"y"
    assert host.ttl_ms("forever") is None


def test_incr_applies_ttl_only_on_create(host):
    assert kv.incr("c", 1, ttl_ms=1000) == 1
    host.advance(600)
    assert kv.incr("c", 5, ttl_ms=10_000) == 6  # the TTL of the first call stays
    host.advance(400)
    assert kv.get("c") is None
    assert kv.incr("c", -2) == -2


def test_incr_on_a_non_integer_raises_not_an_integer(host):
    kv.set("text", "abc")
    with pytest.raises(KvError) as e:
        kv.incr("text")
    assert e.value.kind is KvErrorKind.NOT_AN_INTEGER
    with pytest.raises(KvError) as e:
        kv.get_int("text")
    assert e.value.kind is KvErrorKind.NOT_AN_INTEGER


@pytest.mark.parametrize("key", ["", "k" * 513])
def test_bad_keys_are_invalid(host, key):
    with pytest.raises(KvError) as e:
        kv.get(key)
    assert e.value.kind is KvErrorKind.INVALID
    assert "invalid" in str(e.value)


def test_oversized_values_are_invalid(host):
    kv.set("k" * 512, b"v" * 65536)
    with pytest.raises(KvError) as e:
        kv.set("k", b"v" * 65537)
    assert e.value.kind is KvErrorKind.INVALID


def test_kv_down_raises_unavailable_with_the_message(host):
    host.kv_down = True
    for call in (lambda: kv.get("k"), lambda: kv.set("k", b""), lambda: kv.incr("k"), lambda: kv.delete("k")):
        with pytest.raises(KvError) as e:
            call()
        assert e.value.kind is KvErrorKind.UNAVAILABLE
        assert e.value.message == "test host: kv is down"


@pytest.mark.parametrize("ttl", [-1, 1 << 64, 1.5, True])
def test_bad_ttls_are_refused_before_the_host(host, ttl):
    with pytest.raises(ValueError):
        kv.set("k", b"v", ttl_ms=ttl)
    assert "k" not in host.kv


def test_incr_delta_must_fit_s64(host):
    with pytest.raises(ValueError):
        kv.incr("k", 1 << 63)
    assert kv.incr("k", (1 << 63) - 1) == (1 << 63) - 1
    assert kv.incr("k", 1) == (1 << 63) - 1  # saturates like the Rust test host


def test_logs_are_captured_by_level(host):
    log.info("one")
    log.warn("two")
    log.warning("three")
    log.error("four")
    log.log("debug", "five")
    log.trace(6)
    assert host.logs[0] == (Level.INFO, "one")
    assert host.messages("warn") == ["two", "three"]
    assert host.messages(Level.DEBUG) == ["five"]
    assert host.messages() == ["one", "two", "three", "four", "five", "6"]
    with pytest.raises(ValueError):
        log.log("loud", "x")


def test_counters_add_up(host):
    metrics.counter_add("hits")
    metrics.counter_add("hits", 41)
    assert host.counter("hits") == 42
    assert host.counter("misses") == 0
    for bad in (-1, 1 << 64, 2.0):
        with pytest.raises(ValueError):
            metrics.counter_add("hits", bad)
    assert host.counters == {"hits": 42}


def test_indicators_best_match(host):
    host.add_indicator("address", "198.51.100.7", confidence=40, source="a")
    best = host.add_indicator(IndicatorKind.ADDRESS, "198.51.100.7", confidence=80, source="b")
    host.add_indicator("user", "Mallory")
    host.add_indicator("sql-pattern", "xp_cmdshell", confidence=70)
    assert indicators.address_listed("198.51.100.7") == best
    assert indicators.address_listed("198.51.100.8") is None
    assert indicators.name_listed("user", "mallory").value == "Mallory"
    assert indicators.name_listed("email", "mallory") is None
    assert indicators.sql_pattern_match("EXEC xp_cmdshell 'dir'").confidence == 70
    assert indicators.sql_pattern_match("SELECT 1") is None


def test_stateful_tracks_clock_kv_and_indicators_but_not_log():
    h = MemoryHost()
    h.log(Level.INFO, "x")
    h.counter_add("n", 1)
    assert not h.stateful
    h.now_ms()
    assert h.stateful
    for call in (lambda: h.kv_get("k"), lambda: h.address_listed("1.2.3.4")):
        h.stateful = False
        call()
        assert h.stateful


def test_without_an_installed_host_the_first_call_installs_a_memory_host():
    from articdbm_policy import _host

    _host.install(None)
    kv.set("k", b"v")
    assert isinstance(_host.current(), MemoryHost)
    assert kv.get("k") == b"v"
