"""structlog set-up, called once per entry point.

JSON lines when stderr is not a terminal (or ``log_format: json``), a readable
console rendering otherwise. Context bound with `structlog.contextvars` (job,
rule, endpoint, repository, digest) is merged into every line.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from shared.settings import Settings


def configure_logging(settings: Settings, *, stream: Any = None) -> None:
    """Configure structlog and the stdlib root logger for this process."""
    out = stream or sys.stderr
    level = getattr(logging, settings.log_level.upper())
    use_json = settings.log_format == "json" or (
        settings.log_format == "auto" and not _isatty(out)
    )
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=_isatty(out))
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    # Quiet chatty libraries; their own warnings still come through.
    logging.basicConfig(level=max(level, logging.WARNING), stream=out, format="%(message)s")
    for noisy in ("pika", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
