"""Sources: the registries that notify crossdock, with their config snippets."""

from __future__ import annotations

import json
from typing import Any

import click

from cli import tables
from cli.api_client import ApiClient, Json
from cli.operator.common import (
    api_command,
    api_group,
    call,
    changes_or_fail,
    connection_fields,
    connection_options,
    emit,
    given,
    json_option,
    registry_details,
    stamps,
    usage_error,
    warn_about,
)
from shared.kinds import SourceKind

# -- sources ----------------------------------------------------------------------------

sources_group = api_group("sources", "Sources: the registries that notify crossdock.")
SOURCE_KINDS = click.Choice([kind.value for kind in SourceKind])


def source_text(source: Json) -> str:
    notification = source.get("notification") or {}
    return tables.details([
        *registry_details(source),
        ("webhook URL", notification.get("webhook_url")),
        ("webhook secret", "set (shown only by the command that sets it)"
         if source.get("has_webhook_secret") else None),
        *stamps(source, "created_at", "updated_at"),
    ])


def notification_text(source: Json) -> str:
    """What to paste into the registry so it notifies crossdock."""
    setup = source.get("notification") or {}
    parts = ["", "Notification set-up: " + str(setup.get("instructions", "")), ""]
    if "config_yml" in setup:
        parts.append(str(setup["config_yml"]).rstrip("\n"))
    if "request" in setup:
        parts += [str(setup["request"]), json.dumps(setup.get("body", {}), indent=2)]
    return "\n".join(parts)


def source_answer_text(verb: str, source: Json) -> str:
    lines = [f"{verb} source {source['name']}", source_text(source)]
    if "webhook_secret" in source:
        lines.append(f"\nwebhook secret (shown once, keep it): {source['webhook_secret']}")
    return "\n".join(lines) + "\n" + notification_text(source)


@sources_group.command("list")
@json_option
@api_command
def sources_list(api: ApiClient, as_json: bool) -> None:
    """List the sources."""
    answer = call(api.list_sources)
    items = answer.get("items", [])
    emit(as_json, answer, lambda: tables.table(
        ["NAME", "KIND", "URL", "WEBHOOK URL", "UPDATED"],
        [[s["name"], s["kind"], s["url"], (s.get("notification") or {}).get("webhook_url"),
          tables.when(s.get("updated_at"))] for s in items]))


@sources_group.command("show")
@click.argument("name")
@json_option
@api_command
def sources_show(api: ApiClient, name: str, as_json: bool) -> None:
    """Show the source NAME and the notification set-up for its registry."""
    source = call(lambda: api.get_source(name))
    emit(as_json, source, lambda: source_text(source) + "\n" + notification_text(source))


@sources_group.command("create")
@click.argument("name")
@click.option("--url", required=True, metavar="URL", help="The registry: http(s)://host[:port].")
@click.option("--kind", type=SOURCE_KINDS, default="distribution", show_default=True,
              help="What sends the notifications.")
@click.option("--secret", metavar="SECRET",
              help="The webhook secret the registry sends (default: generated).")
@connection_options(update=False)
@json_option
@api_command
def sources_create(api: ApiClient, name: str, url: str, kind: str, secret: str | None,
                   as_json: bool, **options: Any) -> None:
    """Create the source NAME; prints its webhook secret (once) and the notification
    set-up to paste into the registry."""
    fields = {"name": name, "url": url, "kind": kind, **given(webhook_secret=secret),
              **connection_fields(options)}
    source = call(lambda: api.create_source(fields))
    warn_about(source)
    emit(as_json, source, lambda: source_answer_text("created", source))


@sources_group.command("update")
@click.argument("name")
@click.option("--url", metavar="URL", help="The registry: http(s)://host[:port].")
@click.option("--kind", type=SOURCE_KINDS, help="What sends the notifications.")
@click.option("--secret", metavar="SECRET", help="A new webhook secret.")
@click.option("--regenerate-secret", is_flag=True, help="Generate a new webhook secret.")
@connection_options(update=True)
@json_option
@api_command
def sources_update(api: ApiClient, name: str, url: str | None, kind: str | None,
                   secret: str | None, regenerate_secret: bool, as_json: bool,
                   **options: Any) -> None:
    """Change the source NAME (not its name); a new secret is shown once."""
    if secret is not None and regenerate_secret:
        raise usage_error("give --secret or --regenerate-secret, not both")
    changes = changes_or_fail({
        **given(url=url, kind=kind, webhook_secret=secret,
                regenerate_webhook_secret=regenerate_secret or None),
        **connection_fields(options),
    })
    source = call(lambda: api.update_source(name, changes))
    warn_about(source)
    emit(as_json, source, lambda: source_answer_text("updated", source))


@sources_group.command("delete")
@click.argument("name")
@json_option
@api_command
def sources_delete(api: ApiClient, name: str, as_json: bool) -> None:
    """Delete the source NAME and its job history (refused while a rule uses it)."""
    call(lambda: api.delete_source(name))
    if not as_json:
        click.echo(f"deleted source {name}")


