"""Harbor-style name filters for replication rules. Pure, no I/O.

A pattern is a glob: ``*`` matches any run of characters except ``/``, ``**``
any run including ``/``, ``?`` one character except ``/``, and ``{a,b}`` either
alternative (alternatives may hold globs, not nested braces). A repository
filter is matched against the full repository name (``library/**`` matches
everything under ``library``), a tag filter against the tag. A rule keeps a
name when every ``matches`` filter matches it and no ``excludes`` filter does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from shared.errors import ConfigurationError
from shared.kinds import FilterDecision


@dataclass(frozen=True)
class NameFilter:
    """One glob and whether names it matches are kept or dropped."""

    pattern: str
    excludes: bool = False


class StoredFilter(Protocol):
    """A rule's filter as the store keeps it."""

    @property
    def pattern(self) -> str: ...

    @property
    def decision(self) -> str: ...


def from_rule(filters: Iterable[StoredFilter]) -> list[NameFilter]:
    """A rule's stored filters (``matches``/``excludes``) as `NameFilter`s."""
    return [NameFilter(f.pattern, excludes=f.decision == FilterDecision.EXCLUDES)
            for f in filters]


@lru_cache(maxsize=512)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """Translate a glob into an anchored regular expression.

    Raises `ConfigurationError` for an unbalanced brace.
    """
    out: list[str] = []
    i, in_brace = 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if pattern.startswith("**", i):
                out.append(".*")
                i += 2
                continue
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "{":
            if in_brace:
                raise ConfigurationError(f"filter {pattern!r}: nested braces are not supported")
            in_brace = True
            out.append("(?:")
        elif char == "}" and in_brace:
            in_brace = False
            out.append(")")
        elif char == "," and in_brace:
            out.append("|")
        else:
            out.append(re.escape(char))
        i += 1
    if in_brace:
        raise ConfigurationError(f"filter {pattern!r}: unbalanced brace")
    return re.compile("".join(out) + r"\Z")


def glob_matches(pattern: str, name: str) -> bool:
    return compile_glob(pattern).match(name) is not None


def passes(filters: Iterable[NameFilter], name: str) -> bool:
    """True when `name` is kept by every filter (no filters: everything is kept)."""
    for name_filter in filters:
        if glob_matches(name_filter.pattern, name) == name_filter.excludes:
            return False
    return True
