"""Keyset pages of records listed newest first (pure, no I/O).

A page asks the store for one record more than it shows: when that one exists,
the page's last id is the cursor of the next, older page (``before=<id>``).
Unlike an offset, a cursor costs the same however deep the page, and records
added meanwhile do not shift what the next page shows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """Records, newest first, and the cursor of the next (older) page."""

    items: list[T]
    next_before: int | None  # None: this is the last page


def page_of(rows: Sequence[T], limit: int, key: Callable[[T], int]) -> Page[T]:
    """The page of `limit` records from `rows`, which the store read with a limit of
    ``limit + 1``; `key` gives a record's id."""
    items = list(rows[:limit])
    more = len(rows) > limit and bool(items)
    return Page(items, key(items[-1]) if more else None)
