"""A broker that never answers, or a host that does not resolve: every caller gets our
error within about a second (one `amqp_connect_timeout` per node), never a 500, a
hang or a traceback, and no password of any listed node shows anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from structlog.testing import capture_logs

from receiver.app import create_app
from shared.broker import Ack, BrokerUnavailableError, Publisher, Worker, ping
from shared.errors import CrossdockError
from shared.settings import Settings
from shared.store import JobStatus, Store, open_store
from tests.receiver.conftest import ADMIN_TOKEN, WEBHOOK_SECRET, Records
from tests.support.settings import pipeline_settings
from tests.support.silent_listener import SilentListener

CROSSDOCK = str(Path(sys.executable).with_name("crossdock"))
UNRESOLVABLE = "amqp://guest:guest@no-such-host.invalid:5672/%2F"
DIGEST = "sha256:" + "c" * 64
QUICK = 4.0  # seconds: one 1 s connect timeout, with room for a slow machine


@pytest.fixture(params=["silent", "unresolvable"])
def dead_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A listener that accepts TCP and never speaks, or a host that does not resolve."""
    if request.param == "unresolvable":
        yield UNRESOLVABLE
        return
    with SilentListener() as listener:
        yield listener.url()


@pytest.fixture
def settings(tmp_path: Path, dead_url: str) -> Settings:
    return pipeline_settings(tmp_path, amqp_url=dead_url, admin_token=ADMIN_TOKEN)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    opened = open_store(settings)
    yield opened
    opened.close()


@pytest.fixture
def app(settings: Settings, store: Store) -> Iterator[Flask]:
    publisher = Publisher(settings, name="test-unreachable")
    application = create_app(settings, store=store, publisher=publisher)
    application.config["TESTING"] = True
    yield application
    publisher.close()


def push(tag: str) -> bytes:
    target = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
              "repository": "lib/app", "digest": DIGEST, "tag": tag}
    return json.dumps({"events": [{"id": tag, "action": "push", "target": target,
                                   "request": {"method": "PUT"}}]}).encode()


def timed(action: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = action()
    return result, time.monotonic() - started


def test_publishing_fails_fast_with_our_error(settings: Settings, store: Store,
                                              records: Records) -> None:
    publisher = Publisher(settings)
    job = _job_message(records)
    started = time.monotonic()
    try:
        with pytest.raises(BrokerUnavailableError, match="cannot connect to RabbitMQ"):
            publisher.publish_jobs([job])
    finally:
        publisher.close()
    assert time.monotonic() - started < QUICK


def test_a_webhook_is_503_quickly_and_leaves_no_pending_job(
    app: Flask, records: Records
) -> None:
    source = records.source()
    records.rule(source, records.endpoint())

    response, took = timed(lambda: app.test_client().post(
        f"/webhooks/{source.name}", data=push("v1"),
        content_type="application/vnd.docker.distribution.events.v1+json",
        headers={"Authorization": f"Bearer {WEBHOOK_SECRET}"}))

    assert response.status_code == 503, response.get_json()
    assert response.headers["Retry-After"]
    assert took < QUICK
    assert JobStatus.PENDING not in {job.status for job in records.all_jobs()}


def test_enabling_a_rule_answers_without_a_500_and_fails_its_sync_job(
    app: Flask, records: Records
) -> None:
    rule = records.rule(records.source(), records.endpoint(), enabled=False)

    response, took = timed(lambda: app.test_client().post(
        f"/api/v1/rules/{rule.name}/enable", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}))

    # Documented: 503 with the reason; the rule is enabled and its sync job failed
    assert response.status_code == 503, response.get_json()
    assert response.get_json()["error"]["reason"] in ("timeout", "unreachable")
    assert took < QUICK
    [job] = records.all_jobs()
    assert job.status is JobStatus.FAILED and "could not queue" in (job.error or "")


def test_readyz_is_503_quickly(app: Flask) -> None:
    response, took = timed(lambda: app.test_client().get("/readyz"))

    assert response.status_code == 503
    assert response.get_json()["checks"]["store"] == "ok"
    assert "cannot connect to RabbitMQ" in response.get_json()["checks"]["broker"]
    assert took < QUICK


def test_a_worker_that_never_connected_stops_with_our_error(settings: Settings) -> None:
    worker = Worker(settings, lambda delivery: Ack(), ["anything"])
    with pytest.raises(BrokerUnavailableError):
        worker.run()


def test_the_consumer_command_exits_with_one_line_and_no_traceback(
    settings: Settings, store: Store
) -> None:
    env = {**os.environ, "CROSSDOCK_AMQP_URL": settings.amqp_url,
           "CROSSDOCK_DATABASE_URL": settings.database_url,
           "CROSSDOCK_SECRET_KEY": settings.secret_key, "CROSSDOCK_LOG_FORMAT": "json"}
    run = subprocess.run([CROSSDOCK, "consumer", "--metrics-port", "0"], env=env,
                         capture_output=True, text=True, timeout=60, check=False)

    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    errors = [line for line in run.stderr.splitlines() if line.startswith("crossdock: error:")]
    assert len(errors) == 1 and "cannot connect to RabbitMQ" in errors[0], run.stderr


def test_no_password_of_a_node_list_shows_anywhere(tmp_path: Path) -> None:
    with SilentListener() as listener:
        urls = f"{listener.url('first-secret')},amqp://guest:second-secret@127.0.0.1:1/%2F"
        settings = pipeline_settings(tmp_path, amqp_url=urls)
        store = open_store(settings)
        records = Records(store)
        source = records.source()
        records.rule(source, records.endpoint())
        app = create_app(settings, store=store)
        shown: list[str] = []
        try:
            with capture_logs() as logs:
                with pytest.raises(CrossdockError) as caught:
                    ping(settings)
                shown.append(str(caught.value))
                shown.append(app.test_client().get("/readyz").get_data(as_text=True))
                shown.append(app.test_client().post(
                    f"/webhooks/{source.name}", data=push("v1"),
                    content_type="application/vnd.docker.distribution.events.v1+json",
                    headers={"Authorization": f"Bearer {WEBHOOK_SECRET}"}).get_data(as_text=True))
            shown.extend(job.error or "" for job in records.all_jobs())
            shown.append(repr(logs))
        finally:
            store.close()
    assert "127.0.0.1:1/" in shown[0] and f"127.0.0.1:{listener.port}/" in shown[0]
    assert all(len(text) for text in shown)
    for text in shown:
        assert "first-secret" not in text and "second-secret" not in text, text


def _job_message(records: Records) -> Any:
    from tests.broker.conftest import make_job

    return make_job(records.endpoint().name)


@pytest.fixture
def records(store: Store) -> Records:
    return Records(store)
