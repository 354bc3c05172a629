"""crossdock as a cluster user runs it, on one machine: PostgreSQL, a RabbitMQ cluster
given as a list of URLs, two receivers and three consumers (each a real `crossdock`
process), a source registry whose notifications are spread over the receivers, and an
endpoint registry.

`WebhookBalancer` stands in for the load balancer in front of the receivers and records
every answer and how long it took. `PushStream` pushes new tags to the source while a
test breaks the broker. No pytest in here: the cluster bench uses it too.
"""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from shared.store import JobStatus, generate_secret_key
from tests.support.images import list_state, push_image
from tests.support.registry_server import RegistryServer, free_port

ADMIN_TOKEN = "cluster-admin-token-0123456789abcdef"
WEBHOOK_SECRET = "cluster-webhook-secret-0123456789abcdef"
SOURCE = "origin"
ENDPOINT = "mirror"
PROJECT = "team"
REPOSITORY = f"{PROJECT}/app"
CROSSDOCK = Path(sys.executable).with_name("crossdock")
FINISHED = {JobStatus.SUCCEEDED.value, JobStatus.SKIPPED.value, JobStatus.FAILED.value}


# -- PostgreSQL ------------------------------------------------------------------------


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh database on the server at `admin_url`, dropped afterwards."""
    import psycopg

    name = f"crossdock_cluster_{secrets.token_hex(6)}"
    with psycopg.connect(admin_url, connect_timeout=5, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path="/" + name))
    finally:
        with psycopg.connect(admin_url, connect_timeout=5, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_reachable(admin_url: str) -> str | None:
    """None when a server answers at `admin_url`, else why not (one line)."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        psycopg.connect(admin_url, connect_timeout=2).close()
    except psycopg.OperationalError as exc:
        return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return None


# -- the load balancer in front of the receivers --------------------------------------


