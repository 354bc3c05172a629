"""Two-way pairs: ``/pairs[/<pair>[/preferred]]``.

Two opposite rules over linked registries (see `links`) whose projects mirror
each other are a pair: one project synced both ways. A pair is named by its two
rule ids, lower first (``3-7``). Its preferred side, the rule whose source wins
a conflict (a tag changed on both sides since the last sync), is by default the
first rule's; an operator can choose the other.
"""

from __future__ import annotations

import re
from typing import Any

import structlog
from flask import Blueprint, Response

from receiver.api.common import MAX_INT, answer, describe, field_error, load_body
from receiver.api.link_schemas import PairListSchema, pair_out, preference
from receiver.api.runs import Names, registry_names
from receiver.app import services
from shared.store import PairRecord, RecordNotFoundError, RuleRecord

blueprint = Blueprint("pairs", __name__)
log = structlog.get_logger("crossdock.receiver")

_KEY = re.compile(r"([0-9]{1,19})-([0-9]{1,19})")


def pair_answer(pair: PairRecord, names: Names | None = None) -> dict[str, Any]:
    """A pair as answered: its rules, its registries and its preferred side, by name."""
    store = services().store
    sources, endpoints = names or ({}, {})

    def source(rule: RuleRecord) -> str:
        return sources.get(rule.source_id) or store.get_source(rule.source_id).name

    def endpoint(rule: RuleRecord) -> str:
        return endpoints.get(rule.endpoint_id) or store.get_endpoint(rule.endpoint_id).name

    rules = (pair.first, pair.second)
    preferred = pair.first if pair.preferred_rule_id == pair.first.id else pair.second
    payload: dict[str, Any] = pair_out.dump({
        "id": pair.key,
        "rules": [{"id": rule.id, "name": rule.name, "source": source(rule),
                   "endpoint": endpoint(rule), "project": rule.project} for rule in rules],
        # Each rule's source is linked with the other rule's endpoint.
        "registries": [{"source": source(rule), "endpoint": endpoint(pair.other(rule.id))}
                       for rule in rules],
        "preferred": {"rule": preferred.name, "rule_id": preferred.id,
                      "source": source(preferred), "default": not pair.preference_set},
    })
    return payload


def pair_named(key: str) -> PairRecord:
    """The pair ``<first id>-<second id>`` (either order). Raises `RecordNotFoundError`
    (404)."""
    found = _KEY.fullmatch(key)
    ids = {int(found[1]), int(found[2])} if found else set()
    if len(ids) != 2 or max(ids) > MAX_INT:
        raise RecordNotFoundError(f"no pair {key!r}: a pair is named by its two rule ids, "
                                  "as in 3-7")
    # A rule pairs with its lowest-id opposite rule: the pair may be either rule's.
    for rule_id in sorted(ids):
        pair = services().store.find_pair(rule_id)
        if pair is not None and {pair.first.id, pair.second.id} == ids:
            return pair
    raise RecordNotFoundError(f"rules {min(ids)} and {max(ids)} are not a two-way pair")


@blueprint.get("/pairs")
@describe("List two-way pairs: opposite rules over linked registries",
          response=PairListSchema())
def index() -> Response:
    names = registry_names()
    return answer({"items": [pair_answer(pair, names)
                             for pair in services().store.list_pairs()]})


@blueprint.get("/pairs/<pair>")
@describe("Show a two-way pair, named by its two rule ids (3-7)", response=pair_out,
          errors=(404,))
def show(pair: str) -> Response:
    return answer(pair_answer(pair_named(pair)))


@blueprint.put("/pairs/<pair>/preferred")
@describe("Choose the rule whose source wins the pair's conflicts", body=preference,
          response=pair_out, errors=(400, 404))
def prefer(pair: str) -> Response:
    found = pair_named(pair)
    name = load_body(preference)["rule"]
    chosen = next((rule for rule in (found.first, found.second) if rule.name == name), None)
    if chosen is None:
        raise field_error("rule", f"Rule {name!r} is not in pair {found.key}: give "
                                  f"{found.first.name!r} or {found.second.name!r}.")
    updated = services().store.set_pair_preference(found.first.id, found.second.id, chosen.id)
    log.info("pair preference set", pair=updated.key, preferred=chosen.name)
    return answer(pair_answer(updated))
