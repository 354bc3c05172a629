"""Log records as JSON lines short enough for one atomic write to a pipe.

POSIX makes one write(2) of at most PIPE_BUF bytes (4096 on Linux) to a pipe
atomic: processes sharing a stderr pipe (gunicorn's workers, consumers under one
supervisor) never split each other's lines when each line is one write of at
most that size. A longer record has its longest values cut in the middle (a
traceback keeps its first and its last lines) and names them under
``truncated``. Pure: no I/O.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

MAX_LINE_BYTES = 4096  # PIPE_BUF on Linux, the newline included
MAX_RECORD_BYTES = MAX_LINE_BYTES - 1
TRUNCATED_KEY = "truncated"
CUT_MARK = " ...[{} chars cut]... "
_MAX_CUTS = 16
_FALLBACK_CHARS = 150  # per kept value; 6 bytes a character at worst once escaped
_FALLBACK_KEYS = ("timestamp", "level", "logger", "event")


def render_json_line(record: Mapping[str, Any], max_bytes: int = MAX_RECORD_BYTES) -> str:
    """`record` as one line of JSON (ASCII) of at most `max_bytes` bytes.

    The longest values are shortened first, keeping their start and their end;
    a record that still does not fit keeps only its time, level, logger and event.
    """
    line = _dumps(record)
    if len(line) <= max_bytes:
        return line
    fitted: dict[str, Any] = {str(key): value for key, value in record.items()}
    fitted.pop(TRUNCATED_KEY, None)
    originals: dict[str, str] = {}
    kept: dict[str, int] = {}
    for _ in range(_MAX_CUTS):
        key = max(fitted, key=lambda name: len(_dumps(fitted[name])))
        text = originals.setdefault(key, _as_text(fitted[key]))
        excess = len(_dumps({**fitted, TRUNCATED_KEY: list(originals)})) - max_bytes
        kept[key] = _chars_to_keep(text, fitted[key], kept.get(key), excess)
        fitted[key] = cut_middle(text, kept[key])
        line = _dumps({**fitted, TRUNCATED_KEY: list(originals)})
        if len(line) <= max_bytes:
            return line
    return _fallback(record, max_bytes)


def cut_middle(text: str, keep: int) -> str:
    """`text` with all but `keep` characters cut from its middle, and a mark saying so."""
    if keep >= len(text):
        return text
    head = keep // 2
    tail = keep - head
    return text[:head] + CUT_MARK.format(len(text) - keep) + text[len(text) - tail:]


def _chars_to_keep(text: str, current: Any, kept: int | None, excess: int) -> int:
    """How many of `text`'s characters to keep so that its JSON loses `excess` bytes."""
    now = len(text) if kept is None else kept
    shown = _as_text(current)
    # Escapes (\n, \uXXXX) make the JSON longer than the text: cut in proportion.
    per_char = max(1.0, (len(_dumps(shown)) - 2) / max(len(shown), 1))
    mark = 0 if kept is not None else len(CUT_MARK.format(len(text)))
    drop = math.ceil(excess / per_char) + mark
    return max(0, min(now - drop, now - 1))


def _fallback(record: Mapping[str, Any], max_bytes: int) -> str:
    kept = {key: _as_text(record[key])[:_FALLBACK_CHARS]
            for key in _FALLBACK_KEYS if key in record}
    line = _dumps({**kept, TRUNCATED_KEY: "record"})
    return line if len(line) <= max_bytes else _dumps({TRUNCATED_KEY: "record"})


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else _dumps(value)


def _dumps(value: Any) -> str:
    # ASCII only: one byte a character, whatever the stream's encoding.
    return json.dumps(value, default=repr, ensure_ascii=True)


class JsonLineRenderer:
    """structlog's last processor: the event dict as one capped JSON line."""

    def __init__(self, max_bytes: int = MAX_RECORD_BYTES) -> None:
        self.max_bytes = max_bytes

    def __call__(self, _logger: Any, _method: str, event_dict: Mapping[str, Any]) -> str:
        return render_json_line(event_dict, self.max_bytes)
