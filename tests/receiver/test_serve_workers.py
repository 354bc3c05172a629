"""`crossdock receiver --workers 2`: the metrics directory the workers share outlives
any one worker. A worker's exit unwinds through the code that started gunicorn (it
is a fork of it), and used to delete the directory there, under the other worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import requests

from shared.store import generate_secret_key
from tests.support.registry_server import free_port
from tests.support.settings import AMQP_URL

CROSSDOCK = str(Path(sys.executable).with_name("crossdock"))


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


def _wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).status_code == 200
    except requests.RequestException:
        return False


def test_a_worker_that_exits_leaves_the_shared_metrics_directory_in_place(
    tmp_path: Path
) -> None:
    port = free_port()
    private_tmp = tmp_path / "tmp"  # where the receiver makes its metrics directory
    private_tmp.mkdir()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("CROSSDOCK_") and key != "PROMETHEUS_MULTIPROC_DIR"}
    env.update({
        "CROSSDOCK_SECRET_KEY": generate_secret_key(),
        "CROSSDOCK_DATABASE_URL": f"sqlite:///{tmp_path / 'crossdock.db'}",
        "CROSSDOCK_AMQP_URL": AMQP_URL,
        "CROSSDOCK_QUEUE_PREFIX": f"crossdock-test-workers-{uuid.uuid4().hex[:8]}",
        "CROSSDOCK_ADMIN_TOKEN": "workers-admin-token-0123456789abcdef",
        "TMPDIR": str(private_tmp),
    })
    with (tmp_path / "receiver.log").open("wb") as log:
        master = subprocess.Popen(
            [CROSSDOCK, "receiver", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
            env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait(lambda: _answers(f"http://127.0.0.1:{port}/healthz") and
              len(_children(master.pid)) == 2, 90, "two workers")
        [shared] = list(private_tmp.glob("crossdock-metrics-*"))
        first, second = _children(master.pid)

        os.kill(first, signal.SIGTERM)  # gunicorn starts another worker in its place
        _wait(lambda: first not in _children(master.pid)
              and len(_children(master.pid)) == 2, 60, "the replacement worker")

        assert Path(shared).is_dir(), "a worker's exit deleted the shared metrics directory"
        for _ in range(4):  # both workers, whichever answers
            assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).ok
        assert second in _children(master.pid)
    finally:
        master.send_signal(signal.SIGTERM)
        try:
            master.wait(60)
        except subprocess.TimeoutExpired:
            master.kill()
            master.wait(10)
    assert not Path(shared).exists(), "the receiver left its metrics directory behind"
