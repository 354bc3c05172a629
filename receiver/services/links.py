"""Registry links ("source S is the same registry as endpoint E") and two-way pairs.

A link is how crossdock knows a registry it both reads and writes (DESIGN
invariant 3). Two opposite rules over linked registries whose projects mirror
each other are a pair, named by its two rule ids, lower first (``3-7``); its
preferred side wins conflicts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from receiver.services.context import Services
from receiver.services.errors import field_error
from receiver.services.lookalikes import best_effort
from receiver.services.lookup import endpoint_field, source_field
from receiver.services.names import MAX_INT
from shared.registry_identity import looks_like_same_registry
from shared.store import (
    EndpointKind,
    LinkRecord,
    PairRecord,
    RecordNotFoundError,
    SourceKind,
    Store,
)

log = structlog.get_logger("crossdock.receiver")

_PAIR_KEY = re.compile(r"([0-9]{1,19})-([0-9]{1,19})")


@dataclass(frozen=True)
class LinkChange:
    link: LinkRecord
    warnings: list[str]


@best_effort
def link_warnings(store: Store, link: LinkRecord) -> list[str]:
    """What looks wrong with a link: URLs that do not look alike, a Harbor registry
    without the account crossdock writes with, an account on a registry that is not
    Harbor."""
    source, endpoint = store.get_source(link.source_id), store.get_endpoint(link.endpoint_id)
    found = []
    if not looks_like_same_registry(source.url, endpoint.url):
        found.append(f"source {source.name!r} at {source.url} and endpoint {endpoint.name!r} "
                     f"at {endpoint.url} do not look like one registry: check that they are "
                     "(crossdock takes the link's word for it)")
    harbor = source.kind == SourceKind.HARBOR or endpoint.kind == EndpointKind.HARBOR
    if harbor and link.harbor_account is None:
        found.append(f"source {source.name!r} / endpoint {endpoint.name!r} is a Harbor "
                     "registry: give harbor_account, the account crossdock writes there "
                     "with, or crossdock cannot tell its own writes in Harbor's events "
                     "(they name only the account)")
    if not harbor and link.harbor_account is not None:
        found.append(f"harbor_account is only read from Harbor registries; source "
                     f"{source.name!r} and endpoint {endpoint.name!r} are not Harbor")
    for warning in found:
        log.warning("registry link looks wrong", link=link.id, source=source.name,
                    endpoint=endpoint.name, warning=warning)
    return found


def create_link(found: Services, data: Mapping[str, Any]) -> LinkChange:
    """Link a source with an endpoint (`LinkCreateSchema`'s shape, both by name).
    Raises `ValidationError` naming an unknown source or endpoint, `ConflictError`
    when either is already linked."""
    source = source_field(found.store, data["source"])
    endpoint = endpoint_field(found.store, data["endpoint"])
    link = found.store.create_link(source_id=source.id, endpoint_id=endpoint.id,
                                   harbor_account=data.get("harbor_account"))
    log.info("registry link created", link=link.id, source=source.name, endpoint=endpoint.name)
    return LinkChange(link, link_warnings(found.store, link))


def update_link(found: Services, link: LinkRecord, data: Mapping[str, Any]) -> LinkChange:
    """Change a link's Harbor account (`LinkPatchSchema`'s shape); None removes it."""
    updated = found.store.update_link(link.id, **data)
    log.info("registry link changed", link=updated.id, fields=sorted(data))
    return LinkChange(updated, link_warnings(found.store, updated))


def delete_link(found: Services, link_id: int) -> None:
    """Delete a link: its rules stop being a two-way pair. Raises `RecordNotFoundError`."""
    found.store.delete_link(link_id)
    log.info("registry link deleted", link=link_id)


def pair_named(store: Store, key: str) -> PairRecord:
    """The pair ``<first id>-<second id>`` (either order). Raises `RecordNotFoundError`."""
    matched = _PAIR_KEY.fullmatch(key)
    ids = {int(matched[1]), int(matched[2])} if matched else set()
    if len(ids) != 2 or max(ids) > MAX_INT:
        raise RecordNotFoundError(f"no pair {key!r}: a pair is named by its two rule ids, "
                                  "as in 3-7")
    # A rule pairs with its lowest-id opposite rule: the pair may be either rule's.
    for rule_id in sorted(ids):
        pair = store.find_pair(rule_id)
        if pair is not None and {pair.first.id, pair.second.id} == ids:
            return pair
    raise RecordNotFoundError(f"rules {min(ids)} and {max(ids)} are not a two-way pair")


def prefer_rule(found: Services, pair: PairRecord, rule_name: str) -> PairRecord:
    """Make the rule named `rule_name` the pair's preferred side. Raises
    `ValidationError` naming ``rule`` when it is not one of the pair's rules."""
    chosen = next((rule for rule in (pair.first, pair.second) if rule.name == rule_name), None)
    if chosen is None:
        raise field_error("rule", f"Rule {rule_name!r} is not in pair {pair.key}: give "
                                  f"{pair.first.name!r} or {pair.second.name!r}.")
    updated = found.store.set_pair_preference(pair.first.id, pair.second.id, chosen.id)
    log.info("pair preference set", pair=updated.key, preferred=chosen.name)
    return updated
