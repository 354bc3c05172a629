"""What one job costs: registry requests, store transactions and statements, broker
round trips, counted through a real initial sync (issue #12).

A consumer runs in this process with counters on the registry transport, on its
store's engine and on its broker calls; the execution is started as the receiver's
enable does (`shared.dispatch.start_execution`, through a store and publisher of
its own, not counted). Prints each count over the images of the workload (the sync
job's own work included, spread over them).

    .venv/bin/python bench/job_costs.py --shape A --images 100
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _common import delete_endpoint_queues, registry_pool
from initial_sync import FINISHED, check_equal, push_workload
from sqlalchemy import event

import shared.broker.publisher as publisher_module
import shared.broker.worker as worker_module
from consumers.service import ConsumerService
from shared.broker import Publisher
from shared.dispatch import start_execution
from shared.registry.transport import Transport
from shared.settings import Settings
from shared.store import Store, generate_secret_key, open_store
from tests.support.settings import AMQP_URL

_KIND = re.compile(r"^/v2/.+?/(manifests|blobs/uploads|blobs|tags|referrers)/")


class Counters:
    """Thread-safe tallies by name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: collections.Counter[str] = collections.Counter()

    def add(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1


@contextmanager
def counting(store: Store, counters: Counters, hosts: dict[str, str]) -> Iterator[None]:
    """Count registry requests (by registry, method and kind), the store's transactions
    and statements, and the broker's confirms, acks and deliveries."""
    original_request = Transport.request

    def request(self: Transport, method: str, path: str, **kwargs: Any) -> Any:
        match = _KIND.match(urlsplit(path).path)
        kind = match.group(1) if match else path
        counters.add(f"registry {hosts.get(self.config.host, '?')} {method} {kind}")
        return original_request(self, method, path, **kwargs)

    engine = store._engine

    def on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get("crossdock_write", False)
        counters.add("store transaction " + ("write" if write else "read"))

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counters.add("store statement " + statement.split(None, 1)[0].upper())

    def wrap(module: Any, name: str, label: str) -> Callable[[], None]:
        original = getattr(module, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            counters.add(label)
            return original(*args, **kwargs)

        setattr(module, name, counted)
        return lambda: setattr(module, name, original)

    original_settle = worker_module.Worker._settle
    original_on_message = worker_module.Worker._on_message

    def settle(self: Any, tag: int, outcome: Any) -> None:
        counters.add(f"broker settle {type(outcome).__name__}")
        original_settle(self, tag, outcome)

    def on_message(self: Any, *args: Any) -> None:
        counters.add("broker delivery")
        original_on_message(self, *args)

    Transport.request = request
    worker_module.Worker._settle = settle
    worker_module.Worker._on_message = on_message
    undo = [wrap(worker_module, "publish_confirmed", "broker publish+confirm (worker)"),
            wrap(publisher_module, "publish_confirmed", "broker publish+confirm (publisher)")]
    event.listen(engine, "begin", on_begin)
    event.listen(engine, "before_cursor_execute", on_statement)
    try:
        yield
    finally:
        event.remove(engine, "begin", on_begin)
        event.remove(engine, "before_cursor_execute", on_statement)
        for step in undo:
            step()
        Transport.request = original_request
        worker_module.Worker._settle = original_settle
        worker_module.Worker._on_message = original_on_message


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=("A", "B"), default="A")
    parser.add_argument("--images", type=int, default=100)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="crossdock-job-costs-"))
    settings = Settings(
        amqp_url=AMQP_URL, queue_prefix=f"crossdock-bench-{uuid.uuid4().hex[:6]}",
        database_url=f"sqlite:///{workdir / 'crossdock.db'}", secret_key=generate_secret_key(),
        consumer_metrics_port=0, log_level="warning",
    )
    counters = Counters()
    try:
        with registry_pool() as start:
            source = start("source")
            workload = push_workload(source, args.shape, args.images)
            destination = start("destination")
            hosts = {source.host: "source", destination.host: "endpoint"}
            starter = open_store(settings)
            record = starter.create_source(name="bench", kind="distribution", url=source.url)
            endpoint = starter.create_endpoint(name="bench-ep", kind="registry",
                                               url=destination.url)
            rule = starter.create_rule(name="bench", source_id=record.id,
                                       endpoint_id=endpoint.id, project=workload.project)
            consumer_store = open_store(settings)
            service = ConsumerService(settings, consumer_store, ["bench-ep"])
            publisher = Publisher(settings)
            try:
                with counting(consumer_store, counters, hosts):
                    thread = threading.Thread(target=service.run,
                                              kwargs={"handle_signals": False})
                    thread.start()
                    started = time.monotonic()
                    execution, _job = start_execution(starter, publisher.publish_jobs, rule,
                                                      "initial")
                    while starter.get_execution(execution.id).status not in FINISHED:
                        time.sleep(0.02)
                    seconds = time.monotonic() - started
                    service.stop()
                    thread.join(60)
            finally:
                publisher.close()
                delete_endpoint_queues(settings, "bench-ep")
                consumer_store.close()
                starter.close()
            check_equal(workload, destination, "pipeline")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    images = len(workload.images)
    print(f"shape {args.shape}, {images} images in {seconds:.2f} s; per image "
          "(the sync job's work spread over them):")
    for name, count in sorted(counters.counts.items()):
        print(f"  {name:55s} {count / images:7.2f}")
    groups: collections.Counter[str] = collections.Counter()
    for name, count in counters.counts.items():
        groups[" ".join(name.split()[:2]) if name.startswith("store") else name.split()[0]] += count
    print("totals per image: " + ", ".join(f"{name} {count / images:.2f}"
                                           for name, count in sorted(groups.items())))


if __name__ == "__main__":
    main()
