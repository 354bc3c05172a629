"""Convergence cases 4, 5 and 7, end to end: store -> RabbitMQ -> consumer -> real registries.

- Case 4: a repository named like its project (`solo` in project `solo`) belongs to
  the project: a rule's sync copies it and prune removes its stale tags; a Harbor
  endpoint can't hold it as a top-level repository, so such a job fails at once and
  says to set `dest_namespace`.
- Case 5: a tag delete on Distribution 2.8 (delete the digest, put the sibling tags
  back) records its plan first, so a retry after a failed put-back, or a redelivery
  after the consumer died in between, finishes it instead of losing the siblings.
- Case 7: each rule keeps an inventory of the tags it wrote; a sync with
  `replicate_deletes` applies the source deletes it missed to those tags only, and
  only while the endpoint still holds what crossdock put there.

Each test fails on the handler of the last commit (`git show HEAD:consumers/handlers.py`);
the reason is given in the test's docstring.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from shared.dispatch import start_execution
from shared.store import EndpointRecord, JobAction, JobRecord, JobStatus, RuleRecord
from tests.consumers.conftest import Pipeline, wait_until
from tests.support.fault_proxy import FaultProxy
from tests.support.images import PushedImage, delete_manifest, list_state, push_image
from tests.support.registry_server import RegistryServer


def run_sync(pipeline: Pipeline, rule: RuleRecord) -> tuple[JobRecord, list[JobRecord]]:
    """Start a manual run of `rule` (as enabling or "Run" does) and wait for its sync job
    and every job it queued. Returns the sync job and the others, oldest first."""
    execution, sync_job = start_execution(pipeline.store, pipeline.publisher.publish_jobs,
                                          rule, "manual")
    [sync] = pipeline.wait_finished([sync_job])
    assert sync.status == JobStatus.SUCCEEDED, pipeline.log_text(sync)
    queued = [job for job in pipeline.store.list_jobs(execution_id=execution.id, limit=500)
              if job.action != JobAction.SYNC]
    return sync, sorted(pipeline.wait_finished(queued), key=lambda job: job.id)


def replicate(pipeline: Pipeline, rule: RuleRecord, repository: str, *tags: str) -> None:
    """Replicate tags through jobs (as their push events would) and check they succeeded."""
    jobs = pipeline.wait_finished(pipeline.jobs(
        rule, *[{"repository": repository, "action": "replicate", "tag": tag} for tag in tags]))
    for job in jobs:
        assert job.status == JobStatus.SUCCEEDED, pipeline.log_text(job)


def outcomes(jobs: list[JobRecord]) -> list[tuple[str, str, str | None, str]]:
    """(action, repository, tag, status) per job, sorted: what a sync did, at a glance."""
    return sorted((job.action.value, job.repository, job.tag, job.status.value) for job in jobs)


# -- case 4: the project's own repository ---------------------------------------------------


def test_sync_includes_the_repository_named_like_its_project(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    """HEAD's sync listed only names under `solo/`: `solo:v1` never reached the endpoint."""
    # Given the source has the top-level repository `solo`, one under it, and a
    # repository of another project whose name merely starts with "solo"
    top = push_image(registry.url, "solo", "v1")
    nested = push_image(registry.url, "solo/app", "v1")
    push_image(registry.url, "soloist/tool", "v1")
    rule = pipeline.rule(pipeline.source(registry), pipeline.endpoint(registry2), project="solo")
    pipeline.start_consumer()

    # When the rule for project `solo` runs its sync
    sync, jobs = run_sync(pipeline, rule)

    # Then both repositories of the project are at the endpoint, and nothing else
    assert "queued 2 images from 2 repositories" in pipeline.log_text(sync)
    assert outcomes(jobs) == [("replicate", "solo", "v1", "succeeded"),
                              ("replicate", "solo/app", "v1", "succeeded")]
    assert list_state(registry2.url, "solo") == {"v1": top.digest}
    assert list_state(registry2.url, "solo/app") == {"v1": nested.digest}
    assert list_state(registry2.url, "soloist/tool") == {}


