"""The endpoint ends equal to the source: each case of the convergence issue, reproduced
on purpose against real registries, the receiver, RabbitMQ and a consumer.

1. A push event that arrives before its tag exists (Distribution 2.8 notifies inside
   the manifest PUT, before it links the tag): the webhook is posted before the tag
   is PUT.
2. A user's restore or rollback on a two-way pair is acted on, not dropped as an echo.
3. Simultaneous conflicting pushes on both sides of a pair: the consumer is held,
   both sides pushed, then released; both end with the preferred side's image.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from consumers.service import ConsumerService
from shared.store import JobRecord, JobStatus, Store
from tests.receiver.conftest import (
    Records,
    TwoWay,
    delete_by_tag,
    events_answered,
    wait_converged,
    wait_until,
)
from tests.receiver.test_webhooks import body_of, post, push
from tests.support.images import list_state, push_image, put_tag
from tests.support.registry_server import RegistryServer


def log_of(store: Store, job_id: int) -> str:
    return "\n".join(line.message for line in store.job_log(job_id))


def finished(store: Store, job_id: int, timeout: float = 30.0) -> JobRecord:
    wait_until(lambda: store.get_job(job_id).status.finished, timeout=timeout,
               what=f"job {job_id} to finish")
    return store.get_job(job_id)


class OneWay:
    def __init__(self, registry_factory: Callable[..., RegistryServer], records: Records) -> None:
        self.src, self.dst = registry_factory(), registry_factory()
        self.source = records.source(self.src.url)
        self.rule = records.rule(self.source, records.endpoint(self.dst.url))


# -- case 1: the event before the tag ---------------------------------------------------


def test_a_push_event_that_arrives_before_its_tag_waits_for_it(
    client: FlaskClient, records: Records, store: Store,
    registry_factory: Callable[..., RegistryServer],
    start_consumer: Callable[..., ConsumerService],
) -> None:
    setup = OneWay(registry_factory, records)
    start_consumer()
    # Given the manifest is at the source by digest, not yet under its tag
    image = push_image(setup.src.url, "lib/app", None)

    # When the push event for v1 arrives first, and the registry links the tag after
    response = post(client, setup.source.name, push(tag="v1", digest=image.digest))
    [job_id] = body_of(response)["jobs"]
    wait_until(lambda: "deferred" in log_of(store, job_id), what="a deferral")
    assert store.get_job(job_id).status == JobStatus.PENDING
    put_tag(setup.src.url, image, "v1")

    # Then the job copies it, and its deferrals were not attempts
    job = finished(store, job_id)
    assert job.status == JobStatus.SUCCEEDED, log_of(store, job_id)
    assert job.attempts == 1
    assert list_state(setup.dst.url, "lib/app") == {"v1": image.digest}


def test_an_overwrite_event_that_arrives_before_the_tag_moves_copies_the_new_image(
    client: FlaskClient, records: Records, store: Store,
    registry_factory: Callable[..., RegistryServer],
    start_consumer: Callable[..., ConsumerService],
) -> None:
    setup = OneWay(registry_factory, records)
    old = push_image(setup.src.url, "lib/app", "v1")
    start_consumer()
    new = push_image(setup.src.url, "lib/app", None)

    # The event names the new digest while the tag still points at the old one
    [job_id] = body_of(post(client, setup.source.name, push(tag="v1", digest=new.digest)))["jobs"]
    wait_until(lambda: "deferred" in log_of(store, job_id), what="a deferral")
    put_tag(setup.src.url, new, "v1")

    assert finished(store, job_id).status == JobStatus.SUCCEEDED
    assert list_state(setup.dst.url, "lib/app") == {"v1": new.digest} != {"v1": old.digest}


def test_after_settle_seconds_a_job_replicates_what_the_source_holds(
    client: FlaskClient, records: Records, store: Store,
    registry_factory: Callable[..., RegistryServer],
    start_consumer: Callable[..., ConsumerService],
) -> None:
    setup = OneWay(registry_factory, records)
    old = push_image(setup.src.url, "lib/app", "v1")
    start_consumer(settle_seconds=2)
    # An event whose digest is at the source but never becomes the tag's
    never = push_image(setup.src.url, "lib/app", None)

    [job_id] = body_of(post(client, setup.source.name,
                            push(tag="v1", digest=never.digest)))["jobs"]

    job = finished(store, job_id)
    assert job.status == JobStatus.SUCCEEDED
    assert "settled after 2 s" in log_of(store, job_id)
    assert list_state(setup.dst.url, "lib/app") == {"v1": old.digest}


def test_a_newer_event_for_the_tag_supersedes_a_deferred_job(
    client: FlaskClient, records: Records, store: Store,
    registry_factory: Callable[..., RegistryServer],
    start_consumer: Callable[..., ConsumerService],
) -> None:
    setup = OneWay(registry_factory, records)
    start_consumer()
    first, second = (push_image(setup.src.url, "lib/app", None) for _ in range(2))
    [older] = body_of(post(client, setup.source.name, push(tag="v1", digest=first.digest)))["jobs"]
    wait_until(lambda: "deferred" in log_of(store, older), what="a deferral")

    [newer] = body_of(post(client, setup.source.name,
                           push(tag="v1", digest=second.digest)))["jobs"]
    put_tag(setup.src.url, second, "v1")

    assert finished(store, newer).status == JobStatus.SUCCEEDED
    job = finished(store, older)
    assert job.status == JobStatus.SKIPPED
    assert f"superseded by job {newer}" in log_of(store, older)
    assert list_state(setup.dst.url, "lib/app") == {"v1": second.digest}


# -- case 2: restores and rollbacks are users' changes --------------------------------


def test_a_restore_on_either_side_of_a_pair_is_replicated(two_way: TwoWay, store: Store) -> None:
    a, b = two_way.a, two_way.b
    # Given v2 pushed on B, replicated to A, deleted there by a user, and the delete followed
    image = push_image(b.url, "lib/app", "v2")
    wait_converged(store, two_way.pair, ["lib/app"], settle=0.2)
    delete_by_tag(a.url, "lib/app", "v2")
    wait_converged(store, two_way.pair, ["lib/app"], settle=0.2)
    assert list_state(b.url, "lib/app") == {}

    # When the user pushes the very same image to A:v2 again
    put_tag(a.url, image, "v2")

    # Then B gets it back
    state = wait_converged(store, two_way.pair, ["lib/app"])
    assert state == {"lib/app": {"v2": image.digest}}


def test_a_rollback_on_the_replica_side_is_replicated(two_way: TwoWay, store: Store) -> None:
    a, b = two_way.a, two_way.b
    # Given A pushed prod=X, then prod=Y, and both reached B
    x = push_image(a.url, "lib/app", "prod")
    wait_converged(store, two_way.pair, ["lib/app"], settle=0.2)
    y = push_image(a.url, "lib/app", "prod")
    wait_converged(store, two_way.pair, ["lib/app"], settle=0.2)

    # When a user on B rolls prod back to X (an image crossdock wrote there before)
    put_tag(b.url, x, "prod")

    # Then A gets X
    state = wait_converged(store, two_way.pair, ["lib/app"])
    assert state == {"lib/app": {"prod": x.digest}}
    assert y.digest != x.digest


# -- case 3: simultaneous conflicting pushes -----------------------------------------------


def conflicting_pushes(two_way: TwoWay, app: Flask, tags: list[str]
                       ) -> tuple[dict[str, str], dict[str, str]]:
    """Push each tag with different content on A and on B while no consumer runs; wait
    until the receiver has answered every event. Returns the digests pushed on A and B."""
    before_a = events_answered(app, two_way.source_a.name)
    before_b = events_answered(app, two_way.source_b.name)
    on_a = {tag: push_image(two_way.a.url, "lib/app", tag).digest for tag in tags}
    on_b = {tag: push_image(two_way.b.url, "lib/app", tag).digest for tag in tags}
    wait_until(lambda: events_answered(app, two_way.source_a.name) >= before_a + len(tags)
               and events_answered(app, two_way.source_b.name) >= before_b + len(tags),
               what="both registries' push events")
    return on_a, on_b


def test_simultaneous_conflicting_pushes_end_with_the_preferred_side_on_both(
    make_two_way: Callable[..., TwoWay], app: Flask, store: Store,
    start_consumer: Callable[..., ConsumerService],
) -> None:
    two_way = make_two_way(consumer=False)
    tags = [f"c{i}" for i in range(6)]
    on_a, _on_b = conflicting_pushes(two_way, app, tags)

    service = start_consumer()

    # A→B is the pair's first rule: A is the preferred side, and wins every conflict
    state = wait_converged(store, two_way.pair, ["lib/app"])
    assert state == {"lib/app": on_a}
    assert not [j for j in store.list_jobs(limit=1000) if j.status == JobStatus.FAILED]
    conflicts = service.metrics.registry.get_sample_value(
        "crossdock_consumer_conflicts_total", {"winner": "source"})
    assert conflicts is not None and conflicts >= len(tags)


def test_the_preferred_side_can_be_changed(
    make_two_way: Callable[..., TwoWay], app: Flask, store: Store,
    start_consumer: Callable[..., ConsumerService],
) -> None:
    two_way = make_two_way(consumer=False)
    store.set_pair_preference(two_way.a_to_b.id, two_way.b_to_a.id, two_way.b_to_a.id)
    tags = [f"c{i}" for i in range(4)]
    _on_a, on_b = conflicting_pushes(two_way, app, tags)

    start_consumer()

    state = wait_converged(store, two_way.pair, ["lib/app"])
    assert state == {"lib/app": on_b}
