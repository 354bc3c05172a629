"""What each kind of job does. Events are hints; these reconcile state instead
(DESIGN invariant 2): re-read the source now, make the endpoint match.

`prepare` runs before the job takes any lease: it ends a job that a newer one
for the same tag supersedes, and defers a replicate job whose event the source
has not finished writing yet (`consumers.reconcile.settle`). `run` then does the
work under the leases. Each returns a `JobOutcome` or raises an error of the
tree: transient errors are retried, permanent ones fail the job.

A rule in a two-way pair decides per tag from both sides and the pair's base
(`consumers.reconcile.two_way`); a one-way rule makes the endpoint equal the
source. Every tag a rule writes or removes at its endpoint is kept in its
inventory, so that deletes made while it was off are applied when it runs again.
"""

from __future__ import annotations

import base64
import contextvars
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import structlog

from consumers.context import EndpointRepositories, HarborProjects, JobContext, JobOutcome
from consumers.metrics import ConsumerMetrics
from consumers.reconcile import UNKNOWN, Action, Settle, Verdict, settle, two_way
from shared.copy.engine import CopyOptions, CopyResult
from shared.copy.events import human_bytes, short_digest
from shared.copy.fresh import FreshRepository, Presence
from shared.dispatch import PublishJobs, dispatch
from shared.errors import NotFoundError, PermanentError
from shared.filters import from_rule, passes
from shared.registry import Manifest, RegistryClient, harbor
from shared.registry.manifests import delete_tag_reference
from shared.store import JobAction, JobStatus, NewJob

log = structlog.get_logger("crossdock.consumer")

LIST_WORKERS = 4  # a project sync's tag listings at once
# Seconds before a job whose event came before its tag looks at the source once
# more, before it is deferred: 2 s deferrals made the p99 of push-to-replicated
# latency 2.1 s in 2 of 6 runs of 100 pushes.
LOOK_AGAIN_SECONDS = 0.05
DISPATCH_BATCH = 32  # jobs a project sync records and queues at a time while it lists


@dataclass(frozen=True)
class Deferred:
    """The job can't conclude yet: run it again after a short delay."""

    reason: str


@dataclass(frozen=True)
class Ready:
    """The job may run; `note` is a line for its log. Under the leases the job reads
    the source again: what `prepare` read may be stale by then (the opposite rule of
    a pair may have written it meanwhile, and that write's event is an echo)."""

    note: str | None = None


Preparation = Deferred | Ready | JobOutcome


