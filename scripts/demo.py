"""`make demo`: the whole pipeline on this machine, each part real.

Starts RabbitMQ when it is not running and its management console (loopback only)
when it is off, two Distribution registries (a source that notifies the receiver,
an endpoint with htpasswd auth, both from config/), `crossdock receiver` and one
`crossdock consumer`. Then, through the public API: creates a source, an endpoint
and a rule; pushes generated images (one multi-arch) and enables the rule (initial
sync); pushes one more image and deletes one; shows the jobs and the endpoint's
catalog. It keeps running until Ctrl-C, then stops what it started, puts RabbitMQ
back as it found it, and says so. Exit status: 0 when the endpoint ended equal to
the source, 1 when not (the logs are kept then), 130 when interrupted. Ports:
DEMO_SOURCE_PORT (5001), DEMO_ENDPOINT_PORT (5002), DEMO_API_PORT (8080),
DEMO_CONSOLE_PORT (15672); DEMO_EXIT=1 ends after the walk-through.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.demo_broker import BrokerError, DemoBroker, listening  # noqa: E402
from shared.errors import CrossdockError  # noqa: E402
from shared.mediatypes import OCI_INDEX, OCI_MANIFEST  # noqa: E402
from shared.registry import Manifest, RegistryClient, RegistryConfig  # noqa: E402
from shared.store import generate_secret_key  # noqa: E402

CROSSDOCK = str(Path(sys.executable).with_name("crossdock"))
REGISTRY = "/usr/bin/docker-registry"
WEBHOOK_SECRET = "demo-webhook-secret"  # noqa: S105 - the demo's, as in config/registry-source.yml
ENDPOINT_USER, ENDPOINT_PASSWORD = "crossdock", "crossdock-demo"  # config/htpasswd
ADMIN_TOKEN = "demo-admin-token"  # noqa: S105 - the demo's only
QUEUE_PREFIX = "crossdock-demo"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
# Settings of the user's shell that would change what the demo runs: it sets its own.
FOREIGN_PREFIXES = ("CROSSDOCK_", "REGISTRY_")


class DemoError(Exception):
    """The demo can't go on; the message says why and where to look."""


