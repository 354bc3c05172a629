"""Private RabbitMQ brokers for the tests that break one (a pytest plugin).

- `rabbit_node`: one node of its own, shared by the single-node fault tests (a
  frozen node, a memory alarm). A test that freezes or alarms it undoes that.
- `rabbit_cluster`: three joined nodes, for the tests marked `rabbit_cluster`. A
  test may kill and restart nodes, but leaves all three running.

Both boot in the background as soon as collection has found a test that needs them
(10-15 s of booting overlaps the tests before), and are killed by pid when the
session ends, whatever happened. The machine's shared broker is never touched.
"""

from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cluster_pipeline import postgres_reachable
from tests.support.rabbit_cluster import RabbitCluster
from tests.support.rabbit_node import RabbitNode

POSTGRES_URL = os.environ.get(
    "CROSSDOCK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

_booted: dict[str, RabbitNode | RabbitCluster] = {}


def _boot(kind: str) -> RabbitNode | RabbitCluster:
    if not _booted and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        # A run stopped with SIGTERM ends like one cut short with Ctrl-C: the
        # session still finishes, and the nodes are killed, not left running.
        signal.signal(signal.SIGTERM, _interrupt)
    if kind not in _booted:
        base = Path(tempfile.mkdtemp(prefix=f"crossdock-{kind}-"))
        _booted[kind] = (RabbitCluster(base) if kind == "cluster" else RabbitNode(base)).start()
    return _booted[kind]


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def pytest_collection_finish(session: pytest.Session) -> None:
    if any("rabbit_node" in getattr(item, "fixturenames", ()) for item in session.items):
        _boot("node")
    if any(item.get_closest_marker("rabbit_cluster") for item in session.items):
        _boot("cluster")


def pytest_sessionfinish(session: pytest.Session) -> None:
    while _booted:
        _kind, broker = _booted.popitem()
        broker.stop()


@pytest.fixture(scope="session")
def rabbit_node() -> RabbitNode:
    node = _boot("node")
    assert isinstance(node, RabbitNode)
    return node.wait() if node.pid is None else node


@pytest.fixture(scope="session")
def rabbit_cluster() -> Iterator[RabbitCluster]:
    cluster = _boot("cluster")
    assert isinstance(cluster, RabbitCluster)
    yield cluster.wait()


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """The PostgreSQL `make test` starts; its absence fails under `make test`."""
    why = postgres_reachable(POSTGRES_URL)
    if why is not None:
        message = (f"PostgreSQL is not reachable at {POSTGRES_URL} ({why}); "
                   "`make test` starts one, or point CROSSDOCK_TEST_POSTGRES_URL at one")
        if os.environ.get("CROSSDOCK_TEST_REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    return POSTGRES_URL
