"""Jobs: for now, the latest jobs (a placeholder for the jobs page), and the
pattern for a fragment that polls while something runs.

The table is a fragment (``console/jobs/_table.html``) that the page includes.
While a job listed is unfinished the fragment carries ``hx-get`` and
``hx-trigger="every 3s"`` and replaces itself (``outerHTML``); once all are
finished it is rendered without them, and the polling stops.
"""

from __future__ import annotations

from flask import Blueprint
from werkzeug.wrappers import Response

from receiver.console.context import store
from receiver.console.htmx import render

blueprint = Blueprint("jobs", __name__, url_prefix="/jobs")

LATEST = 50
POLL_SECONDS = 3


@blueprint.get("/")
def index() -> Response:
    jobs = store().list_jobs(limit=LATEST)
    polling = any(not job.status.finished for job in jobs)
    return render("console/jobs/index.html", "console/jobs/_table.html", jobs=jobs,
                  polling=polling, poll_seconds=POLL_SECONDS)
