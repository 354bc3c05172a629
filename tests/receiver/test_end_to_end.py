"""A real registry's notifications drive replication: registry → receiver → RabbitMQ →
consumer → endpoint. Nothing stands in for a notification: every event here is
one `docker-registry` 2.8 sent after a skopeo copy, a re-tag or a delete.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from consumers.service import ConsumerService
from shared.store import JobAction, JobStatus, SourceRecord, Store
from tests.receiver.conftest import (
    Records,
    delete_by_tag,
    retag,
    skopeo_copy,
    wait_converged,
)
from tests.support.images import list_state, push_image, push_index
from tests.support.registry_server import RegistryServer

NotifyingRegistry = Callable[[], tuple[RegistryServer, SourceRecord]]


def test_a_push_is_replicated_and_a_delete_is_deleted(
    notifying_registry: NotifyingRegistry,
    registry_factory: Callable[..., RegistryServer], records: Records, store: Store,
    start_consumer: Callable[..., ConsumerService],
) -> None:
    # Given a source registry that notifies crossdock, an endpoint and a rule for `lib`
    seed, endpoint = registry_factory(), registry_factory()
    source, source_record = notifying_registry()
    records.rule(source_record, records.endpoint(endpoint.url))
    start_consumer()
    image = push_image(seed.url, "seed/app", "v1")
    index = push_index(seed.url, "seed/multi", "v1")

    # When an image and a multi-arch index are pushed into the source
    skopeo_copy(f"{seed.host}/seed/app:v1", f"{source.host}/lib/app:v1")
    skopeo_copy(f"{seed.host}/seed/multi:v1", f"{source.host}/lib/multi:v1")

    # Then the endpoint has both, the index with its children
    state = wait_converged(store, [(source.url, endpoint.url)], ["lib/app", "lib/multi"])
    assert state == {"lib/app": {"v1": image.digest}, "lib/multi": {"v1": index.digest}}
    replicated = {(j.repository, j.tag) for j in records.all_jobs()
                  if j.status == JobStatus.SUCCEEDED}
    assert replicated == {("lib/app", "v1"), ("lib/multi", "v1")}

    # When the image is deleted from the source (by digest)
    delete_by_tag(source.url, "lib/app", "v1")

    # Then it is deleted from the endpoint too
    state = wait_converged(store, [(source.url, endpoint.url)], ["lib/app", "lib/multi"])
    assert state["lib/app"] == {}
    assert list_state(endpoint.url, "lib/multi") == {"v1": index.digest}
    deletes = [j for j in records.all_jobs() if j.action == JobAction.DELETE]
    assert any(j.digest == image.digest and j.status == JobStatus.SUCCEEDED for j in deletes)


def test_a_random_history_of_pushes_retags_and_deletes_converges(
    notifying_registry: NotifyingRegistry,
    registry_factory: Callable[..., RegistryServer], records: Records, store: Store,
    start_consumer: Callable[..., ConsumerService],
) -> None:
    seed, endpoint = registry_factory(), registry_factory()
    source, source_record = notifying_registry()
    records.rule(source_record, records.endpoint(endpoint.url))
    start_consumer()
    images = [push_image(seed.url, f"seed/img{i}", "x", layers=(256 + i,)) for i in range(4)]
    repositories, tags = ["lib/app", "lib/web"], ["v1", "v2", "v3", "latest"]
    rng = random.Random(20261126)
    history: list[str] = []

    for step in range(24):
        repository = rng.choice(repositories)
        present = sorted(list_state(source.url, repository))
        kind = rng.choices(["push", "retag", "delete"], weights=[5, 2, 2])[0]
        if not present or step == 23:  # something to re-tag or delete; end on a push
            kind = "push"
        if kind == "push":
            image, tag = rng.choice(images), rng.choice(tags)
            skopeo_copy(f"{seed.host}/{image.repository}:x", f"{source.host}/{repository}:{tag}")
            history.append(f"push {repository}:{tag} = {image.digest[:19]}")
        elif kind == "retag":
            old, new = rng.choice(present), rng.choice(tags)
            if old != new:
                retag(source.url, repository, old, new)
                history.append(f"retag {repository}:{old} -> {new}")
        else:
            victim = rng.choice(present)
            digest = delete_by_tag(source.url, repository, victim)
            history.append(f"delete {repository}:{victim} ({digest[:19]})")

    state = wait_converged(store, [(source.url, endpoint.url)], repositories, timeout=60)

    assert any(state.values()), history  # the history leaves something to compare
    jobs = records.all_jobs()
    assert {j.action for j in jobs} >= {JobAction.REPLICATE, JobAction.DELETE}, history
    assert not [j for j in jobs if j.status == JobStatus.FAILED], history
