"""`crossdock consumer` as typed: a one-line refusal, never a traceback or a
silent wait, for what can't work."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from consumers.service import ConsumerService, check_endpoint_names
from shared.errors import ConfigurationError
from shared.settings import Settings
from shared.store import open_store
from tests.cli.conftest import Console
from tests.support.settings import delete_endpoint_queues, pipeline_settings

ENDPOINTS = ("beta", "alpha")


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    """A store with the endpoints `alpha` and `beta`, and a queue prefix of its own."""
    settings = pipeline_settings(tmp_path)
    store = open_store(settings)
    for name in ENDPOINTS:
        store.create_endpoint(name=name, kind="registry", url="http://127.0.0.1:1")
    store.close()
    yield settings
    delete_endpoint_queues(settings, [*ENDPOINTS, "nope"])


def _env(settings: Settings, **more: str) -> dict[str, str]:
    return {"CROSSDOCK_DATABASE_URL": settings.database_url,
            "CROSSDOCK_SECRET_KEY": settings.secret_key,
            "CROSSDOCK_AMQP_URL": settings.amqp_url,
            "CROSSDOCK_QUEUE_PREFIX": settings.queue_prefix,
            "CROSSDOCK_LOG_FORMAT": "json", "PYTHONUNBUFFERED": "1", **more}


def _one_error_line(run: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in run.stderr + run.stdout, run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("crossdock: error:")]
    assert len(errors) == 1, run.stderr
    return errors[0]


# -- --endpoint -----------------------------------------------------------------------


def test_a_consumer_for_an_unknown_endpoint_exits_listing_the_known_ones(
    settings: Settings, console: Console
) -> None:
    run = console(_env(settings), "consumer", "--endpoint", "nope", "--metrics-port", "0")

    assert run.returncode == 2
    assert _one_error_line(run) == ("crossdock: error: no endpoint named 'nope' to consume "
                                    "(known endpoints: alpha, beta)")


def test_the_consumer_service_refuses_unknown_endpoints(settings: Settings) -> None:
    store = open_store(settings)
    try:
        with pytest.raises(ConfigurationError, match=r"'nope'.*known endpoints: alpha, beta"):
            ConsumerService(settings, store, ["alpha", "nope"])
    finally:
        store.close()


@pytest.mark.parametrize(
    ("wanted", "known", "message"),
    [
        (["a", "x", "y"], ["a", "b"], "no endpoints named 'x', 'y' to consume "
                                      "(known endpoints: a, b)"),
        (["x"], [], "no endpoint named 'x' to consume (there are no endpoints yet: "
                    "`crossdock endpoints create` adds one)"),
        (["x"], [f"e{n:02}" for n in range(25)], "e18, e19 and 5 more)"),
    ],
)
def test_unknown_endpoint_names_are_listed(wanted: list[str], known: list[str],
                                           message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        check_endpoint_names(wanted, known)

    assert message in str(raised.value)


def test_known_endpoint_names_pass() -> None:
    check_endpoint_names(["b"], ["a", "b"])
    check_endpoint_names([], [])
