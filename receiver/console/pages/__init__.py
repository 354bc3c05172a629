"""The console's pages, one blueprint each, nested in ``console`` in this order.

A new page: a module here with ``blueprint = Blueprint("<page>", __name__,
url_prefix="/<page>")`` (its views are then ``console.<page>.<view>``, signed-in
only, CSRF-checked, with the security headers and error pages), its templates
under ``templates/console/<page>/`` extending ``console/base.html`` (blocks
``title``, ``head``, ``content``), its blueprint added to `PAGES`, and for a
top-level page an entry in `receiver.console.navigation.NAVIGATION`.

- Data: `receiver.console.context` (the app's services through ``current_app``).
- Views answer with `receiver.console.htmx.render` (page, or its fragment for
  htmx) and `redirect_to` (303, or ``HX-Redirect`` for htmx).
- Forms: ``{{ csrf_field() }}`` first, the macros of ``console/macros/forms.html``
  with a `receiver.console.forms.FormState`; on POST, `form_values` to the API's
  shape, the schema (through the services) validates, and a `ValidationError`
  becomes ``FormState.from_error(values, error)``, re-rendered with status 400.
- Polling: see `receiver.console.pages.jobs`.
"""

from __future__ import annotations

from flask import Blueprint

from receiver.console.pages import endpoints, jobs, projects, rules, sources

PAGES: tuple[Blueprint, ...] = (
    projects.blueprint,
    rules.blueprint,
    endpoints.blueprint,
    sources.blueprint,
    jobs.blueprint,
)
