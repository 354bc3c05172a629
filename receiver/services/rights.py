"""Push and delete rights, the last checks of a connection test.

Plain registries: a blob upload opened and cancelled in a throwaway repository
(nothing is stored, no event fires), and a DELETE of a manifest that cannot
exist (404: deletes enabled; 405: disabled). Harbor: the account's permissions
in the project (protocols.md §11.4 step 4).
"""

from __future__ import annotations

from collections.abc import Callable

from receiver.services.checks import Checks, Target
from shared.errors import (
    AuthenticationError,
    CrossdockError,
    PermissionDeniedError,
    UnsupportedOperationError,
)
from shared.registry import RegistryClient, harbor

PROBE_REPOSITORY = "crossdock-connection-test"
MISSING_DIGEST = "sha256:" + "0" * 64


def registry_rights(client: RegistryClient, target: Target, checks: Checks) -> None:
    """Push and delete, tried in ``<project>/crossdock-connection-test``."""
    repository = f"{target.project}/{PROBE_REPOSITORY}" if target.project else PROBE_REPOSITORY

    def push() -> str:
        session = client.start_upload(repository)
        if session is not None:
            client.cancel_upload(repository, session)
        return f"a blob upload into {repository} was accepted (and cancelled)"

    def delete() -> str:
        client.delete_manifest(repository, MISSING_DIGEST)
        return "deletes are enabled (a DELETE of a missing manifest answered 404)"

    _right(checks, "push", push, {
        UnsupportedOperationError: "the registry refuses writes (read-only?)",
    }, f"may not push into {repository}")
    _right(checks, "delete", delete, {
        UnsupportedOperationError: "deletes are disabled on this registry: delete jobs will "
                                   "fail (enable storage.delete, or turn off replicate_deletes)",
    }, f"may not delete in {repository}")


def _right(checks: Checks, name: str, probe: Callable[[], str],
           known: dict[type[CrossdockError], str], denied: str) -> None:
    try:
        checks.ok(name, probe())
    except (AuthenticationError, PermissionDeniedError) as exc:
        checks.fail(name, f"the account {denied}: {exc}")
    except CrossdockError as exc:
        reason = next((text for kind, text in known.items() if isinstance(exc, kind)), None)
        checks.fail(name, f"{reason}: {exc}" if reason else f"{name} check failed: {exc}")


def harbor_rights(client: RegistryClient, target: Target, checks: Checks) -> None:
    """Push and delete as Harbor grants them in the project (needs its numeric id)."""
    project = target.project
    if not project:
        checks.ok("push", "not checked: give a project to check the account's rights in it")
        return
    who = target.username or "anonymous"
    try:
        project_id = None
        if harbor.project_exists(client.transport, project):
            project_id = harbor.project_id(client.transport, project)
        if project_id is None:
            checks.ok("push", f"project {project} does not exist yet: crossdock creates it on "
                              "the first push (the account needs the right to create projects)")
            return
        rights = harbor.current_permissions(client.transport, project_id)
    except PermissionDeniedError:
        checks.fail("push", f"project {project} is not visible to {who} (403): make the "
                            "account a member of it (developer or above)")
        return
    except CrossdockError as exc:
        checks.fail("push", f"could not read {who}'s permissions in {project}: {exc}")
        return
    if ("repository", "push") in rights:
        checks.ok("push", f"{who} may push into project {project} (id {project_id})")
    else:
        checks.fail("push", f"{who} may not push into project {project}: Harbor grants no "
                            "repository push there (make the account developer or above)")
    if {("artifact", "delete"), ("tag", "delete")} <= rights:
        checks.ok("delete", f"{who} may delete artifacts and tags in {project}")
    else:
        checks.fail("delete", f"{who} may not delete artifacts and tags in {project}: "
                              "delete jobs will fail (needs maintainer or above)")
