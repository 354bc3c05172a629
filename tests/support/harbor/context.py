"""What every handler of the fake needs, attached to the Flask app at creation."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import cast

from flask import current_app

from tests.support.harbor.backend import RegistryBackend
from tests.support.harbor.state import HarborState, Project
from tests.support.harbor.webhooks import Event, Notifier, repository_info, resource_url
from tests.support.token_server import TokenServer

EXTENSION = "harbor_fake"


@dataclass
class Services:
    """The fake's collaborators and its external URL (`http://127.0.0.1:PORT`)."""

    state: HarborState
    backend: RegistryBackend
    notifier: Notifier
    signer: TokenServer
    url: str
    _repo_locks: dict[str, threading.Lock] = field(default_factory=dict)
    _locks_guard: threading.Lock = field(default_factory=threading.Lock)

    @property
    def host(self) -> str:
        """`host:port` without scheme, as in `resource_url` (Harbor's `ExtURL`)."""
        return self.url.split("://", 1)[1]

    def repo_lock(self, repo: str) -> threading.Lock:
        """Serialises the fake's own multi-step changes to one repository."""
        with self._locks_guard:
            return self._repo_locks.setdefault(repo, threading.Lock())

    def notify(
        self,
        project: Project,
        repo: str,
        event_type: str,
        digest: str,
        tag: str,
        operator: str,
        request_id: str,
    ) -> None:
        """Fire an artifact event at the project's webhook policies (protocols.md §11.1)."""
        event = Event(
            type=event_type,
            occur_at=int(time.time()),
            operator=operator,
            digest=digest,
            tag=tag,
            resource_url=resource_url(self.host, repo, digest, tag),
            repository=repository_info(
                repo, public=project.public, created=self.state.repository_created(repo)
            ),
            request_id=request_id,
        )
        self.notifier.fire(event, self.state.project_policies(project))


def services() -> Services:
    return cast(Services, current_app.extensions[EXTENSION])
