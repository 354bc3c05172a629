"""A broker that goes away during a burst of webhooks loses no accepted event."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pika
import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from receiver.app import create_app
from shared.broker import Publisher
from shared.queues import work_queue
from shared.settings import Settings
from shared.store import JobStatus, Store
from tests.receiver.conftest import WEBHOOK_SECRET, Records
from tests.support.settings import AMQP_URL, delete_endpoint_queues
from tests.support.tcp_proxy import TcpProxy

DIGEST = "sha256:" + "ab" * 32


def envelope(tag: str) -> bytes:
    return json.dumps({"events": [{
        "action": "push",
        "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                   "digest": DIGEST, "repository": "lib/app", "tag": tag},
    }]}).encode()


@pytest.fixture
def proxied(settings: Settings, tmp_path: Path) -> Iterator[tuple[TcpProxy, Settings]]:
    proxy = TcpProxy(("127.0.0.1", 5672)).start()
    yield proxy, settings.replace(
        amqp_url=f"amqp://guest:guest@127.0.0.1:{proxy.port}/%2F?heartbeat=5"
                 "&connection_attempts=1&socket_timeout=2")
    proxy.cut()


def queued_job_ids(settings: Settings, endpoint: str) -> list[int]:
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    ids = []
    while True:
        method, _properties, body = channel.basic_get(work_queue(settings.queue_prefix, endpoint),
                                                      auto_ack=True)
        if method is None:
            break
        ids.append(json.loads(body)["job_id"])
    connection.close()
    return ids


# Connections the proxy cuts are dropped by pika mid-stream; their sockets may be
# reclaimed by the garbage collector rather than closed, which is not what this
# test is about.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_no_accepted_event_is_lost_when_the_broker_goes_away_mid_burst(
    proxied: tuple[TcpProxy, Settings], store: Store, records: Records,
) -> None:
    proxy, settings = proxied
    source = records.source()
    endpoint = records.endpoint()
    records.rule(source, endpoint)
    publisher = Publisher(settings, name="outage-receiver", attempts=2, backoff=0.05)
    app: Flask = create_app(settings, store=store, publisher=publisher)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/webhooks/{source.name}"
    headers = {"Authorization": f"Bearer {WEBHOOK_SECRET}",
               "Content-Type": "application/vnd.docker.distribution.events.v1+json"}
    statuses: dict[str, int] = {}
    accepted: dict[str, list[int]] = {}

    def deliver(tag: str) -> None:
        answer = requests.post(url, data=envelope(tag), headers=headers, timeout=30)
        statuses[tag] = answer.status_code
        if answer.status_code == 202:
            accepted[tag] = answer.json()["jobs"]

    try:
        tags = [f"t{i}" for i in range(120)]
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(deliver, tag) for tag in tags]
            time.sleep(0.15)
            proxy.cut()  # the broker vanishes mid-burst
            time.sleep(1.0)
            proxy.start()
            for future in futures:
                future.result()
        refused = [tag for tag, status in statuses.items() if status != 202]
        # Distribution sends what was refused again, until it is accepted.
        for tag in refused:
            deliver(tag)

        assert set(statuses.values()) <= {202, 503}
        assert refused, "the outage came too late to matter: the test proved nothing"
        assert all(statuses[tag] == 202 for tag in tags)
        queued = queued_job_ids(settings, endpoint.name)
        accepted_ids = {job_id for ids in accepted.values() for job_id in ids}
        assert accepted_ids <= set(queued)  # every 202 has its message
        pending = {job.id for job in store.list_jobs(limit=10_000)
                   if job.status == JobStatus.PENDING}
        assert pending <= set(queued)  # no job waits for a message that was never sent
        failed = [job for job in store.list_jobs(limit=10_000)
                  if job.status == JobStatus.FAILED]
        assert all("could not queue" in (job.error or "") for job in failed)
    finally:
        server.shutdown()
        server.server_close()
        publisher.close()
        delete_endpoint_queues(settings, [endpoint.name])