def test_prune_removes_a_stale_tag_of_the_repository_named_like_its_project(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    """HEAD's prune listed endpoint names under `solo/` only: `solo:old` stayed (and
    `solo:v1` was never copied)."""
    # Given the source has solo:v1 and solo/app:v1, and the endpoint also has solo:old,
    # which the source doesn't have (pushed there directly)
    top = push_image(registry.url, "solo", "v1")
    nested = push_image(registry.url, "solo/app", "v1")
    push_image(registry2.url, "solo", "old")
    rule = pipeline.rule(pipeline.source(registry), pipeline.endpoint(registry2), project="solo",
                         prune=True, replicate_deletes=False)
    pipeline.start_consumer()

    # When the rule's sync runs with prune on
    sync, jobs = run_sync(pipeline, rule)

    # Then solo:old is deleted at the endpoint and the project's images are there
    assert "and 1 deletes of images the source no longer has" in pipeline.log_text(sync)
    assert outcomes(jobs) == [("delete", "solo", "old", "succeeded"),
                              ("replicate", "solo", "v1", "succeeded"),
                              ("replicate", "solo/app", "v1", "succeeded")]
    assert list_state(registry2.url, "solo") == {"v1": top.digest}
    assert list_state(registry2.url, "solo/app") == {"v1": nested.digest}


def test_harbor_endpoint_refuses_a_top_level_repository_and_names_dest_namespace(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    """HEAD went on to Harbor's project API (absent on a plain registry) and failed with
    an error that says nothing of dest_namespace."""
    # Given a Harbor-kind endpoint record (the check comes before any Harbor call, so a
    # plain registry stands in) and a rule for project `solo` without dest_namespace
    push_image(registry.url, "solo", "v1")
    endpoint = pipeline.endpoint(registry2, kind="harbor")
    rule = pipeline.rule(pipeline.source(registry), endpoint, project="solo")
    pipeline.start_consumer()

    # When the replicate job for solo:v1 runs
    [job] = pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "solo", "action": "replicate", "tag": "v1"}))

    # Then it fails at once, permanently, saying to set dest_namespace; nothing is written
    assert job.status == JobStatus.FAILED, pipeline.log_text(job)
    assert job.attempts == 1
    assert "dest_namespace" in (job.error or "")
    assert "top-level repository 'solo'" in (job.error or "")
    assert "dest_namespace" in pipeline.log_text(job)
    assert list_state(registry2.url, "solo") == {}


# -- case 5: a tag delete by digest that is interrupted -------------------------------------


@pytest.fixture
def proxied_endpoint(
    pipeline: Pipeline, registry2: RegistryServer
) -> Iterator[tuple[EndpointRecord, FaultProxy]]:
    """An endpoint record whose URL is a fault proxy in front of `registry2`."""
    with FaultProxy(registry2.url) as proxy:
        endpoint = pipeline.store.create_endpoint(name=f"ep-{uuid.uuid4().hex[:6]}",
                                                  kind="registry", url=proxy.url)
        yield endpoint, proxy


def two_tags_then_source_drops_t1(
    pipeline: Pipeline, rule: RuleRecord, source: RegistryServer
) -> PushedImage:
    """The endpoint gets lib/app:t1 and :t2 on one digest, replicated from the source;
    then the source keeps t2 only (2.8 can't delete one tag: the digest goes, t2 comes
    back). Returns the image."""
    image = push_image(source.url, "lib/app", "t1", seed="same")
    push_image(source.url, "lib/app", "t2", seed="same")
    replicate(pipeline, rule, "lib/app", "t1", "t2")
    delete_manifest(source.url, "lib/app", image.digest)
    push_image(source.url, "lib/app", "t2", seed="same")
    assert list_state(source.url, "lib/app") == {"t2": image.digest}
    return image


