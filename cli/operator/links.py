"""Registry links: "source S is the same registry as endpoint E"."""

from __future__ import annotations

import click

from cli import tables
from cli.api_client import ApiClient, Json
from cli.operator.common import (
    ID,
    api_command,
    api_group,
    call,
    emit,
    given,
    json_option,
    stamps,
    usage_error,
    warn_about,
)

# -- links ------------------------------------------------------------------------------

links_group = api_group("links", "Registry links: a source and an endpoint that are one "
                                 "registry (what makes two opposite rules a two-way pair).")


def link_text(link: Json) -> str:
    return tables.details([
        ("id", link.get("id")),
        ("source", link.get("source")),
        ("endpoint", link.get("endpoint")),
        ("Harbor account", link.get("harbor_account")),
        *stamps(link, "created_at", "updated_at"),
    ])


@links_group.command("list")
@json_option
@api_command
def links_list(api: ApiClient, as_json: bool) -> None:
    """List the registry links."""
    answer = call(api.list_links)
    emit(as_json, answer, lambda: tables.table(
        ["ID", "SOURCE", "ENDPOINT", "HARBOR ACCOUNT", "UPDATED"],
        [[link["id"], link.get("source"), link.get("endpoint"), link.get("harbor_account"),
          tables.when(link.get("updated_at"))] for link in answer.get("items", [])]))


@links_group.command("show")
@click.argument("link_id", metavar="ID", type=ID)
@json_option
@api_command
def links_show(api: ApiClient, link_id: int, as_json: bool) -> None:
    """Show the link ID."""
    link = call(lambda: api.get_link(link_id))
    emit(as_json, link, lambda: link_text(link))


@links_group.command("create")
@click.option("--source", required=True, metavar="SOURCE", help="The source's name.")
@click.option("--endpoint", required=True, metavar="ENDPOINT",
              help="The endpoint's name: the same registry as the source.")
@click.option("--harbor-account", metavar="ACCOUNT",
              help="Harbor: the account crossdock writes to this registry with.")
@json_option
@api_command
def links_create(api: ApiClient, source: str, endpoint: str, harbor_account: str | None,
                 as_json: bool) -> None:
    """Say that SOURCE and ENDPOINT are one registry (each can have one link)."""
    fields = {"source": source, "endpoint": endpoint, **given(harbor_account=harbor_account)}
    link = call(lambda: api.create_link(fields))
    warn_about(link)
    emit(as_json, link, lambda: f"created link {link['id']}\n{link_text(link)}")


@links_group.command("update")
@click.argument("link_id", metavar="ID", type=ID)
@click.option("--harbor-account", metavar="ACCOUNT",
              help="Harbor: the account crossdock writes to this registry with.")
@click.option("--clear-harbor-account", is_flag=True, help="Remove the Harbor account.")
@json_option
@api_command
def links_update(api: ApiClient, link_id: int, harbor_account: str | None,
                 clear_harbor_account: bool, as_json: bool) -> None:
    """Change the link ID's Harbor account (its source and endpoint cannot change)."""
    if harbor_account is not None and clear_harbor_account:
        raise usage_error("give --harbor-account or --clear-harbor-account, not both")
    if harbor_account is None and not clear_harbor_account:
        raise usage_error("nothing to change: give --harbor-account or --clear-harbor-account")
    changes: Json = {"harbor_account": harbor_account}
    link = call(lambda: api.update_link(link_id, changes))
    warn_about(link)
    emit(as_json, link, lambda: f"updated link {link_id}\n{link_text(link)}")


@links_group.command("delete")
@click.argument("link_id", metavar="ID", type=ID)
@json_option
@api_command
def links_delete(api: ApiClient, link_id: int, as_json: bool) -> None:
    """Delete the link ID: its registries' rules stop being two-way pairs."""
    call(lambda: api.delete_link(link_id))
    if not as_json:
        click.echo(f"deleted link {link_id}")
