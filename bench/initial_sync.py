"""Initial sync through the pipeline, against `crossdock sync`, `skopeo sync` and the
bare copier, on the same workload in the same run (issue #12).

Workload, in project `shapea` or `shapeb` of a local registry: images of one random
4 KiB layer on a shared 1 MiB base layer (plus a config each).

- shape A: N repositories with one tag each (``shapea/app-0000:v1`` ...);
- shape B: one repository with N tags (``shapeb/app:t0000`` ...).

Each round copies the project into a fresh, empty registry once per tool, the
order turning from round to round, and checks afterwards that the destination
equals the source (not timed):

- ``pipeline``: a real `crossdock receiver` and `crossdock consumer` processes
  (RabbitMQ under a queue prefix of this run, SQLite store unless
  ``--database-url``); a new endpoint and a disabled rule, then the clock runs
  from ``POST /api/v1/rules/<rule>/enable`` until the execution has finished;
- ``cli``: ``crossdock sync SRC/PROJECT DST/PROJECT`` (process wall time);
- ``skopeo``: ``skopeo sync --all --preserve-digests`` from a YAML list of the
  repositories;
- ``bare``: `bench/bare_copier.py` at each of ``--bare-threads``, timed without
  its interpreter start; the best is the round's ceiling.

    .venv/bin/python bench/initial_sync.py --shape A --images 300 --rounds 3
    .venv/bin/python bench/initial_sync.py --shape B --consumers 3
    .venv/bin/python bench/initial_sync.py --shape A --images 3000 --rounds 1

``--variant CROSSDOCK_CONSUMER_CONCURRENCY=8`` also runs the pipeline with other
consumer settings in the same rounds, to compare defaults; ``--env NAME=VALUE``
passes a setting to the receiver and every consumer. ``--py-spy DIR`` records every
consumer with py-spy (raw collapsed stacks, idle threads included unless
``--py-spy-cpu``) for `bench/profile_top.py`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pika
import requests
from _common import (
    CROSSDOCK,
    MiB,
    cpu_seconds,
    delete_endpoint_queues,
    registry_pool,
    run_measured,
)

from shared.queues import work_queue
from shared.settings import Settings, load_settings
from shared.store import ExecutionStatus, Store, generate_secret_key, open_store
from tests.support.images import MANIFEST_ACCEPT, push_image
from tests.support.registry_server import RegistryServer, free_port

ADMIN_TOKEN = "bench-admin"
BARE_COPIER = str(Path(__file__).with_name("bare_copier.py"))
FINISHED = (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.PARTIAL)
POLL_SECONDS = 0.1  # how often the pipeline's execution is looked at
Image = tuple[str, str]  # (repository, tag)


@dataclass(frozen=True)
class Workload:
    shape: str
    project: str
    images: list[Image]
    digests: dict[Image, str]


@dataclass
class Figures:
    """Images per second of each tool, round by round."""

    rates: dict[str, list[float | None]] = field(default_factory=dict)  # None: it failed

    def add(self, tool: str, rate: float | None) -> None:
        self.rates.setdefault(tool, []).append(rate)

    def measured(self, tool: str) -> list[float]:
        return [rate for rate in self.rates[tool] if rate is not None]


def children_cpu() -> float:
    """CPU seconds of this process's children reaped so far (a finished command's)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- the workload ----------------------------------------------------------------------


def push_workload(source: RegistryServer, shape: str, count: int) -> Workload:
    """Push the shape's images (8 at a time); their digests as the source has them."""
    project = f"shape{shape.lower()}"
    if shape == "A":
        images = [(f"{project}/app-{i:04d}", "v1") for i in range(count)]
    else:
        images = [(f"{project}/app", f"t{i:04d}") for i in range(count)]

    def push(image: Image) -> tuple[Image, str]:
        pushed = push_image(source.url, image[0], image[1], base_layers=(MiB,), layers=(4096,))
        return image, pushed.digest

    with ThreadPoolExecutor(8) as pool:
        digests = dict(pool.map(push, images))
    return Workload(shape, project, images, digests)


