"""Registry notifications in, `RegistryEvent`s out. Pure: no I/O.

Three body shapes are understood (protocols.md §9.2-9.3 and §11.1):

- the CNCF Distribution envelope (``application/vnd.docker.distribution.events.v1+json``,
  ``…v2+json``): several events per body. A manifest push becomes a push (with its
  tag, or by digest); blob pushes, pulls and mounts are ignored. A delete with a
  digest is a delete by digest (2.8 sends blob deletes in the same shape: the
  consumer finds nothing to delete), a delete with a tag a tag delete;
- Harbor's Default format (``application/json``, ``PUSH_ARTIFACT`` /
  ``DELETE_ARTIFACT``) and its CloudEvents format (``application/cloudevents+json``,
  ``harbor.artifact.pushed`` / ``…deleted``). Harbor puts the digest in
  ``resources[0].tag`` when the artifact has no tag; any other tag holding ``:``
  is rejected like every bad reference.

Only the repository, tag and digest are taken from a payload, each checked against
the OCI grammar (DESIGN invariant 9): URLs and hosts in it are never used. Who
made the change is kept as given, for telling crossdock's own writes from users'
(DESIGN invariant 3): Distribution's ``request.useragent`` (which may hold a
`shared.writetoken` token) and Harbor's ``operator`` (an account name). An event
that breaks the grammar, or a body of no known shape, becomes a `Rejection`; the
rest of the body is still processed. Only a body that is not JSON at all raises
(`NotJSONError`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from marshmallow import EXCLUDE, Schema, ValidationError, fields

from shared.grammar import is_valid_digest, is_valid_repository, is_valid_tag
from shared.mediatypes import SCHEMA1, SUPPORTED_MANIFESTS

Action = Literal["push", "delete"]

DISTRIBUTION_TYPES = frozenset({
    "application/vnd.docker.distribution.events.v1+json",
    "application/vnd.docker.distribution.events.v2+json",
})
CLOUDEVENTS_TYPE = "application/cloudevents+json"

# Harbor event types: the two that change artifacts, and those with nothing to do.
_HARBOR_ACTIONS: dict[str, Action] = {
    "PUSH_ARTIFACT": "push", "DELETE_ARTIFACT": "delete",
    "harbor.artifact.pushed": "push", "harbor.artifact.deleted": "delete",
}
_HARBOR_PULLS = frozenset({"PULL_ARTIFACT", "harbor.artifact.pulled"})
_HARBOR_OTHER = frozenset({
    "QUOTA_EXCEED", "QUOTA_WARNING", "SCANNING_FAILED", "SCANNING_STOPPED",
    "SCANNING_COMPLETED", "REPLICATION", "TAG_RETENTION",
    "harbor.quota.exceeded", "harbor.quota.warned", "harbor.scan.completed",
    "harbor.scan.failed", "harbor.scan.stopped", "harbor.replication.status.changed",
    "harbor.tag_retention.finished",
})
# Blob media types a push event may carry; every other type is a manifest's.
_BLOB_TYPES = frozenset({
    "application/octet-stream",
    "application/vnd.oci.empty.v1+json",
    "application/vnd.docker.container.image.v1+json",
    "application/vnd.docker.plugin.v1+json",
})
_DETAIL_LIMIT = 200
_WHO_LIMIT = 1024  # a User-Agent or operator longer than this is cut (a token is ~50)


class NotJSONError(ValueError):
    """The body is not JSON at all (the webhook answers 400)."""


@dataclass(frozen=True)
class RegistryEvent:
    """A push or delete worth a job: repository plus tag and/or digest, all validated."""

    action: Action
    repository: str
    tag: str | None = None
    digest: str | None = None
    media_type: str | None = None
    event_id: str | None = None
    user_agent: str | None = None  # Distribution: the request's User-Agent
    operator: str | None = None  # Harbor: the account that made the change; "" is None


@dataclass(frozen=True)
class Rejection:
    """An event (or a whole body) crossdock won't act on, and why."""

    reason: str
    detail: str


@dataclass(frozen=True)
class Ignored:
    """An event with nothing to do (a pull, a blob push, a mount, …)."""

    reason: str


