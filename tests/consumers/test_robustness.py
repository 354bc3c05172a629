"""Crashes, duplicates, reordering, concurrency, and what an operator sees."""

from __future__ import annotations

import random
import signal
import threading
from itertools import pairwise

import requests

from shared.store import JobRecord, JobStatus
from tests.clients import client_for
from tests.consumers.conftest import Pipeline, wait_until
from tests.support.fault_proxy import FaultProxy
from tests.support.images import delete_manifest, list_state, push_image
from tests.support.registry_server import RegistryServer, free_port

MiB = 1024 * 1024


def test_kill_9_mid_copy_redelivers_and_never_exposes_a_partial_image(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    image = push_image(registry.url, "lib/big", "v1", layers=(160 * MiB, 1000))
    endpoint = pipeline.endpoint(registry2)
    rule = pipeline.rule(pipeline.source(registry), endpoint)
    # Small chunks make the copy slow enough to be caught in the middle.
    pipeline.settings = pipeline.settings.replace(chunk_size=1 * MiB, blob_workers=1)
    victim = pipeline.spawn_consumer(endpoint.name)
    [job] = pipeline.jobs(rule, {"repository": "lib/big", "action": "replicate", "tag": "v1"})
    partial_seen: list[str] = []
    stop_watching = threading.Event()

    def watch_destination() -> None:
        client = client_for(registry2)
        while not stop_watching.is_set():
            head = client.head_manifest("lib/big", "v1")
            if head is not None:
                missing = [d for d, size in image.blobs if client.blob_size("lib/big", d) != size]
                if missing:
                    partial_seen.append(f"tag visible with blobs missing: {missing}")
                return

    watcher = threading.Thread(target=watch_destination, daemon=True)
    watcher.start()
    wait_until(lambda: "copying" in pipeline.log_text(job), timeout=30, what="the copy to start")
    wait_until(lambda: "uploaded (monolithic" in pipeline.log_text(job), timeout=30,
               what="a first blob")
    victim.send_signal(signal.SIGKILL)
    victim.wait(10)
    assert pipeline.store.get_job(job.id).status == JobStatus.RUNNING
    assert client_for(registry2).head_manifest("lib/big", "v1") is None

    pipeline.start_consumer(endpoint.name)
    [job] = pipeline.wait_finished([job], timeout=120)
    stop_watching.set()
    watcher.join(10)

    assert job.status == JobStatus.SUCCEEDED, pipeline.log_text(job)
    assert job.attempts == 2
    assert "redelivered" in pipeline.log_text(job)
    assert partial_seen == []
    assert list_state(registry2.url, "lib/big") == {"v1": image.digest}
    dst = client_for(registry2)
    assert all(dst.blob_size("lib/big", d) == size for d, size in image.blobs)


def test_duplicate_and_reordered_jobs_converge_to_the_source(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    first = push_image(registry.url, "lib/app", "v1")
    second = push_image(registry.url, "lib/app", "v1")  # v1 moves on
    gone = push_image(registry.url, "lib/app", "v2")
    kept = push_image(registry.url, "lib/app", "v3")
    delete_manifest(registry.url, "lib/app", gone.digest)
    history = [
        {"repository": "lib/app", "action": "replicate", "tag": "v1"},
        {"repository": "lib/app", "action": "replicate", "tag": "v1"},
        {"repository": "lib/app", "action": "replicate", "tag": "v2"},
        {"repository": "lib/app", "action": "replicate", "tag": "v3"},
        {"repository": "lib/app", "action": "replicate", "digest": first.digest},
        {"repository": "lib/app", "action": "delete", "digest": gone.digest},
        {"repository": "lib/app", "action": "delete", "tag": "v2"},
    ]
    events = history * 2
    random.Random(7).shuffle(events)
    rule = pipeline.rule(pipeline.source(registry), pipeline.endpoint(registry2))
    pipeline.start_consumer()

    jobs = pipeline.wait_finished(pipeline.jobs(rule, *events), timeout=60)

    assert all(job.status != JobStatus.FAILED for job in jobs)
    assert list_state(registry2.url, "lib/app") == {"v1": second.digest, "v3": kept.digest}


def _busy_interval(pipeline: Pipeline, job: JobRecord) -> tuple[float, float]:
    """From the attempt's start (lease held) to the job's last log line."""
    lines = pipeline.store.job_log(job.id)
    started = next(line for line in lines if line.message.startswith("attempt 1 started"))
    return started.at.timestamp(), lines[-1].at.timestamp()


def test_two_consumers_never_work_on_one_repository_at_once(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    for i in range(8):
        push_image(registry.url, "lib/app", f"v{i}", layers=(2 * MiB,))
    endpoint = pipeline.endpoint(registry2)
    rule = pipeline.rule(pipeline.source(registry), endpoint)
    pipeline.spawn_consumer(endpoint.name)
    pipeline.spawn_consumer(endpoint.name)

    jobs = pipeline.wait_finished(pipeline.jobs(rule, *[
        {"repository": "lib/app", "action": "replicate", "tag": f"v{i}"} for i in range(8)
    ]), timeout=60)

    assert all(job.status == JobStatus.SUCCEEDED for job in jobs)
    intervals = sorted(_busy_interval(pipeline, job) for job in jobs)
    for (_start, end), (next_start, _end) in pairwise(intervals):
        assert next_start >= end, "two jobs overlapped on lib/app"
    logs = [pipeline.log_text(job) for job in jobs]
    # The check above proves something only if both consumers worked and met.
    workers = {line.split(" started on ")[1].split(" ")[0]
               for log in logs for line in log.splitlines() if " started on " in line}
    assert len(workers) == 2
    assert any("waiting: run-" in log for log in logs)


def test_an_executions_jobs_on_one_repository_copy_together_and_an_event_waits_for_them(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    images = {f"v{i}": push_image(registry.url, "lib/app", f"v{i}").digest for i in range(4)}
    with FaultProxy(registry2.url) as front:
        endpoint = pipeline.store.create_endpoint(name="ep-front", kind="registry",
                                                  url=front.url)
        rule = pipeline.rule(pipeline.source(registry), endpoint)
        execution = pipeline.store.create_execution(rule.id, "initial")
        front.hold_manifest_puts()
        pipeline.start_consumer(endpoint.name, consumer_concurrency=6)  # a thread to spare

        # When the execution's jobs for lib/app run: two of them reach their manifest
        # PUT at once, under one lease
        pipeline.jobs(rule, {"repository": "lib", "action": "sync"}, execution_id=execution.id)
        front.wait_for(lambda: front.held >= 2, what="two manifest PUTs on lib/app at once")
        # and an event's job for one of their tags waits for them
        [event] = pipeline.jobs(rule, {"repository": "lib/app", "action": "replicate",
                                       "tag": "v0"})
        wait_until(lambda: "waiting: run-" in pipeline.log_text(event), what="the event's wait")
        front.heal()
        jobs = [job for job in pipeline.store.list_jobs(execution_id=execution.id)
                if job.tag is not None]
        done = pipeline.wait_finished([*jobs, event])

    assert all(job.status is JobStatus.SUCCEEDED for job in done[:-1])
    assert done[-1].status in (JobStatus.SUCCEEDED, JobStatus.SKIPPED)
    assert list_state(registry2.url, "lib/app") == images
    # The event's run started after every run of the execution ended
    event_start = _busy_interval(pipeline, done[-1])[0]
    assert all(_busy_interval(pipeline, job)[1] <= event_start for job in done[:-1])


def test_metrics_count_jobs_and_bytes(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    push_image(registry.url, "lib/app", "v1", layers=(50_000,))
    endpoint = pipeline.endpoint(registry2)
    rule = pipeline.rule(pipeline.source(registry), endpoint)
    port = free_port()
    pipeline.start_consumer(consumer_metrics_port=port)

    pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib/app", "action": "replicate", "tag": "v1"},
        {"repository": "lib/app", "action": "replicate", "tag": "gone"}))

    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert 'crossdock_consumer_jobs_total{action="replicate",outcome="succeeded"} 1.0' in text
    assert 'crossdock_consumer_jobs_total{action="replicate",outcome="skipped"} 1.0' in text
    bytes_line = next(line for line in text.splitlines()
                      if line.startswith("crossdock_consumer_bytes_copied_total{"))
    assert float(bytes_line.split()[-1]) >= 50_000


def test_endpoint_added_while_running_is_consumed(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    image = push_image(registry.url, "lib/app", "v1")
    service = pipeline.start_consumer()
    endpoint = pipeline.endpoint(registry2)  # after the consumer started
    wait_until(lambda: endpoint.name in service.worker.endpoints, what="the new endpoint")
    rule = pipeline.rule(pipeline.source(registry), endpoint)

    pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib/app", "action": "replicate", "tag": "v1"}))

    assert list_state(registry2.url, "lib/app") == {"v1": image.digest}


def test_consumer_process_stops_cleanly_on_sigterm(
    pipeline: Pipeline, registry2: RegistryServer
) -> None:
    endpoint = pipeline.endpoint(registry2)
    process = pipeline.spawn_consumer()
    log_path = pipeline.tmp_path / "consumer-0.log"
    wait_until(lambda: b'"consuming"' in log_path.read_bytes(), timeout=30, what="consuming")

    process.send_signal(signal.SIGTERM)

    assert process.wait(30) == 0
    text = log_path.read_text()
    assert endpoint.name in text
    assert "consumer stopped" in text


