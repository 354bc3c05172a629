"""End to end with a real `docker-registry`: crossdock's writes come back marked.

The destination registry sends its notifications to a local listener. Every write
crossdock makes inside `writing_as(user_agent_for(token, key))` (manifest PUTs by
tag and by digest, blob uploads from the engine's pool, manifest DELETEs) comes
back with ``request.useragent`` parsing to that token; a user's push (requests,
skopeo) parses to none (DESIGN invariant 3, protocols.md §9.3).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.fernet import Fernet

from receiver.notifications import RegistryEvent, parse_notification
from shared.copy.engine import CopyEngine, CopyOptions
from shared.copy.project import sync_project
from shared.registry.transport import writing_as
from shared.writetoken import WriteToken, token_from_user_agent, user_agent_for
from tests.clients import client_for
from tests.support.http_recorder import HTTPRecorder, Recorded
from tests.support.images import push_image, push_index
from tests.support.registry_server import RegistryServer

KEY = Fernet.generate_key().decode()
BLOB = "application/octet-stream"


@pytest.fixture
def listener() -> Iterator[HTTPRecorder]:
    with HTTPRecorder() as server:
        yield server


@pytest.fixture
def destination(registry_factory: Callable[..., RegistryServer],
                listener: HTTPRecorder) -> RegistryServer:
    """A registry that reports pushes (blobs included) and deletes to `listener`."""
    return registry_factory(notifications=[{
        "url": f"{listener.url}/events", "timeout": "2s", "threshold": 3,
        "backoff": "200ms", "ignore": {"actions": ["pull"]},
    }])


def raw_events(recorded: list[Recorded]) -> list[dict[str, Any]]:
    return [event for r in recorded for event in r.json()["events"]]


def blob_pushes(recorded: list[Recorded]) -> list[dict[str, Any]]:
    return [e for e in raw_events(recorded)
            if e["action"] == "push" and e["target"].get("mediaType") == BLOB]


def manifest_events(recorded: list[Recorded], repository: str) -> list[RegistryEvent]:
    return [event for r in recorded
            for event in parse_notification(r.body, r.headers.get("Content-Type")).events
            if event.repository == repository]


def tokens(user_agents: list[str | None]) -> set[WriteToken | None]:
    return {token_from_user_agent(ua, KEY) for ua in user_agents}


def test_a_copy_and_a_delete_come_back_with_their_tokens_and_a_user_push_without(
        registry: RegistryServer, destination: RegistryServer, listener: HTTPRecorder) -> None:
    # Given an index at the source whose children have a layer bigger than a chunk
    index = push_index(registry.url, "lib/app", "v1", layers=(512, 150_000))
    src, dst = client_for(registry), client_for(destination)
    copier = CopyEngine(CopyOptions(blob_workers=4, chunk_size=64 * 1024))

    # When crossdock copies it as job 7, attempt 2
    with copier, writing_as(user_agent_for(WriteToken(7, 2), KEY)):
        copier.copy(src, "lib/app", "v1", dst, "lib/app")
    recorded = listener.wait_for(
        lambda got: len(manifest_events(got, "lib/app")) == 3
        and len(blob_pushes(got)) >= len(index.blobs), what="the copy's events")

    # Then every manifest push (children by digest, the index by tag) and every
    # blob upload made by the engine's pool carries job 7's token
    pushes = manifest_events(recorded, "lib/app")
    assert {(e.tag, e.digest) for e in pushes} == {
        (None, index.children[0].digest), (None, index.children[1].digest),
        ("v1", index.digest)}
    assert tokens([e.user_agent for e in pushes]) == {WriteToken(7, 2)}
    blobs = blob_pushes(recorded)
    assert {e["target"]["digest"] for e in blobs} == {digest for digest, _ in index.blobs}
    assert tokens([e["request"]["useragent"] for e in blobs]) == {WriteToken(7, 2)}

    # When crossdock deletes the index as job 8, attempt 1
    seen = len(recorded)
    with writing_as(user_agent_for(WriteToken(8, 1), KEY)):
        assert dst.delete_manifest("lib/app", index.digest)
    recorded = listener.wait_for(
        lambda got: len(manifest_events(got[seen:], "lib/app")) == 2, what="the delete's events")

    # Then the delete by digest and the tag delete it caused both carry job 8's token
    deletes = manifest_events(recorded[seen:], "lib/app")
    assert {(e.action, e.tag, e.digest) for e in deletes} == {
        ("delete", None, index.digest), ("delete", "v1", None)}
    assert tokens([e.user_agent for e in deletes]) == {WriteToken(8, 1)}

    # When a user pushes with requests, and copies with skopeo, outside any token
    push_image(destination.url, "lib/by-requests", "v1")
    subprocess.run(
        ["skopeo", "--insecure-policy", "copy", "--quiet", "--src-tls-verify=false",
         "--dest-tls-verify=false", f"docker://{registry.host}/lib/app:v1",
         f"docker://{destination.host}/lib/by-skopeo:v1"],
        check=True, capture_output=True, timeout=60)
    recorded = listener.wait_for(
        lambda got: manifest_events(got, "lib/by-requests") != []
        and manifest_events(got, "lib/by-skopeo") != [], what="the users' pushes")

    # Then their events carry their own User-Agents, and no token
    by_users = manifest_events(recorded, "lib/by-requests") + \
        manifest_events(recorded, "lib/by-skopeo")
    user_agents = [e.user_agent for e in by_users]
    assert all(ua and ua.startswith(("python-requests/", "skopeo/")) for ua in user_agents)
    assert tokens(user_agents) == {None}


def test_a_project_sync_marks_every_image_copied_by_its_pool(
        registry: RegistryServer, destination: RegistryServer, listener: HTTPRecorder) -> None:
    # Given three images in project lib
    images = [push_image(registry.url, f"lib/app{i}", "v1", layers=(512, 1024))
              for i in range(3)]
    src, dst = client_for(registry), client_for(destination)

    # When the project is synced as job 9, with images copied in parallel
    with CopyEngine(CopyOptions()) as copier, \
            writing_as(user_agent_for(WriteToken(9, 1), KEY)):
        summary = sync_project(copier, src, "lib", dst, image_workers=3)
    assert summary.copied == 3
    recorded = listener.wait_for(
        lambda got: sum(len(manifest_events(got, i.repository)) for i in images) == 3
        and len(blob_pushes(got)) >= 9, what="the sync's events")

    # Then every manifest push and every blob upload carries job 9's token
    pushes = [e for i in images for e in manifest_events(recorded, i.repository)]
    assert tokens([e.user_agent for e in pushes]) == {WriteToken(9, 1)}
    assert tokens([e["request"]["useragent"] for e in blob_pushes(recorded)]) == \
        {WriteToken(9, 1)}
