"""A glob matcher that takes time linear in the name, whatever the pattern. Pure.

Globs as rule filters write them: ``*`` any run of characters but ``/``, ``**``
any run at all, ``?`` one character but ``/``, ``{a,b}`` either alternative
(alternatives may hold globs, not braces); anything else stands for itself.

A backtracking regex engine takes exponential time on ``*-*-*-*-*-*-*-*-*-rc``
against ``1-1-1-…x``, and the name comes from whoever can push. So a pattern
becomes a small automaton (at most one state per character of the pattern,
plus one for the end) and a name is read once, keeping the set of
states it may be in: at most ``len(name) * len(pattern)`` steps. Brace groups
add their alternatives side by side instead of multiplying them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from shared.errors import ConfigurationError


class _Kind(Enum):
    CHAR = "char"  # consumes `char`, then goes on to `follow`
    ONE = "one"  # consumes one character but '/', then `follow`
    RUN = "run"  # consumes any number of characters but '/', then `follow`
    ANY_RUN = "any_run"  # consumes any number of characters, then `follow`
    SPLIT = "split"  # consumes nothing: goes on to every one of `branches`
    END = "end"  # the whole pattern matched


@dataclass(frozen=True)
class _State:
    kind: _Kind
    follow: int = -1
    char: str = ""
    branches: tuple[int, ...] = ()


_Item = str | tuple[tuple[str, ...], ...]  # a piece, or a brace group's alternatives
_WILDCARDS = {"**": _Kind.ANY_RUN, "*": _Kind.RUN, "?": _Kind.ONE}  # "**" before "*"


@dataclass(frozen=True)
class Glob:
    """A compiled glob. `matches` reads a name once; `alternatives` is how many
    brace-free globs the pattern stands for (the product of its groups' choices)."""

    pattern: str
    alternatives: int
    _states: tuple[_State, ...]
    _start: int

    @property
    def size(self) -> int:
        """The automaton's states: never more than ``len(pattern) + 1``."""
        return len(self._states)

    def matches(self, name: str) -> bool:
        """True when the whole of `name` matches the pattern."""
        current = self._closure([self._start])
        for char in name:
            moved = [target for target in (self._step(index, char) for index in current)
                     if target is not None]
            if not moved:
                return False
            current = self._closure(moved)
        return any(self._states[index].kind is _Kind.END for index in current)

    def _step(self, index: int, char: str) -> int | None:
        """Where the state at `index` goes on reading `char` (None: nowhere)."""
        state = self._states[index]
        if state.kind is _Kind.CHAR:
            return state.follow if char == state.char else None
        if state.kind is _Kind.ANY_RUN or (state.kind is _Kind.RUN and char != "/"):
            return index  # a run stays; its closure already holds `follow`
        if state.kind is _Kind.ONE and char != "/":
            return state.follow
        return None

    def _closure(self, indexes: list[int]) -> list[int]:
        """The states `indexes` lead to without reading a character (splits taken,
        runs also skipped). Each state is visited once: a step costs at most `size`."""
        seen: set[int] = set()
        found: list[int] = []
        pending = list(indexes)
        while pending:
            index = pending.pop()
            if index in seen:
                continue
            seen.add(index)
            state = self._states[index]
            if state.kind is _Kind.SPLIT:
                pending.extend(state.branches)
                continue
            found.append(index)
            if state.kind in (_Kind.RUN, _Kind.ANY_RUN):
                pending.append(state.follow)
        return found


def compile_glob(pattern: str) -> Glob:
    """The automaton for `pattern`. Raises `ConfigurationError` for nested or
    unbalanced braces."""
    items = _parse(pattern)
    states: list[_State] = [_State(_Kind.END)]
    start = _build(items, 0, states)
    alternatives = 1
    for item in items:
        if isinstance(item, tuple):
            alternatives *= len(item)
    return Glob(pattern, alternatives, tuple(states), start)


def _parse(pattern: str) -> list[_Item]:
    """Pieces (a character, ``**``, ``*``, ``?``) and brace groups, in order."""
    items: list[_Item] = []
    group: list[tuple[str, ...]] | None = None
    alternative: list[str] = []
    i = 0
    while i < len(pattern):
        piece = next((t for t in _WILDCARDS if pattern.startswith(t, i)), pattern[i])
        i += len(piece)
        if piece == "{":
            if group is not None:
                raise ConfigurationError(f"filter {pattern!r}: nested braces are not supported")
            group, alternative = [], []
        elif group is None:
            items.append(piece)
        elif piece == ",":
            group.append(tuple(alternative))
            alternative = []
        elif piece == "}":
            group.append(tuple(alternative))
            items.append(tuple(group))
            group = None
        else:
            alternative.append(piece)
    if group is not None:
        raise ConfigurationError(f"filter {pattern!r}: unbalanced brace")
    return items


def _build(items: list[_Item] | tuple[str, ...], follow: int, states: list[_State]) -> int:
    """Append the states for `items`, last item first, each leading to the next;
    return the first one's index."""
    for item in reversed(items):
        if isinstance(item, tuple):
            branches = tuple(_build(alternative, follow, states) for alternative in item)
            states.append(_State(_Kind.SPLIT, branches=branches))
        elif item in _WILDCARDS:
            states.append(_State(_WILDCARDS[item], follow))
        else:
            states.append(_State(_Kind.CHAR, follow, char=item))
        follow = len(states) - 1
    return follow