@dataclass(frozen=True)
class Notification:
    """What one webhook body holds. `ignored` has one reason per ignored event."""

    format: str  # distribution, harbor, cloudevents or unknown
    events: tuple[RegistryEvent, ...] = ()
    ignored: tuple[str, ...] = ()
    rejections: tuple[Rejection, ...] = ()

    @property
    def received(self) -> int:
        """How many events the body held, whatever became of them."""
        return len(self.events) + len(self.ignored) + len(self.rejections)


# -- schemas ------------------------------------------------------------------------


class _Lenient(Schema):
    class Meta:
        unknown = EXCLUDE


def _optional_string(**kwargs: Any) -> fields.String:
    return fields.String(load_default=None, allow_none=True, **kwargs)


class DistributionTargetSchema(_Lenient):
    media_type = _optional_string(data_key="mediaType")
    repository = _optional_string()
    tag = _optional_string()
    digest = _optional_string()


class DistributionEventSchema(_Lenient):
    id = _optional_string()
    action = fields.String(required=True)
    target = fields.Nested(DistributionTargetSchema, required=True)
    request = fields.Raw(load_default=None)  # read by `_who`: a bad one is no reason to reject


class HarborResourceSchema(_Lenient):
    tag = _optional_string()
    digest = _optional_string()


class HarborRepositorySchema(_Lenient):
    repo_full_name = fields.String(required=True)


class HarborEventDataSchema(_Lenient):
    resources = fields.List(fields.Nested(HarborResourceSchema), required=True)
    repository = fields.Nested(HarborRepositorySchema, required=True)


class HarborDefaultSchema(_Lenient):
    type = fields.String(required=True)
    event_data = fields.Raw(load_default=None)
    operator = fields.Raw(load_default=None)


class CloudEventSchema(_Lenient):
    id = _optional_string()
    type = fields.String(required=True)
    data = fields.Raw(load_default=None)
    operator = fields.Raw(load_default=None)  # a CloudEvents extension attribute


DISTRIBUTION_EVENT = DistributionEventSchema()
HARBOR_EVENT_DATA = HarborEventDataSchema()
HARBOR_DEFAULT = HarborDefaultSchema()
CLOUD_EVENT = CloudEventSchema()

Outcome = RegistryEvent | Ignored | Rejection


# -- entry point ---------------------------------------------------------------------


