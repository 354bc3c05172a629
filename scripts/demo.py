"""`make demo`: the whole pipeline on this machine, each part real.

Starts (when not running) RabbitMQ with its management console, two
Distribution registries (a source that notifies the receiver, an endpoint with
htpasswd auth, both from config/), `crossdock receiver` and one `crossdock
consumer`. Then, through the public API: creates a source, an endpoint and a
rule; pushes generated images (one multi-arch) and enables the rule (initial
sync); pushes one more image and deletes one; shows the jobs and the
endpoint's catalog. It keeps running until Ctrl-C, then stops what it started
and nothing else. Ports: DEMO_SOURCE_PORT (5001), DEMO_ENDPOINT_PORT (5002),
DEMO_API_PORT (8080); DEMO_EXIT=1 ends after the walk-through.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.mediatypes import OCI_INDEX, OCI_MANIFEST  # noqa: E402
from shared.registry import Manifest, RegistryClient, RegistryConfig  # noqa: E402
from shared.store import generate_secret_key  # noqa: E402

CROSSDOCK = str(Path(sys.executable).with_name("crossdock"))
REGISTRY = "/usr/bin/docker-registry"
WEBHOOK_SECRET = "demo-webhook-secret"  # noqa: S105 - the demo's, as in config/registry-source.yml
ENDPOINT_USER, ENDPOINT_PASSWORD = "crossdock", "crossdock-demo"  # config/htpasswd
ADMIN_TOKEN = "demo-admin-token"  # noqa: S105 - the demo's only
QUEUE_PREFIX = "crossdock-demo"


def step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


class Demo:
    """Everything the demo starts, so that exactly that is stopped afterwards."""

    def __init__(self, source_port: int = 5001, endpoint_port: int = 5002,
                 api_port: int = 8080, *, queue_prefix: str = QUEUE_PREFIX,
                 console: bool = True) -> None:
        self.queue_prefix = queue_prefix
        self.console = console
        self.workdir = Path(tempfile.mkdtemp(prefix="crossdock-demo-"))
        self.source_url = f"http://127.0.0.1:{source_port}"
        self.endpoint_url = f"http://127.0.0.1:{endpoint_port}"
        self.api_url = f"http://127.0.0.1:{api_port}"
        self.ports = {"source registry": source_port, "endpoint registry": endpoint_port,
                      "receiver": api_port}
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.started_rabbitmq = False
        self.env = {
            **os.environ,
            "CROSSDOCK_CONFIG": str(ROOT / "config" / "crossdock.yml"),
            "CROSSDOCK_DATABASE_URL": f"sqlite:///{self.workdir / 'crossdock.db'}",
            "CROSSDOCK_SECRET_KEY": generate_secret_key(),
            "CROSSDOCK_ADMIN_TOKEN": ADMIN_TOKEN,
            "CROSSDOCK_QUEUE_PREFIX": queue_prefix,
            "CROSSDOCK_RETRY_DELAYS": "5,30,120",  # quick retries for a demo
            "CROSSDOCK_CONSUMER_METRICS_PORT": "0",
        }
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"

    # -- processes -----------------------------------------------------------------

    def start(self) -> None:
        for what, port in self.ports.items():
            if _port_open(port):
                raise SystemExit(f"port {port} (the {what}) is taken: stop what uses it or "
                                 "set DEMO_SOURCE_PORT / DEMO_ENDPOINT_PORT / DEMO_API_PORT")
        self._start_rabbitmq()
        self._delete_demo_queues()  # a crashed earlier run may have left messages
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
        self._spawn("receiver", [CROSSDOCK, "receiver", "--bind",
                                 f"127.0.0.1:{self.ports['receiver']}"])
        self._spawn("consumer", [CROSSDOCK, "consumer"])
        _wait_for(f"{self.api_url}/readyz", "the receiver")

    def _start_rabbitmq(self) -> None:
        if not _port_open(5672):
            print("starting RabbitMQ (rabbitmq-server -detached)")
            subprocess.run(["rabbitmq-server", "-detached"], check=True)
            self.started_rabbitmq = True
            for _ in range(120):
                if subprocess.run(["rabbitmqctl", "-q", "await_startup"],
                                  capture_output=True, check=False).returncode == 0:
                    break
                time.sleep(1)
        if not self.console:
            return
        # The console on loopback only, then the plugin (a no-op when it is on).
        subprocess.run(["rabbitmqctl", "-q", "eval",
                        'application:set_env(rabbitmq_management, tcp_config, '
                        '[{ip, "127.0.0.1"}, {port, 15672}]).'],
                       capture_output=True, check=False)
        subprocess.run(["rabbitmq-plugins", "-q", "enable", "rabbitmq_management"],
                       capture_output=True, check=False)

    def _start_registry(self, name: str, port: int, extra_env: dict[str, str]) -> None:
        env = {**os.environ, "REGISTRY_HTTP_ADDR": f"127.0.0.1:{port}",
               "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(self.workdir / name),
               **extra_env}
        config = ROOT / "config" / f"registry-{name}.yml"
        self._spawn(f"{name} registry", [REGISTRY, "serve", str(config)], env)
        _wait_for(f"http://127.0.0.1:{port}/v2/", f"the {name} registry", ok=(200, 401))

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        log_path = self.workdir / f"{name.replace(' ', '-')}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(argv, env=env or self.env, stdout=log, stderr=log,
                                       start_new_session=True)
        self.processes.append((name, process))
        time.sleep(0.2)
        if process.poll() is not None:
            raise SystemExit(f"the {name} exited at once; see {log_path}")

    def stop(self) -> None:
        for _name, process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for name, process in reversed(self.processes):
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                print(f"the {name} did not stop in 30 s; killing it")
                process.kill()
                process.wait(5)
        self._delete_demo_queues()
        if self.started_rabbitmq:
            subprocess.run(["rabbitmqctl", "-q", "stop"], capture_output=True, check=False)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def _delete_demo_queues(self) -> None:
        listed = subprocess.run(["rabbitmqctl", "-q", "list_queues", "--no-table-headers",
                                 "name"], capture_output=True, text=True, check=False)
        for name in listed.stdout.split():
            if name.startswith(self.queue_prefix + "."):
                subprocess.run(["rabbitmqctl", "-q", "delete_queue", name],
                               capture_output=True, check=False)

    # -- the API ---------------------------------------------------------------------

    def api(self, method: str, path: str, body: Any = None) -> Any:
        answer = self.session.request(method, f"{self.api_url}/api/v1{path}", json=body,
                                      timeout=30)
        if answer.status_code >= 400:
            raise SystemExit(f"{method} {path}: {answer.status_code} {answer.text}")
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


def walk_through(demo: Demo) -> None:
    """The demo's story, through the public API."""
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
    print("RabbitMQ console: http://127.0.0.1:15672 (guest/guest); queues "
          f"{QUEUE_PREFIX}.endpoint.mirror.*")
    print(f"Try: crossdock --help, or CROSSDOCK_ADMIN_TOKEN={ADMIN_TOKEN} "
          f"CROSSDOCK_API_URL={demo.api_url} crossdock jobs list")


def main() -> None:
    demo = Demo(int(os.environ.get("DEMO_SOURCE_PORT", "5001")),
                int(os.environ.get("DEMO_ENDPOINT_PORT", "5002")),
                int(os.environ.get("DEMO_API_PORT", "8080")))
    try:
        step("starting RabbitMQ (if needed), two registries, the receiver and a consumer")
        demo.start()
        print(f"logs and data in {demo.workdir}")
        walk_through(demo)
        if os.environ.get("DEMO_EXIT") or not sys.stdin.isatty():
            return
        print("\nEverything keeps running. Ctrl-C stops what the demo started.")
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except KeyboardInterrupt:
        pass
    finally:
        step("stopping what the demo started")
        demo.stop()


def _port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_for(url: str, what: str, ok: tuple[int, ...] = (200,), seconds: float = 90.0) -> None:
    """Poll `url` until it answers one of `ok`. A busy machine may take a while to
    start a process, and a first answer may be slow: neither is a failure."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5).status_code in ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{what} did not come up at {url} within {seconds:.0f} s")


if __name__ == "__main__":
    main()
