"""What a connection test reports: the target, one check, the whole report."""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.store import EndpointKind


@dataclass(frozen=True)
class Target:
    """What to test: an endpoint's connection settings, and a project to test pushes in."""

    url: str
    kind: EndpointKind | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    verify_tls: bool = True
    ca_bundle: str | None = None
    project: str | None = None


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    message: str


@dataclass(frozen=True)
class Report:
    ok: bool
    kind: EndpointKind | None
    checks: list[Check]
    message: str


class Stop(Exception):
    """A check failed that later checks depend on."""


class Checks:
    """The checks so far; `fail(stop=True)` ends the test."""

    def __init__(self) -> None:
        self.items: list[Check] = []

    def ok(self, name: str, message: str) -> None:
        self.items.append(Check(name, True, message))

    def fail(self, name: str, message: str, *, stop: bool = False) -> None:
        self.items.append(Check(name, False, message))
        if stop:
            raise Stop
