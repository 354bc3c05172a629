"""`crossdock receiver` as a real process: gunicorn's control socket stays off
(every receiver on a host would share its one path), and everything the
receiver writes, gunicorn's own lines included, is JSON records, one a line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from shared.store import generate_secret_key
from tests.support.registry_server import free_port
from tests.support.settings import AMQP_URL

CROSSDOCK = str(Path(sys.executable).with_name("crossdock"))


@dataclass(frozen=True)
class ReceiverRun:
    home: Path  # the receiver's $HOME (no $XDG_RUNTIME_DIR)
    lines: list[str]  # stdout and stderr, from start to exit
    exit_code: int


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90  # a busy machine may take a while to start it
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the receiver did not answer {url}")


def _run_receiver(tmp: Path, env_changes: dict[str, str]) -> tuple[list[str], int]:
    """Start `crossdock receiver`, wait for /healthz, stop it with SIGTERM."""
    port = free_port()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("CROSSDOCK_") and key != "XDG_RUNTIME_DIR"}
    env.update({
        "PYTHONUNBUFFERED": "1",
        "CROSSDOCK_SECRET_KEY": generate_secret_key(),
        "CROSSDOCK_DATABASE_URL": f"sqlite:///{tmp / 'crossdock.db'}",
        "CROSSDOCK_AMQP_URL": AMQP_URL,
        "CROSSDOCK_QUEUE_PREFIX": f"crossdock-test-serve-{uuid.uuid4().hex[:8]}",
        **env_changes,
    })
    output = tmp / "receiver.log"
    with output.open("wb") as log:
        process = subprocess.Popen(
            [CROSSDOCK, "receiver", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/healthz", process)
        process.send_signal(signal.SIGTERM)
        exit_code = process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    return output.read_text().splitlines(), exit_code


@pytest.fixture(scope="module")
def receiver_run(tmp_path_factory: pytest.TempPathFactory) -> ReceiverRun:
    tmp = tmp_path_factory.mktemp("receiver")
    home = tmp / "home"
    home.mkdir()
    lines, exit_code = _run_receiver(tmp, {"HOME": str(home)})
    return ReceiverRun(home, lines, exit_code)


def test_the_receiver_opens_no_gunicorn_control_socket(receiver_run: ReceiverRun) -> None:
    assert receiver_run.exit_code == 0, receiver_run.lines
    # gunicorn would have made ~/.gunicorn/gunicorn.ctl (removing the socket on
    # exit, but not the directory): every receiver of this user at the same path.
    assert list(receiver_run.home.iterdir()) == []
    assert not any("Control socket" in line for line in receiver_run.lines)


def test_everything_the_receiver_writes_is_json_records(receiver_run: ReceiverRun) -> None:
    records = []
    for line in receiver_run.lines:
        try:
            records.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON record: {line!r}")
    gunicorn = [record for record in records if record.get("logger") == "gunicorn.error"]
    assert any(str(record["event"]).startswith("Listening at: http://127.0.0.1:")
               for record in gunicorn)
    assert any(str(record["event"]).startswith("Booting worker") for record in gunicorn)
