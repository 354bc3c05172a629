"""Two-way pairs: ``/pairs[/<pair>[/preferred]]``. The work is
`receiver.services.links`.

Two opposite rules over linked registries (see `links`) whose projects mirror
each other are a pair: one project synced both ways. A pair is named by its two
rule ids, lower first (``3-7``). Its preferred side, the rule whose source wins
a conflict (a tag changed on both sides since the last sync), is by default the
first rule's; an operator can choose the other.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from receiver.api.common import answer, describe, load_body
from receiver.api.link_schemas import PairListSchema, pair_out, preference
from receiver.api.runs import Names, registry_names
from receiver.services import current_services, links
from shared.store import PairRecord, RuleRecord

blueprint = Blueprint("pairs", __name__)


def pair_answer(pair: PairRecord, names: Names | None = None) -> dict[str, Any]:
    """A pair as answered: its rules, its registries and its preferred side, by name."""
    store = current_services().store
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


@blueprint.get("/pairs")
@describe("List two-way pairs: opposite rules over linked registries",
          response=PairListSchema())
def index() -> Response:
    names = registry_names()
    return answer({"items": [pair_answer(pair, names)
                             for pair in current_services().store.list_pairs()]})


@blueprint.get("/pairs/<pair>")
@describe("Show a two-way pair, named by its two rule ids (3-7)", response=pair_out,
          errors=(404,))
def show(pair: str) -> Response:
    return answer(pair_answer(links.pair_named(current_services().store, pair)))


@blueprint.put("/pairs/<pair>/preferred")
@describe("Choose the rule whose source wins the pair's conflicts", body=preference,
          response=pair_out, errors=(400, 404))
def prefer(pair: str) -> Response:
    found = current_services()
    named = links.pair_named(found.store, pair)
    rule = load_body(preference)["rule"]
    return answer(pair_answer(links.prefer_rule(found, named, rule)))
