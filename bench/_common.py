"""Shared pieces of the benchmarks: registries, the workload, timing child processes."""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pika  # noqa: E402

from shared.amqp_urls import split_amqp_urls  # noqa: E402
from shared.broker import endpoint_topology  # noqa: E402
from shared.settings import Settings  # noqa: E402
from tests.support.registry_server import RegistryServer  # noqa: E402

CROSSDOCK = str(Path(sys.executable).with_name("crossdock"))
# A copy that fails at once (nothing listens there) loads every module a copy uses.
CROSSDOCK_WARM_UP = [CROSSDOCK, "sync", "http://127.0.0.1:9/lib", "http://127.0.0.1:9/lib"]
MiB = 1024 * 1024


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_rss_mib: float
    cpu_seconds: float = 0.0  # the command's own user + system time


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds a live process has used so far (0 when gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_measured(argv: list[str], env: dict[str, str] | None = None) -> Run:
    """Run a command to completion; its wall time and peak RSS.

    The peak is the kernel's high-water mark (VmHWM) of the command itself, read
    until it exits: `wait4`'s ru_maxrss would count the forked copy of this
    benchmark process from before the exec.
    """
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_before = children.ru_utime + children.ru_stime
    with tempfile.TemporaryFile() as errors:  # a pipe could fill up and stall the command
        started = time.monotonic()
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errors, env=env)
        peak_kib = 0
        status_path = Path(f"/proc/{process.pid}/status")
        while process.poll() is None:
            try:
                for line in status_path.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak_kib = max(peak_kib, int(line.split()[1]))
            except (FileNotFoundError, ProcessLookupError, ValueError):
                pass
            time.sleep(0.005)
        seconds = time.monotonic() - started
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")
    if process.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({process.returncode}): {stderr[-2000:]}")
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Run(seconds, peak_kib / 1024, children.ru_utime + children.ru_stime - cpu_before)


@contextmanager
def cached_bytecode(*warm_up: list[str]) -> Iterator[dict[str, str]]:
    """An environment for measured Python commands in which Python caches bytecode,
    as an installed package has it, warmed up by running `warm_up` (whatever their
    exit status); removed after.

    With PYTHONDONTWRITEBYTECODE in the caller's environment, crossdock (installed
    editable here) would compile its own modules again at every start.
    """
    with tempfile.TemporaryDirectory(prefix="crossdock-bench-pyc-") as cache:
        env = {name: value for name, value in os.environ.items()
               if name != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache
        for argv in warm_up:
            subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           check=False)
        yield env


@contextmanager
def registry_pool() -> Iterator[Callable[[str], RegistryServer]]:
    """A factory of plain registries in a temporary directory, all stopped at the end."""
    workdir = Path(tempfile.mkdtemp(prefix="crossdock-bench-"))
    started: list[RegistryServer] = []

    def start(name: str) -> RegistryServer:
        server = RegistryServer(workdir / f"{name}-{len(started)}", log_level="error")
        server.start()
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def stop_and_remove(server: RegistryServer) -> None:
    """Stop a registry and free its disk (each destination is used once)."""
    server.stop()
    shutil.rmtree(server.workdir, ignore_errors=True)


def delete_endpoint_queues(settings: Settings, endpoint: str) -> None:
    """Remove the queues a benchmark declared for `endpoint`."""
    # Any node of the list will do: queues are cluster-wide.
    first = split_amqp_urls(settings.amqp_url)[0]
    connection = pika.BlockingConnection(pika.URLParameters(first))
    channel = connection.channel()
    for spec in endpoint_topology(settings, endpoint):
        channel.queue_delete(spec.name)
    connection.close()
