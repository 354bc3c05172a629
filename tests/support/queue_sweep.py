"""Deletes, after each test module, the queues left under the prefixes that module's
tests got from `pipeline_settings` (a pytest plugin).

A test that stops half-way leaves its endpoint's queues on the machine's shared
RabbitMQ. Each quorum queue holds about three file handles there, and a broker with
the usual limit of 1024 open files takes no new connection once some 300 queues
exist: every later test, and every other user of that broker, would hang. Module
fixtures are torn down by the time the module's last test has, so its prefixes are
free to sweep then.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator

import pika
import pytest

from tests.support import settings as test_settings


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    yield
    if nextitem is not None and nextitem.module is item.module:  # type: ignore[attr-defined]
        return
    prefixes = tuple(prefix + "." for prefix in test_settings.handed_out
                     if prefix != "crossdock")  # never a real installation's queues
    test_settings.handed_out.clear()
    if prefixes and shutil.which("rabbitmqctl"):
        with contextlib.suppress(subprocess.SubprocessError, OSError,
                                 pika.exceptions.AMQPError):
            listed = subprocess.run(
                ["rabbitmqctl", "list_queues", "-q", "--no-table-headers", "name"],
                capture_output=True, text=True, timeout=60, check=False)
            test_settings.delete_queues(
                name for name in listed.stdout.split() if name.startswith(prefixes))