class JobHandlers:
    """Replicate, delete and sync, sharing the copy engine and the Harbor project cache."""

    def __init__(self, copy_options: CopyOptions, publish: PublishJobs,
                 metrics: ConsumerMetrics | None = None, settle_seconds: float = 60.0) -> None:
        self._copy_options = copy_options
        self._publish = publish
        self._metrics = metrics or ConsumerMetrics()
        self._settle_seconds = settle_seconds
        self._harbor_projects = HarborProjects()
        self._endpoint_repositories = EndpointRepositories()

    # -- before the leases ---------------------------------------------------------------

    def prepare(self, ctx: JobContext, now: datetime | None = None) -> Preparation:
        """Supersede, defer, or let the job run (reads the store and the source only)."""
        job = ctx.job
        if job.action == JobAction.SYNC:
            return Ready()
        newer = ctx.store.newer_job(job)
        if newer is not None:
            self._metrics.superseded.inc()
            return JobOutcome(JobStatus.SKIPPED, f"superseded by job {newer}")
        if job.action != JobAction.REPLICATE or job.tag is None or job.digest is None:
            return Ready()  # no event digest to wait for (a sync's job): the run reads it
        # Distribution links the tag a moment after it sends the event: a second look
        # before deferring saves most deferrals (defer_seconds each), at no lease held.
        for look in range(2):
            if look:
                time.sleep(LOOK_AGAIN_SECONDS)
            tag_digest, at_source = _event_at_source(ctx.source_client, job.repository,
                                                     job.tag, job.digest)
            verdict = settle(job.digest, tag_digest, at_source, job.created_at,
                             now or datetime.now(UTC), self._settle_seconds)
            if verdict != Settle.DEFER:
                break
        where = f"tag {job.tag} at the source is {_short(tag_digest)}"
        if verdict == Settle.DEFER:
            self._metrics.deferred.inc()
            return Deferred(f"deferred: {where}, not yet the event's "
                            f"{short_digest(job.digest)}, which the source has; "
                            "the registry is still writing it")
        if verdict == Settle.SETTLED:
            return Ready(f"settled after {self._settle_seconds:g} s: {where}, not the "
                         "event's digest; replicating what the source holds now")
        return Ready()

    # -- under the leases ----------------------------------------------------------------

    def run(self, ctx: JobContext) -> JobOutcome:
        action = ctx.job.action
        if action == JobAction.SYNC:
            return self.sync(ctx)
        if ctx.endpoint_is_harbor and "/" not in ctx.destination_repository:
            raise PermanentError(
                f"a Harbor endpoint can't hold the top-level repository "
                f"{ctx.destination_repository!r}: set the rule's dest_namespace to a path "
                f"of at least two segments, a Harbor project and a repository path (for "
                f"example {ctx.rule.project}/{ctx.rule.project}), so that the project's own "
                "repository lands inside a project")
        if action == JobAction.REPLICATE:
            return self.replicate(ctx)
        return self.delete(ctx)

    # -- replicate -------------------------------------------------------------------

    def replicate(self, ctx: JobContext) -> JobOutcome:
        job = ctx.job
        if job.tag is None:
            return self._replicate_digest(ctx)
        newer = ctx.store.newer_job(job)  # came while this one waited for the leases
        if newer is not None:
            self._metrics.superseded.inc()
            return JobOutcome(JobStatus.SKIPPED, f"superseded by job {newer}")
        if ctx.pair is not None:
            source_digest = _digest_of(ctx.source_client, job.repository, job.tag)
            return self._two_way(ctx, job.tag, source_digest)
        # The tag's manifest, fetched once: it says the digest now and is what is copied.
        try:
            manifest = ctx.source_client.get_manifest(job.repository, job.tag)
        except NotFoundError:
            return JobOutcome(JobStatus.SKIPPED, f"tag {job.tag} is gone at the source")
        return self._copy_tag(ctx, job.tag, manifest.digest, override=ctx.rule.override,
                              manifest=manifest)

    def _replicate_digest(self, ctx: JobContext) -> JobOutcome:
        job = ctx.job
        assert job.digest is not None
        try:
            manifest = ctx.source_client.get_manifest(job.repository, job.digest)
        except NotFoundError:
            return JobOutcome(JobStatus.SKIPPED, "digest is gone at the source")
        if manifest.subject is None:
            # Index children come with their index, images with their tags.
            return JobOutcome(JobStatus.SKIPPED,
                              "untagged manifest that refers to nothing: nothing to do")
        return self._copy(ctx, job.digest, None, override=True)

    def _copy_tag(self, ctx: JobContext, tag: str, digest: str, *, override: bool,
                  manifest: Manifest | None = None) -> JobOutcome:
        """Copy the source's `digest` (its `manifest`, if just fetched) under `tag`, and
        keep it in the rule's inventory."""
        outcome = self._copy(ctx, digest, tag, override=override, manifest=manifest)
        if outcome.status == JobStatus.SUCCEEDED:
            ctx.store.record_inventory(ctx.rule.id, ctx.destination_repository, tag,
                                       ctx.job.repository, digest)
        return outcome

    def _copy(self, ctx: JobContext, digest: str, tag: str | None, *, override: bool,
              manifest: Manifest | None = None) -> JobOutcome:
        src, dst, dst_repo = ctx.source_client, ctx.endpoint_client, ctx.destination_repository
        if ctx.endpoint_is_harbor:
            self._harbor_projects.ensure(ctx, dst_repo)
        options = replace(ctx.copy_options(self._copy_options), override=override)
        try:
            result = ctx.engine.copy(src, ctx.job.repository, digest, dst, dst_repo, tag=tag,
                                     on_event=ctx.on_event, options=options,
                                     checkpoint=ctx.checkpoint, manifest=manifest,
                                     fresh=self._fresh(ctx) if tag is not None else None)
        except NotFoundError as exc:
            if src.head_manifest(ctx.job.repository, digest) is None:
                return JobOutcome(JobStatus.SKIPPED, f"gone at the source during the copy: {exc}")
            raise
        self._endpoint_repositories.found(ctx)
        if result.status == "skipped" and not any(r.status == "copied" for r in result.referrers):
            return JobOutcome(JobStatus.SKIPPED, result.reason)
        return JobOutcome(JobStatus.SUCCEEDED, copy_summary(result), result.total_bytes_uploaded)

    def _fresh(self, ctx: JobContext) -> FreshRepository | None:
        """The job's endpoint repository, when it had no tags as the job's lease was
        taken (a project's first sync): nothing there is asked about that can't be
        there, three HEADs of 14 requests an image."""
        record = ctx.fresh_repository() if ctx.pair is None else None
        if record is None or not record.settle(
                lambda: Presence.from_exists(self._endpoint_repositories.exists(ctx))):
            return None
        return record

    # -- two-way pairs -----------------------------------------------------------------

    def _two_way(self, ctx: JobContext, tag: str, source_digest: str | None,
                 deleted_digest: str | None = None) -> JobOutcome:
        """One tag of a two-way pair: decide from both sides and the base, then act."""
        pair = ctx.pair
        assert pair is not None
        dst, dst_repo = ctx.endpoint_client, ctx.destination_repository
        current = dst.head_manifest(dst_repo, tag)
        destination = current.digest if current else None
        first, second, repository = ctx.base_key
        base = ctx.store.get_base(first, second, repository, tag)
        verdict = two_way(source_digest, destination, UNKNOWN if base is None else base.digest,
                          source_preferred=pair.preferred_rule_id == ctx.rule.id,
                          override=ctx.rule.override, deleted_digest=deleted_digest)
        self._count_conflict(ctx, verdict)
        ctx.log("warning" if verdict.conflict else "info",
                f"tag {tag}: source {_short(source_digest)}, destination "
                f"{_short(destination)}, base "
                f"{'unknown' if base is None else _short(base.digest)}: {verdict.reason}")
        if verdict.action == Action.IN_SYNC:
            ctx.store.set_base(first, second, repository, tag, source_digest)
            return JobOutcome(JobStatus.SKIPPED, f"tag {tag} is the same on both sides")
        if verdict.action == Action.LEAVE:
            return JobOutcome(JobStatus.SKIPPED, verdict.reason)
        if verdict.action == Action.CONFLICT_KEPT:
            return JobOutcome(JobStatus.SKIPPED, verdict.reason)
        if verdict.action == Action.CONFLICT_LOST:
            job_id = self._queue_opposite(ctx, tag)
            return JobOutcome(JobStatus.SKIPPED, f"{verdict.reason}; job {job_id} of rule "
                                                 f"{pair.other(ctx.rule.id).name} applies it")
        if source_digest is None:
            assert destination is not None
            outcome = self._remove_tag(ctx, tag, destination)
        else:
            outcome = self._copy_tag(ctx, tag, source_digest, override=True)
        if outcome.status == JobStatus.SUCCEEDED:  # else the source moved on: its job follows
            ctx.store.set_base(first, second, repository, tag, source_digest)
        return outcome

    def _count_conflict(self, ctx: JobContext, verdict: Verdict) -> None:
        if not verdict.conflict:
            return
        winner = {Action.APPLY: "source", Action.CONFLICT_LOST: "destination"}.get(
            verdict.action, "none")
        self._metrics.conflicts.labels(winner).inc()
        log.warning("two-way conflict", winner=winner, reason=verdict.reason)

    def _queue_opposite(self, ctx: JobContext, tag: str) -> int:
        """A replicate job of the pair's opposite rule for `tag`, which wins the conflict."""
        assert ctx.pair is not None
        other = ctx.pair.other(ctx.rule.id)
        spec = NewJob(rule_id=other.id, endpoint_id=other.endpoint_id, source_id=other.source_id,
                      repository=ctx.destination_repository, action=JobAction.REPLICATE, tag=tag)
        [job] = dispatch(ctx.store, self._publish, [spec])
        return job.id

    # -- delete ----------------------------------------------------------------------

    def delete(self, ctx: JobContext) -> JobOutcome:
        job = ctx.job
        if not (ctx.rule.replicate_deletes or ctx.rule.prune):
            return JobOutcome(JobStatus.SKIPPED, "the rule does not replicate deletes")
        if job.tag is None:
            assert job.digest is not None
            return self._delete_digest(ctx, job.digest)
        if job.plan is not None:
            return self._finish_plan(ctx, job.tag)
        src_head = ctx.source_client.head_manifest(job.repository, job.tag)
        if ctx.pair is not None:
            return self._two_way(ctx, job.tag, src_head.digest if src_head else None)
        if src_head is not None:
            # Any job on a tag reconciles it (which is why a newer one supersedes older ones).
            ctx.log("info", f"the source has tag {job.tag} again: replicating it")
            return self._copy_tag(ctx, job.tag, src_head.digest, override=ctx.rule.override)
        current = ctx.endpoint_client.head_manifest(ctx.destination_repository, job.tag)
        if current is None:
            ctx.store.forget_inventory(ctx.rule.id, ctx.destination_repository, job.tag)
            return JobOutcome(JobStatus.SKIPPED, f"tag {job.tag} is not at the endpoint")
        if job.digest is not None and current.digest != job.digest:
            # A delete from the rule's inventory: only what crossdock put there goes.
            ctx.store.forget_inventory(ctx.rule.id, ctx.destination_repository, job.tag)
            return JobOutcome(JobStatus.SKIPPED,
                              f"tag {job.tag} at the endpoint now holds "
                              f"{short_digest(current.digest)}, not what crossdock put there "
                              f"({short_digest(job.digest)}): a user changed it, kept")
        return self._remove_tag(ctx, job.tag, current.digest)

    def _delete_digest(self, ctx: JobContext, digest: str) -> JobOutcome:
        src, dst, dst_repo = ctx.source_client, ctx.endpoint_client, ctx.destination_repository
        if src.head_manifest(ctx.job.repository, digest) is not None:
            return JobOutcome(JobStatus.SKIPPED, "the source still has this digest")
        if dst.head_manifest(dst_repo, digest) is None:
            # Distribution sends blob deletes in this shape too: nothing to do.
            return JobOutcome(JobStatus.SKIPPED, "not at the endpoint")
        tags = _tags_on(dst, dst_repo, digest)
        if ctx.pair is not None:
            refusal = self._pair_refuses_digest_delete(ctx, digest, tags)
            if refusal is not None:
                return refusal
        ctx.checkpoint()
        ctx.save_log()
        dst.delete_manifest(dst_repo, digest)
        for tag in tags:
            self._forget_tag(ctx, tag)
        return JobOutcome(JobStatus.SUCCEEDED, f"deleted {dst_repo}@{short_digest(digest)}")

    def _pair_refuses_digest_delete(self, ctx: JobContext, digest: str, tags: list[str]
                                    ) -> JobOutcome | None:
        """In a pair, a digest delete goes ahead only if each endpoint tag it takes along
        should go (see `two_way`); otherwise nothing is deleted."""
        first, second, repository = ctx.base_key
        src = ctx.source_client
        assert ctx.pair is not None
        for tag in tags:
            head = src.head_manifest(ctx.job.repository, tag)
            base = ctx.store.get_base(first, second, repository, tag)
            verdict = two_way(head.digest if head else None, digest,
                              UNKNOWN if base is None else base.digest,
                              source_preferred=ctx.pair.preferred_rule_id == ctx.rule.id,
                              override=ctx.rule.override, deleted_digest=digest)
            self._count_conflict(ctx, verdict)
            if verdict.action not in (Action.APPLY, Action.IN_SYNC):
                if verdict.action == Action.CONFLICT_LOST:
                    self._queue_opposite(ctx, tag)
                return JobOutcome(JobStatus.SKIPPED,
                                  f"not deleted: tag {tag} on this digest: {verdict.reason}")
        return None

    def _forget_tag(self, ctx: JobContext, tag: str) -> None:
        """A tag crossdock removed at the endpoint: out of the inventory; in a pair, the
        base says absent (the source no longer has it either, or its job copies it)."""
        ctx.store.forget_inventory(ctx.rule.id, ctx.destination_repository, tag)
        if ctx.pair is not None:
            first, second, repository = ctx.base_key
            ctx.store.set_base(first, second, repository, tag, None)

    def _remove_tag(self, ctx: JobContext, tag: str, digest: str) -> JobOutcome:
        """Remove one tag at the endpoint, and no other tag the source still has there."""
        dst, dst_repo = ctx.endpoint_client, ctx.destination_repository
        ctx.checkpoint()
        ctx.save_log()
        if ctx.endpoint_is_harbor:
            harbor.delete_tag(dst.transport, dst_repo, digest, tag)
            self._forget_tag(ctx, tag)
            return JobOutcome(JobStatus.SUCCEEDED, f"deleted tag {dst_repo}:{tag} (Harbor API)")
        if delete_tag_reference(dst.transport, dst_repo, tag):
            self._forget_tag(ctx, tag)
            return JobOutcome(JobStatus.SUCCEEDED, f"deleted tag {dst_repo}:{tag}")
        # Distribution 2.8 can't delete a tag alone: delete the digest, then put back
        # its other tags that should stay (in a pair, all of them: each has its own
        # jobs). The plan, with the manifest's bytes, is recorded first, so that a retry
        # after a failure or a crash in between finishes it.
        src, repository = ctx.source_client, ctx.job.repository
        keep = [other for other in _tags_on(dst, dst_repo, digest) if other != tag
                and (ctx.pair is not None or _digest_of(src, repository, other) == digest)]
        manifest = dst.get_manifest(dst_repo, digest)
        plan = {"digest": digest, "keep": keep, "media_type": manifest.media_type,
                "manifest": base64.b64encode(manifest.data).decode("ascii")}
        ctx.store.set_job_plan(ctx.job.id, plan)
        ctx.log("info", f"plan: delete {dst_repo}@{short_digest(digest)}, then put back "
                        f"{', '.join(keep) if keep else 'no other tag'}")
        ctx.save_log()
        return self._finish_plan(ctx, tag, plan)

    def _finish_plan(self, ctx: JobContext, tag: str,
                     plan: dict[str, Any] | None = None) -> JobOutcome:
        """Carry out (or finish, on a retry) a recorded tag delete by digest."""
        plan = plan or ctx.job.plan or {}
        digest = str(plan["digest"])
        keep = [str(other) for other in plan.get("keep") or []]
        manifest = Manifest(str(plan["media_type"]), base64.b64decode(plan["manifest"]), digest)
        dst, dst_repo = ctx.endpoint_client, ctx.destination_repository
        if _digest_of(dst, dst_repo, tag) == digest:
            ctx.checkpoint()
            dst.delete_manifest(dst_repo, digest)
        self._forget_tag(ctx, tag)
        kept = []
        for other in keep:
            if ctx.pair is None and _digest_of(ctx.source_client, ctx.job.repository,
                                               other) != digest:
                continue  # the source moved or dropped it meanwhile: its own job follows
            if _digest_of(dst, dst_repo, other) != digest:
                ctx.checkpoint()
                dst.put_manifest(dst_repo, other, manifest)
            kept.append(other)
        suffix = f", kept {', '.join(kept)}" if kept else ""
        return JobOutcome(JobStatus.SUCCEEDED, f"deleted tag {dst_repo}:{tag} by its digest"
                                               f"{suffix}")

    # -- sync ------------------------------------------------------------------------

    def sync(self, ctx: JobContext) -> JobOutcome:
        """List the rule's project at the source and queue one replicate job per tag.
        With replicate_deletes, also one delete job per tag the rule's inventory says it
        wrote at the endpoint and the source no longer has; with prune, one per endpoint
        tag the source no longer has (within the rule's filters)."""
        rule, src = ctx.rule, ctx.source_client
        if ctx.source_is_harbor:
            repositories = harbor.list_repositories(src.transport, rule.project)
        else:
            repositories = sorted(name for name in src.catalog() if _in_project(name, rule.project))
        repo_filters, tag_filters = from_rule(rule.repo_filters), from_rule(rule.tag_filters)
        repositories = [name for name in repositories if passes(repo_filters, name)]
        endpoint_names = {ctx.endpoint.id: ctx.endpoint.name}
        present: list[tuple[str, str]] = []
        batch: list[NewJob] = []
        # The repositories' tags are listed a few at a time, and their jobs queued
        # as they come: the copies start while a large project is still being listed.
        # Each listing runs in a copy of this context, so its log lines name the job.
        with ThreadPoolExecutor(LIST_WORKERS, thread_name_prefix="crossdock-list") as pool:
            listings = [(name, pool.submit(contextvars.copy_context().run, src.tags, name))
                        for name in repositories]
            for repository, listing in listings:
                for tag in listing.result():
                    if passes(tag_filters, tag):
                        present.append((repository, tag))
                        batch.append(self._spec(ctx, JobAction.REPLICATE, repository, tag))
                if len(batch) >= DISPATCH_BATCH:
                    dispatch(ctx.store, self._publish, batch, endpoint_names)
                    batch = []
        specs = batch
        at_source = set(present)
        stale: set[tuple[str, str]] = set()
        if rule.prune:
            stale = {(repository, tag) for repository, tag in _endpoint_images(ctx)
                     if passes(repo_filters, repository) and passes(tag_filters, tag)
                     and (repository, tag) not in at_source}
            specs += [self._spec(ctx, JobAction.DELETE, repository, tag)
                      for repository, tag in sorted(stale)]
        gone = 0
        if rule.replicate_deletes:
            for entry in ctx.store.list_inventory(rule.id):
                key = (entry.source_repository, entry.tag)
                if key not in at_source and key not in stale:
                    specs.append(self._spec(ctx, JobAction.DELETE, entry.source_repository,
                                            entry.tag, entry.digest))
                    gone += 1
        dispatch(ctx.store, self._publish, specs, endpoint_names)
        message = (f"queued {len(present)} images from {len(repositories)} repositories")
        if gone:
            message += f", {gone} deletes of images it replicated that the source no longer has"
        if rule.prune:
            message += f" and {len(stale)} deletes of images the source no longer has"
        return JobOutcome(JobStatus.SUCCEEDED, message)

    @staticmethod
    def _spec(ctx: JobContext, action: JobAction, repository: str, tag: str,
              digest: str | None = None) -> NewJob:
        return NewJob(rule_id=ctx.rule.id, endpoint_id=ctx.endpoint.id, source_id=ctx.source.id,
                      repository=repository, action=action, tag=tag, digest=digest,
                      execution_id=ctx.job.execution_id)