def step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def demo_environment(base: Mapping[str, str], own: Mapping[str, str]) -> dict[str, str]:
    """`base` without any CROSSDOCK_* or REGISTRY_* variable, then `own`: whatever the
    user's shell sets for crossdock or a registry must not reach the demo's processes."""
    kept = {name: value for name, value in base.items()
            if not name.startswith(FOREIGN_PREFIXES)}
    return {**kept, **own}


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Ctrl-C (or SIGTERM) while this runs says that clean-up goes on, instead of
    abandoning it halfway with queues and files left behind."""

    def note(signum: int, _frame: FrameType | None) -> None:
        what = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        print(f"\n  ({what}: the clean-up goes on, and ends by itself in a moment)", flush=True)

    previous = {signum: signal.signal(signum, note) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class Demo:
    """Everything the demo starts, so that exactly that is stopped afterwards."""

    def __init__(self, source_port: int = 5001, endpoint_port: int = 5002,
                 api_port: int = 8080, *, queue_prefix: str = QUEUE_PREFIX,
                 console: bool = True, broker: DemoBroker | None = None) -> None:
        self.queue_prefix = queue_prefix
        self.console = console
        self.broker = broker or DemoBroker()
        self.workdir = Path(tempfile.mkdtemp(prefix="crossdock-demo-"))
        self.logs = self.workdir / "logs"
        self.logs.mkdir()
        self.source_url = f"http://127.0.0.1:{source_port}"
        self.endpoint_url = f"http://127.0.0.1:{endpoint_port}"
        self.api_url = f"http://127.0.0.1:{api_port}"
        self.ports = {"source registry": source_port, "endpoint registry": endpoint_port,
                      "receiver": api_port}
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.env = demo_environment(os.environ, {
            "CROSSDOCK_CONFIG": str(ROOT / "config" / "crossdock.yml"),
            "CROSSDOCK_DATABASE_URL": f"sqlite:///{self.workdir / 'crossdock.db'}",
            "CROSSDOCK_SECRET_KEY": generate_secret_key(),
            "CROSSDOCK_ADMIN_TOKEN": ADMIN_TOKEN,
            "CROSSDOCK_AMQP_URL": AMQP_URL,
            "CROSSDOCK_QUEUE_PREFIX": queue_prefix,
            "CROSSDOCK_RETRY_DELAYS": "5,30,120",  # quick retries for a demo
            "CROSSDOCK_CONSUMER_METRICS_PORT": "0",
            # the web console links each endpoint's queues into RabbitMQ's console
            "CROSSDOCK_RABBITMQ_CONSOLE_URL": (f"http://127.0.0.1:{self.broker.console_port}"
                                               if console else ""),
        })
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"

    # -- processes -----------------------------------------------------------------

    def start(self) -> None:
        """Start everything; raises `DemoError` naming the log to read."""
        for what, port in self.ports.items():
            if listening(port):
                raise DemoError(f"port {port} (the {what}) is taken: stop what uses it or "
                                "set DEMO_SOURCE_PORT / DEMO_ENDPOINT_PORT / DEMO_API_PORT")
        try:
            self._say(self.broker.ensure_running())
            if self.console:
                self._say(self.broker.open_console())
            self.broker.delete_queues(self.queue_prefix)  # a crashed run may have left some
        except BrokerError as error:
            raise DemoError(str(error)) from error
        source_port = self.ports["source registry"]
        self._start_registry("source", source_port, {
            "REGISTRY_NOTIFICATIONS_ENDPOINTS": json.dumps([{
                "name": "crossdock",
                "url": f"{self.api_url}/webhooks/source",
                "headers": {"Authorization": [f"Bearer {WEBHOOK_SECRET}"]},
                "timeout": "3s", "threshold": 5, "backoff": "1s",
                "ignoredmediatypes": ["application/octet-stream"],
                "ignore": {"actions": ["pull"]},
            }]),
        })
        self._start_registry("endpoint", self.ports["endpoint registry"], {
            "REGISTRY_AUTH_HTPASSWD_PATH": str(ROOT / "config" / "htpasswd"),
        })
        receiver_log = self._spawn("receiver", [CROSSDOCK, "receiver", "--bind",
                                                f"127.0.0.1:{self.ports['receiver']}"])
        self._spawn("consumer", [CROSSDOCK, "consumer"])
        _wait_for(f"{self.api_url}/readyz", f"the receiver (log: {receiver_log})")

    def registry_env(self, name: str, port: int, extra: Mapping[str, str]) -> dict[str, str]:
        """The environment of the `name` registry: the demo's settings only."""
        return demo_environment(os.environ, {
            "REGISTRY_HTTP_ADDR": f"127.0.0.1:{port}",
            "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(self.workdir / name),
            **extra})

    def _start_registry(self, name: str, port: int, extra_env: dict[str, str]) -> None:
        config = ROOT / "config" / f"registry-{name}.yml"
        log = self._spawn(f"{name} registry", [REGISTRY, "serve", str(config)],
                          self.registry_env(name, port, extra_env))
        _wait_for(f"http://127.0.0.1:{port}/v2/", f"the {name} registry (log: {log})",
                  ok=(200, 401))

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Path:
        """Start `argv` in a session of its own, logging to a file; its path."""
        log_path = self.logs / f"{name.replace(' ', '-')}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(argv, env=env or self.env, stdout=log, stderr=log,
                                       start_new_session=True)
        self.processes.append((name, process))
        time.sleep(0.2)
        if process.poll() is not None:
            raise DemoError(f"the {name} exited at once (status {process.returncode}); "
                            f"see {log_path}")
        return log_path

    def stop(self, *, keep_logs: bool = False) -> None:
        """Stop what the demo started and undo what it changed, saying each step; a
        Ctrl-C meanwhile does not cut it short. `keep_logs` keeps the logs directory
        (the rest of the working directory goes)."""
        with interrupts_deferred():
            for name, process in reversed(self.processes):
                if process.poll() is None:
                    print(f"  stopping the {name} (pid {process.pid})", flush=True)
                    process.send_signal(signal.SIGTERM)
            for name, process in reversed(self.processes):
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    print(f"  the {name} did not stop in 30 s; killing it", flush=True)
                    process.kill()
                    process.wait(5)
            self.processes.clear()
            for undo in (self._delete_queues, self.broker.close_console,
                         self.broker.stop_if_started):
                try:
                    self._say(undo())
                except BrokerError as error:  # say so, and go on with the rest
                    print(f"  RabbitMQ: {error}", flush=True)
            self._remove_workdir(keep_logs)

    def _delete_queues(self) -> str:
        print(f"  deleting the demo's queues ({self.queue_prefix}.*)", flush=True)
        return f"deleted {len(self.broker.delete_queues(self.queue_prefix))} queue(s)"

    def _remove_workdir(self, keep_logs: bool) -> None:
        if not keep_logs:
            print(f"  removing {self.workdir}", flush=True)
            shutil.rmtree(self.workdir, ignore_errors=True)
            return
        for entry in self.workdir.iterdir():
            if entry != self.logs:
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
        print(f"  kept the logs in {self.logs} (rm -r {self.workdir} when done)", flush=True)

    @staticmethod
    def _say(done: str | None) -> None:
        if done:
            print(f"  {done}", flush=True)

    # -- the API ---------------------------------------------------------------------

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call the management API; raises `DemoError` when it fails."""
        try:
            answer = self.session.request(method, f"{self.api_url}/api/v1{path}", json=body,
                                          timeout=30)
        except requests.RequestException as error:
            raise DemoError(f"{method} {path}: the receiver did not answer ({error}); see "
                            f"{self.logs / 'receiver.log'}") from error
        if answer.status_code >= 400:
            raise DemoError(f"{method} {path}: {answer.status_code} {answer.text}")
        return answer.json() if answer.content else None

    def configure(self) -> None:
        self.api("POST", "/sources", {"name": "source", "kind": "distribution",
                                      "url": self.source_url, "webhook_secret": WEBHOOK_SECRET})
        self.api("POST", "/endpoints", {"name": "mirror", "kind": "registry",
                                        "url": self.endpoint_url, "username": ENDPOINT_USER,
                                        "password": ENDPOINT_PASSWORD})
        check = self.api("POST", "/endpoints/ping", {"name": "mirror"})
        print(f"Test Connection to mirror: {'ok' if check['ok'] else 'FAILED'} "
              f"({check['message']})")
        self.api("POST", "/rules", {"name": "demo", "source": "source", "endpoint": "mirror",
                                    "project": "demo", "enabled": False})

    def wait_for_jobs(self, timeout: float = 120) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            jobs: list[dict[str, Any]] = self.api("GET", "/jobs?limit=500")["items"]
            if jobs and all(j["status"] in ("succeeded", "skipped", "failed") for j in jobs):
                return jobs
            if time.monotonic() > deadline:
                return jobs
            time.sleep(0.3)

    # -- images ----------------------------------------------------------------------

    def source_client(self) -> RegistryClient:
        return RegistryClient(RegistryConfig(self.source_url))

    def endpoint_client(self) -> RegistryClient:
        return RegistryClient(RegistryConfig(self.endpoint_url, ENDPOINT_USER,
                                             ENDPOINT_PASSWORD))


def push_generated_image(client: RegistryClient, repository: str, tag: str | None,
                         arch: str = "amd64", layer_kib: int = 512) -> Manifest:
    """Push an image of two random layers and a config; returns its manifest."""
    layers = [_push_blob(client, repository, os.urandom(layer_kib * 1024)) for _ in range(2)]
    config = json.dumps({"architecture": arch, "os": "linux",
                         "rootfs": {"type": "layers",
                                    "diff_ids": [layer["digest"] for layer in layers]}})
    manifest = Manifest(OCI_MANIFEST, json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   **_push_blob(client, repository, config.encode())},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}
                   for layer in layers],
    }, indent=2).encode())
    client.put_manifest(repository, tag or manifest.digest, manifest)
    return manifest


def push_generated_index(client: RegistryClient, repository: str, tag: str) -> Manifest:
    """Push a linux/amd64 + linux/arm64 index; returns it."""
    arches = ("amd64", "arm64")
    children = [push_generated_image(client, repository, None, arch) for arch in arches]
    index = Manifest(OCI_INDEX, json.dumps({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": child.digest,
                       "size": len(child.data),
                       "platform": {"os": "linux", "architecture": arch}}
                      for child, arch in zip(children, arches, strict=True)],
    }, indent=2).encode())
    client.put_manifest(repository, tag, index)
    return index


def _push_blob(client: RegistryClient, repository: str, data: bytes) -> dict[str, Any]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    session = client.start_upload(repository)
    if session is not None:
        client.upload_blob(repository, session, digest, len(data), iter([data]),
                           chunk_size=len(data) + 1)
    return {"digest": digest, "size": len(data)}


def state(client: RegistryClient, project: str) -> dict[str, dict[str, str]]:
    """``{repository: {tag: digest}}`` for every repository of a project."""
    found = {}
    for repository in client.catalog():
        if repository.startswith(project + "/"):
            tags = {}
            for tag in client.tags(repository):
                head = client.head_manifest(repository, tag)
                if head is not None:
                    tags[tag] = head.digest
            if tags:
                found[repository] = tags
    return found


def wait_converged(demo: Demo, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        demo.wait_for_jobs(timeout=deadline - time.monotonic())
        if state(demo.source_client(), "demo") == state(demo.endpoint_client(), "demo"):
            return True
        time.sleep(0.5)
    return False


def walk_through(demo: Demo) -> bool:
    """The demo's story, through the public API; True when the endpoint ends equal to
    the source."""
    step("1. create a source, an endpoint and a rule through the API")
    demo.configure()

    step("2. push images into project 'demo' of the source, then enable the rule")
    client = demo.source_client()
    for repository, tag in (("demo/web", "v1"), ("demo/web", "v2"), ("demo/api", "1.0")):
        print(f"  pushed {repository}:{tag} {push_generated_image(client, repository, tag).digest}")
    index = push_generated_index(client, "demo/multi", "latest")
    print(f"  pushed demo/multi:latest {index.digest} (linux/amd64 + linux/arm64)")
    enabled = demo.api("POST", "/rules/demo/enable")
    print(f"  rule enabled: initial sync, execution {enabled.get('execution_id')}")
    wait_converged(demo)

    step("3. push one more image, delete one: the registry's webhooks do the rest")
    pushed = push_generated_image(client, "demo/worker", "v1")
    print(f"  pushed demo/worker:v1 {pushed.digest}")
    gone = client.head_manifest("demo/web", "v1")
    assert gone is not None
    client.delete_manifest("demo/web", gone.digest)
    print(f"  deleted demo/web:v1 ({gone.digest})")
    converged = wait_converged(demo)

    step("4. the jobs, and what the endpoint holds now")
    jobs = demo.wait_for_jobs()
    print(f"{'id':>4}  {'action':9} {'status':9} {'attempts':>8}  image")
    for job in sorted(jobs, key=lambda j: j["id"]):
        image = job["repository"] + (f":{job['tag']}" if job.get("tag") else "") + (
            f"@{job['digest'][:19]}" if job.get("digest") else "")
        print(f"{job['id']:>4}  {job['action']:9} {job['status']:9} {job['attempts']:>8}  {image}")
    endpoint_state = state(demo.endpoint_client(), "demo")
    print("\nendpoint catalog (tags → digests):")
    print(json.dumps(endpoint_state, indent=2))
    print("endpoint matches source: " + ("yes" if converged else "NO"))
    print(f"\nAPI: {demo.api_url}/api/v1 (Authorization: Bearer {ADMIN_TOKEN}); "
          f"OpenAPI at {demo.api_url}/api/v1/openapi.json")
    if demo.console:
        print(f"RabbitMQ console: http://127.0.0.1:{demo.broker.console_port} (guest/guest); "
              f"queues {demo.queue_prefix}.endpoint.mirror.*")
    print(f"Try, while the demo runs: {try_command(demo)}\n"
          f"(`. {_shown(Path(CROSSDOCK).parent)}/activate` puts crossdock on this shell's PATH)")
    print(console_hint(demo))
    return converged


def console_hint(demo: Demo) -> str:
    """The last lines: where the web console is and the token to sign in with."""
    return (f"\nWeb console: {demo.api_url}/ui/\n"
            f"Sign in with the admin token: {ADMIN_TOKEN}")


def try_command(demo: Demo) -> str:
    """A CLI command that works as printed, from the directory the demo runs in."""
    return (f"CROSSDOCK_ADMIN_TOKEN={ADMIN_TOKEN} CROSSDOCK_API_URL={demo.api_url} "
            f"{_shown(Path(CROSSDOCK))} jobs list")


def _shown(path: Path) -> str:
    """`path` relative to the working directory when it is inside it, else absolute."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def main() -> int:
    """Run the demo; the exit status (see the module's docstring)."""
    previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops it as Ctrl-C does
    try:
        return run(Demo(_port("DEMO_SOURCE_PORT", 5001), _port("DEMO_ENDPOINT_PORT", 5002),
                        _port("DEMO_API_PORT", 8080),
                        broker=DemoBroker(console_port=_port("DEMO_CONSOLE_PORT", 15672))))
    finally:
        signal.signal(signal.SIGTERM, previous)


