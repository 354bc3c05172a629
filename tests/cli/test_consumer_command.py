"""`crossdock consumer` as typed: several on one machine (one metrics port each),
and a one-line refusal, never a traceback or a silent wait, for what can't work."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from consumers.metrics import ConsumerMetrics
from consumers.service import ConsumerService, check_endpoint_names
from shared.errors import ConfigurationError
from shared.settings import Settings
from shared.store import open_store
from tests.cli.conftest import CROSSDOCK, Console
from tests.support.registry_server import free_port
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


def _start_consumer(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    """A consumer serving /metrics on `port`, once it answers there."""
    env = {**_clean_environ(), **_env(settings)}
    process = subprocess.Popen([CROSSDOCK, "consumer", "--metrics-port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60  # a busy machine may take a while to start it
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).ok:
                return process
        except requests.RequestException:
            time.sleep(0.1)
    _stop(process)
    raise AssertionError(f"no consumer came up with its metrics on port {port}")


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def _clean_environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CROSSDOCK_")}


# -- several consumers on one machine ---------------------------------------------------


@pytest.mark.parametrize("how", ["flag", "setting"])
def test_a_second_consumer_on_a_taken_metrics_port_says_how_to_pick_another(
    settings: Settings, console: Console, how: str
) -> None:
    port = free_port()
    first = _start_consumer(settings, port)
    try:
        if how == "flag":
            run = console(_env(settings), "consumer", "--metrics-port", str(port))
        else:
            run = console(_env(settings, CROSSDOCK_CONSUMER_METRICS_PORT=str(port)), "consumer")
        assert first.poll() is None  # the first one carries on
    finally:
        assert _stop(first) == 0

    assert run.returncode == 2
    error = _one_error_line(run)
    assert f"127.0.0.1:{port}" in error and "address already in use" in error
    assert "CROSSDOCK_CONSUMER_METRICS_PORT" in error and "--metrics-port" in error


def test_consumers_with_a_metrics_port_each_run_side_by_side(settings: Settings) -> None:
    ports = [free_port(), free_port()]
    consumers = [_start_consumer(settings, port) for port in ports]

    answers = [requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5) for port in ports]

    assert [_stop(process) for process in consumers] == [0, 0]
    assert all("crossdock_consumer_jobs_in_progress" in answer.text for answer in answers)


def test_a_taken_metrics_port_is_a_configuration_error() -> None:
    port = free_port()
    taken = ConsumerMetrics().serve(port)
    try:
        with pytest.raises(ConfigurationError, match="CROSSDOCK_CONSUMER_METRICS_PORT"):
            ConsumerMetrics().serve(port)
    finally:
        taken.shutdown()
        taken.server_close()


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
