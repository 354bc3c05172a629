"""Push-to-replicated latency for a small image, through the whole pipeline.

A real Distribution registry notifies a real `crossdock receiver`; a real
`crossdock consumer` copies into a second registry. Each round pushes one
small image (two layers of a few KiB) to the source and measures the time from
the end of the manifest PUT until the endpoint answers HEAD for the tag.

    .venv/bin/python bench/replication_latency.py [--images 50]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import requests
from _common import CROSSDOCK, delete_endpoint_queues, registry_pool

from shared.settings import load_settings
from shared.store import generate_secret_key, open_store
from tests.support.images import MANIFEST_ACCEPT, push_image
from tests.support.registry_server import free_port

SECRET = "bench-secret"
NO_PEER = ("push-to-replicated latency has no peer alternative (skopeo and the bare copier "
           "don't listen for events): targets p50 <= 100 ms, p99 <= 500 ms (issue #12)")


def wait_ready(url: str) -> None:
    for _ in range(200):
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{url} did not come up")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=50)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="crossdock-latency-"))
    port = free_port()
    receiver_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "CROSSDOCK_DATABASE_URL": f"sqlite:///{workdir / 'crossdock.db'}",
        "CROSSDOCK_SECRET_KEY": generate_secret_key(),
        "CROSSDOCK_ADMIN_TOKEN": "bench",
        "CROSSDOCK_QUEUE_PREFIX": f"crossdock-bench-{uuid.uuid4().hex[:6]}",
        "CROSSDOCK_LOG_LEVEL": "warning",
        "CROSSDOCK_CONSUMER_METRICS_PORT": "0",
    }
    settings = load_settings(environ=env)
    processes: list[subprocess.Popen[bytes]] = []
    stalled = False
    with registry_pool() as start_registry:
        source_server = start_registry("source")
        source_server.stop()
        source_server.notifications = [{
            "url": f"{receiver_url}/webhooks/bench",
            "headers": {"Authorization": [f"Bearer {SECRET}"]},
            "timeout": "2s", "threshold": 5, "backoff": "100ms",
            "ignoredmediatypes": ["application/octet-stream"],
            "ignore": {"actions": ["pull"]},
        }]
        source_server.start()
        endpoint_server = start_registry("endpoint")
        store = open_store(settings)
        source = store.create_source(name="bench", kind="distribution", url=source_server.url,
                                     webhook_secret=SECRET)
        endpoint = store.create_endpoint(name="bench-ep", kind="registry",
                                         url=endpoint_server.url)
        store.create_rule(name="bench", source_id=source.id, endpoint_id=endpoint.id,
                          project="bench")
        try:
            for argv in ([CROSSDOCK, "receiver", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
                         [CROSSDOCK, "consumer"]):
                log = (workdir / f"{argv[1]}.log").open("wb")
                processes.append(subprocess.Popen(argv, env=env, stdout=log, stderr=log))
            wait_ready(f"{receiver_url}/healthz")
            session = requests.Session()
            latencies = []
            for i in range(args.images + 3):
                tag = f"v{i}"
                push_image(source_server.url, "bench/app", tag, layers=(4096, 2048))
                pushed = time.monotonic()
                manifest_url = f"{endpoint_server.url}/v2/bench/app/manifests/{tag}"
                accept = {"Accept": MANIFEST_ACCEPT}
                while session.head(manifest_url, headers=accept, timeout=5).status_code != 200:
                    if time.monotonic() - pushed > 30:
                        stalled = True  # its logs and store are kept
                        raise SystemExit(f"{tag} not replicated after 30 s; see {workdir}")
                    time.sleep(0.002)
                if i >= 3:  # the first few warm up connections and queues
                    latencies.append(time.monotonic() - pushed)
            latencies.sort()
            p50 = statistics.median(latencies) * 1000
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
            print(f"{len(latencies)} images: push-to-replicated p50 {p50:.0f} ms, "
                  f"p99 {p99:.0f} ms, max {latencies[-1] * 1000:.0f} ms")
            print(NO_PEER)
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(30)
            delete_endpoint_queues(settings, "bench-ep")
            store.close()
            if not stalled:
                shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
