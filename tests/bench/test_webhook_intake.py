"""`bench/webhook_intake.py --compare-with`: how two checkouts' runs are judged."""

from __future__ import annotations

from tests.support.bench_scripts import load_bench


def test_medians_of_the_runs_are_compared_and_a_slowdown_over_ten_percent_is_outside() -> None:
    bench = load_bench("webhook_intake")

    change, within = bench.judge([950, 1010, 990], [1000, 1000, 1005])
    assert (round(change, 3), within) == (-0.01, True)
    change, within = bench.judge([880, 2000, 890], [1000, 990, 1010])
    assert (round(change, 3), within) == (-0.11, False)
    assert bench.judge([1200, 1300, 1250], [1000, 1000, 1000])[1]  # faster is fine


def test_a_runs_rate_is_read_from_what_any_version_of_the_script_prints() -> None:
    bench = load_bench("webhook_intake")
    printed = ("accepted 10180 of 10180 events (0 non-2xx) at 1016 events/s "
               "with 2 workers x 8 threads\n")

    assert bench.rate_of(printed) == 1016.0
    assert bench.rate_of("Traceback (most recent call last): ...") is None


def test_it_says_it_has_no_peer_alternative() -> None:
    assert "no peer alternative" in load_bench("webhook_intake").NO_PEER
