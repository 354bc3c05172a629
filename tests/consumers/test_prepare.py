"""`JobHandlers.prepare` for an event that came before its tag (DESIGN invariant 2),
against a real registry: Distribution sends the push event, then links the tag."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest

from consumers import handlers
from consumers.context import JobOutcome
from consumers.handlers import Deferred, JobHandlers, Ready
from shared.copy.engine import CopyOptions
from shared.registry import ManifestHead, RegistryClient
from shared.registry.manifests import is_digest
from shared.store import JobAction, JobRecord, JobStatus
from tests.clients import client_for
from tests.support.images import PushedImage, push_image, put_tag
from tests.support.registry_server import RegistryServer


class LinksAfterFirstLook:
    """The source, which links the tag right after the consumer first finds it missing."""

    def __init__(self, registry: RegistryServer, image: PushedImage, tag: str | None) -> None:
        self._client = client_for(registry)
        self._registry, self._image, self._tag = registry, image, tag
        self.tag_looks = 0

    def head_manifest(self, repository: str, reference: str) -> ManifestHead | None:
        head = self._client.head_manifest(repository, reference)
        if not is_digest(reference):
            self.tag_looks += 1
            if self.tag_looks == 1 and self._tag is not None:
                put_tag(self._registry.url, self._image, self._tag)
        return head

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def prepare_event(source: LinksAfterFirstLook | RegistryClient, image: PushedImage,
                  tag: str) -> handlers.Preparation:
    now = datetime.now(UTC)
    job = JobRecord(id=1, execution_id=None, rule_id=1, endpoint_id=1, source_id=1,
                    repository=image.repository, tag=tag, digest=image.digest,
                    action=JobAction.REPLICATE, status=JobStatus.RUNNING, attempts=1,
                    error=None, created_at=now, updated_at=now, started_at=now,
                    finished_at=None)
    ctx = SimpleNamespace(job=job, source_client=source,
                          store=SimpleNamespace(newer_job=lambda _job: None))
    handler = JobHandlers(CopyOptions(), publish=lambda _jobs: None)
    return handler.prepare(ctx, now=now)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handlers, "LOOK_AGAIN_SECONDS", 0.0)


def test_a_tag_linked_a_moment_after_its_event_is_not_deferred(
    registry: RegistryServer,
) -> None:
    image = push_image(registry.url, "lib/app", None)  # by digest: the tag comes next
    source = LinksAfterFirstLook(registry, image, "v1")

    prepared = prepare_event(source, image, "v1")

    assert isinstance(prepared, Ready) and prepared.note is None
    assert source.tag_looks == 2


def test_a_tag_still_missing_at_the_second_look_is_deferred(
    registry: RegistryServer,
) -> None:
    image = push_image(registry.url, "lib/app", None)
    source = LinksAfterFirstLook(registry, image, None)  # never linked

    prepared = prepare_event(source, image, "v1")

    assert isinstance(prepared, Deferred)
    assert "the registry is still writing it" in prepared.reason
    assert source.tag_looks == 2


def test_a_tag_already_there_is_looked_at_once(registry: RegistryServer) -> None:
    image = push_image(registry.url, "lib/app", "v1")
    source = LinksAfterFirstLook(registry, image, None)

    prepared = prepare_event(source, image, "v1")

    assert not isinstance(prepared, (Deferred, JobOutcome))
    assert source.tag_looks == 1