@dataclass(frozen=True)
class Answer:
    """One notification as the balancer passed it on: 0 means no answer at all."""

    at: float  # time.monotonic() when it arrived
    seconds: float
    status: int
    receiver: str


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A registry dropping its kept-alive connection is no news."""


class WebhookBalancer:
    """Round-robin HTTP forwarder on a free loopback port; records every answer."""

    def __init__(self, receivers: Sequence[str], timeout: float = 15.0) -> None:
        self.receivers = list(receivers)
        self.timeout = timeout
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._next = itertools.cycle(self.receivers)
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="webhook-balancer", daemon=True)

    def start(self) -> WebhookBalancer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def since(self, at: float) -> list[Answer]:
        with self._lock:
            return [answer for answer in self.answers if answer.at >= at]

    def _forward(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        with self._lock:
            receiver = next(self._next)
        started = time.monotonic()
        try:
            answer = requests.post(receiver + path, data=body, headers=headers,
                                   timeout=self.timeout)
            status, content = answer.status_code, answer.content
        except requests.RequestException as exc:
            status, content = 0, str(exc).encode()
        with self._lock:
            self.answers.append(Answer(started, time.monotonic() - started, status, receiver))
        return (status or 502), content

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        balancer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                wanted = ("Authorization", "Content-Type")
                headers = {key: value for key in wanted if (value := self.headers.get(key))}
                status, content = balancer._forward(self.path, headers, body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


# -- the pipeline ----------------------------------------------------------------------


class ClusterPipeline:
    """Every process of the pipeline; `close()` stops them by pid."""

    def __init__(self, workdir: Path, amqp_urls: Sequence[str], database_url: str, *,
                 receivers: int = 2, consumers: int = 3, **settings: str) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith("CROSSDOCK_")}
        self.env.update({
            "CROSSDOCK_AMQP_URL": ",".join(amqp_urls),
            "CROSSDOCK_DATABASE_URL": database_url,
            "CROSSDOCK_SECRET_KEY": generate_secret_key(),
            "CROSSDOCK_ADMIN_TOKEN": ADMIN_TOKEN,
            "CROSSDOCK_QUEUE_PREFIX": f"crossdock-cluster-{secrets.token_hex(3)}",
            "CROSSDOCK_QUEUE_TYPE": "quorum",
            "CROSSDOCK_CONSUMER_METRICS_PORT": "0",
            "CROSSDOCK_LOG_FORMAT": "json",
            "CROSSDOCK_RECEIVER_WORKERS": "1",
            **{f"CROSSDOCK_{key.upper()}": value for key, value in settings.items()},
        })
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.registries: list[RegistryServer] = []
        self.receiver_urls: list[str] = []
        self.balancer: WebhookBalancer | None = None
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        self._receivers, self._consumers = receivers, consumers
        self.source: RegistryServer | None = None
        self.endpoint: RegistryServer | None = None

    @property
    def queue_prefix(self) -> str:
        return self.env["CROSSDOCK_QUEUE_PREFIX"]

    @property
    def work_queue(self) -> str:
        return f"{self.queue_prefix}.endpoint.{ENDPOINT}.work"

    def start(self) -> ClusterPipeline:
        """Receivers first (the first one upgrades the schema), then the registries, the
        configuration through the API, then the consumers."""
        try:
            for index in range(self._receivers):
                port = free_port()
                self._spawn(f"receiver{index}",
                            [str(CROSSDOCK), "receiver", "--bind", f"127.0.0.1:{port}"])
                self.receiver_urls.append(f"http://127.0.0.1:{port}")
                self._wait_ready(self.receiver_urls[-1])
            self.balancer = WebhookBalancer(self.receiver_urls).start()
            self.endpoint = self._registry("endpoint", notifications=[])
            self.source = self._registry("source", notifications=[{
                "name": "crossdock", "url": f"{self.balancer.url}/webhooks/{SOURCE}",
                "headers": {"Authorization": [f"Bearer {WEBHOOK_SECRET}"]},
                "timeout": "5s", "threshold": 3, "backoff": "300ms",
                "ignoredmediatypes": ["application/octet-stream"],
                "ignore": {"actions": ["pull"]},
            }])
            self.api("POST", "/sources", {"name": SOURCE, "kind": "distribution",
                                          "url": self.source.url,
                                          "webhook_secret": WEBHOOK_SECRET})
            self.api("POST", "/endpoints", {"name": ENDPOINT, "kind": "registry",
                                            "url": self.endpoint.url})
            self.api("POST", "/rules", {"name": "cluster", "source": SOURCE,
                                        "endpoint": ENDPOINT, "project": PROJECT})
            for index in range(self._consumers):
                self._spawn(f"consumer{index}", [str(CROSSDOCK), "consumer"])
        except BaseException:
            self.close()
            raise
        return self

    def _registry(self, name: str, notifications: list[dict[str, Any]]) -> RegistryServer:
        server = RegistryServer(self.workdir / name, log_level="error",
                                notifications=notifications)
        self.registries.append(server)
        return server.start()

    def _spawn(self, name: str, argv: list[str]) -> None:
        with (self.workdir / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(argv, env=self.env, stdout=log, stderr=log,
                                       start_new_session=True)
        self.processes.append((name, process))

    def _wait_ready(self, url: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(f"{url}/readyz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the receiver at {url} is not ready after {timeout} s; "
                                   f"{self.log_tails()}")
            time.sleep(0.2)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.session.request(method, f"{self.receiver_urls[0]}/api/v1{path}",
                                      json=body, timeout=30)
        if answer.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text}")
        return answer.json() if answer.content else None

    def jobs(self) -> list[dict[str, Any]]:
        """Every job, through the API (any receiver)."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.api("GET", f"/jobs?limit=500&offset={len(found)}")["items"]
            found += page
            if len(page) < 500:
                return found

    def webhook_to_each_receiver(self, tag: str, digest: str) -> list[int]:
        """Send each receiver, directly, the push event of `tag`; their statuses. A
        receiver whose publishing is stuck answers 503 even once the broker is fine."""
        event = {"action": "push", "target": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
            "repository": REPOSITORY, "tag": tag}}
        return [requests.post(f"{url}/webhooks/{SOURCE}", json={"events": [event]},
                              headers={"Authorization": f"Bearer {WEBHOOK_SECRET}"},
                              timeout=30).status_code for url in self.receiver_urls]

    def exited(self) -> list[str]:
        """Processes that ended by themselves (none should)."""
        return [f"{name} (exit {process.returncode})" for name, process in self.processes
                if process.poll() is not None]

    def log_tails(self, lines: int = 15) -> str:
        parts = []
        for name, _process in self.processes:
            path = self.workdir / f"{name}.log"
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {name}.log\n" + "\n".join(tail))
        return "\n".join(parts)

    def close(self) -> None:
        for _name, process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _name, process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if self.balancer is not None:
            self.balancer.stop()
        for server in self.registries:
            server.stop()
        self.session.close()


# -- pushing while the broker breaks --------------------------------------------------


