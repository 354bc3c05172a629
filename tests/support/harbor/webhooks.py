"""Harbor webhooks: policies, payloads (Default and CloudEvents) and delivery.

Payload shapes and delivery rules are protocols.md §11.1: one POST per event and
target, `auth_header` sent verbatim as `Authorization`, a 3 s timeout, non-2xx or
a transport error counts as a failure, 3 tries, then the job is dropped. Harbor
waits minutes between tries; here the backoff is short and configurable.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import requests

PayloadFormat = Literal["Default", "CloudEvents"]
EVENT_TYPES = (
    "PUSH_ARTIFACT",
    "PULL_ARTIFACT",
    "DELETE_ARTIFACT",
    "QUOTA_EXCEED",
    "QUOTA_WARNING",
    "SCANNING_FAILED",
    "SCANNING_STOPPED",
    "SCANNING_COMPLETED",
    "REPLICATION",
    "TAG_RETENTION",
)
CLOUDEVENT_TYPES = {
    "PUSH_ARTIFACT": "harbor.artifact.pushed",
    "PULL_ARTIFACT": "harbor.artifact.pulled",
    "DELETE_ARTIFACT": "harbor.artifact.deleted",
    "QUOTA_EXCEED": "harbor.quota.exceeded",
    "QUOTA_WARNING": "harbor.quota.warned",
    "SCANNING_FAILED": "harbor.scan.failed",
    "SCANNING_STOPPED": "harbor.scan.stopped",
    "SCANNING_COMPLETED": "harbor.scan.completed",
    "REPLICATION": "harbor.replication.status.changed",
    "TAG_RETENTION": "harbor.tag_retention.finished",
}
PAYLOAD_FORMATS: tuple[PayloadFormat, ...] = ("Default", "CloudEvents")


@dataclass(frozen=True)
class Target:
    """One `WebhookTargetObject`: where to POST and how."""

    address: str
    auth_header: str = ""
    payload_format: PayloadFormat = "Default"
    skip_cert_verify: bool = True
    type: str = "http"


@dataclass(frozen=True)
class Policy:
    """One `WebhookPolicy` of a project."""

    policy_id: int
    project_id: int
    name: str
    targets: tuple[Target, ...]
    event_types: tuple[str, ...]
    creator: str
    created: dt.datetime
    enabled: bool = True
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        stamp = self.created.isoformat().replace("+00:00", "Z")
        return {
            "id": self.policy_id,
            "name": self.name,
            "description": self.description,
            "project_id": self.project_id,
            "targets": [
                {
                    "type": t.type,
                    "address": t.address,
                    "auth_header": t.auth_header,
                    "skip_cert_verify": t.skip_cert_verify,
                    "payload_format": t.payload_format,
                }
                for t in self.targets
            ],
            "event_types": list(self.event_types),
            "creator": self.creator,
            "creation_time": stamp,
            "update_time": stamp,
            "enabled": self.enabled,
        }


@dataclass(frozen=True)
class Event:
    """An artifact event, before formatting: what `Payload` carries in Harbor."""

    type: str
    occur_at: int
    operator: str
    digest: str
    tag: str
    resource_url: str
    repository: Mapping[str, Any]
    request_id: str

    def event_data(self) -> dict[str, Any]:
        resource = {"digest": self.digest, "tag": self.tag, "resource_url": self.resource_url}
        return {"resources": [resource], "repository": dict(self.repository)}


@dataclass
class Delivery:
    """One delivery attempt, as recorded for tests."""

    policy_id: int
    address: str
    event_type: str
    payload_format: str
    attempt: int
    status: int | None  # None: transport error or timeout
    error: str | None
    payload: dict[str, Any] = field(repr=False)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def resource_url(host: str, repo: str, digest: str, tag: str) -> str:
    """`<host>/<repo>:<tag>`, or `@<digest>` when `tag` is the digest (tags hold no `:`)."""
    return f"{host}/{repo}@{digest}" if ":" in tag else f"{host}/{repo}:{tag}"


def repository_info(repo: str, *, public: bool, created: dt.datetime) -> dict[str, Any]:
    """`event_data.repository`: `name` is the path after the project."""
    namespace, _, name = repo.partition("/")
    return {
        "date_created": int(created.timestamp()),
        "name": name,
        "namespace": namespace,
        "repo_full_name": repo,
        "repo_type": "public" if public else "private",
    }


def default_payload(event: Event) -> dict[str, Any]:
    """Harbor's Default format: the whole `Payload` (§11.1)."""
    return {
        "type": event.type,
        "occur_at": event.occur_at,
        "operator": event.operator,
        "event_data": event.event_data(),
    }


