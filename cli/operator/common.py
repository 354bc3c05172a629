"""Plumbing shared by the operator commands: the API client per group, output,
errors, connection options and presentation helpers."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click

from cli import tables
from cli.api_client import DEFAULT_API_URL, ApiClient, Json
from cli.errors import EXIT_USAGE, fail, run_guarded
from shared.settings import Settings

# -- plumbing ---------------------------------------------------------------------------


class WholeNumber(click.IntRange):
    """An integer within bounds (an id, a limit). Click's own type calls itself an
    "integer range", so ``jobs log abc`` said "'abc' is not a valid integer range"."""

    name = "whole number"


ID = WholeNumber(min=1)
"""A record's id on the command line: 1 or more."""


@dataclass(frozen=True)
class ApiTarget:
    """Where the API is and the token to show it; the client is made per command."""

    url: str
    token: str

    def connect(self) -> ApiClient:
        if not self.token:
            raise fail("no admin token: set CROSSDOCK_ADMIN_TOKEN or pass --token", EXIT_USAGE)
        return run_guarded(lambda: ApiClient(self.url, self.token))


def api_group(name: str, summary: str) -> click.Group:
    """A command group taking ``--api`` and ``--token``."""

    @click.group(name, help=summary)
    @click.option("--api", "api_url", metavar="URL", envvar="CROSSDOCK_API_URL",
                  default=DEFAULT_API_URL, show_default=True,
                  help="The receiver serving the management API (env CROSSDOCK_API_URL).")
    @click.option("--token", metavar="TOKEN", envvar="CROSSDOCK_ADMIN_TOKEN",
                  help="The admin token (env CROSSDOCK_ADMIN_TOKEN, or admin_token in "
                       "--config).")
    @click.pass_context
    def group(ctx: click.Context, api_url: str, token: str | None) -> None:
        settings = ctx.find_object(Settings)
        ctx.obj = ApiTarget(api_url, token or (settings.admin_token if settings else ""))

    return group


def api_command(func: Callable[..., None]) -> Callable[..., None]:
    """Pass an `ApiClient` as the first argument; it is closed when the command ends."""

    @click.pass_context
    @functools.wraps(func)
    def wrapper(ctx: click.Context, /, *args: Any, **kwargs: Any) -> None:
        target = ctx.find_object(ApiTarget)
        assert target is not None, "api_command outside an api_group"
        api = target.connect()
        ctx.call_on_close(api.close)
        func(api, *args, **kwargs)

    return wrapper


json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print the API's JSON answer instead of text.")


def call(action: Callable[[], Any]) -> Any:
    """An API call; its failure becomes a one-line message and exit 1."""
    return run_guarded(action)


def emit(as_json: bool, payload: Any, text: Callable[[], str]) -> None:
    click.echo(json.dumps(payload, indent=2) if as_json else text())


def warn(message: str) -> None:
    click.echo(f"crossdock: warning: {message}", err=True)


def warn_about(answer: Json) -> None:
    """The ``warnings`` of an API answer, one line each on stderr."""
    for message in answer.get("warnings") or []:
        warn(str(message))


def given(**values: Any) -> Json:
    """The options that were given (not None), as API fields."""
    return {key: value for key, value in values.items() if value is not None}


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def usage_error(message: str) -> click.exceptions.Exit:
    return fail(message, EXIT_USAGE)


# -- options shared by endpoints, sources and Test Connection ---------------------------


def connection_options(*, update: bool) -> Decorator:
    """``--url --username --password[-stdin] --tls-verify/--no-tls-verify --ca`` (and
    ``--clear-*`` to remove a stored value, for `update`)."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        options: list[Decorator] = [
            click.option("--username", metavar="USER", help="Log in as USER."),
            click.option("--password", metavar="PASSWORD",
                         help="The password (visible to other local users: prefer "
                              "--password-stdin)."),
            click.option("--password-stdin", is_flag=True,
                         help="Read the password from the first line of stdin (or a prompt)."),
            click.option("--tls-verify/--no-tls-verify", default=None,
                         help="Verify the registry's TLS certificate (default: on)."),
            click.option("--ca", metavar="FILE", help="CA bundle (PEM) that signs the "
                         "registry's certificate: a path on the receiver's and consumers' "
                         "hosts."),
        ]
        if update:
            options += [
                click.option("--clear-username", is_flag=True, help="Remove the username."),
                click.option("--clear-password", is_flag=True, help="Remove the password."),
                click.option("--clear-ca", is_flag=True, help="Remove the CA bundle."),
            ]
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def connection_fields(options: dict[str, Any]) -> Json:
    """API fields from `connection_options` (pops them from `options`)."""
    password = options.pop("password")
    if options.pop("password_stdin"):
        if password is not None:
            raise usage_error("give --password or --password-stdin, not both")
        password = (click.prompt("Password", hide_input=True, err=True) if sys.stdin.isatty()
                    else sys.stdin.readline().rstrip("\r\n"))
        if not password:
            raise usage_error("--password-stdin: stdin holds no password")
    ca = options.pop("ca")
    fields = given(username=options.pop("username"), password=password,
                   verify_tls=options.pop("tls_verify"),
                   ca_bundle=os.path.abspath(ca) if ca else None)
    for name, api_name in (("username", "username"), ("password", "password"),
                           ("ca", "ca_bundle")):
        if options.pop(f"clear_{name}", False):
            if api_name in fields:
                raise usage_error(f"give --{name} or --clear-{name}, not both")
            fields[api_name] = None
    return fields


def changes_or_fail(changes: Json) -> Json:
    if not changes:
        raise usage_error("nothing to change: give at least one option (see --help)")
    return changes


# -- presentation -----------------------------------------------------------------------


def tls_text(record: Json) -> str:
    if str(record.get("url", "")).startswith("http://"):
        return "-"
    if not record.get("verify_tls", True):
        return "not verified"
    return "CA bundle" if record.get("ca_bundle") else "verified"


def registry_details(record: Json) -> list[tuple[str, Any]]:
    return [
        ("name", record.get("name")),
        ("kind", record.get("kind")),
        ("url", record.get("url")),
        ("username", record.get("username")),
        ("password", "set" if record.get("has_password") else None),
        ("verify TLS", record.get("verify_tls")),
        ("CA bundle", record.get("ca_bundle")),
    ]


def stamps(record: Json, *names: str) -> list[tuple[str, str]]:
    return [(name.removesuffix("_at"), tables.when_full(record.get(name))) for name in names]


