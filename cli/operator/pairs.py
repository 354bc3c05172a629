"""Two-way pairs: opposite rules over linked registries, and the side that wins."""

from __future__ import annotations

import click

from cli import tables
from cli.api_client import ApiClient, Json
from cli.operator.common import api_command, api_group, call, emit, json_option

# -- pairs ------------------------------------------------------------------------------

pairs_group = api_group("pairs", "Two-way pairs: opposite rules over linked registries, "
                                 "and the side that wins their conflicts.")


def rules_text(pair: Json) -> str:
    """``a-to-b (a -> b-ep), b-to-a (b -> a-ep)``."""
    return ", ".join(f"{r.get('name')} ({r.get('source')} -> {r.get('endpoint')})"
                     for r in pair.get("rules", []))


def preferred_text(pair: Json) -> str:
    """``a-to-b: source a wins`` with ``(default)`` when no operator chose."""
    preferred = pair.get("preferred") or {}
    text = f"{preferred.get('rule')}: source {preferred.get('source')} wins"
    return text + " (default)" if preferred.get("default") else text


def pair_text(pair: Json) -> str:
    return tables.details([
        ("pair", pair.get("id")),
        ("rules", rules_text(pair)),
        ("registries", ", ".join(f"source {r.get('source')} = endpoint {r.get('endpoint')}"
                                 for r in pair.get("registries", []))),
        ("preferred", preferred_text(pair)),
    ])


@pairs_group.command("list")
@json_option
@api_command
def pairs_list(api: ApiClient, as_json: bool) -> None:
    """List the two-way pairs and their preferred sides."""
    answer = call(api.list_pairs)
    emit(as_json, answer, lambda: tables.table(
        ["PAIR", "RULES", "PREFERRED"],
        [[pair["id"], rules_text(pair), preferred_text(pair)]
         for pair in answer.get("items", [])]))


@pairs_group.command("show")
@click.argument("pair", metavar="PAIR")
@json_option
@api_command
def pairs_show(api: ApiClient, pair: str, as_json: bool) -> None:
    """Show the pair PAIR (its two rule ids, as `pairs list` shows them: 3-7)."""
    found = call(lambda: api.get_pair(pair))
    emit(as_json, found, lambda: pair_text(found))


@pairs_group.command("prefer")
@click.argument("pair", metavar="PAIR")
@click.option("--rule", required=True, metavar="NAME",
              help="One of the pair's rules: its source wins conflicts.")
@json_option
@api_command
def pairs_prefer(api: ApiClient, pair: str, rule: str, as_json: bool) -> None:
    """Choose the side of PAIR (3-7) that wins a conflict: a tag changed on both sides
    since the last sync ends as the preferred side has it."""
    found = call(lambda: api.prefer(pair, rule))
    emit(as_json, found, lambda: f"pair {found.get('id')}: {preferred_text(found)}")