class PushStream:
    """Pushes `team/app:<prefix>-<n>` to the source, one after another, in a thread."""

    def __init__(self, source_url: str, prefix: str, pause: float = 0.05) -> None:
        self.source_url = source_url
        self.prefix = prefix
        self.pause = pause
        self.pushed: dict[str, str] = {}  # tag -> digest
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"push-{prefix}", daemon=True)

    def start(self) -> PushStream:
        self._thread.start()
        return self

    def stop(self) -> dict[str, str]:
        self._stop.set()
        self._thread.join(60)
        return dict(self.pushed)

    def _run(self) -> None:
        with requests.Session() as session:
            for number in itertools.count():
                if self._stop.is_set():
                    return
                tag = f"{self.prefix}-{number}"
                try:
                    image = push_image(self.source_url, REPOSITORY, tag, layers=(256, 1024),
                                       session=session)
                except Exception as exc:  # the source registry is not what breaks here
                    self.errors.append(f"{tag}: {exc}")
                    return
                self.pushed[tag] = image.digest
                self._stop.wait(self.pause)


# -- checks ----------------------------------------------------------------------------


@dataclass
class Outcome:
    """What one fault did to the pipeline."""

    pushed: int
    jobs: int
    unfinished: list[str]
    failed: list[str]
    mismatched: list[str]
    answers: dict[int, int]  # status -> count (0: no answer)
    slowest_answer: float
    next_finished: float | None  # seconds from the kill to the next finished job
    first_new_finished: float | None  # ... to the first finished job created after it
    longest_gap: float | None  # the longest wait for a finished job, from the kill on
    receivers_after: list[int]  # each receiver's answer to a webhook once all is done

    @property
    def problems(self) -> list[str]:
        found = []
        if self.unfinished:
            found.append(f"{len(self.unfinished)} job(s) never finished: {self.unfinished[:5]}")
        if self.failed:
            found.append(f"{len(self.failed)} job(s) failed: {self.failed[:5]}")
        if self.mismatched:
            found.append(f"endpoint differs from source: {self.mismatched[:5]}")
        bad = {status: n for status, n in self.answers.items()
               if status not in (200, 202, 503)}
        if bad:
            found.append(f"webhook answers other than 2xx/503: {bad}")
        if any(status != 202 for status in self.receivers_after):
            found.append(f"a receiver still refuses webhooks after the fault: "
                         f"{self.receivers_after}")
        return found

    def line(self) -> str:
        def seconds(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.1f} s"

        return (f"pushed {self.pushed} tags, {self.jobs} jobs, {len(self.failed)} failed, "
                f"{len(self.unfinished)} unfinished; answers {self.answers}; slowest webhook "
                f"answer {self.slowest_answer:.2f} s; from the kill: next finished job "
                f"{seconds(self.next_finished)}, first job created after it finished "
                f"{seconds(self.first_new_finished)}, longest wait between finished jobs "
                f"{seconds(self.longest_gap)}")


def settle(pipeline: ClusterPipeline, pushed: dict[str, str], since: float,
           killed: datetime, timeout: float = 90.0) -> Outcome:
    """Wait until every job has finished and the endpoint holds every pushed tag (or
    `timeout`), then say what happened since `since` (monotonic)."""
    assert pipeline.source is not None and pipeline.endpoint is not None
    assert pipeline.balancer is not None
    deadline = time.monotonic() + timeout
    while True:
        jobs = pipeline.jobs()
        unfinished = [f"{job['id']} {job['status']}" for job in jobs
                      if job["status"] not in FINISHED]
        endpoint_state = list_state(pipeline.endpoint.url, REPOSITORY)
        missing = [tag for tag, digest in pushed.items() if endpoint_state.get(tag) != digest]
        if (not unfinished and not missing) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    source_state = list_state(pipeline.source.url, REPOSITORY)
    after = pipeline.webhook_to_each_receiver(*next(iter(source_state.items())))
    mismatched = sorted(set(source_state.items()) ^ set(endpoint_state.items()))
    answers = pipeline.balancer.since(since)
    statuses: dict[int, int] = {}
    for answer in answers:
        statuses[answer.status] = statuses.get(answer.status, 0) + 1
    finishes = sorted((_when(job["finished_at"]), _when(job["created_at"])) for job in jobs
                      if job.get("finished_at") and _when(job["finished_at"]) > killed)
    points = [killed] + [finished for finished, _created in finishes]
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(points)]
    new = [finished for finished, created in finishes if created > killed]
    return Outcome(
        pushed=len(pushed), jobs=len(jobs), unfinished=unfinished,
        failed=[f"{job['id']}: {job.get('error')}" for job in jobs if job["status"] == "failed"],
        mismatched=[f"{tag}@{digest[:19]}" for tag, digest in mismatched],
        answers=dict(sorted(statuses.items())),
        slowest_answer=max((answer.seconds for answer in answers), default=0.0),
        next_finished=gaps[0] if gaps else None,
        first_new_finished=(new[0] - killed).total_seconds() if new else None,
        longest_gap=max(gaps, default=None),
        receivers_after=after,
    )


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)
