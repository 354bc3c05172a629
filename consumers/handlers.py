"""What each kind of job does. Events are hints; these reconcile state instead
(DESIGN invariant 2): re-read the source now, make the endpoint match.

Each handler returns a `JobOutcome` (succeeded or skipped) or raises an error
of the tree: transient errors are retried, permanent ones fail the job.
"""

from __future__ import annotations

from consumers.context import HarborProjects, JobContext, JobOutcome
from shared.copy.engine import CopyOptions
from shared.copy.events import short_digest
from shared.dispatch import PublishJobs, dispatch
from shared.errors import NotFoundError
from shared.filters import from_rule, passes
from shared.registry import RegistryClient, harbor
from shared.registry.manifests import delete_tag_reference
from shared.store import JobAction, JobStatus, NewJob


class JobHandlers:
    """Replicate, delete and sync, sharing the copy engine and the Harbor project cache."""

    def __init__(self, copy_options: CopyOptions, publish: PublishJobs) -> None:
        self._copy_options = copy_options
        self._publish = publish
        self._harbor_projects = HarborProjects()

    def run(self, ctx: JobContext) -> JobOutcome:
        action = ctx.job.action
        if action == JobAction.REPLICATE:
            return self.replicate(ctx)
        if action == JobAction.DELETE:
            return self.delete(ctx)
        return self.sync(ctx)

    # -- replicate -------------------------------------------------------------------

    def replicate(self, ctx: JobContext) -> JobOutcome:
        job, src, dst = ctx.job, ctx.source_client, ctx.endpoint_client
        dst_repo = ctx.destination_repository
        if job.tag is not None:
            reference = job.tag
            if src.head_manifest(job.repository, job.tag) is None:
                return JobOutcome(JobStatus.SKIPPED, f"tag {job.tag} is gone at the source")
        else:
            assert job.digest is not None
            reference = job.digest
            try:
                manifest = src.get_manifest(job.repository, job.digest)
            except NotFoundError:
                return JobOutcome(JobStatus.SKIPPED, "digest is gone at the source")
            if manifest.subject is None:
                # Index children come with their index, images with their tags.
                return JobOutcome(JobStatus.SKIPPED,
                                  "untagged manifest that refers to nothing: nothing to do")
        if ctx.endpoint_is_harbor:
            self._harbor_projects.ensure(ctx, dst_repo)
        try:
            result = ctx.engine.copy(src, job.repository, reference, dst, dst_repo,
                                     tag=job.tag, on_event=ctx.on_event,
                                     options=ctx.copy_options(self._copy_options))
        except NotFoundError as exc:
            if src.head_manifest(job.repository, reference) is None:
                return JobOutcome(JobStatus.SKIPPED, f"gone at the source during the copy: {exc}")
            raise
        if result.status == "skipped" and not any(r.status == "copied" for r in result.referrers):
            return JobOutcome(JobStatus.SKIPPED, result.reason)
        return JobOutcome(JobStatus.SUCCEEDED, f"copied {result.destination}",
                          result.total_bytes_uploaded)

    # -- delete ----------------------------------------------------------------------

    def delete(self, ctx: JobContext) -> JobOutcome:
        if not (ctx.rule.replicate_deletes or ctx.rule.prune):
            return JobOutcome(JobStatus.SKIPPED, "the rule does not replicate deletes")
        if ctx.job.digest is not None:
            return self._delete_digest(ctx, ctx.job.digest)
        assert ctx.job.tag is not None
        return self._delete_tag(ctx, ctx.job.tag)

    def _delete_digest(self, ctx: JobContext, digest: str) -> JobOutcome:
        src, dst, dst_repo = ctx.source_client, ctx.endpoint_client, ctx.destination_repository
        if src.head_manifest(ctx.job.repository, digest) is not None:
            return JobOutcome(JobStatus.SKIPPED, "the source still has this digest")
        if dst.head_manifest(dst_repo, digest) is None:
            # Distribution sends blob deletes in this shape too: nothing to do.
            return JobOutcome(JobStatus.SKIPPED, "not at the endpoint")
        self._delete_manifest(ctx, dst_repo, digest, _tags_on(dst, dst_repo, digest))
        return JobOutcome(JobStatus.SUCCEEDED, f"deleted {dst_repo}@{short_digest(digest)}")

    @staticmethod
    def _delete_manifest(ctx: JobContext, repository: str, digest: str, tags: list[str]) -> None:
        """Delete a digest at the endpoint, recorded first with every tag it takes
        along (the endpoint notifies a delete for each)."""
        ctx.record_write(repository, None, digest, action="delete")
        for tag in tags:
            ctx.record_write(repository, tag, None, action="delete")
        ctx.endpoint_client.delete_manifest(repository, digest)

    def _delete_tag(self, ctx: JobContext, tag: str) -> JobOutcome:
        """Remove one tag at the endpoint and no other tag the source still has."""
        src, dst, dst_repo = ctx.source_client, ctx.endpoint_client, ctx.destination_repository
        if src.head_manifest(ctx.job.repository, tag) is not None:
            return JobOutcome(JobStatus.SKIPPED, f"the source has tag {tag} again")
        current = dst.head_manifest(dst_repo, tag)
        if current is None:
            return JobOutcome(JobStatus.SKIPPED, f"tag {tag} is not at the endpoint")
        if ctx.endpoint_is_harbor:
            ctx.record_write(dst_repo, tag, None, action="delete")
            harbor.delete_tag(dst.transport, dst_repo, current.digest, tag)
            return JobOutcome(JobStatus.SUCCEEDED, f"deleted tag {dst_repo}:{tag} (Harbor API)")
        ctx.record_write(dst_repo, tag, None, action="delete")
        if delete_tag_reference(dst.transport, dst_repo, tag):
            return JobOutcome(JobStatus.SUCCEEDED, f"deleted tag {dst_repo}:{tag}")
        # Distribution 2.8 can't delete a tag alone: delete the digest, then put
        # back the endpoint's other tags on it that the source still has there.
        manifest = dst.get_manifest(dst_repo, current.digest)
        on_digest = _tags_on(dst, dst_repo, current.digest)
        keep = [other for other in on_digest if other != tag
                and _digest_of(src, ctx.job.repository, other) == current.digest]
        self._delete_manifest(ctx, dst_repo, current.digest, on_digest)
        for other in keep:
            ctx.record_write(dst_repo, other, current.digest)
            dst.put_manifest(dst_repo, other, manifest)
        kept = f", kept {', '.join(keep)}" if keep else ""
        return JobOutcome(JobStatus.SUCCEEDED,
                          f"deleted tag {dst_repo}:{tag} by its digest{kept}")

    # -- sync ------------------------------------------------------------------------

    def sync(self, ctx: JobContext) -> JobOutcome:
        """List the rule's project at the source and queue one replicate job per
        tag; with the rule's prune option, also one delete job per endpoint tag
        the source no longer has (within the rule's filters)."""
        rule, src = ctx.rule, ctx.source_client
        if ctx.source_is_harbor:
            repositories = harbor.list_repositories(src.transport, rule.project)
        else:
            prefix = rule.project + "/"
            repositories = sorted(name for name in src.catalog() if name.startswith(prefix))
        repo_filters, tag_filters = from_rule(rule.repo_filters), from_rule(rule.tag_filters)
        repositories = [name for name in repositories if passes(repo_filters, name)]
        present = [(repository, tag) for repository in repositories
                   for tag in src.tags(repository) if passes(tag_filters, tag)]
        specs = [self._spec(ctx, JobAction.REPLICATE, repository, tag)
                 for repository, tag in present]
        pruned = 0
        if rule.prune:
            at_source = set(present)
            stale = [(repository, tag) for repository, tag in _endpoint_images(ctx)
                     if passes(repo_filters, repository) and passes(tag_filters, tag)
                     and (repository, tag) not in at_source]
            specs += [self._spec(ctx, JobAction.DELETE, repository, tag)
                      for repository, tag in stale]
            pruned = len(stale)
        jobs = dispatch(ctx.store, self._publish, specs, {ctx.endpoint.id: ctx.endpoint.name})
        message = f"queued {len(jobs) - pruned} images from {len(repositories)} repositories"
        if rule.prune:
            message += f" and {pruned} deletes of images the source no longer has"
        return JobOutcome(JobStatus.SUCCEEDED, message)

    @staticmethod
    def _spec(ctx: JobContext, action: JobAction, repository: str, tag: str) -> NewJob:
        return NewJob(rule_id=ctx.rule.id, endpoint_id=ctx.endpoint.id, source_id=ctx.source.id,
                      repository=repository, action=action, tag=tag,
                      execution_id=ctx.job.execution_id)


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
        if name.startswith(namespace + "/"):
            source_name = rule.project + name[len(namespace):]
            found += [(source_name, tag) for tag in dst.tags(name)]
    return found


def _tags_on(client: RegistryClient, repository: str, digest: str) -> list[str]:
    """The repository's tags that point at `digest`."""
    return [tag for tag in client.tags(repository) if _digest_of(client, repository, tag) == digest]


def _digest_of(client: RegistryClient, repository: str, tag: str) -> str | None:
    head = client.head_manifest(repository, tag)
    return head.digest if head else None
