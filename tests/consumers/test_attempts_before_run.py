"""Attempts that fail before the job runs (the source unreachable while the job checks
it, a stored secret that cannot be read) count and show on the job like any other:
its record and its log agree, and no job stays pending with its error in a consumer's
log only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from shared.store import JobStatus, SecretBox, generate_secret_key
from shared.store.schema import endpoints
from tests.consumers.conftest import Pipeline, wait_until
from tests.support.images import list_state, push_image
from tests.support.registry_server import RegistryServer


def test_attempts_that_failed_before_the_job_ran_are_on_its_record(
    pipeline: Pipeline, registry_factory: Any, registry2: RegistryServer
) -> None:
    # Given a push event whose source is unreachable when the consumer checks it,
    source_server = registry_factory()
    image = push_image(source_server.url, "lib/app", "v1")
    source_server.stop()
    rule = pipeline.rule(pipeline.source(source_server), pipeline.endpoint(registry2))
    pipeline.start_consumer(max_attempts=4)
    [job] = pipeline.jobs(rule, {"repository": "lib/app", "action": "replicate", "tag": "v1",
                                 "digest": image.digest})

    # when two attempts fail before the job runs, and the third finds the source back,
    wait_until(lambda: "attempt 2 failed" in pipeline.log_text(job), what="two failed attempts")
    retrying = pipeline.store.get_job(job.id)
    source_server.start()
    [job] = pipeline.wait_finished([job])

    # then the job counted every attempt, as its log shows them.
    log = pipeline.log_text(job)
    assert (retrying.status, retrying.attempts) == (JobStatus.RETRYING, 2)
    assert "before the job ran" in (retrying.error or "")
    assert job.status == JobStatus.SUCCEEDED, log
    assert job.attempts == 3, log
    assert "attempt 1 failed, retrying in 1s: before the job ran:" in log
    assert "attempt 2 failed, retrying in 2s: before the job ran:" in log
    assert "attempt 3 started" in log
    assert "could not be recorded" not in log
    assert list_state(registry2.url, "lib/app") == {"v1": image.digest}


def test_a_secret_the_consumer_cannot_read_fails_the_job_where_users_see_it(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    # Given an endpoint whose stored password no configured key opens (damaged, or
    # sealed with a key that was dropped),
    push_image(registry.url, "lib/app", "v1")
    endpoint = pipeline.endpoint(registry2, username="robot", password="pw")
    rule = pipeline.rule(pipeline.source(registry), endpoint)
    foreign = SecretBox(generate_secret_key()).encrypt("pw")
    with pipeline.store._engine.begin() as conn:
        conn.execute(update(endpoints).where(endpoints.c.id == endpoint.id)
                     .values(password_enc=foreign))
    pipeline.start_consumer()

    # when its job runs,
    [job] = pipeline.wait_finished(
        pipeline.jobs(rule, {"repository": "lib/app", "action": "replicate", "tag": "v1"}))

    # then it fails at once, with the reason on the job and in its log.
    assert job.status == JobStatus.FAILED
    assert job.attempts == 1
    assert (job.error or "").startswith("before the job ran: cannot decrypt a stored secret")
    assert "failed: before the job ran: cannot decrypt a stored secret" in pipeline.log_text(job)
    assert list_state(registry2.url, "lib/app") == {}