def state_of(url: str, images: Sequence[Image]) -> dict[Image, str | None]:
    """What `url` holds under each image's tag (None: nothing)."""
    def head(image: Image) -> tuple[Image, str | None]:
        response = requests.head(f"{url}/v2/{image[0]}/manifests/{image[1]}",
                                 headers={"Accept": MANIFEST_ACCEPT}, timeout=30)
        return image, response.headers.get("Docker-Content-Digest") if response.ok else None

    with ThreadPoolExecutor(8) as pool:
        return dict(pool.map(head, images))


def check_equal(workload: Workload, destination: RegistryServer, tool: str) -> None:
    state = state_of(destination.url, workload.images)
    wrong = [image for image in workload.images if state[image] != workload.digests[image]]
    if wrong:
        raise SystemExit(f"{tool}: the endpoint differs from the source for {len(wrong)} "
                         f"images, e.g. {wrong[:3]}")


# -- the pipeline --------------------------------------------------------------------------


class Pipeline:
    """A receiver and a store for the whole run; consumers started per round."""

    def __init__(self, workdir: Path, env: dict[str, str], settings: Settings,
                 source: RegistryServer, consumers: int, py_spy: Path | None,
                 py_spy_cpu: bool = False) -> None:
        self.workdir = workdir
        self.env = env
        self.settings = settings
        self.consumers = consumers
        self.py_spy = py_spy
        self.py_spy_cpu = py_spy_cpu
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.store: Store = open_store(settings)
        self.run_id = uuid.uuid4().hex[:6]  # names unique in a store used before
        self.source_id = self.store.create_source(name=f"bench-{self.run_id}",
                                                  kind="distribution", url=source.url).id
        self.receiver = self._spawn([CROSSDOCK, "receiver", "--bind", f"127.0.0.1:{self.port}",
                                     "--workers", "1"], "receiver")
        self.endpoints: list[str] = []
        self.rounds = itertools.count(1)
        self._running: list[subprocess.Popen[bytes]] = []
        self.consumer_cpu = 0.0
        _wait_ready(f"{self.url}/healthz")

    def _spawn(self, argv: list[str], name: str, extra: dict[str, str] | None = None
               ) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.log").open("ab")
        return subprocess.Popen(argv, env={**self.env, **(extra or {})}, stdout=log,
                                stderr=log)

    def run(self, workload: Workload, destination: RegistryServer,
            variant: dict[str, str] | None = None) -> float:
        """One initial sync into `destination` (consumers with the `variant`'s settings);
        its seconds. `consumer_cpu` is what the consumers used meanwhile."""
        number = next(self.rounds)
        endpoint_name = f"bench-{self.run_id}-ep-{number}"
        rule_name = f"bench-{self.run_id}-rule-{number}"
        endpoint = self.store.create_endpoint(name=endpoint_name, kind="registry",
                                              url=destination.url)
        self.endpoints.append(endpoint_name)
        self.store.create_rule(name=rule_name, source_id=self.source_id,
                               endpoint_id=endpoint.id, project=workload.project,
                               enabled=False)
        with self._consumers(endpoint_name, f"{workload.shape}-{number}", variant):
            started = time.monotonic()
            response = requests.post(f"{self.url}/api/v1/rules/{rule_name}/enable", json={},
                                     headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                                     timeout=30)
            if response.status_code != 200:
                raise SystemExit(f"enable answered {response.status_code}: {response.text}")
            execution_id = int(response.json()["execution_id"])
            cpu_before = sum(cpu_seconds(process.pid) for process in self._running)
            while True:
                execution = self.store.get_execution(execution_id)
                if execution.status in FINISHED:
                    break
                if time.monotonic() - started > 1800:
                    raise SystemExit(f"execution {execution_id} unfinished; see {self.workdir}")
                # Every 0.1 s: a read costs about 1 ms of CPU on this CPU-bound machine, so
                # polling every 20 ms took 4-5 % of a core from the run it measured, for
                # at most 0.1 s more on a run of 20 s and more.
                time.sleep(POLL_SECONDS)
            seconds = time.monotonic() - started
            self.consumer_cpu = sum(cpu_seconds(p.pid) for p in self._running) - cpu_before
        if execution.succeeded != len(workload.images):
            raise SystemExit(f"execution {execution_id}: {execution}; see {self.workdir}")
        return seconds

    @contextmanager
    def _consumers(self, endpoint: str, run: str, variant: dict[str, str] | None
                   ) -> Iterator[None]:
        processes = []
        spies = []
        try:
            for index in range(self.consumers):
                process = self._spawn([CROSSDOCK, "consumer", "--endpoint", endpoint,
                                       "--metrics-port", "0"], f"consumer-{run}-{index}",
                                      variant)
                processes.append(process)
                if self.py_spy is not None:
                    output = self.py_spy / f"consumer-{run}-{index}.txt"
                    idle = [] if self.py_spy_cpu else ["--idle"]
                    spies.append(subprocess.Popen(
                        [_py_spy(), "record", "--pid", str(process.pid), "--format", "raw",
                         *idle, "--rate", "200", "--output", str(output)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            self._wait_consuming(endpoint, len(processes))
            self._running = processes
            yield
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
            for process in processes:
                process.wait(60)
            for spy in spies:
                spy.wait(60)

    def _wait_consuming(self, endpoint: str, count: int) -> None:
        queue = work_queue(self.settings.queue_prefix, endpoint)
        deadline = time.monotonic() + 60
        connection = pika.BlockingConnection(pika.URLParameters(self.settings.amqp_url))
        try:
            while time.monotonic() < deadline:
                channel = connection.channel()
                try:
                    if channel.queue_declare(queue, passive=True).method.consumer_count >= count:
                        return
                except pika.exceptions.ChannelClosedByBroker:
                    pass  # not declared yet
                else:
                    channel.close()
                time.sleep(0.05)
        finally:
            connection.close()
        raise SystemExit(f"consumers did not start on {queue}; see {self.workdir}")

    def close(self) -> None:
        self.receiver.send_signal(signal.SIGTERM)
        self.receiver.wait(30)
        for endpoint in self.endpoints:
            delete_endpoint_queues(self.settings, endpoint)
        self.store.close()


def _py_spy() -> str:
    found = shutil.which("py-spy") or shutil.which("py-spy", path="/tmp/perf-tools/bin")
    if found is None:
        raise SystemExit("--py-spy needs py-spy on the PATH (pip install py-spy)")
    return found


def _wait_ready(url: str) -> None:
    for _ in range(400):
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{url} did not come up")


# -- the other tools -------------------------------------------------------------------------


def cli_sync(workload: Workload, source: RegistryServer, destination: RegistryServer) -> float:
    return run_measured([CROSSDOCK, "sync", f"{source.url}/{workload.project}",
                         f"{destination.url}/{workload.project}"]).seconds


def skopeo_sync(workload: Workload, source: RegistryServer, destination: RegistryServer,
                yaml_path: Path) -> float:
    repositories = sorted({repository for repository, _tag in workload.images})
    lines = [f"{source.host}:", "  tls-verify: false", "  images:"]
    lines += [f"    {repository}: []" for repository in repositories]
    yaml_path.write_text("\n".join(lines) + "\n")
    # --preserve-digests: without it skopeo 1.9 re-encodes these manifests (another
    # digest), which is not a copy.
    return run_measured(["skopeo", "sync", "--all", "--preserve-digests", "--src", "yaml",
                         "--dest", "docker", "--dest-tls-verify=false", str(yaml_path),
                         # skopeo keeps the last path segment: the project goes in front.
                         f"{destination.host}/{workload.project}"]).seconds


def bare_copy(workload: Workload, source: RegistryServer, destination: RegistryServer,
              threads: int, images_file: Path) -> float | None:
    """Seconds the bare copier took; None when it failed.

    Having no checks, it can fail: its threads may put one blob into a repository
    at once (shape B's base), and a manifest PUT meanwhile answers 400, the race
    crossdock's blob claims keep it out of. Its other thread counts still give the
    round a ceiling.
    """
    images_file.write_text("".join(f"{repo}:{tag}\n" for repo, tag in workload.images))
    result = subprocess.run([sys.executable, BARE_COPIER, source.url, destination.url,
                             str(images_file), "--threads", str(threads)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        error = (result.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"bare copier, {threads} threads, failed (not counted): {error}", flush=True)
        return None
    return float(json.loads(result.stdout.splitlines()[-1])["seconds"])


# -- the run -----------------------------------------------------------------------------------


def run_shape(args: argparse.Namespace, shape: str, start: Callable[[str], RegistryServer],
              workdir: Path, env: dict[str, str], settings: Settings) -> Figures:
    source = start(f"source-{shape}")
    print(f"shape {shape}: pushing {args.images} images to {source.url} ...", flush=True)
    workload = push_workload(source, shape, args.images)
    repositories = len({repository for repository, _tag in workload.images})
    print(f"shape {shape}: {len(workload.images)} images in {repositories} repositories "
          f"(a 4 KiB layer on a shared 1 MiB base)", flush=True)
    tools = [tool for tool in ("pipeline", "cli", "skopeo", "bare") if tool in args.tools]
    pipeline = None
    if "pipeline" in tools:
        pipeline = Pipeline(workdir, env, settings, source, args.consumers, args.py_spy,
                            args.py_spy_cpu)
    figures = Figures()
    try:
        for round_no in range(args.rounds):
            order = tools[round_no % len(tools):] + tools[:round_no % len(tools)]
            for tool in order:
                runs: list[tuple[int, dict[str, str] | None]] = [(0, None)]
                if tool == "bare":
                    runs = [(threads, None) for threads in args.bare_threads]
                elif tool == "pipeline":
                    runs += [(0, variant) for variant in args.variants]
                for threads, variant in runs:
                    destination = start(tool)
                    registry_cpu = cpu_seconds(source.pid) + cpu_seconds(destination.pid)
                    children_before = children_cpu()
                    if tool == "pipeline":
                        assert pipeline is not None
                        seconds = pipeline.run(workload, destination, variant)
                        name = f"pipeline ({args.consumers} consumer"
                        name += "s)" if args.consumers > 1 else ")"
                        if variant:
                            name += " " + ",".join(f"{key.removeprefix('CROSSDOCK_').lower()}"
                                                   f"={value}" for key, value in variant.items())
                    elif tool == "cli":
                        seconds, name = cli_sync(workload, source, destination), "crossdock sync"
                    elif tool == "skopeo":
                        seconds = skopeo_sync(workload, source, destination,
                                              workdir / "skopeo.yml")
                        name = "skopeo sync"
                    else:
                        bare_seconds = bare_copy(workload, source, destination, threads,
                                                 workdir / "images.txt")
                        name = f"bare copier, {threads} threads"
                        if bare_seconds is None:
                            figures.add(name, None)
                            destination.stop()
                            shutil.rmtree(destination.workdir, ignore_errors=True)
                            continue
                        seconds = bare_seconds
                    registry_cpu = (cpu_seconds(source.pid) + cpu_seconds(destination.pid)
                                    - registry_cpu)
                    check_equal(workload, destination, name)
                    rate = len(workload.images) / seconds
                    figures.add(name, rate)
                    cpu = f"registries {registry_cpu:5.1f} CPU-s"
                    if tool == "pipeline":
                        assert pipeline is not None
                        cpu += f", consumers {pipeline.consumer_cpu:5.1f} CPU-s"
                    else:  # the command's own process, reaped by now
                        cpu += f", tool {children_cpu() - children_before:5.1f} CPU-s"
                    print(f"shape {shape} round {round_no + 1} {name:30s} {seconds:7.2f} s "
                          f"{rate:6.1f} images/s  ({cpu})", flush=True)
                    destination.stop()
                    shutil.rmtree(destination.workdir, ignore_errors=True)
            _round_summary(figures, shape, round_no)
    finally:
        if pipeline is not None:
            pipeline.close()
        source.stop()
        shutil.rmtree(source.workdir, ignore_errors=True)
    return figures


def _ceiling(figures: Figures, index: int) -> float | None:
    bare = [rate for name, rates in figures.rates.items()
            if name.startswith("bare") and len(rates) > index
            and (rate := rates[index]) is not None]
    return max(bare) if bare else None


def _round_summary(figures: Figures, shape: str, index: int) -> None:
    ceiling = _ceiling(figures, index)
    pipeline = next((rates[index] for name, rates in figures.rates.items()
                     if name.startswith("pipeline") and len(rates) > index), None)
    cli_rates = figures.rates.get("crossdock sync", [])
    cli = cli_rates[index] if len(cli_rates) > index else None
    parts = []
    if ceiling is not None:
        parts.append(f"ceiling {ceiling:.1f} images/s")
        if pipeline is not None:
            parts.append(f"pipeline at {pipeline / ceiling:.0%} of it")
    if pipeline is not None and cli is not None:
        parts.append(f"pipeline / crossdock sync {pipeline / cli:.2f}x")
    if parts:
        print(f"shape {shape} round {index + 1}: " + ", ".join(parts), flush=True)


def summarize(shape: str, figures: Figures) -> None:
    print(f"shape {shape}, images/s over {max(map(len, figures.rates.values()))} round(s):")
    for name in figures.rates:
        rates = figures.measured(name)
        failed = len(figures.rates[name]) - len(rates)
        note = f" ({failed} failed)" if failed else ""
        if rates:
            print(f"  {name:28s} median {statistics.median(rates):6.1f}, "
                  f"range {min(rates):.1f}-{max(rates):.1f}{note}")
        else:
            print(f"  {name:28s} failed in every round")
    rounds = max(map(len, figures.rates.values()))
    ceilings = [c for c in (_ceiling(figures, i) for i in range(rounds)) if c is not None]
    if ceilings:
        print(f"  {'ceiling (best bare copier)':28s} median {statistics.median(ceilings):6.1f}, "
              f"range {min(ceilings):.1f}-{max(ceilings):.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=("A", "B", "both"), default="both")
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--consumers", type=int, default=1)
    parser.add_argument("--tools", default="pipeline,cli,skopeo,bare",
                        help="comma-separated: pipeline, cli, skopeo, bare")
    parser.add_argument("--bare-threads", default="2,4,6",
                        help="thread counts of the bare copier (the best is the ceiling)")
    parser.add_argument("--database-url", default="",
                        help="the pipeline's store (default: SQLite in a temporary directory)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="a setting for the receiver and consumers (repeatable)")
    parser.add_argument("--variant", action="append", default=[],
                        metavar="NAME=VALUE[,NAME=VALUE]",
                        help="also run the pipeline with consumers given these settings, "
                             "in the same rounds (repeatable)")
    parser.add_argument("--py-spy", type=Path, default=None, metavar="DIR",
                        help="record each consumer with py-spy into DIR")
    parser.add_argument("--py-spy-cpu", action="store_true",
                        help="with --py-spy: CPU samples only (without --idle)")
    parser.add_argument("--keep", action="store_true", help="keep the logs' directory")
    args = parser.parse_args()
    args.tools = {tool.strip() for tool in args.tools.split(",") if tool.strip()}
    args.bare_threads = [int(n) for n in args.bare_threads.split(",") if n.strip()]
    args.variants = [dict(item.split("=", 1) for item in variant.split(","))
                     for variant in args.variant]
    if args.py_spy is not None:
        args.py_spy.mkdir(parents=True, exist_ok=True)

    workdir = Path(tempfile.mkdtemp(prefix="crossdock-initial-sync-"))
    env = {
        **os.environ,
        "CROSSDOCK_DATABASE_URL": args.database_url or f"sqlite:///{workdir / 'crossdock.db'}",
        "CROSSDOCK_SECRET_KEY": generate_secret_key(),
        "CROSSDOCK_ADMIN_TOKEN": ADMIN_TOKEN,
        "CROSSDOCK_QUEUE_PREFIX": f"crossdock-bench-{uuid.uuid4().hex[:6]}",
        "CROSSDOCK_LOG_LEVEL": "warning",
        "CROSSDOCK_CONSUMER_METRICS_PORT": "0",
    }
    for item in args.env:
        name, _, value = item.partition("=")
        env[name] = value
    settings = load_settings(environ=env)
    shapes = ["A", "B"] if args.shape == "both" else [args.shape]
    results = {}
    try:
        with registry_pool() as start:
            for shape in shapes:
                results[shape] = run_shape(args, shape, start, workdir, env, settings)
    finally:
        if args.keep:
            print(f"logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    for shape, figures in results.items():
        summarize(shape, figures)


if __name__ == "__main__":
    main()
