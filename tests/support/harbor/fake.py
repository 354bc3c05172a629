"""`HarborFake`: Harbor's REST API and token service in front of a real registry.

One threaded WSGI server on a free 127.0.0.1 port serves `/api/v2.0/...`,
`/service/token` and `/v2/...`, like Harbor's single external endpoint. Behind it
runs a real `docker-registry` with token auth whose realm is the fake's own
`/service/token`; tokens are signed with a `TokenServer` key the registry trusts.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from tests.support.harbor.app import create_app
from tests.support.harbor.backend import RegistryBackend
from tests.support.harbor.context import Services
from tests.support.harbor.rbac import Permission
from tests.support.harbor.state import HarborState, Project
from tests.support.harbor.tokens import HarborSigner
from tests.support.harbor.webhooks import (
    Delivery,
    Notifier,
    PayloadFormat,
    Policy,
    Target,
)
from tests.support.registry_server import RegistryServer
from tests.support.token_server import Access

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

ADMIN_USER = "admin"
DEFAULT_ADMIN_PASSWORD = "Harbor12345"
DEFAULT_EVENT_TYPES = ("PUSH_ARTIFACT", "DELETE_ARTIFACT")


class _QuietHandler(WSGIRequestHandler):
    """No access log lines in the test output; errors are still logged."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class HarborFake:
    """A Harbor stand-in on `127.0.0.1`; use as a context manager or `start()`/`stop()`.

    `webhook_backoff` is the wait before the 2nd, 3rd, ... delivery try (Harbor waits
    minutes); `webhook_timeout` and `webhook_max_tries` default to Harbor's 3 s and 3.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        admin_password: str = DEFAULT_ADMIN_PASSWORD,
        webhook_backoff: Sequence[float] = (0.05, 0.1),
        webhook_timeout: float = 3.0,
        webhook_max_tries: int = 3,
    ) -> None:
        self.workdir = workdir
        self.state = HarborState(admin_password)
        self.notifier = Notifier(
            timeout=webhook_timeout, max_tries=webhook_max_tries, backoff=webhook_backoff
        )
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._registry: RegistryServer | None = None
        self._backend: RegistryBackend | None = None
        self._signer: HarborSigner | None = None
        self._app: Flask | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> HarborFake:
        """Bind the port, start the registry with the fake as its token realm, serve.

        Raises RegistryStartError if the registry does not come up.
        """
        if self._server is not None:
            raise RuntimeError("Harbor fake already running")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.notifier.resume()
        self._server = make_server(
            "127.0.0.1", 0, self._dispatch, threaded=True, request_handler=_QuietHandler
        )
        try:
            self._start_backend()
        except BaseException:
            self.stop()
            raise
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="harbor-fake",
            daemon=True,
        )
        self._thread.start()
        return self

    def _start_backend(self) -> None:
        self._signer = HarborSigner(self.workdir / "token", realm=f"{self.url}/service/token")
        self._registry = RegistryServer(
            self.workdir / "registry", auth="token", token_server=self._signer
        ).start()
        self._backend = RegistryBackend(self._registry, self._signer)
        self._app = create_app(
            Services(self.state, self._backend, self.notifier, self._signer, self.url)
        )

    def _dispatch(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        """The WSGI entry: the app is built after the port is bound (the realm needs it)."""
        if self._app is None:
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return []
        return self._app(environ, start_response)

    def stop(self) -> None:
        """Stop deliveries, the server and the registry; safe to call twice."""
        self.notifier.stop()
        server, self._server = self._server, None
        if server is not None:
            if self._thread is not None:
                server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._backend is not None:
            self._backend.close()
            self._backend = None
        if self._registry is not None:
            self._registry.stop()

    def __enter__(self) -> HarborFake:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------

    @property
    def host(self) -> str:
        """`127.0.0.1:PORT`, as in image references (`<host>/<project>/<repo>`)."""
        if self._server is None:
            raise RuntimeError("Harbor fake is not running")
        return f"127.0.0.1:{self._server.server_port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def registry(self) -> RegistryServer:
        """The real registry behind the fake (its `/v2/` wants the fake's tokens)."""
        if self._registry is None:
            raise RuntimeError("Harbor fake is not running")
        return self._registry

    # -- set-up, bypassing the API ---------------------------------------------------

    def add_user(self, name: str, password: str, sysadmin: bool = False) -> None:
        self.state.add_user(name, password, sysadmin=sysadmin)

    def add_robot(
        self, project: str, name: str, secret: str, permissions: Iterable[Permission]
    ) -> str:
        """A project robot with `(resource, action)` permissions; returns `robot$<p>+<name>`."""
        return self.state.add_robot(project, name, secret, permissions)

    def add_member(self, project: str, user: str, role: str) -> None:
        """Role: projectAdmin, maintainer, developer, guest or limitedGuest."""
        self.state.add_member(project, user, role)

    def create_project(self, name: str, public: bool = False, owner: str = ADMIN_USER) -> Project:
        return self.state.create_project(name, public=public, owner=owner)

    def project(self, name: str) -> Project | None:
        return self.state.project(name, is_name=True)

    @property
    def only_admin_create_project(self) -> bool:
        return self.state.only_admin_create_project

    @only_admin_create_project.setter
    def only_admin_create_project(self, value: bool) -> None:
        self.state.only_admin_create_project = value

    def mint_token(self, subject: str, access: Access) -> str:
        """A registry token signed like the fake's own, bypassing Harbor's grant."""
        if self._signer is None:
            raise RuntimeError("Harbor fake is not running")
        return self._signer.mint_token(subject, access)

    # -- webhooks --------------------------------------------------------------------

    def add_webhook(
        self,
        project: str,
        url: str,
        auth_header: str = "",
        payload_format: PayloadFormat = "Default",
        event_types: Sequence[str] = DEFAULT_EVENT_TYPES,
        name: str | None = None,
    ) -> Policy:
        """Attach a webhook policy with one http target to `project` (KeyError if missing)."""
        found = self.state.projects[project]
        target = Target(url, auth_header, payload_format)
        policy_name = name or f"webhook-{len(self.state.project_policies(found)) + 1}"
        return self.state.add_policy(found, policy_name, [target], event_types, ADMIN_USER)

    @property
    def deliveries(self) -> list[Delivery]:
        """Every delivery attempt so far, in the order they finished."""
        return self.notifier.deliveries

    def wait_for_deliveries(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        """Block until `count` attempts are recorded. Raises TimeoutError."""
        return self.notifier.wait_for(count, timeout)
