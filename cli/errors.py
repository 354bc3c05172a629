"""Turning errors into one-line messages and exit codes, never tracebacks."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click

from shared.errors import ConfigurationError, CrossdockError, InvalidReferenceError

T = TypeVar("T")

EXIT_FAILED = 1  # the work failed (some image, a registry refused)
EXIT_USAGE = 2  # the command line or the configuration is wrong (as click does)


def fail(message: str, code: int = EXIT_FAILED) -> click.exceptions.Exit:
    click.echo(f"crossdock: error: {message}", err=True)
    return click.exceptions.Exit(code)


def run_guarded(action: Callable[[], T]) -> T:
    """Run `action`; a crossdock error becomes a one-line message and an exit code."""
    try:
        return action()
    except (ConfigurationError, InvalidReferenceError) as exc:
        raise fail(str(exc), EXIT_USAGE) from None
    except CrossdockError as exc:
        raise fail(str(exc)) from None
