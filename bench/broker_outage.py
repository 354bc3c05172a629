"""How soon a consumer comes back after its only RabbitMQ node was down.

A private node (never the machine's shared broker), one `Worker` consuming an
endpoint, and rounds of: a job through, then the node killed (kill -9) or frozen
(SIGSTOP) for `--outage` seconds, then back. Per round it prints the time from the
node being up again to the consumer's next delivery of a job published then. The
consumer retries within 1 s at first, then at most every 5 s (full jitter), so the
figure should stay under about 5 s plus a connection.

    .venv/bin/python bench/broker_outage.py --rounds 3 --outage 18
"""

from __future__ import annotations

import argparse
import queue
import shutil
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import _common  # noqa: F401  (puts the project root on sys.path)

from shared.broker import Ack, BrokerError, Publisher, Worker
from shared.messages import JobAction, JobMessage, decode
from shared.settings import Settings
from tests.support.rabbit_node import RabbitNode


def job(endpoint: str, job_id: int) -> JobMessage:
    from datetime import UTC, datetime

    return JobMessage(job_id=job_id, action=JobAction.REPLICATE, rule_id=1, endpoint_id=1,
                      endpoint=endpoint, source_id=1, repository="team/app", tag="v1",
                      created_at=datetime.now(UTC))


def publish_until_taken(settings: Settings, message: JobMessage, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        publisher = Publisher(settings, name="outage-bench")
        try:
            publisher.publish_jobs([message], deadline=time.monotonic() + 5)
            return
        except BrokerError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
        finally:
            publisher.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--outage", type=float, default=18.0)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="crossdock-outage-bench-"))
    node = RabbitNode(base).start().wait()
    endpoint = f"outage-{uuid.uuid4().hex[:6]}"
    settings = Settings(amqp_url=node.url("heartbeat=2"),
                        queue_prefix=f"crossdock-outage-{uuid.uuid4().hex[:6]}",
                        consumer_concurrency=1)
    deliveries: queue.Queue[Any] = queue.Queue()

    def handler(delivery: Any) -> Ack:
        deliveries.put((time.monotonic(), decode(delivery.body).job_id))
        return Ack()

    def delivered(job_id: int) -> float:
        """When job `job_id` reached the handler (earlier jobs' redeliveries skipped)."""
        while True:
            at, got = deliveries.get(timeout=120)
            if got == job_id:
                return float(at)

    worker = Worker(settings, handler, [endpoint])
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    figures: list[float] = []
    try:
        publish_until_taken(settings, job(endpoint, 1))
        delivered(1)
        for number in range(args.rounds):
            fault = "killed" if number % 2 == 0 else "frozen"
            if fault == "killed":
                node.stop()
                time.sleep(args.outage)
                node.start().wait()
            else:
                node.freeze()
                time.sleep(args.outage)
                node.resume()
            back = time.monotonic()
            publish_until_taken(settings, job(endpoint, number + 2))
            took = delivered(number + 2) - back
            figures.append(took)
            print(f"round {number + 1}: node {fault} for {args.outage:.0f} s; consumer took a "
                  f"job published then {took:.1f} s after the node was back (booted, or "
                  f"resumed); consumer alive: {thread.is_alive()}")
    finally:
        worker.stop()
        thread.join(30)
        node.stop()
        shutil.rmtree(base, ignore_errors=True)
    if figures:
        print(f"slowest come-back: {max(figures):.1f} s over {len(figures)} rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