def _in_project(name: str, project: str) -> bool:
    """`name` is in `project`: the project's own repository, or one under it."""
    return name == project or name.startswith(project + "/")


def _endpoint_images(ctx: JobContext) -> list[tuple[str, str]]:
    """(source repository name, tag) for every image under the rule's namespace at
    the endpoint, named as it would be at the source."""
    rule, dst = ctx.rule, ctx.endpoint_client
    namespace = rule.dest_namespace or rule.project
    if ctx.endpoint_is_harbor:
        names = harbor.list_repositories(dst.transport, namespace.split("/", 1)[0])
    else:
        names = list(dst.catalog())
    found = []
    for name in sorted(names):
        if _in_project(name, namespace):
            source_name = rule.project + name[len(namespace):]
            found += [(source_name, tag) for tag in dst.tags(name)]
    return found


def _tags_on(client: RegistryClient, repository: str, digest: str) -> list[str]:
    """The repository's tags that point at `digest`."""
    return [tag for tag in client.tags(repository) if _digest_of(client, repository, tag) == digest]


def _digest_of(client: RegistryClient, repository: str, tag: str) -> str | None:
    head = client.head_manifest(repository, tag)
    return head.digest if head else None


def _event_at_source(source: RegistryClient, repository: str, tag: str,
                     digest: str) -> tuple[str | None, bool]:
    """What `tag` points at at the source now, and whether the event's `digest` is
    there (asked only when the tag points elsewhere)."""
    tag_digest = _digest_of(source, repository, tag)
    if tag_digest == digest:
        return tag_digest, True
    return tag_digest, source.head_manifest(repository, digest) is not None


def _short(digest: str | None) -> str:
    return short_digest(digest) if digest else "absent"


def copy_summary(result: CopyResult) -> str:
    """A copy job's last log line: what the copy took. The engine has already logged
    each image's own ``copied …`` or ``skipped …`` line; repeating it read as a
    second copy."""
    everything = list(_with_referrers(result))
    uploaded = sum(r.blobs_uploaded for r in everything)
    mounted = sum(r.blobs_mounted for r in everything)
    present = sum(r.blobs_present for r in everything)
    referrers = sum(1 for r in everything[1:] if r.status == "copied")
    text = (f"done: {uploaded} blob(s) uploaded ({human_bytes(result.total_bytes_uploaded)}), "
            f"{mounted} mounted, {present} already there")
    if referrers:
        text += f"; {referrers} referrer(s) copied"
    return f"{text}; {result.seconds:.1f} s"


def _with_referrers(result: CopyResult) -> Iterator[CopyResult]:
    yield result
    for referrer in result.referrers:
        yield from _with_referrers(referrer)
