"""Build crossdock's own clients for the test bed's registries."""

from __future__ import annotations

from shared.registry import RegistryClient, RegistryConfig
from tests.support.registry_server import RegistryServer


def client_for(
    server: RegistryServer, *, anonymous: bool = False, **overrides: object
) -> RegistryClient:
    """A `RegistryClient` with the server's credentials and CA bundle."""
    username = password = None
    if server.auth and not anonymous:
        username, password = server.username, server.password
    options: dict[str, object] = {
        "url": server.url,
        "username": username,
        "password": password,
        "ca_bundle": str(server.ca_path) if server.ca_path else None,
    }
    options.update(overrides)
    return RegistryClient(RegistryConfig(**options))  # type: ignore[arg-type]
