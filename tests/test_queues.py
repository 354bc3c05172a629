"""Queue names and the retry schedule."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import ConfigurationError
from shared.queues import (
    MAX_QUEUE_NAME_BYTES,
    defer_queue,
    escape_endpoint,
    failed_queue,
    format_delay,
    retry_queue,
    retry_tier,
    retry_tiers,
    work_queue,
)


def test_names_read_well_in_the_console() -> None:
    assert work_queue("crossdock", "harbor-eu") == "crossdock.endpoint.harbor-eu.work"
    assert retry_queue("crossdock", "harbor-eu", 30) == "crossdock.endpoint.harbor-eu.retry.30s"
    assert failed_queue("crossdock", "harbor-eu") == "crossdock.endpoint.harbor-eu.failed"
    assert defer_queue("crossdock", "harbor-eu", 2) == "crossdock.endpoint.harbor-eu.defer.2s"


def test_the_defer_queue_is_named_by_its_delay_and_apart_from_the_retry_tiers() -> None:
    assert defer_queue("crossdock", "e", 90) == "crossdock.endpoint.e.defer.1m30s"
    assert defer_queue("crossdock", "e", 2) != retry_queue("crossdock", "e", 2)
    with pytest.raises(ValueError, match="at least 1 second"):
        defer_queue("crossdock", "e", 0)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1, "1s"), (30, "30s"), (60, "1m"), (90, "1m30s"), (120, "2m"), (300, "5m"), (600, "10m"),
     (3600, "1h"), (5400, "1h30m"), (3661, "1h1m1s"), (86400, "24h")],
)
def test_delays_are_formatted_compactly(seconds: int, text: str) -> None:
    assert format_delay(seconds) == text


def test_a_delay_below_one_second_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1 second"):
        format_delay(0)


def test_unusual_characters_in_endpoint_names_are_escaped() -> None:
    assert escape_endpoint("harbor.eu") == "harbor%2Eeu"
    assert escape_endpoint("a b/c") == "a%20b%2Fc"
    assert escape_endpoint("100%") == "100%25"
    assert escape_endpoint("é") == "%C3%A9"
    assert escape_endpoint("\ud800") == "%ED%A0%80"  # a lone surrogate does not crash
    assert work_queue("crossdock", "x.work") == "crossdock.endpoint.x%2Ework.work"


def test_very_long_endpoint_names_are_cut_and_hashed() -> None:
    first, second = "a" * 300, "a" * 299 + "b"
    assert escape_endpoint(first) != escape_endpoint(second)
    assert len(retry_queue("crossdock", first, 86399).encode()) <= MAX_QUEUE_NAME_BYTES


@given(st.text(min_size=1), st.text(min_size=1))
def test_distinct_endpoints_never_share_a_queue(first: str, second: str) -> None:
    if first != second:
        assert work_queue("p", first) != work_queue("p", second)
        assert failed_queue("p", first) != failed_queue("p", second)
        assert defer_queue("p", first, 2) != defer_queue("p", second, 2)


@given(st.text(min_size=1, max_size=500), st.integers(min_value=1, max_value=10**6))
def test_names_always_fit_an_amqp_short_string(endpoint: str, delay: int) -> None:
    assert len(retry_queue("crossdock", endpoint, delay).encode()) <= MAX_QUEUE_NAME_BYTES
    assert len(defer_queue("crossdock", endpoint, delay).encode()) <= MAX_QUEUE_NAME_BYTES


def test_an_empty_endpoint_name_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        work_queue("crossdock", "")


@pytest.mark.parametrize("prefix", ["", "amq.x", "has space", "x/y"])
def test_a_bad_prefix_is_a_configuration_error(prefix: str) -> None:
    with pytest.raises(ConfigurationError, match="queue_prefix"):
        work_queue(prefix, "e")


def test_a_dotted_prefix_is_fine() -> None:
    assert work_queue("prod.crossdock", "e") == "prod.crossdock.endpoint.e.work"


DELAYS = (30, 120, 300, 600)


@pytest.mark.parametrize(
    ("attempt", "delay"), [(1, 30), (2, 120), (3, 300), (4, 600), (5, None), (9, None)]
)
def test_each_failed_attempt_waits_the_next_tier_until_attempts_run_out(
    attempt: int, delay: int | None
) -> None:
    assert retry_tier(attempt, DELAYS, max_attempts=5) == delay


def test_the_last_tier_repeats_when_attempts_outnumber_delays() -> None:
    assert retry_tier(3, (10, 20), max_attempts=6) == 20
    assert retry_tier(5, (10, 20), max_attempts=6) == 20
    assert retry_tier(6, (10, 20), max_attempts=6) is None


def test_no_delays_or_one_attempt_means_no_retry() -> None:
    assert retry_tier(1, (), max_attempts=5) is None
    assert retry_tier(1, DELAYS, max_attempts=1) is None


def test_retry_tiers_are_distinct_and_sorted() -> None:
    assert retry_tiers((300, 30, 30, 120)) == [30, 120, 300]
