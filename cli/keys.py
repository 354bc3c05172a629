"""`crossdock secret-key`: a new key for CROSSDOCK_SECRET_KEY."""

from __future__ import annotations

import click


@click.command("secret-key")
def secret_key_command() -> None:
    """Print a new key for CROSSDOCK_SECRET_KEY (encrypts registry passwords at rest).

    To rotate keys, list the new one first: CROSSDOCK_SECRET_KEY=new,old.
    """
    from shared.store.secrets import generate_secret_key  # the store loads on demand

    click.echo(generate_secret_key())
