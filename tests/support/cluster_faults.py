"""One broker fault under load: push a stream of tags, kill -9 a cluster node in the
middle of it, stop pushing, and wait for the pipeline to catch up. The cluster test
and `bench/cluster_failover.py` both play it."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from tests.support.cluster_pipeline import ClusterPipeline, Outcome, PushStream, settle
from tests.support.rabbit_cluster import RabbitCluster
from tests.support.rabbit_node import RabbitNode

BEFORE_KILL = 2.0  # seconds of pushes before the kill
AFTER_KILL = 6.0  # ... and after it


def warm_up(pipeline: ClusterPipeline, timeout: float = 60.0) -> None:
    """One tag through the whole pipeline: every process is connected and the
    endpoint's queues exist (declared through some node) before the first fault."""
    assert pipeline.source is not None
    stream = PushStream(pipeline.source.url, "warm").start()
    deadline = time.monotonic() + timeout
    while not stream.pushed and time.monotonic() < deadline:
        time.sleep(0.05)
    pushed = stream.stop()
    outcome = settle(pipeline, pushed, time.monotonic(), datetime.now(UTC), timeout=timeout)
    if outcome.problems or stream.errors:
        raise RuntimeError(f"the pipeline did not work before any fault: "
                           f"{outcome.problems + stream.errors}\n{pipeline.log_tails()}")


def kill_during_pushes(pipeline: ClusterPipeline, cluster: RabbitCluster, node: RabbitNode,
                       prefix: str, timeout: float = 120.0) -> Outcome:
    """Push, kill -9 `node`, push on, then wait until the endpoint has every tag pushed
    so far and every job has finished (or `timeout`)."""
    assert pipeline.source is not None
    already = {tag: digest for tag, digest in _source_tags(pipeline).items()}
    since = time.monotonic()
    stream = PushStream(pipeline.source.url, prefix).start()
    time.sleep(BEFORE_KILL)
    killed = datetime.now(UTC)
    cluster.kill(node)
    time.sleep(AFTER_KILL)
    pushed = stream.stop()
    if stream.errors:
        raise RuntimeError(f"pushing to the source failed: {stream.errors}")
    return settle(pipeline, {**already, **pushed}, since, killed, timeout=timeout)


def _source_tags(pipeline: ClusterPipeline) -> dict[str, str]:
    from tests.support.cluster_pipeline import REPOSITORY
    from tests.support.images import list_state

    assert pipeline.source is not None
    return list_state(pipeline.source.url, REPOSITORY)