def test_tag_delete_finishes_its_plan_on_the_retry_after_the_put_back_failed(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer,
    proxied_endpoint: tuple[EndpointRecord, FaultProxy],
) -> None:
    """HEAD's retry found t1 gone at the endpoint, logged "tag t1 is not at the
    endpoint" and ended skipped: t2, deleted with the digest, was never put back."""
    endpoint, proxy = proxied_endpoint
    rule = pipeline.rule(pipeline.source(registry), endpoint)
    # Room for a slow test thread: attempt 2 may still meet the 503s (retries: 1 s, 2 s).
    pipeline.start_consumer(max_attempts=5)
    image = two_tags_then_source_drops_t1(pipeline, rule, registry)
    assert list_state(registry2.url, "lib/app") == {"t1": image.digest, "t2": image.digest}

    # When a delete job for t1 runs while the endpoint answers 503 to manifest PUTs
    # (switched off once the job has failed and been scheduled for a retry, not after a
    # fixed time, so the order of events is the same on every run)
    proxy.fail_manifest_puts()
    [job] = pipeline.jobs(rule, {"repository": "lib/app", "action": "delete", "tag": "t1"})
    wait_until(lambda: "attempt 1 failed" in pipeline.log_text(job), what="attempt 1 to fail")
    # (the digest is deleted and t2's put-back refused: neither tag is at the endpoint)
    assert any(a.is_manifest_put and a.status == 503 for a in proxy.answered)
    assert list_state(registry2.url, "lib/app") == {}
    proxy.heal()
    [job] = pipeline.wait_finished([job])

    # Then the retry finishes the recorded plan: t1 gone, t2 back at the same digest
    log = pipeline.log_text(job)
    assert job.status == JobStatus.SUCCEEDED, log
    assert job.attempts >= 2
    assert list_state(registry2.url, "lib/app") == {"t2": image.digest}
    assert "plan: delete lib/app@" in log
    assert "then put back t2" in log
    assert "attempt 1 failed, retrying in 1s" in log
    assert "kept t2" in log
    assert "is not at the endpoint" not in log


def test_tag_delete_is_finished_by_the_next_consumer_when_one_dies_before_the_put_back(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer,
    proxied_endpoint: tuple[EndpointRecord, FaultProxy],
) -> None:
    """HEAD's redelivered run found t1 gone at the endpoint and ended skipped: t2 was
    lost for good."""
    endpoint, proxy = proxied_endpoint
    rule = pipeline.rule(pipeline.source(registry), endpoint)
    consumer = pipeline.spawn_consumer()  # a real process, to kill
    image = two_tags_then_source_drops_t1(pipeline, rule, registry)

    # When a delete job for t1 runs, and its consumer is killed while the put-back of
    # t2 (the first manifest PUT of the job) waits at the proxy
    proxy.hold_manifest_puts()
    [job] = pipeline.jobs(rule, {"repository": "lib/app", "action": "delete", "tag": "t1"})
    proxy.wait_for(lambda: proxy.held == 1, what="the put-back to reach the endpoint")
    assert list_state(registry2.url, "lib/app") == {}  # the digest is gone with both tags
    consumer.kill()
    consumer.wait(10)
    proxy.heal(drop_held=True)  # the dead consumer's PUT never reaches the registry
    assert list_state(registry2.url, "lib/app") == {}
    pipeline.start_consumer()
    # The redelivery is a new run: it waits for the killed run's lease to expire.
    [job] = pipeline.wait_finished([job], timeout=45)

    # Then the redelivered run finishes the recorded plan: t2 is back, t1 stays gone
    log = pipeline.log_text(job)
    assert job.status == JobStatus.SUCCEEDED, log
    assert list_state(registry2.url, "lib/app") == {"t2": image.digest}
    assert "redelivered" in log
    assert "then put back t2" in log
    assert "kept t2" in log


# -- case 7: deletes the rule missed, from its inventory ------------------------------------


