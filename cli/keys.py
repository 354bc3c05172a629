"""`crossdock secret-key`: a new key for CROSSDOCK_SECRET_KEY."""

from __future__ import annotations

import click

from shared.store import generate_secret_key


@click.command("secret-key")
def secret_key_command() -> None:
    """Print a new key for CROSSDOCK_SECRET_KEY (encrypts registry passwords at rest).

    To rotate keys, list the new one first: CROSSDOCK_SECRET_KEY=new,old.
    """
    click.echo(generate_secret_key())
