"""Everything one job's handler needs, gathered once per job."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from shared.copy.checkpoint import Checkpoint, no_checkpoint
from shared.copy.engine import CopyEngine, CopyOptions
from shared.copy.events import CopyEvent
from shared.copy.fresh import FreshRepository
from shared.copy.project import map_repository
from shared.filters import from_rule, passes
from shared.registry import RegistryClient
from shared.registry.harbor import ensure_project
from shared.store import (
    EndpointKind,
    EndpointRecord,
    JobAction,
    JobRecord,
    JobStatus,
    PairRecord,
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
    pair: PairRecord | None = None  # the two-way pair the job's rule belongs to
    # Called before each write at the endpoint; raises `RunAbandonedError` once the
    # run has lost its lease or its broker connection.
    checkpoint: Checkpoint = no_checkpoint
    # Writes the lines `log` kept back now (`consumers.joblog`): before a destructive
    # step, so that a run killed in it has said what it was doing.
    save_log: Callable[[], None] = lambda: None
    # What the runs under the job's repository lease know of the endpoint repository
    # (`consumers.leases.LeaseKeeper.fresh`); None outside a lease.
    fresh_repository: Callable[[], FreshRepository | None] = lambda: None

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
            tags_copied_apart=self._listed_tags(),
        )

    def _listed_tags(self) -> Callable[[str], bool] | None:
        """For a replicate job of an execution: the tags its listing gave a job each.

        An execution lists the project once and queues a replicate job per tag that
        passes the rule's filters, cosign's ``sha256-<hex>.sig`` and the referrers'
        ``sha256-<hex>`` index tags included; a tag pushed after the listing comes
        with its own event, like any other image. So such a tag needs no looking for
        with its subject (four HEADs per copy on a registry without the referrers
        API)."""
        if self.job.action != JobAction.REPLICATE or self.job.execution_id is None:
            return None
        filters = from_rule(self.rule.tag_filters)
        return lambda tag: passes(filters, tag)

    @property
    def base_key(self) -> tuple[int, int, str]:
        """The pair's rules and the repository as named at the first rule's source:
        where the pair's base for this job's tags is kept."""
        assert self.pair is not None
        if self.rule.id == self.pair.first.id:
            repository = self.job.repository
        else:
            repository = self.destination_repository
        return self.pair.first.id, self.pair.second.id, repository

    @property
    def pair_lock_key(self) -> str:
        """The lease both directions of a pair take for one repository, before the
        repository lease (always in that order)."""
        first, second, repository = self.base_key
        return f"pair/{first}-{second}/{repository}"


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


class EndpointRepositories:
    """Endpoint repositories this process found or made to exist: the endpoint is asked
    whether one exists once per repository and process, not once per job."""

    def __init__(self) -> None:
        self._known: set[tuple[int, str]] = set()
        self._lock = threading.Lock()

    def exists(self, ctx: JobContext) -> bool | None:
        """Whether the job's destination repository exists at the endpoint (None: the
        endpoint didn't say); asked only while it isn't known to."""
        with self._lock:
            if (ctx.endpoint.id, ctx.destination_repository) in self._known:
                return True
        exists = ctx.endpoint_client.repository_exists(ctx.destination_repository)
        if exists:
            self.found(ctx)
        return exists

    def found(self, ctx: JobContext) -> None:
        """The job's destination repository exists (the job found it, or wrote to it)."""
        with self._lock:
            self._known.add((ctx.endpoint.id, ctx.destination_repository))