def run(demo: Demo) -> int:
    """Start `demo`, walk through it, keep it running on a terminal until Ctrl-C, and
    stop it: 0 when the endpoint ended equal to the source, 1 when not or when a part
    failed (the logs are kept then), 130 when cut short."""
    status = 1
    try:
        step("starting RabbitMQ (if needed), two registries, the receiver and a consumer")
        demo.start()
        print(f"logs in {demo.logs}")
        if not walk_through(demo):
            raise DemoError("the endpoint does not match the source: the jobs above say "
                            "which did not succeed, and consumer.log why")
        status = 0
        if os.environ.get("DEMO_EXIT") or not sys.stdin.isatty():
            return status
        print("\nEverything keeps running. Ctrl-C stops what the demo started.")
        while True:
            signal.pause()
    except KeyboardInterrupt:  # the way to end it once it has run; else cut short
        status = 0 if status == 0 else 130
    except (DemoError, CrossdockError) as error:
        print(f"\nthe demo failed: {error}", file=sys.stderr, flush=True)
    finally:
        step("stopping what the demo started")
        demo.stop(keep_logs=status == 1)
    return status


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _port(name: str, default: int) -> int:
    value = os.environ.get(name, str(default))
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SystemExit(f"{name} must be a TCP port (1-65535), not {value!r}")
    return int(value)


def _wait_for(url: str, what: str, ok: tuple[int, ...] = (200,), seconds: float = 90.0,
              request_timeout: float = 5.0) -> None:
    """Poll `url` until it answers one of `ok`. A busy machine may take a while to
    start a process, and a first answer may be slow (a receiver accepts connections
    before its workers answer): neither is a failure. Raises `DemoError` after
    `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=request_timeout).status_code in ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise DemoError(f"{what} did not come up at {url} within {seconds:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
