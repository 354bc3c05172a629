"""Messages for jobs that are gone or already finished are acked and dropped, never parked."""

from __future__ import annotations

from dataclasses import replace

from shared.dispatch import job_message
from shared.queues import failed_queue, work_queue
from shared.store import JobAction, JobStatus, NewJob
from tests.consumers.conftest import Pipeline
from tests.consumers.test_sync_and_failures import queue_messages
from tests.support.images import list_state, push_image
from tests.support.registry_server import RegistryServer


def test_stale_messages_are_acked_and_dropped_never_parked(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    image = push_image(registry.url, "lib/app", "v1")
    endpoint = pipeline.endpoint(registry2)
    rule = pipeline.rule(pipeline.source(registry), endpoint)
    # Given a job whose publish was never confirmed (so it was failed), one that
    # succeeded, and a message for a job that no longer exists
    unconfirmed, done = pipeline.store.create_jobs([
        NewJob(rule_id=rule.id, endpoint_id=endpoint.id, source_id=rule.source_id,
               repository="lib/app", action=JobAction.REPLICATE, tag=tag)
        for tag in ("old", "older")
    ])
    pipeline.store.mark_publish_failed([unconfirmed.id], "could not queue the job")
    pipeline.store.mark_finished(done.id, JobStatus.SUCCEEDED)
    gone = replace(job_message(done, endpoint.name), job_id=done.id + 1000)
    # whose messages arrive after all, ahead of a live job
    pipeline.publisher.publish_jobs([job_message(unconfirmed, endpoint.name),
                                     job_message(done, endpoint.name), gone])
    [live] = pipeline.jobs(rule, {"repository": "lib/app", "action": "replicate", "tag": "v1"})

    # When one consumer takes them one at a time (the stale ones are settled first)
    pipeline.start_consumer(endpoint.name, consumer_concurrency=1)
    [live] = pipeline.wait_finished([live])

    # Then they were dropped: nothing parked, no queue holds them, no job changed
    assert live.status == JobStatus.SUCCEEDED
    assert list_state(registry2.url, "lib/app") == {"v1": image.digest}
    prefix = pipeline.settings.queue_prefix
    assert queue_messages(failed_queue(prefix, endpoint.name)) == []
    assert queue_messages(work_queue(prefix, endpoint.name)) == []
    unconfirmed_now = pipeline.store.get_job(unconfirmed.id)
    assert (unconfirmed_now.status, unconfirmed_now.attempts, unconfirmed_now.error) == (
        JobStatus.FAILED, 0, "could not queue the job")
    assert pipeline.store.get_job(done.id).status == JobStatus.SUCCEEDED
