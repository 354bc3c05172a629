"""``/readyz`` probes what a webhook needs, within ``readyz_deadline_seconds``: every
RabbitMQ node takes a publish (ready when one does), and the store gives a write
turn. ``/metrics`` shows the publisher's broker connection."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from receiver.app import create_app
from shared.broker import Publisher, PublishRejectedError, PublishTimeoutError
from shared.store import open_store
from tests.support.settings import AMQP_URL, pipeline_settings

DEAD_NODE = "amqp://guest:secret-of-node-2@127.0.0.1:1/%2F"


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Builds a receiver over its own SQLite store; closes what it opened."""
    opened: list[tuple[Publisher, object]] = []

    def make(**changes: object) -> Flask:
        settings = pipeline_settings(tmp_path, **changes)
        store = open_store(settings)
        publisher = Publisher(settings, name="test-readyz")
        opened.append((publisher, store))
        return create_app(settings, store=store, publisher=publisher)

    yield make
    for publisher, store in opened:
        publisher.close()
        store.close()  # type: ignore[attr-defined]


def test_readyz_is_ready_when_one_node_takes_the_probe_and_lists_each_without_passwords(
    make_app: Callable[..., Flask]
) -> None:
    app = make_app(amqp_url=f"{AMQP_URL},{DEAD_NODE}")

    response = app.test_client().get("/readyz")

    body = response.get_json()
    assert response.status_code == 200, body
    assert body["status"] == "ready"
    assert body["checks"] == {"store": "ok", "broker": "ok"}
    [live, dead] = body["nodes"]
    assert (live["url"], live["status"], live["error"]) == (
        AMQP_URL.replace("guest:guest@", "guest@"), "ok", None)
    assert (dead["url"], dead["status"]) == ("amqp://guest@127.0.0.1:1/%2F", "unreachable")
    assert "cannot connect to RabbitMQ" in dead["error"]
    assert "secret-of-node-2" not in response.get_data(as_text=True)


def test_readyz_is_503_within_its_deadline_while_the_store_is_write_locked(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    app = make_app()
    assert app.test_client().get("/readyz").status_code == 200
    holder = sqlite3.connect(tmp_path / "crossdock.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's long write transaction
    try:
        started = time.monotonic()
        response = app.test_client().get("/readyz")
        took = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    body = response.get_json()
    assert response.status_code == 503, body
    assert took < 2.5  # the deadline is 1 s; a read (the old check) passed here
    assert "no write turn within 1 s" in body["checks"]["store"]
    assert body["checks"]["broker"] == "ok"
    deadline = time.monotonic() + 15
    while app.test_client().get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, "readyz not ready after the lock was released"
        time.sleep(0.1)


def test_metrics_show_the_broker_connection_and_publish_timeouts(
    make_app: Callable[..., Flask]
) -> None:
    app = make_app()
    publisher: Publisher = app.extensions["crossdock"].publisher
    app.test_client().get("/readyz")
    with pytest.raises(PublishRejectedError):  # connects, and leaves nothing behind
        publisher.publish("crossdock-test-no-such-queue", b"x")
    with pytest.raises(PublishTimeoutError):
        publisher.publish("anything", b"x", deadline=time.monotonic() - 1)

    text = app.test_client().get("/metrics").get_data(as_text=True)

    assert "crossdock_receiver_broker_connected 1.0" in text
    assert "crossdock_receiver_broker_blocked 0.0" in text
    assert "crossdock_receiver_publish_timeouts_total 1.0" in text
    assert "crossdock_receiver_broker_reconnects_total 0.0" in text

