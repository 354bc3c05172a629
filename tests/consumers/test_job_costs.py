"""What a job costs the store and the registries, counted (issue #12: per-job
overhead, not the network, limited how fast a large project went through)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from consumers import joblog
from shared.store import JobAction, JobStatus, NewJob, Store
from tests.consumers.conftest import Pipeline
from tests.support.fault_proxy import FaultProxy
from tests.support.images import cosign_tag, list_state, push_image, push_referrer
from tests.support.registry_log import served
from tests.support.registry_server import RegistryServer


class StoreWrites:
    """Counts the write transactions a store begins."""

    def __init__(self, store: Store) -> None:
        self.count = 0
        self._engine = store._engine
        event.listen(self._engine, "begin", self._on_begin)

    def _on_begin(self, conn: Any) -> None:
        if conn.get_execution_options().get("crossdock_write"):
            self.count += 1

    def close(self) -> None:
        event.remove(self._engine, "begin", self._on_begin)


@pytest.fixture
def store_writes(pipeline: Pipeline) -> Iterator[StoreWrites]:
    counter = StoreWrites(pipeline.store)
    yield counter
    counter.close()


def test_a_copy_writes_to_the_store_as_often_whatever_its_blobs_and_log_lines(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer,
    store_writes: StoreWrites, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(joblog, "FLUSH_SECONDS", 3600.0)  # only the job's own writes count
    push_image(registry.url, "lib/small", "v1", layers=(512,))
    push_image(registry.url, "lib/large", "v1", layers=(512,) * 8)
    endpoint = pipeline.endpoint(registry2)
    rule = pipeline.rule(pipeline.source(registry), endpoint)
    pipeline.start_consumer(endpoint.name, consumer_concurrency=1)

    writes = {}
    lines = {}
    for repository in ("lib/small", "lib/large"):
        recorded = pipeline.store.create_jobs([NewJob(
            rule_id=rule.id, endpoint_id=endpoint.id, source_id=rule.source_id,
            repository=repository, action="replicate", tag="v1")])
        before = store_writes.count
        pipeline.publish(recorded)
        [job] = pipeline.wait_finished(recorded)
        assert job.status is JobStatus.SUCCEEDED, pipeline.log_text(job)
        writes[repository] = store_writes.count - before
        lines[repository] = len(pipeline.store.job_log(job.id))

    # Each blob says a line, and no line costs a write: the lease, the start, the
    # rule's inventory, the outcome (with every line) and the release.
    assert lines["lib/large"] >= lines["lib/small"] + 7
    # (a lease renewal may fall within one job's time on a slow machine: one write)
    assert writes["lib/small"] <= 5
    assert writes["lib/large"] <= writes["lib/small"] + 1


def test_an_executions_jobs_read_each_manifest_once_and_look_for_no_listed_tag(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer,
) -> None:
    signed = push_image(registry.url, "lib/app", "v1")
    signature = push_referrer(registry.url, "lib/app", signed)
    other = push_image(registry.url, "lib/app", "v2")
    web = push_image(registry.url, "lib/web", "1.0")
    with FaultProxy(registry.url) as source:
        rule = pipeline.rule(pipeline.store.create_source(name="src", kind="distribution",
                                                          url=source.url),
                             pipeline.endpoint(registry2))
        execution = pipeline.store.create_execution(rule.id, "initial")
        pipeline.start_consumer()

        # When the rule's execution lists the project and runs a job per tag
        pipeline.wait_finished(pipeline.jobs(rule, {"repository": "lib", "action": "sync"},
                                             execution_id=execution.id))
        jobs = [job for job in pipeline.store.list_jobs(execution_id=execution.id)
                if job.action != JobAction.SYNC]
        assert all(job.status is JobStatus.SUCCEEDED
                   for job in pipeline.wait_finished(jobs)), [j.status for j in jobs]
        manifests = [(a.method, a.path) for a in source.answered if "/manifests/" in a.path]
        referrers = [a for a in source.answered if "/referrers/" in a.path]

    # Then each tag's manifest was read once, by its tag, and nothing else about it:
    # the signature's tag is a job of the listing, not looked for with its image
    assert len(jobs) == 4
    assert sorted(manifests) == sorted(("GET", f"/v2/{job.repository}/manifests/{job.tag}")
                                       for job in jobs)
    # Distribution has no referrers API: asked once, or once more by a job that began
    # on the consumer's other thread before the first answer came back
    assert 1 <= len(referrers) <= 2
    assert list_state(registry2.url, "lib/app") == {
        "v1": signed.digest, "v2": other.digest, cosign_tag(signed.digest): signature.digest}
    assert list_state(registry2.url, "lib/web") == {"1.0": web.digest}


def test_a_job_into_a_repository_new_at_the_endpoint_asks_nothing_there(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer,
) -> None:
    one = push_image(registry.url, "lib/app", "v1", layers=(512,))
    two = push_image(registry.url, "lib/app", "v2", layers=(512,), seed="v2")
    endpoint = pipeline.endpoint(registry2)
    rule = pipeline.rule(pipeline.source(registry), endpoint)
    pipeline.start_consumer(endpoint.name)

    jobs = pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib/app", "action": "replicate", "tag": "v1"}))
    first = [r for r in served(registry2) if r.path.startswith("/v2/lib/")]
    jobs += pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib/app", "action": "replicate", "tag": "v2"}))
    second = [r for r in served(registry2) if r.path.startswith("/v2/lib/")][len(first):]

    assert [job.status for job in jobs] == [JobStatus.SUCCEEDED] * 2
    assert list_state(registry2.url, "lib/app") == {"v1": one.digest, "v2": two.digest}
    # The first job asked whether the repository exists, once, and then nothing more
    assert [(r.method, r.path) for r in first if r.method in ("GET", "HEAD")] == [
        ("GET", "/v2/lib/app/tags/list")]
    # The next one, into a repository the consumer knows exists, asks as any copy does
    assert ("HEAD", "/v2/lib/app/manifests/v2") in [(r.method, r.path) for r in second]
    assert not [r for r in second if r.path.endswith("/tags/list")]