def cloudevent_payload(event: Event, policy: Policy) -> dict[str, Any]:
    """Structured-mode CloudEvent: `event_data` in `data`, extensions `requestid`, `operator`."""
    time_text = dt.datetime.fromtimestamp(event.occur_at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": f"/projects/{policy.project_id}/webhook/policies/{policy.policy_id}",
        "type": CLOUDEVENT_TYPES[event.type],
        "datacontenttype": "application/json",
        "time": time_text,
        "requestid": event.request_id,
        "operator": event.operator,
        "data": event.event_data(),
    }


def render(event: Event, policy: Policy, target: Target) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one delivery; retries resend exactly these."""
    if target.payload_format == "CloudEvents":
        payload = cloudevent_payload(event, policy)
        headers = {"Content-Type": "application/cloudevents+json"}
    else:
        payload = default_payload(event)
        headers = {"Content-Type": "application/json"}
    if target.auth_header:
        headers["Authorization"] = target.auth_header
    return json.dumps(payload).encode(), headers


class Notifier:
    """Delivers events to policy targets in background threads and records every try."""

    def __init__(
        self,
        *,
        timeout: float = 3.0,
        max_tries: int = 3,
        backoff: Sequence[float] = (0.05, 0.1),
    ) -> None:
        self.timeout = timeout
        self.max_tries = max_tries
        self.backoff = tuple(backoff)
        self.enabled = True  # the system setting `notification_enable`
        self.deliveries: list[Delivery] = []
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def fire(self, event: Event, policies: Sequence[Policy]) -> None:
        """Queue one job per matching enabled policy and target."""
        if not self.enabled or self._stopping.is_set():
            return
        for policy in policies:
            if not policy.enabled or event.type not in policy.event_types:
                continue
            for target in policy.targets:
                body, headers = render(event, policy, target)
                thread = threading.Thread(
                    target=self._deliver,
                    args=(event.type, policy, target, body, headers),
                    name=f"harbor-webhook-{policy.policy_id}",
                    daemon=True,
                )
                self._threads.append(thread)
                thread.start()

    def _deliver(
        self, event_type: str, policy: Policy, target: Target, body: bytes, headers: dict[str, str]
    ) -> None:
        payload = json.loads(body)
        with requests.Session() as session:
            session.trust_env = False
            for attempt in range(1, self.max_tries + 1):
                status, error = self._post(session, target.address, body, headers)
                self._record(
                    Delivery(
                        policy.policy_id, target.address, event_type,
                        target.payload_format, attempt, status, error, payload,
                    )
                )
                if status is not None and 200 <= status < 300:
                    return
                if attempt < self.max_tries and self._stopping.wait(self._delay(attempt)):
                    return

    def _post(
        self, session: requests.Session, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str | None]:
        try:
            resp = session.post(url, data=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            return None, f"{type(exc).__name__}: {exc}"
        resp.close()
        return resp.status_code, None

    def _delay(self, attempt: int) -> float:
        if not self.backoff:
            return 0.0
        return self.backoff[min(attempt, len(self.backoff)) - 1]

    def _record(self, delivery: Delivery) -> None:
        with self._changed:
            self.deliveries.append(delivery)
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        """Block until at least `count` attempts are recorded; returns them all.

        Raises TimeoutError with what did arrive.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.deliveries) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"{len(self.deliveries)} of {count} webhook deliveries: {self.deliveries}"
                    )
                self._changed.wait(remaining)
            return list(self.deliveries)

    def idle(self, timeout: float = 5.0) -> None:
        """Wait for every delivery job to finish (all tries done or dropped)."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))

    def resume(self) -> None:
        """Accept events again after `stop()`."""
        self._stopping.clear()

    def stop(self, timeout: float = 5.0) -> None:
        """Cut backoffs short and join the delivery threads."""
        self._stopping.set()
        self.idle(timeout)
