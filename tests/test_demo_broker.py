"""What `make demo` does to RabbitMQ (scripts/demo_broker.py), on a private node of
the test's own (tests/support/rabbit_node.py): the management console is on for the
demo's length and on loopback only, and the plugin is disabled again at the end
unless it was on before. The shared broker's plugins are never touched: every
command names the private node, whose cookie the shared one does not accept."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.rabbit_node import BIN, RabbitNode
from tests.support.registry_server import free_port

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.demo_broker import MANAGEMENT, DemoBroker  # noqa: E402
from tests.test_demo import load_demo  # noqa: E402

LISTEN = "0A"  # the state column of /proc/net/tcp


@pytest.fixture
def node(tmp_path: Path) -> Iterator[RabbitNode]:
    node = RabbitNode(tmp_path / "rabbit").start().wait()
    yield node
    node.stop()


def commands_env(node: RabbitNode) -> dict[str, str]:
    """RabbitMQ's commands, as the demo runs them, aimed at `node` (Debian's wrappers in
    /usr/sbin would drop these variables)."""
    env = {**node.env, "PATH": f"{BIN}:{os.environ['PATH']}"}
    reached = subprocess.run(["rabbitmqctl", "-q", "eval", "node()."], env=env,
                             capture_output=True, text=True, timeout=60, check=False)
    assert reached.stdout.strip().strip("'") == node.name, reached  # never the shared one
    return env


def listening_addresses(port: int) -> set[str]:
    """The local addresses that listen on TCP `port` (IPv4 and IPv6), from /proc."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            local, _remote, state = line.split()[1:4]
            address, port_hex = local.split(":")
            if state == LISTEN and int(port_hex, 16) == port:
                found.add("loopback" if address in ("0100007F", "0" * 24 + "01000000")
                          else "any" if address == "0" * width else address)
    return found


def test_the_demo_turns_the_console_on_on_loopback_and_off_again(
    node: RabbitNode, capsys: pytest.CaptureFixture[str],
) -> None:
    before = (node.base / "enabled_plugins").read_text()
    console_port = free_port()
    demo = load_demo().Demo(free_port(), free_port(), free_port(), console=True,
                            queue_prefix=f"crossdock-test-demo-{os.getpid()}",
                            broker=DemoBroker(console_port, commands_env(node)))
    try:
        demo.start()
        during = (node.base / "enabled_plugins").read_text()
        addresses = listening_addresses(console_port)
        overview = requests.get(f"http://127.0.0.1:{console_port}/api/overview",
                                auth=("guest", "guest"), timeout=30)
    finally:
        demo.stop()
    output = capsys.readouterr().out

    assert MANAGEMENT in during
    assert addresses == {"loopback"}
    assert overview.status_code == 200
    assert (node.base / "enabled_plugins").read_text() == before == "[].\n"
    assert listening_addresses(console_port) == set()
    assert (f"enabled RabbitMQ's management plugin for the demo: console on "
            f"http://127.0.0.1:{console_port} (loopback only") in output
    assert "disabled RabbitMQ's management plugin again" in output


def test_a_console_that_was_on_before_the_demo_stays_on(node: RabbitNode) -> None:
    env = commands_env(node)
    node.ctl("eval", f'application:set_env({MANAGEMENT}, tcp_config, '
                     f'[{{ip, "127.0.0.1"}}, {{port, {free_port()}}}]).')
    subprocess.run(["rabbitmq-plugins", "-q", "enable", MANAGEMENT], env=env,
                   capture_output=True, timeout=120, check=True)
    broker = DemoBroker(free_port(), env)

    opened = broker.open_console()
    closed = broker.close_console()

    assert opened == "RabbitMQ's management console was already on: left as it is"
    assert closed is None
    assert broker.enabled_plugins() is not None
    assert MANAGEMENT in (broker.enabled_plugins() or set())
