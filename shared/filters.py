"""Harbor-style name filters for replication rules. Pure, no I/O.

A pattern is a glob: ``*`` matches any run of characters except ``/``, ``**``
any run including ``/``, ``?`` one character except ``/``, and ``{a,b}`` either
alternative (alternatives may hold globs, not nested braces). A repository
filter is matched against the full repository name (``library/**`` matches
everything under ``library``), a tag filter against the tag. A rule keeps a
name when every ``matches`` filter matches it and no ``excludes`` filter does.
Names come from whoever can push, so matching takes time linear in the name
whatever the pattern (`shared.globs`), never a backtracking regex.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from shared import globs
from shared.errors import ConfigurationError
from shared.globs import Glob
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


#: Most brace-free globs one new filter may stand for (the product of its brace
#: groups' alternatives). Matching does not multiply them (`shared.globs`); the
#: cap keeps a filter something a person can read. Rules stored with more keep
#: matching; a change to that filter list must come under it.
MAX_BRACE_ALTERNATIVES = 64


@lru_cache(maxsize=512)
def compile_glob(pattern: str) -> Glob:
    """The compiled glob (cached: every event matches the same few patterns).

    Raises `ConfigurationError` for nested or unbalanced braces.
    """
    return globs.compile_glob(pattern)


def check_new_pattern(pattern: str) -> None:
    """Raise `ConfigurationError` unless `pattern` may be saved in a rule's filters."""
    alternatives = compile_glob(pattern).alternatives
    if alternatives > MAX_BRACE_ALTERNATIVES:
        raise ConfigurationError(
            f"filter {pattern!r}: its braces spell out {alternatives} alternatives, "
            f"more than {MAX_BRACE_ALTERNATIVES}; split it into several filters")


def glob_matches(pattern: str, name: str) -> bool:
    """True when the whole of `name` matches `pattern`, in time linear in `name`."""
    return compile_glob(pattern).matches(name)


def passes(filters: Iterable[NameFilter], name: str) -> bool:
    """True when `name` is kept by every filter (no filters: everything is kept)."""
    for name_filter in filters:
        if glob_matches(name_filter.pattern, name) == name_filter.excludes:
            return False
    return True
