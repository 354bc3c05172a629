"""structlog set-up, called once per entry point.

JSON lines when stderr is not a terminal (or ``log_format: json``), a readable
console rendering otherwise. Context bound with `structlog.contextvars` (job,
rule, endpoint, repository, digest) is merged into every line. Records from the
standard library's loggers (pika, urllib3, gunicorn) are rendered the same way.

Several processes often share one stream (gunicorn's workers, consumers under
one supervisor, ``PYTHONUNBUFFERED=1`` in containers): each record goes out as
one line in a single write(2), at most 4096 bytes in JSON (see
`shared.log_records`), so records never interleave.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any

import structlog

from shared.log_records import JsonLineRenderer
from shared.settings import Settings


def configure_logging(settings: Settings, *, stream: Any = None) -> None:
    """Configure structlog and the stdlib root logger for this process."""
    out = stream or sys.stderr
    level = getattr(logging, settings.log_level.upper())
    use_json = settings.log_format == "json" or (
        settings.log_format == "auto" and not _isatty(out)
    )
    renderer: Any = (
        JsonLineRenderer() if use_json else structlog.dev.ConsoleRenderer(colors=_isatty(out))
    )
    writer = LineWriter(out)
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
        logger_factory=lambda *_args: LineLogger(writer),
        cache_logger_on_first_use=False,
    )
    _route_stdlib_logging(writer, renderer, level)


class LineWriter:
    """Writes each record as one line, in one write(2) on the stream's descriptor.

    The stream's own buffer is flushed first, so this process's lines keep their
    order. A stream without a descriptor (a test's StringIO) gets one `write` call.
    A stream that cannot be written to loses the record; the work goes on.
    """

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        # Reentrant: a signal handler that logs runs in a thread that may hold it.
        self._lock = threading.RLock()

    def write_line(self, text: str) -> None:
        line = text + "\n"
        with self._lock:
            try:
                self.stream.flush()
                fd = self.stream.fileno()
            except (AttributeError, OSError, ValueError):  # no descriptor, or closed
                self._write_to_stream(line)
                return
            encoding = getattr(self.stream, "encoding", None) or "utf-8"
            data = memoryview(line.encode(encoding, "backslashreplace"))
            try:
                while data:
                    data = data[os.write(fd, data):]
            except OSError:
                pass

    def _write_to_stream(self, line: str) -> None:
        try:
            self.stream.write(line)
            self.stream.flush()
        except (AttributeError, OSError, ValueError):
            pass


class LineLogger:
    """structlog's logger: hands each rendered record to a `LineWriter`."""

    def __init__(self, writer: LineWriter) -> None:
        self._writer = writer

    def msg(self, message: str) -> None:
        self._writer.write_line(message)

    log = debug = info = warn = warning = msg
    err = error = critical = exception = fatal = failure = msg


class _LineHandler(logging.Handler):
    """The stdlib root logger's handler: records rendered like structlog's."""

    def __init__(self, writer: LineWriter, renderer: Any) -> None:
        super().__init__()
        self.writer = writer
        self.setFormatter(structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.processors.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.StackInfoRenderer(),
                structlog.processors.format_exc_info,
            ],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        ))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.writer.write_line(self.format(record))
        except Exception:  # logging never breaks the caller
            self.handleError(record)


def _route_stdlib_logging(writer: LineWriter, renderer: Any, level: int) -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _LineHandler)]:
        root.removeHandler(handler)  # a second set-up in one process replaces the first
    root.addHandler(_LineHandler(writer, renderer))
    # Quiet chatty libraries; their own warnings still come through.
    root.setLevel(max(level, logging.WARNING))
    for noisy in ("pika", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