def test_a_rule_back_on_deletes_what_it_wrote_and_the_source_lost_but_keeps_user_changes(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    """HEAD's sync queued replicate jobs only (no inventory): v1 stayed at the endpoint."""
    # Given a rule replicated lib/app:v1, v2 and v3, then was disabled
    v1 = push_image(registry.url, "lib/app", "v1")
    v2 = push_image(registry.url, "lib/app", "v2")
    v3 = push_image(registry.url, "lib/app", "v3")
    rule = pipeline.rule(pipeline.source(registry), pipeline.endpoint(registry2))
    pipeline.start_consumer()
    replicate(pipeline, rule, "lib/app", "v1", "v2", "v3")
    pipeline.store.update_rule(rule.id, enabled=False)
    # and meanwhile the source deleted v1 and v2 (no job saw it), a user overwrote v2
    # at the endpoint with other content, and a user pushed lib/app:mine there
    delete_manifest(registry.url, "lib/app", v1.digest)
    delete_manifest(registry.url, "lib/app", v2.digest)
    users_v2 = push_image(registry2.url, "lib/app", "v2")
    mine = push_image(registry2.url, "lib/app", "mine")

    # When the rule is enabled again and its sync runs
    rule = pipeline.store.update_rule(rule.id, enabled=True)
    sync, jobs = run_sync(pipeline, rule)

    # Then v1 is deleted, v2 keeps the user's content, mine and v3 are untouched
    assert ("2 deletes of images it replicated that the source no longer has"
            in pipeline.log_text(sync))
    assert outcomes(jobs) == [("delete", "lib/app", "v1", "succeeded"),
                              ("delete", "lib/app", "v2", "skipped"),
                              ("replicate", "lib/app", "v3", "skipped")]
    assert list_state(registry2.url, "lib/app") == {
        "mine": mine.digest, "v2": users_v2.digest, "v3": v3.digest}
    [kept] = [job for job in jobs if job.tag == "v2"]
    assert "a user changed it, kept" in pipeline.log_text(kept)
    # and the rule answers only for v3 at the endpoint now
    assert [(e.repository, e.tag) for e in pipeline.store.list_inventory(rule.id)] == [
        ("lib/app", "v3")]


def test_with_replicate_deletes_off_nothing_is_deleted_until_it_is_turned_on(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    """HEAD had no inventory: its sync never deleted v1, with the option on or off."""
    # Given a rule without replicate_deletes replicated lib/app:v1 and v2, and the
    # source then deleted v1 (no job saw it)
    v1 = push_image(registry.url, "lib/app", "v1")
    v2 = push_image(registry.url, "lib/app", "v2")
    rule = pipeline.rule(pipeline.source(registry), pipeline.endpoint(registry2),
                         replicate_deletes=False)
    pipeline.start_consumer()
    replicate(pipeline, rule, "lib/app", "v1", "v2")
    delete_manifest(registry.url, "lib/app", v1.digest)

    # When its sync runs
    sync, jobs = run_sync(pipeline, rule)

    # Then nothing is deleted
    assert "deletes" not in pipeline.log_text(sync)
    assert outcomes(jobs) == [("replicate", "lib/app", "v2", "skipped")]
    assert list_state(registry2.url, "lib/app") == {"v1": v1.digest, "v2": v2.digest}

    # When replicate_deletes is turned on and the sync runs again
    rule = pipeline.store.update_rule(rule.id, replicate_deletes=True)
    sync, jobs = run_sync(pipeline, rule)

    # Then the delete it missed is applied: the rule had written v1
    assert outcomes(jobs) == [("delete", "lib/app", "v1", "succeeded"),
                              ("replicate", "lib/app", "v2", "skipped")]
    assert list_state(registry2.url, "lib/app") == {"v2": v2.digest}


def test_a_changed_dest_namespace_drops_the_inventory_and_deletes_nothing_at_the_old_place(
    pipeline: Pipeline, registry: RegistryServer, registry2: RegistryServer
) -> None:
    """HEAD had no inventory (`list_inventory` is missing) and its sync never deleted
    mirror/app:v2 after the source lost v2."""
    # Given a rule replicated lib/app:v1 and v2 into lib/app, and the source then
    # deleted v1 (no job saw it)
    v1 = push_image(registry.url, "lib/app", "v1")
    v2 = push_image(registry.url, "lib/app", "v2")
    rule = pipeline.rule(pipeline.source(registry), pipeline.endpoint(registry2))
    pipeline.start_consumer()
    replicate(pipeline, rule, "lib/app", "v1", "v2")
    delete_manifest(registry.url, "lib/app", v1.digest)
    assert len(pipeline.store.list_inventory(rule.id)) == 2

    # When the rule's dest_namespace changes to `mirror`
    rule = pipeline.store.update_rule(rule.id, dest_namespace="mirror")

    # Then its inventory entries are dropped
    assert pipeline.store.list_inventory(rule.id) == []

    # When its sync runs
    sync, jobs = run_sync(pipeline, rule)

    # Then nothing is deleted at the old place; v2 lands in the new one
    assert "deletes" not in pipeline.log_text(sync)
    assert outcomes(jobs) == [("replicate", "lib/app", "v2", "succeeded")]
    assert list_state(registry2.url, "lib/app") == {"v1": v1.digest, "v2": v2.digest}
    assert list_state(registry2.url, "mirror/app") == {"v2": v2.digest}

    # When the source then deletes v2 too and the sync runs again
    delete_manifest(registry.url, "lib/app", v2.digest)
    _sync, jobs = run_sync(pipeline, rule)

    # Then only the copy the rule wrote at its new place goes
    assert outcomes(jobs) == [("delete", "lib/app", "v2", "succeeded")]
    assert list_state(registry2.url, "mirror/app") == {}
    assert list_state(registry2.url, "lib/app") == {"v1": v1.digest, "v2": v2.digest}
