"""Initial sync, retries across an endpoint outage, and permanent failures."""

from __future__ import annotations

import time
from typing import Any

import pika
import pytest

from consumers import handlers
from shared.broker import REASON_HEADER, redrive_failed, retry_parked
from shared.queues import failed_queue, work_queue
from shared.registry import RegistryClient
from shared.store import ExecutionStatus, JobAction, JobStatus
from tests.consumers.conftest import Pipeline, wait_until
from tests.support.images import delete_manifest, list_state, push_image, push_index
from tests.support.registry_server import RegistryServer
from tests.support.settings import AMQP_URL


def queue_messages(name: str) -> list[tuple[dict[str, Any], bytes]]:
    """Every message in a queue (taken off it), with its headers."""
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    channel = connection.channel()
    found = []
    while True:
        method, properties, body = channel.basic_get(name, auto_ack=True)
        if method is None:
            break
        found.append((dict(properties.headers or {}), body))
    connection.close()
    return found


def test_initial_sync_replicates_the_project_under_one_execution(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    expected = {
        "lib/app": {"v1": push_image(registry.url, "lib/app", "v1").digest,
                    "v2": push_image(registry.url, "lib/app", "v2").digest},
        "lib/team/web": {"1.0": push_image(registry.url, "lib/team/web", "1.0").digest},
        "lib/multi": {"latest": push_index(registry.url, "lib/multi", "latest").digest},
    }
    push_image(registry.url, "lib/app", "v3-rc")  # excluded by the tag filter
    push_image(registry.url, "lib/scratch/tmp", "v1")  # excluded by the repository filter
    push_image(registry.url, "other/app", "v1")  # another project
    rule = pipeline.rule(pipeline.source(registry), pipeline.endpoint(registry2),
                         repo_filters=[{"pattern": "lib/scratch/**", "decision": "excludes"}],
                         tag_filters=[{"pattern": "*-rc", "decision": "excludes"}])
    execution = pipeline.store.create_execution(rule.id, "initial")
    pipeline.start_consumer()

    [sync] = pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib", "action": "sync"}, execution_id=execution.id))
    images = pipeline.store.list_jobs(execution_id=execution.id, limit=100)
    pipeline.wait_finished([job for job in images if job.action != JobAction.SYNC])

    assert sync.status == JobStatus.SUCCEEDED
    assert "queued 4 images from 3 repositories" in pipeline.log_text(sync)
    done = pipeline.store.get_execution(execution.id)
    assert (done.status, done.total, done.succeeded, done.failed) == (
        ExecutionStatus.SUCCEEDED, 4, 4, 0)
    for repository, tags in expected.items():
        assert list_state(registry2.url, repository) == tags
    assert list_state(registry2.url, "lib/scratch/tmp") == {}
    assert list_state(registry2.url, "other/app") == {}


def test_endpoint_down_then_up_retries_on_the_tiers_and_succeeds(
    pipeline: Pipeline, registry: RegistryServer, registry_factory: Any
) -> None:
    image = push_image(registry.url, "lib/app", "v1")
    endpoint_server = registry_factory()
    endpoint_server.stop()
    rule = pipeline.rule(pipeline.source(registry), pipeline.endpoint(endpoint_server))
    pipeline.start_consumer(max_attempts=4)

    [job] = pipeline.jobs(rule, {"repository": "lib/app", "action": "replicate", "tag": "v1"})
    wait_until(lambda: "attempt 2 failed" in pipeline.log_text(job), what="two failed attempts")
    assert pipeline.store.get_job(job.id).status == JobStatus.RETRYING
    endpoint_server.start()
    [job] = pipeline.wait_finished([job])

    assert job.status == JobStatus.SUCCEEDED, pipeline.log_text(job)
    assert job.attempts == 3
    log = pipeline.log_text(job)
    assert "attempt 1 failed, retrying in 1s" in log
    assert "attempt 2 failed, retrying in 2s" in log
    assert "connection refused" in log
    assert list_state(endpoint_server.url, "lib/app") == {"v1": image.digest}


def test_exhausted_retries_fail_the_job_and_park_the_message(
    pipeline: Pipeline, registry: RegistryServer, registry_factory: Any
) -> None:
    push_image(registry.url, "lib/app", "v1")
    endpoint_server = registry_factory()
    endpoint_server.stop()
    endpoint = pipeline.endpoint(endpoint_server)
    rule = pipeline.rule(pipeline.source(registry), endpoint)
    pipeline.start_consumer()

    [job] = pipeline.wait_finished(
        pipeline.jobs(rule, {"repository": "lib/app", "action": "replicate", "tag": "v1"}))

    assert job.status == JobStatus.FAILED
    assert job.error and job.error.startswith("failed after 3 attempts")
    queue = failed_queue(pipeline.settings.queue_prefix, endpoint.name)
    captured: list[tuple[dict[str, Any], bytes]] = []
    wait_until(lambda: bool(captured.extend(queue_messages(queue)) or captured),
               what="the parked message")
    assert captured[0][0][REASON_HEADER] == "exhausted"


def test_deletion_disabled_fails_at_once(
    pipeline: Pipeline, registry: RegistryServer, nodelete_registry: RegistryServer
) -> None:
    image = push_image(registry.url, "lib/app", "v1")
    endpoint = pipeline.endpoint(nodelete_registry)
    rule = pipeline.rule(pipeline.source(registry), endpoint)
    pipeline.start_consumer()
    pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib/app", "action": "replicate", "tag": "v1"}))
    delete_manifest(registry.url, "lib/app", image.digest)

    [job] = pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib/app", "action": "delete", "digest": image.digest}))

    assert job.status == JobStatus.FAILED
    assert job.attempts == 1
    assert "deletion is disabled" in (job.error or "")
    queue = failed_queue(pipeline.settings.queue_prefix, endpoint.name)
    captured: list[tuple[dict[str, Any], bytes]] = []
    wait_until(lambda: bool(captured.extend(queue_messages(queue)) or captured),
               what="the parked message")
    assert captured[0][0][REASON_HEADER] == "failed"


def test_wrong_endpoint_password_fails_at_once(
    pipeline: Pipeline, registry: RegistryServer, htpasswd_registry: RegistryServer
) -> None:
    push_image(registry.url, "lib/app", "v1")
    endpoint = pipeline.endpoint(htpasswd_registry, password="wrong")
    rule = pipeline.rule(pipeline.source(registry), endpoint)
    pipeline.start_consumer()

    [job] = pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib/app", "action": "replicate", "tag": "v1"}))

    assert job.status == JobStatus.FAILED
    assert job.attempts == 1
    assert "401" in (job.error or "")
    assert "wrong" not in pipeline.log_text(job)  # the password never shows


def test_a_retried_or_redriven_job_goes_on_counting_its_attempts(
    pipeline: Pipeline, registry: RegistryServer, htpasswd_registry: RegistryServer
) -> None:
    push_image(registry.url, "lib/app", "v1")
    endpoint = pipeline.endpoint(htpasswd_registry, password="wrong")
    rule = pipeline.rule(pipeline.source(registry), endpoint)
    pipeline.start_consumer()
    failed = failed_queue(pipeline.settings.queue_prefix, endpoint.name)
    [job] = pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib/app", "action": "replicate", "tag": "v1"}))
    wait_until(lambda: depth(failed) == 1, what="the parked message")

    # When an operator retries it (what POST /jobs/<id>/retry does), and then, after
    # it failed again, redrives the endpoint
    pipeline.store.reset_for_retry(job.id)
    assert retry_parked(pipeline.settings, endpoint.name, str(job.id)) == 1
    wait_until(lambda: pipeline.store.get_job(job.id).status == JobStatus.FAILED
               and depth(failed) == 1, what="the retried job to fail again")
    assert redrive_failed(pipeline.settings, endpoint.name,
                          lambda _m: pipeline.store.reset_for_retry(job.id)) == 1
    wait_until(lambda: pipeline.store.get_job(job.id).status == JobStatus.FAILED
               and depth(failed) == 1, what="the redriven job to fail again")

    # Then each run logs its own attempt number, never one twice
    started = [line.message.split(" on ")[0] for line in pipeline.store.job_log(job.id)
               if line.message.startswith("attempt ")]
    assert started == ["attempt 1 started", "attempt 2 started", "attempt 3 started"], (
        pipeline.log_text(job))


def depth(queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        return int(connection.channel().queue_declare(queue, passive=True).method.message_count)
    finally:
        connection.close()


def test_undecodable_message_is_parked(pipeline: Pipeline, registry2: RegistryServer) -> None:
    endpoint = pipeline.endpoint(registry2)
    service = pipeline.start_consumer()
    wait_until(lambda: endpoint.name in service.worker.endpoints, what="consuming")
    work = work_queue(pipeline.settings.queue_prefix, endpoint.name)
    pipeline.publisher.ensure_endpoint(endpoint.name)
    pipeline.publisher.publish(work, b"not json at all")

    queue = failed_queue(pipeline.settings.queue_prefix, endpoint.name)
    captured: list[tuple[dict[str, Any], bytes]] = []
    wait_until(lambda: bool(captured.extend(queue_messages(queue)) or captured),
               what="the parked message")

    assert captured[0][1] == b"not json at all"
    assert service.metrics.undecodable._value.get() == 1  # type: ignore[attr-defined]


def test_a_project_sync_starts_copying_before_it_has_listed_every_repository(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a project whose last repository's tags take until the first image of
    # the project is at the endpoint to list (held here, on purpose)
    monkeypatch.setattr(handlers, "DISPATCH_BATCH", 2)
    digests = {f"lib/app-{n}": push_image(registry.url, f"lib/app-{n}", "v1").digest
               for n in range(6)}
    rule = pipeline.rule(pipeline.source(registry), pipeline.endpoint(registry2))
    listed = RegistryClient.tags
    seen_first: list[bool] = []

    def tags(client: RegistryClient, repository: str) -> list[str]:
        if repository == "lib/app-5" and client.host == registry.host:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not list_state(registry2.url, "lib/app-0"):
                time.sleep(0.05)
            seen_first.append(bool(list_state(registry2.url, "lib/app-0")))
        return listed(client, repository)

    monkeypatch.setattr(RegistryClient, "tags", tags)
    execution = pipeline.store.create_execution(rule.id, "initial")

    # When its initial sync runs
    pipeline.start_consumer()
    [sync] = pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib", "action": "sync"}, execution_id=execution.id))
    images = [job for job in pipeline.store.list_jobs(execution_id=execution.id, limit=100)
              if job.action != JobAction.SYNC]
    pipeline.wait_finished(images)

    # Then the first images were copied while it was still listing, and all of them were
    assert seen_first == [True]
    assert "queued 6 images from 6 repositories" in pipeline.log_text(sync)
    for repository, digest in digests.items():
        assert list_state(registry2.url, repository) == {"v1": digest}
