"""Plain text for people: aligned tables, ``key: value`` blocks, compact local times.

Pure functions, no dependencies: the operator commands print what these return.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

#: Shown for a missing value.
NONE = "-"
#: Errors and descriptions longer than this are cut in tables (complete in `show`).
CELL_WIDTH = 60


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Columns aligned on the widest cell, two spaces apart; no trailing spaces."""
    lines = [list(headers)] + [[cell_text(cell) for cell in row] for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def details(pairs: Iterable[tuple[str, Any]]) -> str:
    """``label:  value`` lines, values aligned; multi-line values indented under it."""
    items = [(label, cell_text(value, one_line=False)) for label, value in pairs]
    width = max((len(label) for label, _ in items), default=0) + 1
    out = []
    for label, value in items:
        first, *rest = value.split("\n")
        out.append(f"{label + ':':<{width}}  {first}".rstrip())
        out += [" " * (width + 2) + line for line in rest]
    return "\n".join(out)


def cell_text(value: Any, *, one_line: bool = True) -> str:
    """A value as text: None as ``-``, booleans as yes/no, whitespace runs as one space."""
    if value is None or value == "":
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value)
    return " ".join(text.split()) if one_line else text


def truncate(text: str | None, width: int = CELL_WIDTH) -> str:
    """`text` on one line, cut to `width` characters with an ellipsis."""
    if not text:
        return NONE
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1].rstrip() + "…"


def parse_time(value: str | None) -> datetime | None:
    """An ISO 8601 timestamp from the API, in local time (None stays None)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).astimezone()
    except ValueError:
        return None


def when(value: str | None, now: datetime | None = None) -> str:
    """Compact local time: ``14:03:22`` today, ``2024-05-01 14:03:22`` otherwise."""
    moment = parse_time(value)
    if moment is None:
        return value or NONE
    today = (now or datetime.now().astimezone()).date()
    return moment.strftime("%H:%M:%S" if moment.date() == today else "%Y-%m-%d %H:%M:%S")


def when_full(value: str | None) -> str:
    """Local time with its zone, for `show`: ``2024-05-01 14:03:22 CEST``."""
    moment = parse_time(value)
    if moment is None:
        return value or NONE
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z").rstrip()


def duration(start: str | None, end: str | None) -> str:
    """``4s``, ``2m05s``, ``1h02m`` between two timestamps; ``-`` without both."""
    first, last = parse_time(start), parse_time(end)
    if first is None or last is None:
        return NONE
    seconds = max(int((last - first).total_seconds()), 0)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds // 60 % 60:02d}m"


def mark(ok: bool, encoding: str | None = "utf-8") -> str:
    """✓ or ✗, or ``ok``/``FAIL`` where the output cannot show them."""
    symbol = "✓" if ok else "✗"
    try:
        symbol.encode(encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return "ok" if ok else "FAIL"
    return symbol
