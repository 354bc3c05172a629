"""The management API under ``/api/v1``: one blueprint per feature, nested here.

Every route needs ``Authorization: Bearer <admin_token>``: the check runs before
any view of the nested blueprints. Inputs go through marshmallow schemas that
refuse unknown fields; bad input is a 4xx naming the fields, never a 500.
"""

from __future__ import annotations

from flask import Blueprint

from receiver.api import (
    endpoints,
    executions,
    jobs,
    links,
    openapi,
    pairs,
    ping,
    rules,
    runs,
    sources,
)
from receiver.auth import require_admin

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")


@blueprint.before_request
@require_admin
def _admin_only() -> None:
    """Passes, or raises `Unauthorized` (401)."""


for _feature in (ping, endpoints, sources, links, rules, runs, pairs, executions, jobs,
                 openapi):
    blueprint.register_blueprint(_feature.blueprint)
