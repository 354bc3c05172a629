"""The management API under ``/api/v1``. (Being built: issue #4.)"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")
