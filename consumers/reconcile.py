"""What a job should do with one tag, from what it reads (DESIGN invariants 2 and 3). Pure.

**Settling** (invariant 2). Distribution sends a push event *before* it links the
tag, so a job whose event digest is at the source while the tag is missing or
points elsewhere does not conclude yet: it is deferred, until `settle_seconds`
after its creation, and then reconciles to whatever the source holds.

**Two-way pairs** (invariant 3). A durable *base* per (pair, repository, tag) holds
the last digest both sides had. A job of one direction reads its source ``s``,
its destination ``d`` and the base ``b``:

- ``s == d``: in sync; the base becomes ``s``;
- ``d == b``: only the source changed: apply it (copy, or delete when ``s`` is gone);
- ``s == b``: only the destination changed: the opposite rule carries it;
- otherwise both changed: a conflict, won by the pair's preferred side. If that
  is this job's source, the source is applied; if not, nothing is written here
  and the opposite rule (which the job queues) applies the other side.

Without a base (a new pair, and every tag at the upgrade): a tag missing at the
destination is new at the source, and copied. A tag missing at the source while
the destination still holds the very digest a delete event named was deleted at
the source, and is deleted. Any other difference is a conflict.

``override`` off on a pair means conflicts are never settled by overwriting: the
tag is left different on the two sides and the job says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Settle(StrEnum):
    PROCEED = "proceed"  # the source agrees with the event, or no event digest to wait for
    DEFER = "defer"  # the event's digest is at the source, its tag not yet
    SETTLED = "settled"  # waited long enough: reconcile to what the source holds


def settle(
    event_digest: str | None,
    tag_digest: str | None,
    digest_at_source: bool,
    created_at: datetime,
    now: datetime,
    settle_seconds: float,
) -> Settle:
    """Whether a replicate job may act on the source's tag now.

    `tag_digest` is the source tag's digest now (None: no such tag);
    `digest_at_source` whether the event's digest is a manifest there.
    """
    if event_digest is None or tag_digest == event_digest or not digest_at_source:
        return Settle.PROCEED
    if now - created_at < timedelta(seconds=settle_seconds):
        return Settle.DEFER
    return Settle.SETTLED


class Action(StrEnum):
    APPLY = "apply"  # make the destination hold the source's state (copy or delete)
    IN_SYNC = "in_sync"  # both sides already equal
    LEAVE = "leave"  # only the destination changed: the opposite direction carries it
    CONFLICT_LOST = "conflict_lost"  # both changed, the destination's side wins
    CONFLICT_KEPT = "conflict_kept"  # both changed, override off: left as is


@dataclass(frozen=True)
class Verdict:
    action: Action
    conflict: bool
    reason: str


UNKNOWN = object()  # no base recorded


def two_way(
    source: str | None,
    destination: str | None,
    base: str | object | None,
    *,
    source_preferred: bool,
    override: bool,
    deleted_digest: str | None = None,
) -> Verdict:
    """The verdict for one tag of a two-way pair (see the module docstring).

    `base` is a digest, None (absent on both sides at the last sync) or `UNKNOWN`.
    `deleted_digest` is the digest a delete event named, if the job comes from one.
    """
    if source == destination:
        return Verdict(Action.IN_SYNC, False, "both sides are equal")
    if base is UNKNOWN:
        if destination is None:
            return Verdict(Action.APPLY, False, "new at the source, no base yet")
        if source is None and deleted_digest is not None and destination == deleted_digest:
            return Verdict(Action.APPLY, False,
                           "deleted at the source, the destination unchanged (no base yet)")
        return _conflict(source_preferred, override, "the sides differ and there is no base")
    if destination == base:
        return Verdict(Action.APPLY, False, "changed at the source since the last sync")
    if source == base:
        return Verdict(Action.LEAVE, False,
                       "changed at the destination since the last sync: the opposite rule "
                       "carries it")
    return _conflict(source_preferred, override, "both sides changed since the last sync")


def _conflict(source_preferred: bool, override: bool, why: str) -> Verdict:
    if not override:
        return Verdict(Action.CONFLICT_KEPT, True, f"conflict ({why}); override is off, "
                                                   "so neither side is overwritten")
    if source_preferred:
        return Verdict(Action.APPLY, True, f"conflict ({why}): the source is the preferred "
                                           "side and wins")
    return Verdict(Action.CONFLICT_LOST, True, f"conflict ({why}): the destination is the "
                                               "preferred side and wins")
