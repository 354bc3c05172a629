"""The requests a test registry served, read from its access log.

Distribution writes one combined-log line per request once it has answered it;
`served` first sends a marker request and waits for its line, so every request
answered before the call is in the list.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from tests.support.registry_server import RegistryServer

_LINE = re.compile(r'\] "(?P<method>[A-Z]+) (?P<target>\S+) HTTP/[\d.]+" (?P<status>\d{3}) ')
_WAIT = 10.0


@dataclass(frozen=True)
class Served:
    """One request as the registry logged it: method, path, query, status."""

    method: str
    path: str
    query: str
    status: int


def served(server: RegistryServer) -> list[Served]:
    """Every request `server` answered so far, in the order it logged them."""
    marker = f"/v2/served-marker-{uuid.uuid4().hex}/tags/list"
    with requests.Session() as session:
        session.trust_env = False
        verify: str | bool = str(server.ca_path) if server.ca_path else True
        session.get(f"{server.url}{marker}", timeout=10, verify=verify)
    deadline = time.monotonic() + _WAIT
    while True:
        found = _parse(server.log_path.read_text(errors="replace"))
        if any(request.path == marker for request in found):
            return [request for request in found if not request.path.startswith(
                "/v2/served-marker-")]
        if time.monotonic() > deadline:
            raise AssertionError(f"{server.url} never logged {marker}")
        time.sleep(0.02)


def _parse(text: str) -> list[Served]:
    found = []
    for match in _LINE.finditer(text):
        target = urlsplit(match["target"])
        found.append(Served(match["method"], target.path, target.query, int(match["status"])))
    return found
