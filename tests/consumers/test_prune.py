"""A resync with the rule's prune option deletes what the source no longer has."""

from __future__ import annotations

from shared.store import JobAction, JobStatus
from tests.consumers.conftest import Pipeline
from tests.support.images import delete_manifest, list_state, push_image
from tests.support.registry_server import RegistryServer


def test_prune_deletes_endpoint_images_gone_from_the_source_within_the_filters(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    kept = push_image(registry.url, "lib/app", "v1")
    gone = push_image(registry.url, "lib/app", "v2")
    other = push_image(registry.url, "lib/other", "v1")
    rule = pipeline.rule(pipeline.source(registry), pipeline.endpoint(registry2),
                         prune=True, replicate_deletes=False,
                         repo_filters=[{"pattern": "lib/other", "decision": "excludes"}])
    pipeline.start_consumer()
    pipeline.wait_finished(pipeline.jobs(
        rule, *[{"repository": r, "action": "replicate", "tag": "v1"}
                for r in ("lib/app", "lib/other")],
        {"repository": "lib/app", "action": "replicate", "tag": "v2"}))
    # lib/other reached the endpoint by hand earlier; the rule's filter excludes it.
    push_image(registry2.url, "lib/other", "v1", seed="x")
    delete_manifest(registry.url, "lib/app", gone.digest)
    delete_manifest(registry.url, "lib/other", other.digest)
    execution = pipeline.store.create_execution(rule.id, "scheduled")

    [sync] = pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib", "action": "sync"}, execution_id=execution.id))
    jobs = [j for j in pipeline.store.list_jobs(execution_id=execution.id)
            if j.action != JobAction.SYNC]
    jobs = pipeline.wait_finished(jobs)

    assert "and 1 deletes of images the source no longer has" in pipeline.log_text(sync)
    assert sorted((j.action.value, j.status.value) for j in jobs) == [
        ("delete", "succeeded"), ("replicate", "skipped")]
    assert list_state(registry2.url, "lib/app") == {"v1": kept.digest}
    assert set(list_state(registry2.url, "lib/other")) == {"v1"}  # out of the rule's scope
    assert all(j.status != JobStatus.FAILED for j in jobs)
