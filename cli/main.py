"""The `crossdock` command: the composition root that wires settings, logging
and the parts together. Sub-commands live in their own modules."""

from __future__ import annotations

import click

from cli.consumer import consumer_command
from cli.copying import copy_command, sync_command
from cli.db import db_group
from cli.errors import run_guarded
from cli.keys import secret_key_command
from cli.operator import (
    endpoints_group,
    executions_group,
    jobs_group,
    links_group,
    pairs_group,
    rules_group,
    sources_group,
)
from cli.receiver import receiver_command
from shared.logging import configure_logging
from shared.settings import load_settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              envvar="CROSSDOCK_CONFIG", help="YAML settings file (CROSSDOCK_* variables win).")
@click.option("-v", "--verbose", is_flag=True, help="Log every step.")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, verbose: bool) -> None:
    """crossdock replicates container images between OCI registries."""
    settings = run_guarded(lambda: load_settings(config_file))
    if verbose:
        settings = settings.replace(log_level="debug")
    configure_logging(settings)
    ctx.obj = settings


cli.add_command(copy_command)
cli.add_command(sync_command)
cli.add_command(consumer_command)
cli.add_command(receiver_command)
cli.add_command(secret_key_command)
cli.add_command(endpoints_group)
cli.add_command(sources_group)
cli.add_command(links_group)
cli.add_command(rules_group)
cli.add_command(pairs_group)
cli.add_command(jobs_group)
cli.add_command(executions_group)
cli.add_command(db_group)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="crossdock")


if __name__ == "__main__":  # pragma: no cover
    main()
