"""`bench/initial_sync.py` keeps going when a bare copier run fails: the run is
reported, and the round's ceiling comes from the thread counts that finished."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.bench_scripts import load_bench


class _Refusing:
    """A registry nothing listens for."""

    url = "http://127.0.0.1:9"


def test_a_failed_bare_copier_run_is_reported_not_raised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = load_bench("initial_sync")
    workload = bench.Workload("B", "shapeb", [("shapeb/app", "t0")], {})

    seconds = bench.bare_copy(workload, _Refusing, _Refusing, 2, tmp_path / "images.txt")

    assert seconds is None
    assert "bare copier, 2 threads, failed (not counted)" in capsys.readouterr().out


def test_a_round_s_ceiling_leaves_out_the_runs_that_failed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bench = load_bench("initial_sync")
    figures = bench.Figures()
    for rates in ({"bare copier, 2 threads": None, "bare copier, 4 threads": 50.0},
                  {"bare copier, 2 threads": 33.0, "bare copier, 4 threads": None}):
        for name, rate in rates.items():
            figures.add(name, rate)

    assert [bench._ceiling(figures, index) for index in (0, 1)] == [50.0, 33.0]
    bench.summarize("B", figures)
    assert "bare copier, 2 threads       median   33.0, range 33.0-33.0 (1 failed)" in (
        capsys.readouterr().out)
