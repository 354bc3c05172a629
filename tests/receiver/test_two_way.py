"""Two opposite rules (A→B and B→A, project `lib`) make two-way sync without ping-pong.

Both registries notify the receiver for real; crossdock's own writes come back as
notifications too and must be recognized as echoes (DESIGN invariant 3), or an
older image could be copied back over a newer push.
"""

from __future__ import annotations

import threading
import time

from flask import Flask

from shared.store import JobAction, JobStatus, SourceRecord, Store
from tests.receiver.conftest import (
    Records,
    TwoWay,
    delete_by_tag,
    events_answered,
    sample_value,
    wait_converged,
    wait_until,
)
from tests.support.images import PushedImage, list_state, push_image, push_index

REPOSITORIES = ["lib/app", "lib/multi", "lib/tools"]


def test_bursts_on_both_sides_converge_without_ping_pong(
    two_way: TwoWay, app: Flask, records: Records, store: Store
) -> None:
    a, b = two_way.a, two_way.b
    pushed: dict[str, list[PushedImage]] = {"a": [], "b": []}

    def burst_on_a() -> None:
        pushed["a"] += [push_image(a.url, "lib/app", f"a{i}") for i in range(3)]
        pushed["a"].append(push_index(a.url, "lib/multi", "v1"))
        # The same tag twice in a row, different content: the second must win everywhere.
        pushed["a"] += [push_image(a.url, "lib/app", "dup"), push_image(a.url, "lib/app", "dup")]

    def burst_on_b() -> None:
        pushed["b"] += [push_image(b.url, "lib/app", f"b{i}") for i in range(3)]
        pushed["b"].append(push_image(b.url, "lib/tools", "v1"))

    threads = [threading.Thread(target=burst_on_a), threading.Thread(target=burst_on_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    state = wait_converged(store, two_way.pair, REPOSITORIES)

    second_dup = pushed["a"][-1]
    expected_app = {f"a{i}": pushed["a"][i].digest for i in range(3)}
    expected_app |= {f"b{i}": pushed["b"][i].digest for i in range(3)}
    expected_app["dup"] = second_dup.digest
    assert state == {"lib/app": expected_app, "lib/multi": {"v1": pushed["a"][3].digest},
                     "lib/tools": {"v1": pushed["b"][3].digest}}
    # One job per user push (the index: two children by digest, then the index), none for
    # crossdock's own writes coming back.
    jobs = records.all_jobs()
    user_pushes = 3 + 3 + 2 + 3 + 1
    assert len(jobs) == user_pushes, [(j.repository, j.tag, j.endpoint_id) for j in jobs]
    assert not [j for j in jobs if j.status == JobStatus.FAILED]
    # Crossdock's writes came back as notifications and were dropped as echoes: into A
    # the four tags of B; into B the three tags, the index and its two children, and
    # `dup` once or twice (the first job may already have seen the second push).
    wait_until(lambda: echoes(app, two_way.source_a) == 4 and echoes(app, two_way.source_b) >= 6,
               what="the echo notifications")

    # After convergence nothing runs any more.
    time.sleep(2)
    assert len(records.all_jobs()) == len(jobs)
    assert list_state(a.url, "lib/app") == list_state(b.url, "lib/app") == expected_app


def test_a_user_push_on_the_replica_side_flows_back(
    two_way: TwoWay, records: Records, store: Store
) -> None:
    # Given lib/app:v1 pushed on A and replicated to B
    push_image(two_way.a.url, "lib/app", "v1")
    wait_converged(store, two_way.pair, ["lib/app"], settle=0.2)

    # When a user pushes other content to v1 on B (crossdock once wrote v1 there)
    newer = push_image(two_way.b.url, "lib/app", "v1")

    # Then A gets it: only the exact (tag, digest) crossdock wrote counts as an echo
    state = wait_converged(store, two_way.pair, ["lib/app"])
    assert state == {"lib/app": {"v1": newer.digest}}
    assert [j.action for j in records.all_jobs()] == [JobAction.REPLICATE] * 2


def test_a_user_delete_on_the_replica_side_flows_back(
    two_way: TwoWay, app: Flask, store: Store
) -> None:
    # Given lib/app:v1 pushed on A and replicated to B
    push_image(two_way.a.url, "lib/app", "v1")
    wait_converged(store, two_way.pair, ["lib/app"], settle=0.2)
    answered = events_answered(app, two_way.source_b.name)

    # When a user deletes it on B (2.8 notifies a digest delete, then a tag delete)
    delete_by_tag(two_way.b.url, "lib/app", "v1")
    wait_until(lambda: events_answered(app, two_way.source_b.name) >= answered + 2,
               what="B's delete notifications")
    wait_until(lambda: all(j.status.finished for j in store.list_jobs(limit=1000)),
               what="the jobs")

    # Then it is deleted on A too
    assert list_state(two_way.a.url, "lib/app") == list_state(two_way.b.url, "lib/app") == {}


def echoes(app: Flask, source: SourceRecord) -> float:
    return sample_value(app, "crossdock_receiver_events_ignored_total", source=source.name,
                        reason="echo")
