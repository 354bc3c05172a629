"""Replicate and delete jobs end to end: store → RabbitMQ → consumer → registries."""

from __future__ import annotations

from shared.store import JobStatus
from tests.consumers.conftest import Pipeline
from tests.support.images import (
    cosign_tag,
    delete_manifest,
    list_state,
    push_image,
    push_index,
    push_referrer,
)
from tests.support.registry_server import RegistryServer


def test_replicate_copies_the_tag_and_keeps_it_in_the_rules_inventory(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    image = push_image(registry.url, "lib/app", "v1")
    signature = push_referrer(registry.url, "lib/app", image)
    rule = pipeline.rule(pipeline.source(registry), pipeline.endpoint(registry2))
    pipeline.start_consumer()

    [job] = pipeline.wait_finished(pipeline.jobs(rule, {"repository": "lib/app",
                                                        "action": "replicate", "tag": "v1"}))

    assert job.status == JobStatus.SUCCEEDED, pipeline.log_text(job)
    assert list_state(registry2.url, "lib/app") == {
        "v1": image.digest, cosign_tag(image.digest): signature.digest}
    [entry] = pipeline.store.list_inventory(rule.id)
    assert (entry.repository, entry.tag, entry.digest) == ("lib/app", "v1", image.digest)
    lines = [line.message for line in pipeline.store.job_log(job.id)]
    assert lines[0].startswith("attempt 1 started")
    # Each image's own line once (the signature's too), then what the copy took.
    assert lines.count(f"copied {registry2.host}/lib/app:v1") == 1
    assert lines[-1].startswith("done: ") and "1 referrer(s) copied" in lines[-1], lines


def test_replicate_into_another_namespace_with_index(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    index = push_index(registry.url, "lib/multi", "v1")
    rule = pipeline.rule(pipeline.source(registry), pipeline.endpoint(registry2),
                         dest_namespace="mirror/lib")
    pipeline.start_consumer()

    pipeline.wait_finished(pipeline.jobs(rule, {"repository": "lib/multi",
                                                "action": "replicate", "tag": "v1"}))

    assert list_state(registry2.url, "mirror/lib/multi") == {"v1": index.digest}


def test_replicate_skips_what_is_gone_or_already_there(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    image = push_image(registry.url, "lib/app", "v1")
    untagged = push_image(registry.url, "lib/app", None)
    rule = pipeline.rule(pipeline.source(registry), pipeline.endpoint(registry2))
    pipeline.start_consumer()

    first, gone, by_digest = pipeline.wait_finished(pipeline.jobs(
        rule,
        {"repository": "lib/app", "action": "replicate", "tag": "v1"},
        {"repository": "lib/app", "action": "replicate", "tag": "nope"},
        {"repository": "lib/app", "action": "replicate", "digest": untagged.digest},
    ))
    [again] = pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib/app", "action": "replicate", "tag": "v1"}))

    assert first.status == JobStatus.SUCCEEDED
    assert gone.status == JobStatus.SKIPPED
    assert by_digest.status == JobStatus.SKIPPED
    assert again.status == JobStatus.SKIPPED
    assert "identical at the destination" in pipeline.log_text(again)
    assert list_state(registry2.url, "lib/app") == {"v1": image.digest}


def test_delete_follows_the_source_only_when_it_no_longer_has_the_digest(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    kept = push_image(registry.url, "lib/app", "keep")
    doomed = push_image(registry.url, "lib/app", "v1")
    rule = pipeline.rule(pipeline.source(registry), pipeline.endpoint(registry2))
    pipeline.start_consumer()
    pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib/app", "action": "replicate", "tag": "keep"},
        {"repository": "lib/app", "action": "replicate", "tag": "v1"}))
    delete_manifest(registry.url, "lib/app", doomed.digest)

    deleted, still_there, repeat = pipeline.wait_finished(pipeline.jobs(
        rule,
        {"repository": "lib/app", "action": "delete", "digest": doomed.digest},
        {"repository": "lib/app", "action": "delete", "digest": kept.digest},
        {"repository": "lib/app", "action": "delete", "digest": doomed.digest},
    ))

    assert {deleted.status, repeat.status} == {JobStatus.SUCCEEDED, JobStatus.SKIPPED}
    assert still_there.status == JobStatus.SKIPPED
    assert "source still has" in pipeline.log_text(still_there)
    assert list_state(registry2.url, "lib/app") == {"keep": kept.digest}


def test_tag_delete_on_distribution_keeps_the_other_tags(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    image = push_image(registry.url, "lib/app", "v1", seed="same")
    push_image(registry.url, "lib/app", "v2", seed="same")
    rule = pipeline.rule(pipeline.source(registry), pipeline.endpoint(registry2))
    pipeline.start_consumer()
    pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib/app", "action": "replicate", "tag": "v1"},
        {"repository": "lib/app", "action": "replicate", "tag": "v2"}))
    # The source loses v1 only: delete the digest there and put v2 back.
    delete_manifest(registry.url, "lib/app", image.digest)
    push_image(registry.url, "lib/app", "v2", seed="same")

    [job] = pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib/app", "action": "delete", "tag": "v1"}))

    assert job.status == JobStatus.SUCCEEDED, pipeline.log_text(job)
    assert list_state(registry2.url, "lib/app") == {"v2": image.digest}
    assert "kept v2" in pipeline.log_text(job)


def test_disabled_rule_skips_its_jobs(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    push_image(registry.url, "lib/app", "v1")
    rule = pipeline.rule(pipeline.source(registry), pipeline.endpoint(registry2), enabled=False)
    pipeline.start_consumer()

    [job] = pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib/app", "action": "replicate", "tag": "v1"}))

    assert job.status == JobStatus.SKIPPED
    assert "rule is disabled" in pipeline.log_text(job)
    assert list_state(registry2.url, "lib/app") == {}


def test_deletes_can_be_switched_off_per_rule(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    image = push_image(registry.url, "lib/app", "v1")
    rule = pipeline.rule(pipeline.source(registry), pipeline.endpoint(registry2),
                         replicate_deletes=False)
    pipeline.start_consumer()
    pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib/app", "action": "replicate", "tag": "v1"}))
    delete_manifest(registry.url, "lib/app", image.digest)

    [job] = pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib/app", "action": "delete", "digest": image.digest}))

    assert job.status == JobStatus.SKIPPED
    assert list_state(registry2.url, "lib/app") == {"v1": image.digest}


def test_a_tag_delete_whose_tag_is_back_at_the_source_replicates_it(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    # Given the endpoint has an old lib/app:v1, and the source has v1 again, pushed anew
    # (a delete job that a newer job would have superseded must still reconcile the tag)
    old = push_image(registry2.url, "lib/app", "v1")
    new = push_image(registry.url, "lib/app", "v1")
    rule = pipeline.rule(pipeline.source(registry), pipeline.endpoint(registry2))
    pipeline.start_consumer()

    [job] = pipeline.wait_finished(pipeline.jobs(rule, {"repository": "lib/app",
                                                        "action": "delete", "tag": "v1"}))

    assert job.status == JobStatus.SUCCEEDED, pipeline.log_text(job)
    assert list_state(registry2.url, "lib/app") == {"v1": new.digest} != {"v1": old.digest}
    assert "the source has tag v1 again" in pipeline.log_text(job)
