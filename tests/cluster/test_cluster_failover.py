"""crossdock on a three-node RabbitMQ cluster with quorum queues, PostgreSQL, two
receivers and three consumers (issue #9): under a stream of pushes, kill -9 the node
that leads the work queue, then, once it is back, another node. Nothing accepted is
lost, no webhook answer is a 500, every job finishes and the endpoint equals the
source. `bench/cluster_failover.py` reports the stall figures of the same run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cluster_faults import kill_during_pushes, warm_up
from tests.support.cluster_pipeline import ClusterPipeline, Outcome, postgres_database
from tests.support.rabbit_cluster import RabbitCluster

pytestmark = [pytest.mark.rabbit_cluster, pytest.mark.postgres]


def test_killing_the_queue_leader_then_another_node_loses_nothing(
    rabbit_cluster: RabbitCluster, postgres_admin_url: str, tmp_path: Path
) -> None:
    with postgres_database(postgres_admin_url) as database_url:
        pipeline = ClusterPipeline(tmp_path, rabbit_cluster.urls("heartbeat=2"), database_url,
                                   retry_delays="1,2", republish_after_seconds="20")
        pipeline.start()
        try:
            warm_up(pipeline)
            leader = rabbit_cluster.leader_of(pipeline.work_queue)
            first = kill_during_pushes(pipeline, rabbit_cluster, leader, "a")
            assert_recovered(first, pipeline)

            rabbit_cluster.restart(leader)
            current = rabbit_cluster.leader_of(pipeline.work_queue)
            other = current if current is not leader else next(
                node for node in rabbit_cluster.nodes if node is not leader)
            second = kill_during_pushes(pipeline, rabbit_cluster, other, "b")
            assert_recovered(second, pipeline)
            rabbit_cluster.restart(other)
        finally:
            pipeline.close()


def assert_recovered(outcome: Outcome, pipeline: ClusterPipeline) -> None:
    print(outcome.line())
    assert outcome.pushed > 0
    assert not outcome.problems, "\n".join(outcome.problems) + "\n" + pipeline.log_tails()
    assert not pipeline.exited(), f"{pipeline.exited()}\n{pipeline.log_tails()}"
