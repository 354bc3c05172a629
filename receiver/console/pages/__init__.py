"""The console's pages, one blueprint each, nested in ``console`` in this order.

A new page: a module here with ``blueprint = Blueprint("<page>", __name__,
url_prefix="/<page>")``, its templates under ``templates/console/<page>/``
extending ``console/base.html``, its blueprint added to `PAGES`, and for a
top-level page an entry in `receiver.console.navigation.NAVIGATION`.

The four below are placeholders for now: read-only lists straight from the store.
"""

from __future__ import annotations

from flask import Blueprint

from receiver.console.pages import endpoints, jobs, projects, sources

PAGES: tuple[Blueprint, ...] = (
    projects.blueprint,
    endpoints.blueprint,
    sources.blueprint,
    jobs.blueprint,
)
