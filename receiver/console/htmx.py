"""Pages and their htmx fragments from the same view.

A page template includes its fragment (``{% include "console/jobs/_table.html" %}``);
an htmx request for the same URL gets the fragment alone. So a page reads well
without JavaScript, and htmx swaps in the part that changed. `render` picks one;
`redirect_to` sends a browser, or htmx, to another page.
"""

from __future__ import annotations

from typing import Any

from flask import make_response, redirect, render_template, request
from werkzeug.wrappers import Response

#: Where error fragments go (the flash area of `console/base.html`).
ALERTS_TARGET = "#console-alerts"


def is_htmx() -> bool:
    """Whether htmx sent this request (not a history restore, which wants the page)."""
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def render(page: str, fragment: str | None = None, *, status: int = 200,
           **context: Any) -> Response:
    """`fragment` for an htmx request when given, else the whole `page`.

    Either way the response varies with ``HX-Request``, so no cache mixes them up.
    """
    template = fragment if fragment is not None and is_htmx() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def redirect_to(location: str) -> Response:
    """A 303 to `location` for a form; for htmx, ``HX-Redirect`` (htmx loads the page)."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location, code=303)


def alert_fragment(html: str, status: int) -> Response:
    """An error for an htmx request, shown in the page's alert area whatever the
    request's own target was."""
    response = make_response(html, status)
    response.headers["HX-Retarget"] = ALERTS_TARGET
    response.headers["HX-Reswap"] = "innerHTML"
    return response
