"""Stall figures of a RabbitMQ cluster failover, under a stream of pushes.

A three-node cluster of its own (quorum queues), PostgreSQL, two receivers behind a
round-robin balancer and three consumers, as in `tests/cluster`. Each round pushes
tags for a while, kill -9's a node (the work queue's leader first, then a node that
does not lead it, alternately), pushes on, waits until the endpoint has caught up,
and brings the node back. Per round it prints the webhook answers, the slowest one,
the time from the kill to the next finished job and to the first finished job
created after the kill, the longest wait between finished jobs, and jobs lost.

    .venv/bin/python bench/cluster_failover.py --rounds 4
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts the project root on sys.path)

from tests.support import cluster_faults
from tests.support.cluster_faults import kill_during_pushes, warm_up
from tests.support.cluster_pipeline import (
    ClusterPipeline,
    Outcome,
    postgres_database,
    postgres_reachable,
)
from tests.support.rabbit_cluster import RabbitCluster

POSTGRES_URL = os.environ.get(
    "CROSSDOCK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--after-kill", type=float, default=cluster_faults.AFTER_KILL,
                        help="seconds of pushes after each kill")
    parser.add_argument("--heartbeat", type=int, default=2,
                        help="the heartbeat on every AMQP URL, in seconds")
    args = parser.parse_args()
    why = postgres_reachable(POSTGRES_URL)
    if why:
        print(f"PostgreSQL is not reachable at {POSTGRES_URL}: {why}", file=sys.stderr)
        return 2
    cluster_faults.AFTER_KILL = args.after_kill
    workdir = Path(tempfile.mkdtemp(prefix="crossdock-cluster-bench-"))
    started = time.monotonic()
    cluster = RabbitCluster(workdir / "rabbit").start()
    outcomes: list[Outcome] = []
    try:
        cluster.wait()
        print(f"cluster of 3 booted and joined in {time.monotonic() - started:.1f} s")
        with postgres_database(POSTGRES_URL) as database_url:
            pipeline = ClusterPipeline(workdir / "pipeline",
                                       cluster.urls(f"heartbeat={args.heartbeat}"),
                                       database_url, retry_delays="1,2",
                                       republish_after_seconds="20").start()
            try:
                warm_up(pipeline)
                for number in range(args.rounds):
                    leader = cluster.leader_of(pipeline.work_queue)
                    if number % 2:
                        victim = next(node for node in cluster.nodes if node is not leader)
                        role = "a follower"
                    else:
                        victim, role = leader, "the work queue's leader"
                    outcome = kill_during_pushes(pipeline, cluster, victim, f"r{number}")
                    outcomes.append(outcome)
                    print(f"round {number + 1}, killed {role}: {outcome.line()}")
                    for problem in outcome.problems:
                        print(f"  PROBLEM: {problem}")
                    if pipeline.exited():
                        print(f"  PROBLEM: processes exited: {pipeline.exited()}")
                    cluster.restart(victim)
            finally:
                pipeline.close()
    finally:
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    if outcomes:
        odd = sum(n for o in outcomes for status, n in o.answers.items()
                  if status not in (200, 202, 503))
        print(f"worst over {len(outcomes)} rounds: slowest webhook answer "
              f"{max(o.slowest_answer for o in outcomes):.2f} s; longest wait between "
              f"finished jobs {max(o.longest_gap or 0 for o in outcomes):.1f} s; first job "
              f"created after a kill finished within "
              f"{max(o.first_new_finished or 0 for o in outcomes):.1f} s; answers other than "
              f"2xx/503: {odd}; "
              f"jobs lost: {sum(len(o.mismatched) for o in outcomes)}")
    return 1 if any(o.problems for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
