"""Registry webhooks: ``POST /webhooks/<source>``.

Answers (DESIGN invariant 1; Distribution retries anything but 2xx/3xx forever):

- 404 unknown source; 401 missing or wrong secret (``Authorization: Bearer <secret>``
  or the bare secret, as Distribution's ``headers`` or Harbor's ``auth_header`` send
  it); 413 body over ``max_body_bytes``; 400 a body that is not JSON;
- 503 (with ``Retry-After`` and a ``reason``: ``blocked``, ``unreachable``,
  ``timeout``, ``store_busy``) when the store or RabbitMQ can't take the jobs
  within ``webhook_deadline_seconds``, or RabbitMQ is known to be blocked (then
  before anything is recorded): the registry sends the event again, so the jobs
  recorded for the request are deleted (failed, if even that fails);
- otherwise ``{"jobs": [ids], "ignored": n, "rejected": [{reason, detail}]}``:
  202 when jobs were recorded and confirmed by RabbitMQ, 200 when nothing was to
  be done. Events crossdock won't act on (bad names, unknown kinds) are answered
  2xx too, each logged and counted as rejected. A rule deleted while its event is
  in flight gets no job: the event is ignored (``no_rule``), not answered 503.

Metrics: ``received`` counts every event of every delivery (a retried delivery
again); ``accepted``, ``ignored{reason}``, ``rejected{reason}`` and ``jobs{action}``
count only what was answered 2xx, so a 503 and its retry count once;
``webhooks_unavailable{reason}`` counts the 503s.
"""

from __future__ import annotations

from typing import Any

import structlog
from flask import Blueprint, Response, jsonify, request
from werkzeug.exceptions import BadRequest, NotFound, Unauthorized

from receiver.auth import bearer_matches
from receiver.bodies import read_body
from receiver.echoes import EchoOrigins
from receiver.errors import unavailable_reason, unavailable_response
from receiver.intake import Plan, plan_jobs
from receiver.notifications import Notification, NotJSONError, parse_notification
from receiver.services import Services, current_services
from shared.broker import BrokerError
from shared.deadline import Deadline
from shared.dispatch import OnFailure, dispatch
from shared.errors import CrossdockError, TransientError
from shared.store import JobRecord, RecordNotFoundError, SourceRecord

blueprint = Blueprint("webhooks", __name__)
log = structlog.get_logger("crossdock.receiver")


@blueprint.post("/webhooks/<source_name>")
def receive(source_name: str) -> Response:
    found = current_services()
    deadline = Deadline.after(found.settings.webhook_deadline_seconds)
    try:
        source = _authenticated_source(found, source_name)
    except TransientError as exc:
        return _unavailable(found, None, unavailable_reason(exc), exc)
    structlog.contextvars.bind_contextvars(source=source.name)
    body = read_body()  # 413 past max_body_bytes, chunked or not
    try:
        notification = parse_notification(body, request.content_type)
    except NotJSONError as exc:
        raise BadRequest(str(exc)) from None
    found.metrics.received.labels(source.name).inc(notification.received)
    if found.publisher.blocked:
        return _unavailable(found, notification, "blocked",
                            "RabbitMQ is blocking publishes (a resource alarm)")
    try:
        echoes = EchoOrigins(found.store, found.settings.secret_key)
        plan = plan_jobs(found.store, source, notification.events, echoes=echoes,
                         endpoint_lookup=found.endpoints.get)
        jobs = dispatch(found.store, found.publisher.publish_jobs, plan.jobs,
                        plan.endpoint_names, deadline=deadline, on_failure=OnFailure.DISCARD,
                        skip_deleted_rules=True)
    except CrossdockError as exc:
        return _unavailable(found, notification, unavailable_reason(exc), exc)
    plan.keep_recorded(jobs)  # a rule deleted meanwhile got no job
    _record(found, source, notification, plan, jobs)
    response = jsonify({
        "jobs": [job.id for job in jobs],
        "ignored": len(notification.ignored) + sum(plan.ignored.values()),
        "rejected": [{"reason": r.reason, "detail": r.detail} for r in notification.rejections],
    })
    response.status_code = 202 if jobs else 200
    return response


def _authenticated_source(found: Services, name: str) -> SourceRecord:
    """The source, if the request carries its secret. Raises 404, 401 (or the store's 503)."""
    try:
        source, secret = found.sources.get(name)
    except RecordNotFoundError:
        raise NotFound(f"no source named {name!r}") from None
    if not secret:
        raise Unauthorized(f"source {name!r} has no webhook secret: set one to receive events")
    if not bearer_matches(request.headers.get("Authorization"), secret):
        raise Unauthorized("missing or wrong webhook secret (Authorization: Bearer ...)")
    return source


def _record(found: Services, source: SourceRecord, notification: Notification, plan: Plan,
            jobs: list[JobRecord]) -> None:
    """Metrics, one line per rejected event, and the webhook's canonical line."""
    metrics, name = found.metrics, source.name
    for rejection in notification.rejections:
        metrics.rejected.labels(name, rejection.reason).inc()
        log.warning("event rejected", source=name, reason=rejection.reason,
                    detail=rejection.detail)
    ignored: dict[str, int] = dict(plan.ignored)
    for reason in notification.ignored:
        ignored[reason] = ignored.get(reason, 0) + 1
    for reason, count in ignored.items():
        metrics.ignored.labels(name, reason).inc(count)
    if plan.accepted:
        metrics.accepted.labels(name).inc(plan.accepted)
    if plan.echo_drops:
        metrics.echo_drops.labels(name).inc(plan.echo_drops)
    for job in jobs:
        metrics.jobs.labels(job.action.value).inc()
    log.info("webhook", source=name, format=notification.format,
             events=notification.received, accepted=plan.accepted, jobs=[j.id for j in jobs],
             ignored=ignored, rejected=len(notification.rejections),
             status=202 if jobs else 200)


def _unavailable(found: Services, notification: Notification | None, reason: str,
                 error: CrossdockError | str) -> Response:
    """503: the registry will send the events again. Dispatch deleted any recorded job."""
    if isinstance(error, BrokerError):
        found.metrics.publish_failures.inc()
    found.metrics.unavailable.labels(reason).inc()
    details: dict[str, Any] = {"reason": reason, "error": str(error)}
    if notification is not None:
        details.update(events=notification.received, format=notification.format)
    log.warning("webhook", status=503, **details)
    return unavailable_response(
        reason, f"could not record or queue the jobs ({reason}), send again later: {error}")
