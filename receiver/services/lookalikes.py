"""Warnings for registries that look alike but are not linked (DESIGN invariant 3).

crossdock knows that a source and an endpoint are one registry only through a
link: without it, its own writes there are not recognised as such and two
opposite rules are not a two-way pair. A source or endpoint whose URL looks like
an unlinked counterpart's (`shared.registry_identity`), and a rule whose opposite
rule is not its pair for lack of links, get a warning in the answer to the
request that created or changed them, and a warning line in the receiver's log.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec

import structlog

from shared.errors import CrossdockError
from shared.registry_identity import looks_like_same_registry
from shared.store import EndpointRecord, RuleRecord, SourceRecord, Store

log = structlog.get_logger("crossdock.receiver")
P = ParamSpec("P")

_WHY = "so that crossdock knows its own writes there and two-way sync has no echoes"


def _link_advice(source: str, endpoint: str) -> str:
    return (f"POST /api/v1/links, or `crossdock links create --source {source} "
            f"--endpoint {endpoint}`")


def _not_linked(source: SourceRecord, endpoint: EndpointRecord, *, links: dict[int, int],
                endpoint_first: bool) -> str:
    """The sentence for a source and an endpoint that look alike, unlinked."""
    pair = (f"endpoint {endpoint.name!r} at {endpoint.url} looks like source {source.name!r} "
            f"at {source.url}" if endpoint_first else
            f"source {source.name!r} at {source.url} looks like endpoint {endpoint.name!r} "
            f"at {endpoint.url}")
    taken = []
    if source.id in links:
        taken.append(f"source {source.name!r}")
    if endpoint.id in links.values():
        taken.append(f"endpoint {endpoint.name!r}")
    if taken:
        return (f"{pair}, but they are not linked and {' and '.join(taken)} "
                f"{'is' if len(taken) == 1 else 'are'} already linked elsewhere: "
                "check the URLs (a registry has one link)")
    return (f"{pair}, but they are not linked: link them "
            f"({_link_advice(source.name, endpoint.name)}) {_WHY}")


def best_effort(compute: Callable[P, list[str]]) -> Callable[P, list[str]]:
    """Warnings are advice: a store failing while they are computed does not fail the
    request, whose change is already recorded."""

    @functools.wraps(compute)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> list[str]:
        try:
            return compute(*args, **kwargs)
        except CrossdockError as exc:
            log.warning("look-alike check skipped", error=str(exc))
            return []

    return guarded


def _links(store: Store) -> dict[int, int]:
    """Endpoint id by linked source id."""
    return {link.source_id: link.endpoint_id for link in store.list_links()}


@best_effort
def source_warnings(store: Store, source: SourceRecord) -> list[str]:
    """The endpoints that look like `source` without being linked with it."""
    found = [(source, endpoint) for endpoint in store.list_endpoints()]
    return _unlinked_lookalikes(store, found, endpoint_first=False)


@best_effort
def endpoint_warnings(store: Store, endpoint: EndpointRecord) -> list[str]:
    """The sources that look like `endpoint` without being linked with it."""
    found = [(source, endpoint) for source in store.list_sources()]
    return _unlinked_lookalikes(store, found, endpoint_first=True)


def _unlinked_lookalikes(store: Store, candidates: list[tuple[SourceRecord, EndpointRecord]],
                         *, endpoint_first: bool) -> list[str]:
    """A logged warning for each (source, endpoint) that looks alike and is not linked."""
    links = _links(store)
    warnings = []
    for source, endpoint in candidates:
        if links.get(source.id) == endpoint.id or not looks_like_same_registry(
                source.url, endpoint.url):
            continue
        log.warning("registries look alike but are not linked", source=source.name,
                    source_url=source.url, endpoint=endpoint.name, endpoint_url=endpoint.url)
        warnings.append(_not_linked(source, endpoint, links=links,
                                    endpoint_first=endpoint_first))
    return warnings


def lands_in(rule: RuleRecord) -> str:
    """Where a rule's project lands on its endpoint."""
    return rule.dest_namespace or rule.project


def mirror_each_other(rule: RuleRecord, other: RuleRecord) -> bool:
    """Each rule's project lands where the other one reads."""
    return lands_in(rule) == other.project and lands_in(other) == rule.project


@best_effort
def rule_warnings(store: Store, rule: RuleRecord) -> list[str]:
    """The opposite rules of `rule` (mirrored projects, each endpoint linked with or
    looking like the other's source) that are not its pair for lack of links."""
    if store.find_pair(rule.id) is not None:
        return []
    links = _links(store)
    sources = {source.id: source for source in store.list_sources()}
    endpoints = {endpoint.id: endpoint for endpoint in store.list_endpoints()}

    def one_registry(source_id: int, endpoint_id: int) -> bool:
        if source_id not in sources or endpoint_id not in endpoints:
            return False  # created since they were listed
        return links.get(source_id) == endpoint_id or looks_like_same_registry(
            sources[source_id].url, endpoints[endpoint_id].url)

    found: list[str] = []
    for other in store.list_rules():
        if (other.id == rule.id or not mirror_each_other(rule, other)
                or not one_registry(rule.source_id, other.endpoint_id)
                or not one_registry(other.source_id, rule.endpoint_id)):
            continue
        missing = [(sources[s], endpoints[e]) for s, e in (
            (rule.source_id, other.endpoint_id), (other.source_id, rule.endpoint_id))
            if links.get(s) != e]
        if not missing:
            continue  # both links exist: a pair, or not one for another reason
        log.warning("opposite rules are not a pair for lack of links", rule=rule.name,
                    opposite=other.name,
                    missing=[f"{s.name}={e.name}" for s, e in missing])
        to_link = " and ".join(f"source {s.name!r} with endpoint {e.name!r}"
                               for s, e in missing)
        first_source, first_endpoint = missing[0]
        found.append(
            f"rules {rule.name!r} and {other.name!r} look like the two directions of one "
            f"two-way sync, but they are not a pair for lack of links: link {to_link} "
            f"({_link_advice(first_source.name, first_endpoint.name)}) so that they sync "
            "both ways as a pair: no echoes, and conflicts settled by the preferred side")
    return found
