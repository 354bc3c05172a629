"""The management API's routes as the app registers them, for tests that cover them all."""

from __future__ import annotations

import re

from flask import Flask

_PARAMETER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def api_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(method, rule, example path) for every route under /api/v1; path parameters
    filled with a name or an id."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = _PARAMETER.sub(lambda m: "1" if m.group(1) == "int" else "mirror", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, rule.rule, path))
    return sorted(found)


def openapi_path(rule: str) -> str:
    return _PARAMETER.sub(lambda m: "{" + m.group(2) + "}", rule)
