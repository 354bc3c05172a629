"""A three-node RabbitMQ cluster of a test's own, on this machine (protocols.md §12).

`RabbitCluster.start()` boots every node in the background and returns at once;
`wait()` waits for them and joins the second and later nodes to the first. A node
killed with `kill()` comes back from its data with `restart()`. `stop()` kills every
node by its pid. No pytest in here: the cluster bench uses it too.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
import uuid
from pathlib import Path

from tests.support.rabbit_node import RabbitNode


class RabbitCluster:
    """`size` private nodes sharing one Erlang cookie, under `base`."""

    def __init__(self, base: Path, size: int = 3) -> None:
        cookie = uuid.uuid4().hex
        self.base = base
        self.nodes = [RabbitNode(base / f"node{index}", cookie=cookie) for index in range(size)]
        self._joined = False

    def start(self) -> RabbitCluster:
        """Boot every node in the background (returns at once; `wait()` for them)."""
        for node in self.nodes:
            node.start()
        return self

    def wait(self) -> RabbitCluster:
        """Until every node runs and has joined the first one."""
        for node in self.nodes:
            node.wait()
        if not self._joined:
            first = self.nodes[0]
            for node in self.nodes[1:]:
                node.ctl("stop_app")
                node.ctl("join_cluster", first.name)
                node.ctl("start_app")
            self._joined = True
        running = self.running_nodes()
        if sorted(running) != sorted(node.name for node in self.nodes):
            raise RuntimeError(f"the cluster did not form: running nodes {running}")
        return self

    def urls(self, query: str = "") -> list[str]:
        return [node.url(query) for node in self.nodes]

    def running_nodes(self, via: RabbitNode | None = None) -> list[str]:
        """The names of the nodes `via` (any live node) sees running."""
        ask = via or self.live()[0]
        status = json.loads(ask.ctl("cluster_status", "--formatter", "json"))
        return [str(name) for name in status.get("running_nodes", [])]

    def live(self) -> list[RabbitNode]:
        return [node for node in self.nodes if node.pid is not None]

    def node_named(self, name: str) -> RabbitNode:
        return next(node for node in self.nodes if node.name == name)

    def leader_of(self, queue: str) -> RabbitNode:
        """The node that leads quorum queue `queue` right now."""
        listed = self.live()[0].ctl("list_queues", "-q", "--no-table-headers", "name", "leader")
        for line in listed.splitlines():
            name, _, leader = line.partition("\t")
            if name == queue and leader.strip():
                return self.node_named(leader.strip())
        raise RuntimeError(f"no leader listed for {queue}: {listed!r}")

    def kill(self, node: RabbitNode) -> None:
        """kill -9, keeping the node's data for `restart()`."""
        node.stop()

    def restart(self, node: RabbitNode, timeout: float = 60.0) -> None:
        """Boot a killed node from its data and wait until the others see it again."""
        node.start().wait()
        deadline = time.monotonic() + timeout
        while node.name not in self.running_nodes(via=node):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{node.name} did not rejoin the cluster")
            time.sleep(0.3)

    def stop(self) -> None:
        """Kill every node by its pid and delete the cluster's directories."""
        for node in self.nodes:
            with contextlib.suppress(Exception):
                node.stop()
        shutil.rmtree(self.base, ignore_errors=True)
