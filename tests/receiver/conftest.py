"""Receiver fixtures: the app with a real SQLite store and a real RabbitMQ publisher.

- `settings`: a unique queue prefix per test, the store under `tmp_path`;
- `store`, `app`, `client` (Flask's test client);
- `live_receiver`: the same app served over HTTP by werkzeug in a thread, for
  registries that send real notifications;
- `records`: a few lines to create sources, endpoints and rules;
- `start_consumer`: a `ConsumerService` in a thread, like `crossdock consumer`;
- `notifying_registry`: a real `docker-registry` whose notifications go to the
  live receiver as a source's webhook, plus helpers that act on registries the way
  a user would (skopeo copies, re-tags, deletes) and wait for convergence.

Every queue of every endpoint in the store is deleted at teardown, and every
server and consumer started here is stopped.
"""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from consumers.service import ConsumerService
from receiver.app import create_app
from receiver.services import current_services as services
from shared.broker import Publisher
from shared.settings import Settings
from shared.store import (
    EndpointRecord,
    JobRecord,
    RuleRecord,
    SourceRecord,
    Store,
    open_store,
)
from tests.support.images import MANIFEST_ACCEPT, list_state
from tests.support.registry_server import RegistryServer
from tests.support.settings import delete_endpoint_queues, pipeline_settings

ADMIN_TOKEN = "test-admin-token-0123456789"
WEBHOOK_SECRET = "test-webhook-secret-0123456789"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return pipeline_settings(tmp_path, admin_token=ADMIN_TOKEN)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    opened = open_store(settings)
    yield opened
    opened.close()


@pytest.fixture
def app(settings: Settings, store: Store) -> Iterator[Flask]:
    """The receiver; its publisher is closed and the test's queues deleted afterwards."""
    publisher = Publisher(settings, name="test-receiver")
    application = create_app(settings, store=store, publisher=publisher)
    application.config["TESTING"] = True
    yield application
    publisher.close()
    delete_endpoint_queues(settings, [endpoint.name for endpoint in store.list_endpoints()])


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass(frozen=True)
class LiveReceiver:
    url: str  # http://127.0.0.1:PORT, no trailing slash
    app: Flask

    def webhook_url(self, source: str) -> str:
        return f"{self.url}/webhooks/{source}"


@pytest.fixture
def live_receiver(app: Flask) -> Iterator[LiveReceiver]:
    """`app` served by werkzeug (threaded) on a free port; shut down at teardown."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-receiver", daemon=True)
    thread.start()
    yield LiveReceiver(f"http://127.0.0.1:{server.server_port}", app)
    server.shutdown()
    server.server_close()
    thread.join(10)


class Records:
    """Sources, endpoints and rules with unique names."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def source(self, url: str = "http://source.test:5000", *, name: str | None = None,
               secret: str | None = WEBHOOK_SECRET, **fields: Any) -> SourceRecord:
        return self.store.create_source(name=name or f"src-{uuid.uuid4().hex[:6]}",
                                        kind=fields.pop("kind", "distribution"), url=url,
                                        webhook_secret=secret, **fields)

    def endpoint(self, url: str = "http://endpoint.test:5000", *, name: str | None = None,
                 **fields: Any) -> EndpointRecord:
        return self.store.create_endpoint(name=name or f"ep-{uuid.uuid4().hex[:6]}",
                                          kind=fields.pop("kind", "registry"), url=url,
                                          **fields)

    def rule(self, source: SourceRecord, endpoint: EndpointRecord, project: str = "lib",
             **fields: Any) -> RuleRecord:
        return self.store.create_rule(name=f"rule-{uuid.uuid4().hex[:6]}", source_id=source.id,
                                      endpoint_id=endpoint.id, project=project, **fields)

    def all_jobs(self) -> list[JobRecord]:
        return self.store.list_jobs(limit=100_000)


@pytest.fixture
def records(store: Store) -> Records:
    return Records(store)


@pytest.fixture
def start_consumer(
    settings: Settings, store: Store, app: Flask
) -> Iterator[Callable[..., ConsumerService]]:
    """Start a `ConsumerService` in a thread (all endpoints, or those named).

    Depends on `app` so that consumers stop before the queues are deleted.
    """
    started: list[tuple[ConsumerService, threading.Thread]] = []

    def start(*endpoints: str, **changes: Any) -> ConsumerService:
        service = ConsumerService(settings.replace(**changes), store, endpoints,
                                  endpoint_poll_seconds=0.2)
        thread = threading.Thread(target=service.run, kwargs={"handle_signals": False},
                                  name="test-consumer", daemon=True)
        thread.start()
        started.append((service, thread))
        return service

    yield start
    for service, _thread in started:
        service.stop()
    for _service, thread in started:
        thread.join(45)


def sample_value(app: Flask, name: str, **labels: str) -> float:
    """The current value of one of the receiver's metrics (0 when never set)."""
    with app.app_context():
        value = services().metrics.registry.get_sample_value(name, labels)
    return value or 0.0


