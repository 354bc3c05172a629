"""Everything one job's handler needs, gathered once per job."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from shared.copy.engine import CopyEngine, CopyOptions
from shared.copy.events import CopyEvent
from shared.copy.project import map_repository
from shared.registry import RegistryClient
from shared.registry.harbor import ensure_project
from shared.store import (
    EndpointKind,
    EndpointRecord,
    JobRecord,
    JobStatus,
    RuleRecord,
    SourceKind,
    SourceRecord,
    Store,
)

JobLog = Callable[[str, str], None]  # (level, message)


@dataclass(frozen=True)
class JobOutcome:
    """How a job ended when it didn't raise: succeeded or skipped, and why."""

    status: JobStatus
    message: str
    bytes_copied: int = 0


@dataclass(frozen=True)
class JobContext:
    """A job with its rule, source, endpoint and their clients."""

    job: JobRecord
    rule: RuleRecord
    source: SourceRecord
    endpoint: EndpointRecord
    source_client: RegistryClient
    endpoint_client: RegistryClient
    store: Store
    engine: CopyEngine
    log: JobLog
    on_event: Callable[[CopyEvent], None]

    @property
    def destination_repository(self) -> str:
        """Where the job's repository lands: the rule's namespace replaces the project."""
        namespace = self.rule.dest_namespace or self.rule.project
        if self.job.repository == self.rule.project or self.job.repository.startswith(
            self.rule.project + "/"
        ):
            return map_repository(self.job.repository, self.rule.project, namespace)
        return self.job.repository

    @property
    def endpoint_is_harbor(self) -> bool:
        return self.endpoint.kind == EndpointKind.HARBOR

    @property
    def source_is_harbor(self) -> bool:
        return self.source.kind == SourceKind.HARBOR

    def copy_options(self, base: CopyOptions) -> CopyOptions:
        return CopyOptions(
            blob_workers=base.blob_workers,
            chunk_size=base.chunk_size,
            copy_referrers=self.rule.copy_referrers and base.copy_referrers,
            override=self.rule.override,
        )

    def record_write(
        self, repository: str, tag: str | None, digest: str | None, action: str = "put"
    ) -> None:
        """Remember a change crossdock makes in the endpoint, before making it, so
        the endpoint's notification about it is known as an echo (DESIGN invariant 3)."""
        self.store.record_write(self.endpoint.url, repository, tag, digest,
                                origin=self.source.url, action=action)


class HarborProjects:
    """Projects known to exist on Harbor endpoints; created on first use (409 is fine)."""

    def __init__(self) -> None:
        self._known: set[tuple[int, str]] = set()
        self._lock = threading.Lock()

    def ensure(self, ctx: JobContext, repository: str) -> None:
        project = repository.split("/", 1)[0]
        key = (ctx.endpoint.id, project)
        with self._lock:
            if key in self._known:
                return
        if ensure_project(ctx.endpoint_client.transport, project):
            ctx.log("info", f"created project {project} on Harbor endpoint {ctx.endpoint.name}")
        with self._lock:
            self._known.add(key)
