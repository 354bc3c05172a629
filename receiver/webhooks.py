"""Registry webhooks: ``POST /webhooks/<source>``. (Being built: issue #4.)"""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("webhooks", __name__)
