"""The headers on every console response.

The Content-Security-Policy allows scripts and styles from the receiver itself
only: no inline script, no inline ``<style>`` or ``style=""`` attribute, no
``eval`` (htmx is configured for that: ``allowEval: false``, no indicator styles
of its own). Images may also be ``data:`` URIs, which Pico's stylesheet uses for
its icons. Pages are never framed, never cached, and send their address to no
other site.
"""

from __future__ import annotations

from flask import Response

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
))

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def add_security_headers(response: Response) -> Response:
    """Every console response gets `HEADERS`; pages (not static files) are not cached:
    they hold the CSRF token and the store's data."""
    response.headers.update(HEADERS)
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response