def parse_notification(body: bytes, content_type: str | None = None) -> Notification:
    """Parse a webhook body. The Content-Type picks the format when it names one;
    for ``application/json`` (or none) the shape decides. Raises `NotJSONError`."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise NotJSONError(f"the body is not JSON: {exc}") from None
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if not isinstance(document, dict):
        return _unknown(f"a JSON {type(document).__name__}, not an object")
    if mime in DISTRIBUTION_TYPES or (mime != CLOUDEVENTS_TYPE and "events" in document):
        return _collect("distribution", _distribution(document))
    if mime == CLOUDEVENTS_TYPE or "specversion" in document:
        return _collect("cloudevents", _cloud_event(document))
    if "type" in document and "event_data" in document:
        return _collect("harbor", _harbor_default(document))
    return _unknown(f"an object with keys {_clip(', '.join(sorted(map(str, document))))}")


def _collect(kind: str, outcomes: Iterator[Outcome]) -> Notification:
    events: list[RegistryEvent] = []
    ignored: list[str] = []
    rejections: list[Rejection] = []
    for outcome in outcomes:
        if isinstance(outcome, RegistryEvent):
            events.append(outcome)
        elif isinstance(outcome, Ignored):
            ignored.append(outcome.reason)
        else:
            rejections.append(outcome)
    return Notification(kind, tuple(events), tuple(ignored), tuple(rejections))


def _unknown(detail: str) -> Notification:
    return Notification("unknown", rejections=(Rejection("unknown_format", detail),))


# -- Distribution ---------------------------------------------------------------------


def _distribution(document: Mapping[str, Any]) -> Iterator[Outcome]:
    raw_events = document.get("events")
    if not isinstance(raw_events, list):
        yield Rejection("unknown_format", "a Distribution envelope needs an `events` list")
        return
    for raw in raw_events:
        yield _distribution_event(raw)


def _distribution_event(raw: object) -> Outcome:
    if not isinstance(raw, dict):
        return Rejection("malformed_event", f"an event that is a JSON {type(raw).__name__}")
    try:
        data = DISTRIBUTION_EVENT.load(raw)
    except ValidationError as exc:
        return Rejection("malformed_event", _clip(str(exc.messages)))
    action, target = data["action"], data["target"]
    if action in ("pull", "mount"):
        return Ignored(action)
    if action not in ("push", "delete"):
        return Rejection("unknown_action", _clip(action))
    if action == "push" and is_blob_type(target["media_type"]):
        return Ignored("blob")
    request = data["request"]
    user_agent = _who(request.get("useragent")) if isinstance(request, dict) else None
    return checked_event(action, target["repository"], target["tag"], target["digest"],
                         media_type=target["media_type"], event_id=data["id"],
                         user_agent=user_agent)


def is_blob_type(media_type: str | None) -> bool:
    """True for a blob (layer, config) media type; False for manifests and unknown types."""
    if not media_type:
        return False
    mime = media_type.split(";", 1)[0].strip().lower()
    if mime in SUPPORTED_MANIFESTS or mime in SCHEMA1:
        return False
    return (mime in _BLOB_TYPES or ".layer." in mime or ".rootfs." in mime
            or mime.endswith((".config.v1+json", ".config+json")))


# -- Harbor ---------------------------------------------------------------------------


def _harbor_default(document: Mapping[str, Any]) -> Iterator[Outcome]:
    try:
        data = HARBOR_DEFAULT.load(document)
    except ValidationError as exc:
        yield Rejection("malformed_event", _clip(str(exc.messages)))
        return
    yield from _harbor(data["type"], data["event_data"], None, _who(data["operator"]))


def _cloud_event(document: Mapping[str, Any]) -> Iterator[Outcome]:
    try:
        data = CLOUD_EVENT.load(document)
    except ValidationError as exc:
        yield Rejection("malformed_event", _clip(str(exc.messages)))
        return
    yield from _harbor(data["type"], data["data"], data["id"], _who(data["operator"]))


def _harbor(
    event_type: str, event_data: object, event_id: str | None, operator: str | None
) -> Iterator[Outcome]:
    action = _HARBOR_ACTIONS.get(event_type)
    if action is None:
        if event_type in _HARBOR_PULLS:
            yield Ignored("pull")
        elif event_type in _HARBOR_OTHER:
            yield Ignored("event_type")
        else:
            yield Rejection("unknown_type", _clip(event_type))
        return
    if not isinstance(event_data, dict):
        yield Rejection("malformed_event", "the event has no event data object")
        return
    try:
        data = HARBOR_EVENT_DATA.load(event_data)
    except ValidationError as exc:
        yield Rejection("malformed_event", _clip(str(exc.messages)))
        return
    if not data["resources"]:
        yield Rejection("missing_reference", "no resources in the event")
    repository = data["repository"]["repo_full_name"]
    for resource in data["resources"]:
        tag, digest = resource["tag"], resource["digest"]
        if tag is not None and is_valid_digest(tag):  # an artifact without a tag
            tag, digest = None, digest or tag
        yield checked_event(action, repository, tag, digest, event_id=event_id,
                            operator=operator)


# -- validation -------------------------------------------------------------------------


def checked_event(
    action: Action,
    repository: str | None,
    tag: str | None,
    digest: str | None,
    *,
    media_type: str | None = None,
    event_id: str | None = None,
    user_agent: str | None = None,
    operator: str | None = None,
) -> RegistryEvent | Rejection:
    """A `RegistryEvent` if repository, tag and digest follow the OCI grammar."""
    tag, digest = tag or None, digest or None
    if not repository:
        return Rejection("missing_repository", f"a {action} event without a repository")
    if not is_valid_repository(repository):
        return Rejection("invalid_repository", _clip(repository))
    if tag is not None and not is_valid_tag(tag):
        return Rejection("invalid_tag", _clip(f"{repository}:{tag}"))
    if digest is not None and not is_valid_digest(digest):
        return Rejection("invalid_digest", _clip(f"{repository}@{digest}"))
    if tag is None and digest is None:
        return Rejection("missing_reference", f"a {action} event for {repository} "
                                              "without a tag or a digest")
    return RegistryEvent(action, repository, tag, digest, media_type, event_id,
                         user_agent, operator)


def _who(value: object) -> str | None:
    """A User-Agent or operator as given; None when absent, empty or not a string."""
    if not isinstance(value, str) or not value:
        return None
    return value[:_WHO_LIMIT]


def _clip(text: str) -> str:
    return text if len(text) <= _DETAIL_LIMIT else text[:_DETAIL_LIMIT] + "…"
