"""The demo's RabbitMQ: started when none runs, its management console on loopback
for the demo's length, the demo's queues; and all of that put back as it was found.

Commands are RabbitMQ's own (`rabbitmqctl`, `rabbitmq-plugins`, as found on the
PATH of `env`, whose RABBITMQ_* variables may name another node). Each runs in a
session of its own, so a Ctrl-C typed in the terminal never cuts one short.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Mapping

MANAGEMENT = "rabbitmq_management"
AMQP_PORT = 5672


class BrokerError(Exception):
    """RabbitMQ could not be started or asked; the message says what to do."""


def listening(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts TCP connections on `host:port`."""
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class DemoBroker:
    """What the demo did to RabbitMQ, so that exactly that is undone."""

    def __init__(self, console_port: int = 15672, env: Mapping[str, str] | None = None) -> None:
        self.console_port = console_port
        self.env = dict(env) if env is not None else None
        self.started = False  # the demo started the broker: it stops it
        self.enabled_console = False  # the demo enabled the plugin: it disables it

    def _run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        try:
            return subprocess.run(argv, env=self.env, capture_output=True, text=True,
                                  timeout=timeout, check=False, start_new_session=True)
        except FileNotFoundError as error:
            raise BrokerError(f"{argv[0]} is not installed: run ./scripts/ensure-services.sh "
                              "--install-only") from error
        except subprocess.TimeoutExpired as error:
            raise BrokerError(f"`{' '.join(argv)}` did not finish in {timeout:.0f} s") from error

    def ensure_running(self) -> str | None:
        """Start RabbitMQ unless it listens on 127.0.0.1:5672; says so when it does.
        Raises `BrokerError` when it does not come up."""
        if listening(AMQP_PORT):
            return None
        started = self._run("rabbitmq-server", "-detached")
        if started.returncode:
            raise BrokerError(f"rabbitmq-server -detached failed: {_said(started)}")
        self.started = True
        deadline = time.monotonic() + 120
        while self._run("rabbitmqctl", "-q", "await_startup").returncode:
            if time.monotonic() > deadline:
                raise BrokerError("RabbitMQ did not start within 120 s: see "
                                  "/var/log/rabbitmq/")
            time.sleep(1)
        return "started RabbitMQ (rabbitmq-server -detached); the demo stops it at the end"

    def open_console(self) -> str:
        """Turn the management plugin on, its listener on loopback only, unless it is
        on already (then it is left as it is). Returns what was done, for the user."""
        enabled = self.enabled_plugins()
        if enabled is None:
            return "could not ask RabbitMQ which plugins are on: the console stays as it is"
        if MANAGEMENT in enabled:
            return "RabbitMQ's management console was already on: left as it is"
        # The address is set in the running node only, so it lasts while the plugin
        # runs: the demo disables the plugin at the end rather than leave it enabled
        # for a restart that would listen on every interface.
        bound = self._run("rabbitmqctl", "-q", "eval",
                          f'application:set_env({MANAGEMENT}, tcp_config, '
                          f'[{{ip, "127.0.0.1"}}, {{port, {self.console_port}}}]).')
        if bound.returncode:
            return f"could not bind the console to loopback ({_said(bound)}): not enabled"
        self.enabled_console = True  # `enable` writes the plugins file even when it fails
        enabled_now = self._run("rabbitmq-plugins", "-q", "enable", MANAGEMENT)
        if enabled_now.returncode:
            return f"could not enable the console: {_said(enabled_now)}"
        return (f"enabled RabbitMQ's management plugin for the demo: console on "
                f"http://127.0.0.1:{self.console_port} (loopback only, guest/guest); the "
                "demo disables it again when it stops")

    def close_console(self) -> str | None:
        """Disable the plugin if the demo enabled it; what was done, or None."""
        if not self.enabled_console:
            return None
        disabled = self._run("rabbitmq-plugins", "-q", "disable", MANAGEMENT)
        if disabled.returncode:
            return (f"could not disable RabbitMQ's management plugin ({_said(disabled)}): "
                    f"run `rabbitmq-plugins disable {MANAGEMENT}`")
        self.enabled_console = False
        return "disabled RabbitMQ's management plugin again, as it was before the demo"

    def enabled_plugins(self) -> set[str] | None:
        """The plugins enabled on the node, or None when it can't be asked."""
        listed = self._run("rabbitmq-plugins", "-q", "list", "--enabled", "--minimal")
        if listed.returncode:
            return None
        return set(listed.stdout.split())

    def delete_queues(self, prefix: str) -> list[str]:
        """Delete every queue named ``<prefix>.…``; the names of those deleted. Raises
        `BrokerError` when the queues can't be listed."""
        listed = self._run("rabbitmqctl", "-q", "list_queues", "--no-table-headers", "name")
        if listed.returncode:
            raise BrokerError(f"could not list the queues ({_said(listed)}): delete those "
                              f"named {prefix}.* by hand")
        names = [name for name in listed.stdout.split() if name.startswith(prefix + ".")]
        return [name for name in names
                if self._run("rabbitmqctl", "-q", "delete_queue", name).returncode == 0]

    def stop_if_started(self) -> str | None:
        """Stop RabbitMQ if the demo started it; what was done, or None."""
        if not self.started:
            return None
        self._run("rabbitmqctl", "-q", "stop")
        self.started = False
        return "stopped RabbitMQ, which the demo had started"


def _said(run: subprocess.CompletedProcess[str]) -> str:
    text = (run.stderr or run.stdout).strip()
    return text.splitlines()[-1] if text else f"exit status {run.returncode}"
