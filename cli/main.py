"""The `crossdock` command: the composition root that wires settings, logging
and the parts together. Sub-commands live in their own modules."""

from __future__ import annotations

import click

from cli.errors import run_guarded
from cli.lazy import LazyGroup
from shared.logging import configure_logging
from shared.settings import load_settings

# Each sub-command's module is imported when that command runs (or for --help).
COMMANDS = {
    "copy": "cli.copying:copy_command",
    "sync": "cli.copying:sync_command",
    "consumer": "cli.consumer:consumer_command",
    "receiver": "cli.receiver:receiver_command",
    "secret-key": "cli.keys:secret_key_command",
    "endpoints": "cli.operator:endpoints_group",
    "sources": "cli.operator:sources_group",
    "links": "cli.operator:links_group",
    "rules": "cli.operator:rules_group",
    "pairs": "cli.operator:pairs_group",
    "jobs": "cli.operator:jobs_group",
    "executions": "cli.operator:executions_group",
    "db": "cli.db:db_group",
}


@click.group(cls=LazyGroup, lazy_commands=COMMANDS,
             context_settings={"help_option_names": ["-h", "--help"]})
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


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="crossdock")


if __name__ == "__main__":  # pragma: no cover
    main()
