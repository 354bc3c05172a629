"""A RabbitMQ node of a test's own (protocols.md §12): its own name, ports, cookie and
directories, so a test may freeze, alarm or kill it without touching the machine's
shared broker on 5672. Stopped by its pid."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

BOOT_SECONDS = 60
# Debian's /usr/sbin wrappers switch to the rabbitmq user and drop the environment.
BIN = Path("/usr/lib/rabbitmq/bin")


def free_ports(count: int) -> list[int]:
    """`count` distinct ports nobody listens on right now."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


class RabbitNode:
    """One private node under `base`; `start()` boots it in the background, `wait()`
    until it runs, `stop()` kills it by pid and forgets its data."""

    def __init__(self, base: Path, cookie: str | None = None) -> None:
        self.base = base
        self.name = f"crossdock-test-{uuid.uuid4().hex[:8]}@localhost"
        self.port, self.dist_port, ctl_port = free_ports(3)
        self.cookie = cookie or uuid.uuid4().hex
        self.pid: int | None = None
        self._ctl_ports = (ctl_port, ctl_port)
        self._booting: subprocess.Popen[bytes] | None = None

    def url(self, query: str = "") -> str:
        suffix = f"?{query}" if query else ""
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F{suffix}"

    @property
    def env(self) -> dict[str, str]:
        home = self.base / "home"
        return {
            **os.environ,
            "HOME": str(home),
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CTL_DIST_PORT_MIN": str(self._ctl_ports[0]),
            "RABBITMQ_CTL_DIST_PORT_MAX": str(self._ctl_ports[1]),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }

    def start(self) -> RabbitNode:
        """Boot in the background (returns at once; `wait()` for it)."""
        home = self.base / "home"
        home.mkdir(parents=True, exist_ok=True)
        cookie = home / ".erlang.cookie"
        cookie.write_text(self.cookie)
        cookie.chmod(0o400)
        (self.base / "rabbitmq-env.conf").write_text("")
        (self.base / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\n")
        (self.base / "enabled_plugins").write_text("[].\n")
        self._booting = subprocess.Popen(
            [str(BIN / "rabbitmq-server"), "-detached"], env=self.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def wait(self, timeout: float = BOOT_SECONDS) -> RabbitNode:
        """Until the node runs; learns its pid. Raises `RuntimeError` if it does not boot."""
        deadline = time.monotonic() + timeout
        if self._booting is not None:
            self._booting.wait(timeout)
            self._booting = None
        while True:  # await_startup fails at once while the node is not registered yet
            try:
                self.ctl("await_startup", timeout=max(1.0, deadline - time.monotonic()))
                break
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        self.pid = int(self.ctl("eval", "os:getpid().").strip().strip('"'))
        return self

    def ctl(self, *args: str, timeout: float = 30) -> str:
        run = subprocess.run([str(BIN / "rabbitmqctl"), "-n", self.name, *args], env=self.env,
                             capture_output=True, text=True, timeout=timeout, check=False)
        if run.returncode:
            raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {run.stderr or run.stdout}")
        return run.stdout

    def freeze(self) -> None:
        """SIGSTOP: the node still accepts TCP (the kernel does) but says nothing."""
        assert self.pid is not None
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.pid is not None
        os.kill(self.pid, signal.SIGCONT)

    def stop(self) -> None:
        """Kill the node by its pid (a frozen one too) and wait until it is gone."""
        if self._booting is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._booting.wait(BOOT_SECONDS)
            self._booting = None
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.pid = int(self.ctl("eval", "os:getpid().").strip().strip('"'))
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
            os.kill(pid, signal.SIGCONT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
