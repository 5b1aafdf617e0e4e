"""Failed sign-ins, pure rules: the counters an attempt counts on, and how long to wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobmanager.domain.sign_ins import FailureCount, FailureLimits, caller_of, wait_seconds

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


def test_an_attempt_counts_on_its_address_and_on_its_client_id_from_there() -> None:
    limits = FailureLimits(per_client=10, per_address=30)
    keys = limits.keys("acme-1234", "127.0.0.1")
    assert sorted(keys.values()) == [10, 30]
    assert limits.keys("acme-1234", "127.0.0.2").keys() != keys.keys()
    other_client = limits.keys("acme-9999", "127.0.0.1")
    assert len(set(keys) & set(other_client)) == 1  # the address's counter only
    long = limits.keys("x" * 10_000, "2001:db8::1")
    assert all(len(key) <= 128 for key in long)


def test_an_ipv6_caller_counts_as_its_slash_64() -> None:
    assert (
        caller_of("2001:db8:1:2:aaaa::1") == caller_of("2001:db8:1:2::ffff") == "2001:db8:1:2::/64"
    )
    assert caller_of("2001:db8:1:3::1") != caller_of("2001:db8:1:2::1")
    assert caller_of("::ffff:192.0.2.7") == caller_of("192.0.2.7") == "192.0.2.7"
    assert caller_of("testclient") == "testclient"


def test_under_the_limit_or_after_the_window_an_attempt_goes_ahead() -> None:
    started = NOW - timedelta(seconds=20)
    assert FailureCount(started, 9).wait(10, NOW) is None
    assert FailureCount(started, 10).wait(10, NOW) == 40
    assert FailureCount(started, 10).wait(10, NOW + timedelta(seconds=39.5)) == 1
    assert FailureCount(started, 50).wait(10, NOW + timedelta(seconds=40)) is None


def test_the_longest_wait_of_any_counter_holds() -> None:
    limits = {"address a": 30, "client c a": 10}
    counts = {
        "address a": FailureCount(NOW - timedelta(seconds=50), 30),
        "client c a": FailureCount(NOW - timedelta(seconds=5), 10),
    }
    assert wait_seconds(counts, limits, NOW) == 55
    assert wait_seconds({}, limits, NOW) is None
    assert wait_seconds({"client c a": FailureCount(NOW, 3)}, limits, NOW) is None
