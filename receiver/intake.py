"""Registry events to jobs: which rules an event concerns, echoes dropped.

For each event from source S: the enabled rules of S for the event's project (the
first path segment), kept by their repository filters, and by their tag filters
when the event names a tag (a delete or push by digest has no tag to match). An
event crossdock itself caused is dropped for the rules that would copy it back to
where it came from, and only those (`receiver.echoes`; DESIGN invariant 3).

Jobs, one per surviving (event, rule), identical ones merged:

- push with a tag: replicate the tag (the digest rides along for the logs);
- push by digest (an index child, a referrer): replicate by digest;
- delete with a digest: delete by digest;
- delete with a tag: delete the tag.

A delete carrying both (Harbor's ``DELETE_ARTIFACT``: the artifact went with all
its tags, and the event names one of them) gives both jobs. The digest job removes
the endpoint's copy of the artifact, and with it every endpoint tag on that digest;
the tag job removes the named tag at the endpoint even where it points at another
digest (an endpoint that lagged behind). Both re-check the source before deleting
(invariant 2), so either order converges and a re-push in between is kept.

A rule deleted between the plan and the recording of its jobs gets none
(`Plan.keep_recorded`): its events are then accounted for as if they had come
after the delete, ``no_rule`` when no other rule had a say.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from receiver.echoes import NO_ENDPOINTS, EchoOrigins
from receiver.notifications import RegistryEvent
from shared.filters import from_rule, passes
from shared.store import (
    EndpointRecord,
    JobAction,
    JobRecord,
    NewJob,
    RuleRecord,
    SourceRecord,
    Store,
)


@dataclass
class Plan:
    """The jobs a batch of events asks for, and what became of the other events."""

    jobs: list[NewJob] = field(default_factory=list)
    accepted: int = 0  # events that gave at least one job
    ignored: Counter[str] = field(default_factory=Counter)  # reason -> events
    echo_drops: int = 0  # (event, rule) pairs dropped as crossdock's own writes
    endpoint_names: dict[int, str] = field(default_factory=dict)
    # Per accepted event: the rules that gave it jobs, and why the others did not.
    wanted_by: list[tuple[frozenset[int], frozenset[str]]] = field(default_factory=list)

    def keep_recorded(self, recorded: Iterable[JobRecord]) -> None:
        """Account for the jobs the store recorded: a rule that got none was deleted
        since the plan, so an event no remaining rule wanted is ignored for the
        reasons the other rules gave (``no_rule`` when there were none)."""
        kept = {job.rule_id for job in recorded}
        if kept.issuperset(job.rule_id for job in self.jobs):
            return
        self.jobs = [job for job in self.jobs if job.rule_id in kept]
        still_wanted = []
        for rule_ids, reasons in self.wanted_by:
            if rule_ids & kept:
                still_wanted.append((rule_ids & kept, reasons))
            else:
                self.ignored[_main_reason(set(reasons))] += 1
        self.wanted_by = still_wanted
        self.accepted = len(still_wanted)


def plan_jobs(
    store: Store,
    source: SourceRecord,
    events: Sequence[RegistryEvent],
    *,
    echoes: EchoOrigins | None = None,
    endpoint_lookup: Callable[[int], EndpointRecord] | None = None,
) -> Plan:
    """Match `events` from `source` against its rules and build the jobs, deduplicated.

    An event is an echo for a rule when `echoes` says crossdock made that change,
    copying from the rule's endpoint.

    Reads the store only; raises its errors (`StoreUnavailableError` and the like).
    """
    plan = Plan()
    rules_by_project: dict[str, list[RuleRecord]] = {}
    endpoints: dict[int, EndpointRecord] = {}
    seen: set[NewJob] = set()
    for event in events:
        project = event.repository.split("/", 1)[0]
        if project not in rules_by_project:
            rules_by_project[project] = store.list_rules(
                source_id=source.id, project=project, enabled=True)
        rules = rules_by_project[project]
        if not rules:
            plan.ignored["no_rule"] += 1
            continue
        specs: list[NewJob] = []
        reasons: set[str] = set()
        back: frozenset[int] | None = None  # asked once a rule wants the event
        for rule in rules:
            reason = rule_skips(rule, event)
            if reason is None:
                if rule.endpoint_id not in endpoints:
                    endpoints[rule.endpoint_id] = (endpoint_lookup or store.get_endpoint)(
                        rule.endpoint_id)
                endpoint = endpoints[rule.endpoint_id]
                if back is None:
                    back = (echoes.back_to_origin(source, event) if echoes is not None
                            else NO_ENDPOINTS)
                if endpoint.id in back:
                    reason = "echo"
                    plan.echo_drops += 1
                else:
                    specs.extend(job_specs(rule, source, event))
                    plan.endpoint_names[endpoint.id] = endpoint.name
            if reason is not None:
                reasons.add(reason)
        if not specs:
            plan.ignored[_main_reason(reasons)] += 1
            continue
        plan.accepted += 1
        plan.wanted_by.append((frozenset(spec.rule_id for spec in specs), frozenset(reasons)))
        for spec in specs:
            if spec not in seen:
                seen.add(spec)
                plan.jobs.append(spec)
    return plan


def rule_skips(rule: RuleRecord, event: RegistryEvent) -> str | None:
    """Why `rule` has nothing to do with `event` (None: it wants it). Pure."""
    if event.action == "delete" and not rule.replicate_deletes:
        return "deletes_off"
    if not passes(from_rule(rule.repo_filters), event.repository):
        return "filtered"
    if event.tag is not None and not passes(from_rule(rule.tag_filters), event.tag):
        return "filtered"
    return None


def job_specs(rule: RuleRecord, source: SourceRecord, event: RegistryEvent) -> list[NewJob]:
    """The jobs `event` asks of `rule` (see the module docstring). Pure."""

    def job(action: JobAction, tag: str | None, digest: str | None) -> NewJob:
        return NewJob(rule_id=rule.id, endpoint_id=rule.endpoint_id, source_id=source.id,
                      repository=event.repository, action=action, tag=tag, digest=digest)

    if event.action == "push":
        return [job(JobAction.REPLICATE, event.tag, event.digest)]
    specs = []
    if event.digest is not None:
        specs.append(job(JobAction.DELETE, None, event.digest))
    if event.tag is not None:
        specs.append(job(JobAction.DELETE, event.tag, None))
    return specs


def _main_reason(reasons: set[str]) -> str:
    for reason in ("echo", "filtered", "deletes_off"):
        if reason in reasons:
            return reason
    return "no_rule"
