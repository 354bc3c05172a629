"""Endpoints: create, show, update, delete, Test Connection, redrive."""

from __future__ import annotations

import sys
from typing import Any

import click

from cli import tables
from cli.api_client import ApiClient, Json
from cli.errors import fail
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
    tls_text,
    usage_error,
    warn_about,
)
from shared.kinds import EndpointKind

# -- endpoints --------------------------------------------------------------------------

endpoints_group = api_group("endpoints", "Endpoints: the registries crossdock writes to.")
ENDPOINT_KINDS = click.Choice([kind.value for kind in EndpointKind])


def endpoint_text(endpoint: Json) -> str:
    return tables.details([*registry_details(endpoint),
                           *stamps(endpoint, "created_at", "updated_at")])


@endpoints_group.command("list")
@json_option
@api_command
def endpoints_list(api: ApiClient, as_json: bool) -> None:
    """List the endpoints."""
    answer = call(api.list_endpoints)
    items = answer.get("items", [])
    emit(as_json, answer, lambda: tables.table(
        ["NAME", "KIND", "URL", "USERNAME", "TLS", "UPDATED"],
        [[e["name"], e["kind"], e["url"], e.get("username"), tls_text(e),
          tables.when(e.get("updated_at"))] for e in items]))


@endpoints_group.command("show")
@click.argument("name")
@json_option
@api_command
def endpoints_show(api: ApiClient, name: str, as_json: bool) -> None:
    """Show the endpoint NAME."""
    endpoint = call(lambda: api.get_endpoint(name))
    emit(as_json, endpoint, lambda: endpoint_text(endpoint))


@endpoints_group.command("create")
@click.argument("name")
@click.option("--url", required=True, metavar="URL", help="The registry: http(s)://host[:port].")
@click.option("--kind", type=ENDPOINT_KINDS, help="registry (default) or harbor.")
@connection_options(update=False)
@json_option
@api_command
def endpoints_create(api: ApiClient, name: str, url: str, kind: str | None, as_json: bool,
                     **options: Any) -> None:
    """Create the endpoint NAME (its queues are named after it)."""
    fields = {"name": name, "url": url, **given(kind=kind), **connection_fields(options)}
    endpoint = call(lambda: api.create_endpoint(fields))
    warn_about(endpoint)
    emit(as_json, endpoint, lambda: f"created endpoint {name}\n{endpoint_text(endpoint)}")


@endpoints_group.command("update")
@click.argument("name")
@click.option("--url", metavar="URL", help="The registry: http(s)://host[:port].")
@click.option("--kind", type=ENDPOINT_KINDS, help="registry or harbor.")
@connection_options(update=True)
@json_option
@api_command
def endpoints_update(api: ApiClient, name: str, url: str | None, kind: str | None,
                     as_json: bool, **options: Any) -> None:
    """Change the endpoint NAME (not its name)."""
    changes = changes_or_fail({**given(url=url, kind=kind), **connection_fields(options)})
    endpoint = call(lambda: api.update_endpoint(name, changes))
    warn_about(endpoint)
    emit(as_json, endpoint, lambda: f"updated endpoint {name}\n{endpoint_text(endpoint)}")


@endpoints_group.command("delete")
@click.argument("name")
@json_option
@api_command
def endpoints_delete(api: ApiClient, name: str, as_json: bool) -> None:
    """Delete the endpoint NAME, its job history and its RabbitMQ queues (refused
    while a rule uses it)."""
    call(lambda: api.delete_endpoint(name))
    if not as_json:  # the API answers 204: no JSON to print
        click.echo(f"deleted endpoint {name}")


@endpoints_group.command("ping")
@click.argument("name", required=False)
@click.option("--url", metavar="URL", help="Test this registry (unsaved, or instead of the "
                                           "stored endpoint's URL).")
@click.option("--kind", type=ENDPOINT_KINDS, help="The kind it should be.")
@click.option("--project", metavar="PROJECT", help="Check push rights in this project.")
@connection_options(update=False)
@json_option
@api_command
def endpoints_ping(api: ApiClient, name: str | None, url: str | None, kind: str | None,
                   project: str | None, as_json: bool, **options: Any) -> None:
    """Test Connection: reachability, TLS, kind, credentials, push and delete rights.

    Tests the stored endpoint NAME, or an unsaved one given by --url and the
    connection options (given with NAME, they override the stored ones). Exits 1
    unless the endpoint is ready.
    """
    if name is None and url is None:
        raise usage_error("give an endpoint NAME, or --url to test an unsaved endpoint")
    fields = {**given(name=name, url=url, kind=kind, project=project),
              **connection_fields(options)}
    report = call(lambda: api.ping_endpoint(fields))
    emit(as_json, report, lambda: checks_text(report.get("checks", [])))
    if not report.get("ok"):
        raise fail(f"{report.get('url', url or name)}: {report.get('message', 'not ready')}")
    if not as_json:
        click.echo(f"{report.get('url')}: {report.get('message', 'ready')}")


def checks_text(checks: list[Json]) -> str:
    """One ``✓ name  message`` line per check of a Test Connection."""
    width = max((len(str(check.get("name"))) for check in checks), default=0)
    return "\n".join(
        f"{tables.mark(bool(c.get('ok')), sys.stdout.encoding)} {c.get('name', ''):<{width}}  "
        f"{c.get('message', '')}" for c in checks)


@endpoints_group.command("redrive")
@click.argument("name")
@json_option
@api_command
def endpoints_redrive(api: ApiClient, name: str, as_json: bool) -> None:
    """Move every message of NAME's failed queue back to its work queue."""
    moved = call(lambda: api.redrive_endpoint(name))
    emit(as_json, moved, lambda: (
        f"moved {moved['moved']} message(s) from {name}'s failed queue back to its work "
        f"queue; {moved['jobs_reset']} failed job(s) set back to pending"))


