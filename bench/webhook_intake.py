"""Webhook intake: single-event POSTs per second, each recorded and published with
a confirm before the receiver answers 202.

Starts `crossdock receiver` (gunicorn, threaded workers) against a fresh SQLite
store (or CROSSDOCK_DATABASE_URL) and the local RabbitMQ, with one source, one
endpoint and one rule, then drives it with `wrk` for a fixed time and checks
that every 202 left a job in the store and a message in the queue. Names carry a
per-run suffix, so a run against a PostgreSQL database used before works too.

There is no peer alternative to compare with; `--compare-with TREE` compares
with another checkout of crossdock instead (say the previous main, in a scratch
`git worktree`): each checkout's own copy of this script runs in turn, the
order alternating, `--runs` times each, and the medians are compared.

    .venv/bin/python bench/webhook_intake.py [--seconds 10] [--connections 16] [--workers 2]
    .venv/bin/python bench/webhook_intake.py --compare-with /tmp/main-old [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests
from _common import CROSSDOCK, ROOT, delete_endpoint_queues

from shared.broker import queue_depths
from shared.settings import Settings, load_settings
from shared.store import generate_secret_key, open_store
from tests.support.registry_server import free_port

SECRET = "bench-secret"
EVENT = {
    "events": [{
        "id": "00000000-0000-0000-0000-000000000000",
        "timestamp": "2026-11-26T20:44:44.609828118Z",
        "action": "push",
        "target": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "size": 559,
            "digest": "sha256:fbce13586c6129ad8d79f551f801a3b7d137f577d61a30d1928f0718c2e53af8",
            "length": 559,
            "repository": "bench/app",
            "tag": "v1",
        },
        "request": {"method": "PUT", "useragent": "bench"},
        "actor": {},
        "source": {"addr": "bench:5000"},
    }]
}


def wrk_script(path: Path) -> None:
    body = json.dumps(EVENT).replace("\\", "\\\\").replace('"', '\\"')
    path.write_text(
        'wrk.method = "POST"\n'
        f'wrk.body = "{body}"\n'
        'wrk.headers["Content-Type"] = "application/vnd.docker.distribution.events.v1+json"\n'
        f'wrk.headers["Authorization"] = "Bearer {SECRET}"\n'
    )


READY_WITHIN = 60.0  # seconds; a busy machine starts gunicorn's workers slowly


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    """Wait until the receiver answers `url`; stop with a message if it never does."""
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the receiver did not answer {url} within {READY_WITHIN:.0f} s "
                     f"(exit status {process.poll()})")


NO_PEER = "webhook intake has no peer alternative: compared with crossdock itself only"
RATE_LINE = re.compile(r"at (\d+) events/s")
TOLERANCE = 0.10


def compare(trees: list[tuple[str, Path]], runs: int, options: list[str]) -> None:
    """Run each checkout's own intake benchmark in turn, alternating; compare medians."""
    rates: dict[str, list[float]] = {label: [] for label, _tree in trees}
    for run_no in range(runs):
        for label, tree in trees if run_no % 2 == 0 else trees[::-1]:
            done = subprocess.run(
                [sys.executable, str(tree / "bench" / "webhook_intake.py"), *options],
                cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
                capture_output=True, text=True, check=False)
            rate = rate_of(done.stdout)
            if done.returncode != 0 or rate is None:
                raise SystemExit(f"{label} ({tree}) failed: {done.stderr[-2000:]}")
            rates[label].append(rate)
            print(f"run {run_no + 1} {label:8s} {rates[label][-1]:6.0f} events/s  "
                  f"{_latencies(done.stdout)}", flush=True)
    (this, _), (other, _) = trees
    for label, values in rates.items():
        print(f"{label:8s} median {statistics.median(values):.0f} events/s "
              f"(runs: {', '.join(f'{v:.0f}' for v in values)})")
    change, within = judge(rates[this], rates[other])
    verdict = "within" if within else "OUTSIDE"
    print(f"{this} vs {other}: {change:+.1%}, {verdict} the {TOLERANCE:.0%} slowdown allowed")
    print(NO_PEER)


