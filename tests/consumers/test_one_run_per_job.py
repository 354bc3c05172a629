"""One run per job (DESIGN invariant 4): a consumer whose broker connection is cut
mid-copy stops before its next write, and the message's redelivery runs alone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from itertools import pairwise

import pika
import pytest

from shared.queues import work_queue
from shared.store import JobRecord, JobStatus
from tests.clients import client_for
from tests.consumers.conftest import Pipeline, wait_until
from tests.support.fault_proxy import FaultProxy
from tests.support.images import list_state, push_image, push_index
from tests.support.registry_server import RegistryServer
from tests.support.settings import AMQP_URL
from tests.support.tcp_proxy import TcpProxy


@pytest.fixture
def amqp_proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy(("127.0.0.1", 5672)).start()
    yield proxy
    proxy.cut()


def consumer_count(queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        return int(connection.channel().queue_declare(queue, passive=True).method.consumer_count)
    finally:
        connection.close()


def runs(pipeline: Pipeline, job: JobRecord) -> dict[str, tuple[datetime, datetime]]:
    """Each run of `job` by its lease holder: from its start to its stop line, or to
    the job's last line for the run that finished it."""
    lines = pipeline.store.job_log(job.id)
    found: dict[str, tuple[datetime, datetime]] = {}
    for line in lines:
        if " started on " in line.message and " as run-" in line.message:
            holder = line.message.split(" as ")[1].split(" ")[0]
            found[holder] = (line.at, lines[-1].at)
        elif " stopped before its next write" in line.message:
            holder = line.message.split(" ")[0]
            found[holder] = (found[holder][0], line.at)
    return found


# pika drops the connection the proxy cuts mid-stream; its socket may be reclaimed
# by the garbage collector rather than closed, which is not what this test is about.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_run_cut_off_from_the_broker_stops_and_its_redelivery_runs_alone(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer,
    amqp_proxy: TcpProxy,
) -> None:
    index = push_index(registry.url, "lib/app", "multi")
    other = push_image(registry.url, "lib/app", "v2")
    with FaultProxy(registry2.url) as front:
        endpoint = pipeline.store.create_endpoint(name=f"ep-{uuid.uuid4().hex[:6]}",
                                                  kind="registry", url=front.url)
        rule = pipeline.rule(pipeline.source(registry), endpoint)
        work = work_queue(pipeline.settings.queue_prefix, endpoint.name)
        # Given consumer A, reaching RabbitMQ through a proxy, in the middle of copying
        # an index: its first child manifest PUT is held at the endpoint
        front.hold_manifest_puts()
        [first] = pipeline.jobs(rule, {"repository": "lib/app", "action": "replicate",
                                       "tag": "multi"})
        pipeline.start_consumer(
            endpoint.name, consumer_concurrency=1,
            amqp_url=f"amqp://guest:guest@127.0.0.1:{amqp_proxy.port}/%2F?heartbeat=5"
                     "&connection_attempts=1&socket_timeout=2")
        front.wait_for(lambda: front.held == 1, what="A's first manifest PUT")
        # and consumer B, which takes a second job on the same repository meanwhile
        pipeline.start_consumer(endpoint.name)
        [second] = pipeline.jobs(rule, {"repository": "lib/app", "action": "replicate",
                                        "tag": "v2"})
        wait_until(lambda: "waiting: " in pipeline.log_text(second), what="job 2 waiting")

        # When A's connection is cut: the broker redelivers the first job to B, whose
        # new run waits for A's run; A reconnects, while its run still copies
        amqp_proxy.cut()
        wait_until(lambda: "waiting: " in pipeline.log_text(first)
                   or "(redelivered" in pipeline.log_text(first), what="the redelivered run")
        amqp_proxy.start()
        wait_until(lambda: consumer_count(work) == 2, what="A consuming again")
        front.heal()  # A's PUT in flight completes
        first, second = pipeline.wait_finished([first, second], timeout=30)

    # Then A's run stopped at its next checkpoint, and the redelivered run finished the job
    log = pipeline.log_text(first)
    assert first.status == JobStatus.SUCCEEDED, log
    assert second.status == JobStatus.SUCCEEDED, pipeline.log_text(second)
    first_runs = runs(pipeline, first)
    assert len(first_runs) == 2, log
    run_a = next(holder for holder in first_runs if f"waiting: {holder} holds" in log)
    assert (f"{run_a} stopped before its next write: the broker connection that delivered "
            "its message closed") in log
    # and no two runs on lib/app ever overlapped, the stopped one included
    intervals = sorted([*first_runs.values(), *runs(pipeline, second).values()])
    assert len(intervals) == 3
    for (_start, end), (next_start, _end) in pairwise(intervals):
        assert next_start >= end, f"two runs overlapped on lib/app:\n{log}"
    # and the endpoint holds both images, every child of the index included
    assert list_state(registry2.url, "lib/app") == {"multi": index.digest, "v2": other.digest}
    dst = client_for(registry2)
    assert all(dst.head_manifest("lib/app", child.digest) is not None
               for child in index.children)
