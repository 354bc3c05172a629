"""Test Connection: can crossdock reach this registry, log in, and push?

Checks run in order and stop at the first one later checks depend on:
connection, TLS, the ``/v2/`` API, the kind (Harbor answers ``Pong``,
protocols.md §11.4), credentials, then push and delete rights (`rights`).
Every answer is a `Report`; nothing here raises. Short timeouts: a registry
that does not answer within seconds fails the test.
"""

from __future__ import annotations

import os

import structlog

from receiver.services.checks import Check, Checks, Report, Stop, Target
from receiver.services.rights import harbor_rights, registry_rights
from shared.errors import AuthenticationError, CrossdockError, RegistryUnavailableError, TLSError
from shared.registry import RegistryClient, RegistryConfig, harbor
from shared.store import EndpointKind

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 5.0
#: Reported, but not needed for `Report.ok`: replication works without deletes.
ADVISORY = frozenset({"delete"})

log = structlog.get_logger("crossdock.receiver")


def check_connection(target: Target) -> Report:
    """Run the checks against `target`. Never raises."""
    checks = Checks()
    kind = target.kind
    anonymous = _client(target, credentials=False)
    client = _client(target, credentials=True) if target.username else anonymous
    try:
        _tls_file(target, checks)
        login_required = _reach(anonymous, target, checks)
        kind = _kind(anonymous, target, checks)
        _login(client, target, login_required, checks)
        if kind == EndpointKind.HARBOR:
            harbor_rights(client, target, checks)
        else:
            registry_rights(client, target, checks)
    except Stop:
        pass
    except Exception as exc:  # a diagnostics call answers, whatever broke
        log.exception("connection test failed unexpectedly", url=target.url)
        checks.items.append(Check("unexpected", False, f"the test itself failed: {exc!r}"))
    finally:
        anonymous.close()
        client.close()
    return _report(kind, checks.items)


def _report(kind: EndpointKind | None, checks: list[Check]) -> Report:
    failed = [c for c in checks if not c.ok and c.name not in ADVISORY]
    if failed:
        return Report(False, kind, checks, failed[0].message)
    push = next((c.message for c in checks if c.name == "push"), "")
    return Report(True, kind, checks, f"ready: {push}" if push else "ready")


def _client(target: Target, *, credentials: bool) -> RegistryClient:
    return RegistryClient(RegistryConfig(
        url=target.url,
        username=target.username if credentials else None,
        password=target.password if credentials else None,
        verify_tls=target.verify_tls,
        ca_bundle=target.ca_bundle,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        pool_size=2,
    ))


def _tls_file(target: Target, checks: Checks) -> None:
    bundle = target.ca_bundle
    if target.verify_tls and bundle and not os.access(bundle, os.R_OK):
        checks.fail("tls", f"the CA bundle {bundle} is not a readable file here", stop=True)


def _reach(client: RegistryClient, target: Target, checks: Checks) -> bool:
    """Connection, TLS and ``GET /v2/`` without credentials; True when a login is required."""
    host = client.host
    login_required = False
    try:
        client.ping()
    except AuthenticationError:
        login_required = True
    except TLSError as exc:
        checks.ok("connection", f"connected to {host}")
        checks.fail("tls", _tls_message(exc), stop=True)
    except RegistryUnavailableError as exc:
        if exc.status is None:
            checks.fail("connection", f"cannot connect to {host}: {exc}", stop=True)
        checks.ok("connection", f"connected to {host}")
        checks.fail("registry", f"the registry is not healthy: {exc}", stop=True)
    except CrossdockError as exc:
        checks.ok("connection", f"connected to {host}")
        checks.fail("registry", f"{target.url}/v2/ is not a registry API: {exc}", stop=True)
    checks.ok("connection", f"connected to {host}")
    if target.url.startswith("https://"):
        if not target.verify_tls:
            checks.ok("tls", "certificate NOT verified (verify_tls is off)")
        else:
            checks.ok("tls", "certificate verified with "
                      + (f"CA bundle {target.ca_bundle}" if target.ca_bundle else "system CAs"))
    checks.ok("registry", "GET /v2/ answered: an OCI distribution API"
              + (" (login required)" if login_required else " (anonymous access allowed)"))
    return login_required


def _tls_message(exc: TLSError) -> str:
    text = str(exc)
    if exc.status is not None:  # the server answered plain HTTP: it wants https (says so)
        return text
    if "wrong version number" in text.lower():
        return f"{text}: the server does not speak TLS there; use an http:// URL"
    return (f"{text}. Set ca_bundle to the PEM file of the CA that signed the registry's "
            "certificate (or, at your own risk, verify_tls to false)")


def _kind(client: RegistryClient, target: Target, checks: Checks) -> EndpointKind:
    try:
        detected = EndpointKind.HARBOR if harbor.is_harbor(client.transport) else (
            EndpointKind.REGISTRY)
    except CrossdockError as exc:
        detected = EndpointKind.REGISTRY
        checks.ok("kind", f"no Harbor API found ({exc}): a plain OCI registry")
        return detected
    found = ("Harbor (GET /api/v2.0/ping answered Pong)" if detected == EndpointKind.HARBOR
             else "a plain OCI registry (no Harbor API)")
    if target.kind is not None and target.kind != detected:
        checks.fail("kind", f"configured as {target.kind.value}, but this is {found}: "
                            f"set kind to {detected.value}")
    else:
        checks.ok("kind", found)
    return detected


def _login(client: RegistryClient, target: Target, required: bool, checks: Checks) -> None:
    if not target.username:
        if required:
            checks.fail("credentials", "the registry requires a login: set username and "
                                       "password", stop=True)
        checks.ok("credentials", "anonymous access works (no username given)")
        return
    try:
        client.ping()
    except AuthenticationError as exc:
        checks.fail("credentials", f"the registry refused the credentials of "
                                   f"{target.username}: {exc}", stop=True)
    except CrossdockError as exc:
        checks.fail("credentials", f"logging in as {target.username} failed: {exc}", stop=True)
    checks.ok("credentials", f"accepted for {target.username}" + (
        "" if required else " (the registry needs no login)"))


