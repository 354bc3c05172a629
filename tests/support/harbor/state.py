"""Harbor's own database, in memory: users, robots, projects, members, webhook policies.

No I/O. Permission checks combine the role tables of `rbac` with membership:
anonymous callers and non-members get the public-project reads only, system admins
everything (protocols.md §11.2, §11.4, §11.5).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from tests.support.harbor.rbac import (
    PROJECT_ADMIN,
    PUBLIC_PERMISSIONS,
    REGISTRY_ACTIONS,
    ROLE_PERMISSIONS,
    Permission,
    robot_permissions,
)
from tests.support.harbor.webhooks import Policy, Target

PrincipalKind = Literal["anonymous", "user", "robot"]

PROJECT_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")  # §8.1
ROBOT_PREFIX = "robot$"  # Harbor's default `robot_name_prefix` (§11.5)


class HarborError(Exception):
    """A Harbor API error: HTTP status, Harbor code and message (protocols.md §6, §8.1)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Principal:
    """Who is calling: Harbor's security context."""

    name: str = ""
    kind: PrincipalKind = "anonymous"
    sysadmin: bool = False
    user_id: int = 0

    @property
    def authenticated(self) -> bool:
        return self.kind != "anonymous"


ANONYMOUS = Principal()


@dataclass
class User:
    user_id: int
    name: str
    password: str
    sysadmin: bool
    created: dt.datetime


@dataclass
class Robot:
    robot_id: int
    name: str  # full name, robot$<project>+<name>
    secret: str
    project: str
    permissions: frozenset[Permission]


