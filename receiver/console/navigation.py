"""The console's main navigation: one entry per top-level page, in order."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    label: str
    endpoint: str  # the page's view, for url_for
    section: str  # its blueprint: the entry is current on every page of it
    also: tuple[str, ...] = ()  # other blueprints whose pages are part of it


NAVIGATION: tuple[NavItem, ...] = (
    NavItem("Projects", "console.projects.index", "console.projects", also=("console.rules",)),
    NavItem("Endpoints", "console.endpoints.index", "console.endpoints"),
    NavItem("Sources", "console.sources.index", "console.sources"),
    NavItem("Replication Jobs", "console.jobs.index", "console.jobs"),
)