def rate_of(output: str) -> float | None:
    """The events per second an intake run printed."""
    found = RATE_LINE.search(output)
    return float(found.group(1)) if found else None


def judge(this: list[float], other: list[float]) -> tuple[float, bool]:
    """The change of this checkout's median rate against the other's, and whether
    it is no slower than `TOLERANCE` allows."""
    change = statistics.median(this) / statistics.median(other) - 1
    return change, change >= -TOLERANCE


def _latencies(wrk_output: str) -> str:
    """wrk's p50 and p99 latency, when it printed its distribution."""
    found = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", wrk_output, re.M))
    return f"p50 {found['50']}, p99 {found['99']}" if len(found) == 2 else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--compare-with", metavar="TREE", type=Path,
                        help="another crossdock checkout to compare with, run for run")
    parser.add_argument("--runs", type=int, default=3, help="runs of each, with --compare-with")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")
    if args.compare_with is not None:
        options = ["--seconds", str(args.seconds), "--connections", str(args.connections),
                   "--workers", str(args.workers), "--threads", str(args.threads)]
        compare([("this", ROOT), ("other", args.compare_with.resolve())], args.runs, options)
        return

    workdir = Path(tempfile.mkdtemp(prefix="crossdock-intake-"))
    port = free_port()
    run_id = uuid.uuid4().hex[:6]
    name, endpoint_name = f"bench-{run_id}", f"bench-ep-{run_id}"
    env = {
        **os.environ,
        "CROSSDOCK_DATABASE_URL": os.environ.get("CROSSDOCK_DATABASE_URL",
                                                 f"sqlite:///{workdir / 'crossdock.db'}"),
        "CROSSDOCK_SECRET_KEY": generate_secret_key(),
        "CROSSDOCK_ADMIN_TOKEN": "bench",
        "CROSSDOCK_QUEUE_PREFIX": f"crossdock-bench-{run_id}",
        "CROSSDOCK_RECEIVER_THREADS": str(args.threads),
        "CROSSDOCK_LOG_LEVEL": "warning",
    }
    settings: Settings = load_settings(environ=env)
    store = open_store(settings)
    source = store.create_source(name=name, kind="distribution", url="http://bench:5000",
                                 webhook_secret=SECRET)
    endpoint = store.create_endpoint(name=endpoint_name, kind="registry",
                                     url="http://mirror:5000")
    rule = store.create_rule(name=name, source_id=source.id, endpoint_id=endpoint.id,
                             project="bench")
    receiver = subprocess.Popen(
        [CROSSDOCK, "receiver", "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=(workdir / "receiver.log").open("wb"))
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(f"{url}/healthz", receiver)
        script = workdir / "post.lua"
        wrk_script(script)
        # Warm up (connections, queue declaration), then measure.
        subprocess.run(["wrk", "-t2", f"-c{args.connections}", "-d2s", "-s", str(script),
                        f"{url}/webhooks/{name}"], capture_output=True, check=True)
        jobs_before = len(store.list_jobs(rule_id=rule.id, limit=10_000_000))
        run = subprocess.run(["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s",
                              "--latency", "-s", str(script), f"{url}/webhooks/{name}"],
                             capture_output=True, text=True, check=True)
        print(run.stdout)
        completed = int(re.search(r"(\d+) requests in", run.stdout).group(1))  # type: ignore[union-attr]
        non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", run.stdout)
        failed = int(non_2xx.group(1)) if non_2xx else 0
        rate = float(re.search(r"Requests/sec:\s+([\d.]+)", run.stdout).group(1))  # type: ignore[union-attr]
        time.sleep(1)
        jobs = len(store.list_jobs(rule_id=rule.id, limit=10_000_000)) - jobs_before
        depth = queue_depths(settings, endpoint_name)
        print(f"accepted {completed - failed} of {completed} events ({failed} non-2xx) "
              f"at {rate:.0f} events/s with {args.workers} workers x {args.threads} threads")
        print(f"jobs recorded during the run: {jobs}; messages waiting: {depth}")
        print(NO_PEER)
    finally:
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(30)
        delete_endpoint_queues(settings, endpoint_name)
        store.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