@dataclass
class Project:
    project_id: int
    name: str
    public: bool
    owner: str
    created: dt.datetime
    members: dict[str, str] = field(default_factory=dict)  # user -> role name


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    """Harbor's JSON time format, e.g. `2025-08-21T06:38:10.123Z`."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class HarborState:
    """Users, robots and projects behind one lock; every method is thread-safe."""

    def __init__(self, admin_password: str) -> None:
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.robots: dict[str, Robot] = {}
        self.projects: dict[str, Project] = {}
        self.only_admin_create_project = False
        self.policies: dict[int, list[Policy]] = {}  # project id -> webhook policies
        self._next_id = {"user": 1, "robot": 1, "project": 1, "policy": 1}
        self._object_ids: dict[tuple[str, ...], int] = {}
        self._repo_created: dict[str, dt.datetime] = {}
        self.add_user("admin", admin_password, sysadmin=True)
        # Every Harbor install starts with the public project `library` (id 1).
        self.create_project("library", public=True, owner="admin")

    def _new_id(self, kind: str) -> int:
        with self.lock:
            value = self._next_id[kind]
            self._next_id[kind] = value + 1
            return value

    # -- accounts --------------------------------------------------------------------

    def add_user(self, name: str, password: str, *, sysadmin: bool = False) -> User:
        with self.lock:
            user = User(self._new_id("user"), name, password, sysadmin, now())
            self.users[name] = user
            return user

    def add_robot(
        self, project: str, name: str, secret: str, permissions: Iterable[Permission]
    ) -> str:
        """Register `robot$<project>+<name>`; KeyError if the project is missing."""
        with self.lock:
            if project not in self.projects:
                raise KeyError(f"no project {project!r} for robot {name!r}")
            full = f"{ROBOT_PREFIX}{project}+{name}"
            perms = robot_permissions(permissions)
            self.robots[full] = Robot(self._new_id("robot"), full, secret, project, perms)
            return full

    def authenticate(self, name: str, secret: str) -> Principal | None:
        """The principal for valid credentials, else None (callers fall back to anonymous)."""
        with self.lock:
            robot = self.robots.get(name)
            if robot is not None:
                return Principal(name, "robot") if robot.secret == secret else None
            user = self.users.get(name)
            if user is None or user.password != secret:
                return None
            return Principal(name, "user", user.sysadmin, user.user_id)

    # -- projects --------------------------------------------------------------------

    def create_project(self, name: str, *, public: bool = False, owner: str = "admin") -> Project:
        """Create a project, its owner as projectAdmin. Raises HarborError 400/409 (§8.1)."""
        if not PROJECT_NAME.match(name) or len(name) > 255:
            raise HarborError(
                400,
                "BAD_REQUEST",
                f"project name is not in lower case or contains illegal characters: {name}",
            )
        with self.lock:
            if name in self.projects:
                raise HarborError(409, "CONFLICT", f"The project named {name} already exists")
            project = Project(self._new_id("project"), name, public, owner, now())
            if owner in self.users and not self.users[owner].sysadmin:
                project.members[owner] = "projectAdmin"
            self.projects[name] = project
            return project

    def project(self, name_or_id: str, *, is_name: bool = False) -> Project | None:
        """Look a project up by name, or by id when the text is all digits (§8.1)."""
        with self.lock:
            if not is_name and name_or_id.isdigit():
                wanted = int(name_or_id)
                return next((p for p in self.projects.values() if p.project_id == wanted), None)
            return self.projects.get(name_or_id)

    def add_member(self, project: str, user: str, role: str) -> None:
        if role not in ROLE_PERMISSIONS:
            raise ValueError(f"unknown role {role!r}")
        with self.lock:
            self.projects[project].members[user] = role

    def role(self, principal: Principal, project: Project) -> str | None:
        if principal.kind != "user":
            return None
        with self.lock:
            return project.members.get(principal.name)

    # -- RBAC ------------------------------------------------------------------------

    def permissions(self, principal: Principal, project: Project) -> frozenset[Permission]:
        """Everything `principal` may do in `project`."""
        if principal.sysadmin:
            return PROJECT_ADMIN
        granted: frozenset[Permission] = PUBLIC_PERMISSIONS if project.public else frozenset()
        if principal.kind == "robot":
            with self.lock:
                robot = self.robots.get(principal.name)
            if robot is not None and robot.project == project.name:
                granted |= robot.permissions
            return granted
        role = self.role(principal, project)
        return granted | ROLE_PERMISSIONS[role] if role else granted

    def can(self, principal: Principal, project: Project, resource: str, action: str) -> bool:
        return (resource, action) in self.permissions(principal, project)

    def registry_actions(self, principal: Principal, project: Project) -> list[str]:
        """Token actions on a project's repositories; `*` when all three (creator.go)."""
        perms = self.permissions(principal, project)
        actions = [a for a in REGISTRY_ACTIONS if ("repository", a) in perms]
        if len(actions) == len(REGISTRY_ACTIONS):
            actions.append("*")
        return actions

    def visible_projects(self, principal: Principal) -> list[Project]:
        """Projects `principal` can list: all for admins, else public plus member ones."""
        with self.lock:
            projects = sorted(self.projects.values(), key=lambda p: p.name)
        return [p for p in projects if principal.sysadmin or p.public or self._is_in(principal, p)]

    def _is_in(self, principal: Principal, project: Project) -> bool:
        if principal.kind == "robot":
            with self.lock:
                robot = self.robots.get(principal.name)
            return robot is not None and robot.project == project.name
        return self.role(principal, project) is not None

    # -- webhook policies (§11.1) ------------------------------------------------------

    def add_policy(
        self,
        project: Project,
        name: str,
        targets: Iterable[Target],
        event_types: Iterable[str],
        creator: str,
    ) -> Policy:
        """Store a webhook policy; HarborError 409 when the name is taken in the project."""
        with self.lock:
            existing = self.policies.setdefault(project.project_id, [])
            if any(p.name == name for p in existing):
                raise HarborError(409, "CONFLICT", f"policy {name} already exists")
            policy = Policy(
                self._new_id("policy"),
                project.project_id,
                name,
                tuple(targets),
                tuple(event_types),
                creator,
                now(),
            )
            existing.append(policy)
            return policy

    def project_policies(self, project: Project) -> list[Policy]:
        with self.lock:
            return list(self.policies.get(project.project_id, []))

    # -- ids and dates Harbor's database would hold ------------------------------------

    def object_id(self, *key: str) -> int:
        """A stable numeric id for a repository, artifact or tag, by its natural key."""
        with self.lock:
            return self._object_ids.setdefault(key, len(self._object_ids) + 1)

    def repository_created(self, name: str) -> dt.datetime:
        """When the fake first saw `name` (Harbor records it on the first push)."""
        with self.lock:
            return self._repo_created.setdefault(name, now())
