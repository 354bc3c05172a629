"""Convergence, checked against a model: seeded random histories of pushes,
overwrites, retags, restores, deletes by digest, multi-arch indexes, signatures,
bursts of concurrent pushes, and for two-way sync pushes and deletes on both
sides, a restore, a rollback and conflicting pushes, played on the real pipeline
(real registries notifying the receiver, RabbitMQ, a consumer). Once events
stop, every side holds exactly what the model says, no job failed, and nothing
writes during a quiet period (DESIGN invariants 2, 3, 4).

Replay one seed: ``CROSSDOCK_HISTORY_SEED=N .venv/bin/pytest tests/convergence``
(every test of the module then plays that seed). Longer runs:
``bench/convergence_soak.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.convergence import ConvergenceStack, HistoryRunner
from tests.support.histories import (
    Barrier,
    Burst,
    Content,
    Delete,
    History,
    Model,
    Pause,
    Push,
    Resume,
    Retag,
    Side,
    Sign,
    one_way_history,
    two_way_history,
)

QUIET_SECONDS = 10.0
ONE_WAY_OPS = 30
BURST_OPS, BURST_SIZE = 8, 200
TWO_WAY_OPS = 12


def _seeds(*defaults: int) -> list[int]:
    chosen = os.environ.get("CROSSDOCK_HISTORY_SEED")
    return [int(chosen)] if chosen else list(defaults)


def _play(runner: HistoryRunner, history: History, request: pytest.FixtureRequest) -> None:
    test = f"{request.node.path.relative_to(request.config.rootpath)}::{request.node.originalname}"
    replay = f"CROSSDOCK_HISTORY_SEED={history.seed} .venv/bin/pytest '{test}'"
    result = runner.run(history, replay=replay)
    assert result.ok, result.report


@pytest.fixture(scope="module")
def one_way_runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HistoryRunner]:
    stack = ConvergenceStack(tmp_path_factory.mktemp("one-way"), "one-way")
    yield HistoryRunner(stack, quiet_seconds=QUIET_SECONDS)
    stack.close()


@pytest.fixture(scope="module")
def two_way_runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HistoryRunner]:
    stack = ConvergenceStack(tmp_path_factory.mktemp("two-way"), "two-way")
    yield HistoryRunner(stack, quiet_seconds=QUIET_SECONDS)
    stack.close()


# -- the pipeline -----------------------------------------------------------------------


@pytest.mark.parametrize("seed", _seeds(101))
def test_one_way_history_converges(
    one_way_runner: HistoryRunner, seed: int, request: pytest.FixtureRequest
) -> None:
    _play(one_way_runner, one_way_history(seed, ONE_WAY_OPS), request)


@pytest.mark.parametrize("seed", _seeds(202))
def test_one_way_history_with_a_burst_of_200_tags_converges(
    one_way_runner: HistoryRunner, seed: int, request: pytest.FixtureRequest
) -> None:
    _play(one_way_runner, one_way_history(seed, BURST_OPS, burst=BURST_SIZE), request)


@pytest.mark.parametrize("seed", _seeds(303, 304))
def test_two_way_history_converges(
    two_way_runner: HistoryRunner, seed: int, request: pytest.FixtureRequest
) -> None:
    _play(two_way_runner, two_way_history(seed, TWO_WAY_OPS), request)


# -- the generator and the model (pure) ------------------------------------------------


def test_a_seed_always_gives_the_same_history() -> None:
    assert one_way_history(7, 40, burst=20) == one_way_history(7, 40, burst=20)
    assert two_way_history(7, 20) == two_way_history(7, 20)
    assert one_way_history(7, 40) != one_way_history(8, 40)


def test_histories_hold_every_kind_of_operation() -> None:
    kinds = {type(op) for seed in range(20) for op in one_way_history(seed, 30).operations}
    assert kinds >= {Push, Retag, Delete, Sign}
    whys = {op.why for seed in range(20) for op in one_way_history(seed, 30).operations
            if isinstance(op, Push)}
    assert whys >= {"new", "overwrite", "restore"}
    assert any(op.content.kind == "index" for op in one_way_history(1, 30).operations
               if isinstance(op, Push))
    bursts = [op for op in one_way_history(1, 10, burst=200).operations
              if isinstance(op, Burst)]
    assert len(bursts) == 1 and len(bursts[0].pushes) == 200
    assert len({push.tag for push in bursts[0].pushes}) == 200
    two_way = two_way_history(1, 12).operations
    assert {op.side for op in two_way if isinstance(op, Push | Delete)} == {"a", "b"}
    assert {Barrier, Pause, Resume} <= {type(op) for op in two_way}
    assert {"restore", "rollback", "conflict"} <= {op.why for op in two_way
                                                   if isinstance(op, Push)}


def test_a_delete_by_digest_removes_every_tag_on_it_but_not_its_signature() -> None:
    model = Model()
    x = Content("x")
    for op in (Push("a", "p/r", "v1", x), Retag("a", "p/r", "v1", "v2"),
               Push("a", "p/r", "v3", Content("y")), Sign("a", "p/r", "v1"),
               Delete("a", "p/r", "v2")):
        model.apply(op)
    assert model.tags("p/r") == {"v3": "y", "@sig:x": "sig:x"}


def test_a_conflict_is_won_by_the_preferred_side_whoever_pushes_last() -> None:
    orders: tuple[tuple[Side, Side], ...] = (("a", "b"), ("b", "a"))
    for first, second in orders:
        model = Model()
        model.apply(Push("a", "p/r", "t", Content("old")))
        model.apply(Pause())
        model.apply(Push(first, "p/r", "t", Content(first)))
        model.apply(Push(second, "p/r", "t", Content(second)))
        model.apply(Resume())
        assert model.tags("p/r") == {"t": "a"}
        assert model.conflicts == ["p/r:t"]
    # Outside a pause, a later push is simply newer (a rollback from the other side).
    model = Model()
    for op in (Push("a", "p/r", "prod", Content("x")), Push("a", "p/r", "prod", Content("y")),
               Push("b", "p/r", "prod", Content("x"), "rollback")):
        model.apply(op)
    assert model.tags("p/r") == {"prod": "x"}


def test_two_way_scenarios_expect_the_restore_and_the_rollback() -> None:
    history = two_way_history(5, 12)
    state = history.model().state
    assert state["h5/restore"] == {"v2": "h5-c1"}
    assert state["h5/rollback"] == {"prod": "h5-c2"}
    assert set(state["h5/conflict"]) == {"v1", history.model().conflicts[-1].split(":")[1]}


def test_the_replay_seed_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSDOCK_HISTORY_SEED", "42")
    assert _seeds(1, 2) == [42]
    monkeypatch.delenv("CROSSDOCK_HISTORY_SEED")
    assert _seeds(1, 2) == [1, 2]
