"""Harbor's project roles and what each may do (protocols.md §11.2-§11.5).

The repository, artifact, tag, member, robot and webhook rows of Harbor's
`src/common/rbac/project/rbac_role.go`; pure data, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

Permission = tuple[str, str]  # (resource, action), e.g. ("repository", "push")
SELF = ""  # Harbor's `ResourceSelf`: the project itself
ROLE_IDS = {"projectAdmin": 1, "developer": 2, "guest": 3, "maintainer": 4, "limitedGuest": 5}

_GUEST: frozenset[Permission] = frozenset(
    {
        (SELF, "read"),
        ("repository", "read"),
        ("repository", "list"),
        ("repository", "pull"),
        ("artifact", "read"),
        ("artifact", "list"),
        ("tag", "list"),
        ("member", "read"),
        ("member", "list"),
        ("robot", "read"),
        ("robot", "list"),
    }
)
_DEVELOPER = _GUEST | {
    ("repository", "create"),
    ("repository", "update"),
    ("repository", "push"),
    ("artifact", "create"),
    ("tag", "create"),
}
_MAINTAINER = _DEVELOPER | {
    ("repository", "delete"),
    ("artifact", "delete"),
    ("tag", "delete"),
    ("notification-policy", "list"),
}
PROJECT_ADMIN = _MAINTAINER | {
    ("member", "create"),
    ("member", "update"),
    ("member", "delete"),
    ("notification-policy", "create"),
    ("notification-policy", "read"),
    ("notification-policy", "update"),
    ("notification-policy", "delete"),
    ("robot", "create"),
    ("robot", "update"),
    ("robot", "delete"),
}
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "projectAdmin": PROJECT_ADMIN,
    "maintainer": _MAINTAINER,
    "developer": _DEVELOPER,
    "guest": _GUEST,
    "limitedGuest": frozenset(
        {
            (SELF, "read"),
            ("repository", "list"),
            ("repository", "pull"),
            ("artifact", "read"),
            ("artifact", "list"),
            ("tag", "list"),
        }
    ),
}
# What anyone, anonymous included, may do in a public project.
PUBLIC_PERMISSIONS: frozenset[Permission] = frozenset(
    {
        (SELF, "read"),
        ("repository", "read"),
        ("repository", "list"),
        ("repository", "pull"),
        ("artifact", "read"),
        ("artifact", "list"),
        ("tag", "list"),
    }
)
# The token service maps these repository actions to registry scopes (creator.go).
REGISTRY_ACTIONS = ("pull", "push", "delete")


def robot_permissions(permissions: Iterable[Permission]) -> frozenset[Permission]:
    """A robot's access list; push implies pull for project robots (§11.5)."""
    granted = set(permissions)
    if ("repository", "push") in granted:
        granted.add(("repository", "pull"))
    return frozenset(granted)