def events_answered(app: Flask, source: str) -> int:
    """Events from `source` the receiver has answered 2xx for: accepted, ignored, rejected."""
    total = 0.0
    with app.app_context():
        registry = services().metrics.registry
    for metric in registry.collect():
        if metric.name in ("crossdock_receiver_events_accepted",
                           "crossdock_receiver_events_ignored",
                           "crossdock_receiver_events_rejected"):
            total += sum(sample.value for sample in metric.samples
                         if sample.name.endswith("_total") and sample.labels["source"] == source)
    return int(total)


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0, what: str = "it",
               interval: float = 0.1) -> None:
    """Poll `predicate` until it holds; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


# -- registries that notify the live receiver ---------------------------------------------


@pytest.fixture
def notifying_registry(
    registry_factory: Callable[..., RegistryServer], live_receiver: LiveReceiver,
    records: Records,
) -> Callable[[], tuple[RegistryServer, SourceRecord]]:
    """Start a registry that notifies the receiver, and record it as a source.

    Blob events and pulls are filtered by the registry itself (crossdock would
    ignore them anyway): only manifest pushes and deletes arrive.
    """

    def start() -> tuple[RegistryServer, SourceRecord]:
        name = f"src-{uuid.uuid4().hex[:6]}"
        server = registry_factory(notifications=[{
            "url": live_receiver.webhook_url(name),
            "headers": {"Authorization": [f"Bearer {WEBHOOK_SECRET}"]},
            "timeout": "2s", "threshold": 3, "backoff": "200ms",
            "ignoredmediatypes": ["application/octet-stream"],
            "ignore": {"actions": ["pull"]},
        }])
        return server, records.source(server.url, name=name)

    return start


def skopeo_copy(source: str, destination: str) -> None:
    """``skopeo copy --all`` between two plain-HTTP registries (``host:port/repo:tag``)."""
    subprocess.run(
        ["skopeo", "--insecure-policy", "copy", "--all", "--preserve-digests", "--quiet",
         "--src-tls-verify=false", "--dest-tls-verify=false",
         f"docker://{source}", f"docker://{destination}"],
        check=True, capture_output=True, timeout=60)


def retag(base: str, repository: str, tag: str, new_tag: str) -> str:
    """Put the manifest of `tag` under `new_tag` too, as the same bytes; its digest."""
    with requests.Session() as session:
        got = session.get(f"{base}/v2/{repository}/manifests/{tag}",
                          headers={"Accept": MANIFEST_ACCEPT}, timeout=10)
        got.raise_for_status()
        put = session.put(f"{base}/v2/{repository}/manifests/{new_tag}", data=got.content,
                          headers={"Content-Type": got.headers["Content-Type"]}, timeout=10)
        put.raise_for_status()
        return str(got.headers["Docker-Content-Digest"])


def delete_by_tag(base: str, repository: str, tag: str) -> str:
    """DELETE the manifest `tag` points at, by digest (2.8 drops all its tags); the digest."""
    with requests.Session() as session:
        head = session.head(f"{base}/v2/{repository}/manifests/{tag}",
                            headers={"Accept": MANIFEST_ACCEPT}, timeout=10)
        head.raise_for_status()
        digest = str(head.headers["Docker-Content-Digest"])
        session.delete(f"{base}/v2/{repository}/manifests/{digest}",
                       timeout=10).raise_for_status()
        return digest


def wait_converged(store: Store, pairs: Sequence[tuple[str, str]], repositories: Sequence[str],
                   *, timeout: float = 45.0, settle: float = 1.0) -> dict[str, dict[str, str]]:
    """Wait until every job is finished and, for each (a, b) registry pair, both hold the
    same tags at the same digests in every repository, for `settle` seconds in a row.

    Returns the final ``{repository: {tag: digest}}`` of the first registry.
    """
    deadline = time.monotonic() + timeout
    stable_since: float | None = None
    last: Any = None
    while True:
        jobs = store.list_jobs(limit=100_000)
        states = {repo: [list_state(base, repo) for pair in pairs for base in pair]
                  for repo in repositories}
        last = ({j.id: j.status.value for j in jobs if not j.status.finished}, states)
        settled = not last[0] and all(
            all(state == per_repo[0] for state in per_repo) for per_repo in states.values())
        now = time.monotonic()
        if settled:
            stable_since = stable_since if stable_since is not None else now
            if now - stable_since >= settle:
                return {repo: per_repo[0] for repo, per_repo in states.items()}
        else:
            stable_since = None
        if now > deadline:
            raise AssertionError(f"no convergence after {timeout} s: unfinished jobs and "
                                 f"states {last}")
        time.sleep(0.2)


# -- two registries, two opposite rules ------------------------------------------------------


@dataclass(frozen=True)
class TwoWay:
    a: RegistryServer
    b: RegistryServer
    source_a: SourceRecord
    source_b: SourceRecord
    a_to_b: RuleRecord  # the pair's first rule: A is the preferred side by default
    b_to_a: RuleRecord

    @property
    def pair(self) -> list[tuple[str, str]]:
        return [(self.a.url, self.b.url)]


@pytest.fixture
def make_two_way(
    notifying_registry: Callable[[], tuple[RegistryServer, SourceRecord]], records: Records,
    start_consumer: Callable[..., ConsumerService],
) -> Callable[..., TwoWay]:
    """Two notifying registries, each linked as a source and an endpoint (one registry
    known both ways), and the rules A→B then B→A for project `lib`: a two-way pair."""

    def make(*, consumer: bool = True) -> TwoWay:
        a, source_a = notifying_registry()
        b, source_b = notifying_registry()
        endpoint_a, endpoint_b = records.endpoint(a.url), records.endpoint(b.url)
        records.store.create_link(source_id=source_a.id, endpoint_id=endpoint_a.id)
        records.store.create_link(source_id=source_b.id, endpoint_id=endpoint_b.id)
        a_to_b = records.rule(source_a, endpoint_b)
        b_to_a = records.rule(source_b, endpoint_a)
        if consumer:
            start_consumer()
        return TwoWay(a, b, source_a, source_b, a_to_b, b_to_a)

    return make


@pytest.fixture
def two_way(make_two_way: Callable[..., TwoWay]) -> TwoWay:
    return make_two_way()


