"""Shared fixtures: real `docker-registry` processes, a token server, TLS, testcontainers.

Every registry is function-scoped, lives under `tmp_path` and is stopped at teardown;
start-up takes a few tens of milliseconds.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.support.harbor_fixtures import harbor
from tests.support.registry_server import RegistryServer
from tests.support.tls import make_tls_files
from tests.support.token_server import TokenServer

USERNAME = "alice"
PASSWORD = "s3cret"

__all__ = ["harbor"]  # the Harbor fake fixture, for every test
pytest_plugins = ["tests.support.private_brokers", "tests.support.queue_sweep"]

RegistryFactory = Callable[..., RegistryServer]
TokenServerFactory = Callable[..., TokenServer]


@pytest.fixture
def registry_factory(tmp_path: Path) -> Iterator[RegistryFactory]:
    """Start `RegistryServer(tmp_path / "registry-N", **options)`; all stop at teardown."""
    started: list[RegistryServer] = []

    def start(**options: Any) -> RegistryServer:
        server = RegistryServer(tmp_path / f"registry-{len(started)}", **options)
        started.append(server)
        return server.start()

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def token_server_factory(tmp_path: Path) -> Iterator[TokenServerFactory]:
    """Start `TokenServer(tmp_path / "token-N", **options)`; all stop at teardown."""
    started: list[TokenServer] = []

    def start(**options: Any) -> TokenServer:
        server = TokenServer(tmp_path / f"token-{len(started)}", **options)
        started.append(server)
        return server.start()

    yield start
    for server in reversed(started):
        server.stop()


@pytest.fixture
def registry(registry_factory: RegistryFactory) -> RegistryServer:
    """Plain HTTP, no auth, deletion enabled."""
    return registry_factory()


@pytest.fixture
def registry2(registry_factory: RegistryFactory) -> RegistryServer:
    """A second plain registry, e.g. the replication target."""
    return registry_factory()


@pytest.fixture
def htpasswd_registry(registry_factory: RegistryFactory) -> RegistryServer:
    """Basic auth with `.username`/`.password` (alice/s3cret)."""
    return registry_factory(auth="htpasswd", users={USERNAME: PASSWORD})


@pytest.fixture
def token_registry(
    registry_factory: RegistryFactory, token_server_factory: TokenServerFactory
) -> RegistryServer:
    """Bearer token auth; `.token_server` grants alice/s3cret every action."""
    token_server = token_server_factory(users={USERNAME: PASSWORD})
    return registry_factory(auth="token", token_server=token_server)


@pytest.fixture
def tls_registry(registry_factory: RegistryFactory, tmp_path: Path) -> RegistryServer:
    """HTTPS with a self-signed CA at `.ca_path`; no auth."""
    tls = make_tls_files(tmp_path / "tls")
    return registry_factory(tls=(tls.server_cert, tls.server_key), ca_path=tls.ca_cert)


@pytest.fixture
def nodelete_registry(registry_factory: RegistryFactory) -> RegistryServer:
    """Plain HTTP with `storage.delete.enabled: false`: every DELETE gets 405."""
    return registry_factory(delete_enabled=False)


def _answers_ping(sock: socket.socket) -> bool:
    sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
    return b" 200 " in sock.recv(256)


def docker_engine_reachable(timeout: float = 0.5) -> bool:
    """True if a Docker engine answers `/_ping` on DOCKER_HOST or the default socket."""
    url = urlsplit(os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock"))
    try:
        if url.scheme == "unix":
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout)
                sock.connect(url.path)
                return _answers_ping(sock)
        if url.scheme in ("tcp", "http") and url.hostname:
            address = (url.hostname, url.port or 2375)
            with socket.create_connection(address, timeout=timeout) as sock:
                return _answers_ping(sock)
    except OSError:
        return False
    return False


@pytest.fixture
def docker_registry_container() -> Iterator[str]:
    """Base URL of a testcontainers `registry:2`; skips when no Docker engine answers.

    Uses the generic container class: testcontainers' registry module needs `bcrypt`.
    """
    if not docker_engine_reachable():
        pytest.skip("no Docker engine reachable: testcontainers path skipped")
    from testcontainers.core.container import DockerContainer

    with DockerContainer("registry:2").with_exposed_ports(5000) as container:
        base = f"http://{container.get_container_host_ip()}:{container.get_exposed_port(5000)}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/v2/", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"registry:2 container did not answer at {base}")
            time.sleep(0.05)
        yield base
