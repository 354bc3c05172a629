"""Harbor as an endpoint and as a source (through the Harbor fake)."""

from __future__ import annotations

from shared.registry import RegistryClient, RegistryConfig
from shared.store import EndpointRecord, JobAction, JobStatus
from tests.consumers.conftest import Pipeline
from tests.support.harbor import HarborFake
from tests.support.harbor.client import bearer_session
from tests.support.harbor_fixtures import HARBOR_ADMIN
from tests.support.images import list_state, push_image
from tests.support.registry_server import RegistryServer


def harbor_state(harbor: HarborFake, repository: str) -> dict[str, str]:
    client = RegistryClient(RegistryConfig(harbor.url, *HARBOR_ADMIN))
    state = {}
    for tag in client.tags(repository):
        head = client.head_manifest(repository, tag)
        assert head is not None
        state[tag] = head.digest
    return state


def harbor_endpoint(pipeline: Pipeline, harbor: HarborFake) -> EndpointRecord:
    username, password = HARBOR_ADMIN
    return pipeline.store.create_endpoint(name="harbor", kind="harbor", url=harbor.url,
                                          username=username, password=password)


def test_missing_project_is_created_on_a_harbor_endpoint(
    pipeline: Pipeline, registry: RegistryServer, harbor: HarborFake
) -> None:
    image = push_image(registry.url, "lib/app", "v1")
    assert harbor.project("lib") is None
    rule = pipeline.rule(pipeline.source(registry), harbor_endpoint(pipeline, harbor))
    pipeline.start_consumer()

    [job] = pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib/app", "action": "replicate", "tag": "v1"}))

    assert job.status == JobStatus.SUCCEEDED, pipeline.log_text(job)
    assert harbor.project("lib") is not None
    assert "created project lib on Harbor endpoint harbor" in pipeline.log_text(job)
    assert harbor_state(harbor, "lib/app") == {"v1": image.digest}


def test_tag_delete_on_harbor_uses_its_tag_api(
    pipeline: Pipeline, registry: RegistryServer, harbor: HarborFake
) -> None:
    image = push_image(registry.url, "lib/app", "v2", seed="same")
    rule = pipeline.rule(pipeline.source(registry), harbor_endpoint(pipeline, harbor))
    pipeline.start_consumer()
    pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib/app", "action": "replicate", "tag": "v2"}))
    # The endpoint also holds v1 on the same image, which the source doesn't have.
    client = RegistryClient(RegistryConfig(harbor.url, *HARBOR_ADMIN))
    client.put_manifest("lib/app", "v1", client.get_manifest("lib/app", "v2"))

    [job] = pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib/app", "action": "delete", "tag": "v1"}))

    assert job.status == JobStatus.SUCCEEDED, pipeline.log_text(job)
    assert "(Harbor API)" in pipeline.log_text(job)
    assert harbor_state(harbor, "lib/app") == {"v2": image.digest}


def test_sync_from_a_harbor_source_lists_through_its_api(
    pipeline: Pipeline, harbor: HarborFake, registry2: RegistryServer
) -> None:
    harbor.create_project("lib")
    pushed = {}
    for repository in ("lib/app", "lib/team/web"):
        with bearer_session(harbor.url, *HARBOR_ADMIN, repository) as session:
            pushed[repository] = push_image(harbor.url, repository, "v1", session=session).digest
    username, password = HARBOR_ADMIN
    source = pipeline.store.create_source(name="harbor-src", kind="harbor", url=harbor.url,
                                          username=username, password=password)
    rule = pipeline.rule(source, pipeline.endpoint(registry2))
    execution = pipeline.store.create_execution(rule.id, "manual")
    pipeline.start_consumer()

    [sync] = pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib", "action": "sync"}, execution_id=execution.id))
    images = [j for j in pipeline.store.list_jobs(execution_id=execution.id)
              if j.action != JobAction.SYNC]
    pipeline.wait_finished(images)

    assert sync.status == JobStatus.SUCCEEDED, pipeline.log_text(sync)
    for repository, digest in pushed.items():
        assert list_state(registry2.url, repository) == {"v1": digest}


def test_forbidden_project_creation_fails_at_once(
    pipeline: Pipeline, registry: RegistryServer, harbor: HarborFake
) -> None:
    push_image(registry.url, "lib/app", "v1")
    harbor.add_user("dev", "Dev12345")
    harbor.only_admin_create_project = True
    endpoint = pipeline.store.create_endpoint(name="harbor-dev", kind="harbor", url=harbor.url,
                                              username="dev", password="Dev12345")
    rule = pipeline.rule(pipeline.source(registry), endpoint)
    pipeline.start_consumer()

    [job] = pipeline.wait_finished(pipeline.jobs(
        rule, {"repository": "lib/app", "action": "replicate", "tag": "v1"}))

    assert job.status == JobStatus.FAILED
    assert job.attempts == 1
    assert "403" in (job.error or "")
    assert harbor.project("lib") is None
