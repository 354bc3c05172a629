"""One job at a time per (endpoint, repository), however many consumers run
(DESIGN invariant 4), through short leases in the store kept alive while a job runs.

A lease belongs to one *run* of a job: its holder is fresh for each delivery the
handler runs (`new_holder`), so a message redelivered while an earlier run is
still copying waits for that run like any other job would. A run has lost its
leases when a renewal is refused (the lease expired and another run took it), or
when no renewal got through for a whole TTL (the store unreachable: the lease may
have expired meanwhile). `LeaseKeeper.lost` then says why, and the run stops at
its next checkpoint.

One exception, for an execution (an initial sync, a run, a resync): its replicate
jobs on one repository may share the lease, when they run in one process and copy
distinct tags. Together they are the execution's one job on that repository: one
listing of the source made them, each writes its own tag and nothing else does (a
referrer tag two of them copy is the source's, and any change to it at the source
comes with an event, whose job takes the repository alone after them). Every other
job (an event's, a delete, a copy by digest, a two-way pair's) takes it alone; a
run waiting for it keeps new runs from joining, so the ones in it drain. Such a shared
lease outlives its last run by `LINGER_SECONDS` when nobody waits for it.

Runs of this process wait for each other in the process, woken when the lease is
let go; only the run taking a lease from the store asks the store, again and again
while another process holds it: every `POLL_SECONDS` at most, since that process
does not tell when it lets go, and every moment the lease lies free is lost to
every consumer (its deliveries wait meanwhile). A run that joins a shared lease
costs the store nothing.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from shared.copy.fresh import FreshRepository
from shared.errors import CrossdockError
from shared.store import Store

LEASE_TTL = 60.0  # seconds; renewed every third of that while the job runs
WAKE_SECONDS = 0.5  # a run waiting in the process looks at `stopping` this often
# A run taking a lease another process holds asks the store again after 50 ms, then
# less often, but at least this often: each ask is one small write (about 0.5 ms of
# CPU), while a 2 s backoff left 4 jobs' deliveries idle for up to 2 s per handoff
# (a one-repository sync by 3 consumers: 9.4 s, of which 1.9 s such a wait).
POLL_FIRST_SECONDS = 0.05
POLL_SECONDS = 0.25
# A lease an execution's runs share is kept this long after its last run ends, for the
# execution's next run on the repository: a project sync queues its jobs in batches,
# and a batch drained before the next one arrived let the lease go for a few
# milliseconds (two store writes, and the record of a fresh repository lost).
LINGER_SECONDS = 0.1

log = structlog.get_logger(__name__)


def new_holder(job_id: int) -> str:
    """A holder name for one run of job `job_id`: ``run-<job>-<8 hex>``."""
    return f"run-{job_id}-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Share:
    """What a run may share a repository's lease with: runs of its execution that copy
    other tags."""

    execution_id: int
    tag: str


@dataclass
class _Lease:
    """A lease this process holds in the store (or is taking), and the runs under it."""

    holder: str  # its holder in the store: the run that took it
    execution_id: int | None  # the execution whose runs share it; None: one run alone
    members: dict[str, str | None] = field(default_factory=dict)  # run -> its tag
    taken: bool = False  # False while its first run is still taking it from the store
    # What its runs know of the endpoint repository while they hold it (`fresh`)
    fresh: FreshRepository = field(default_factory=FreshRepository)
    renewed: float = 0.0  # clock time when the last successful acquire or renewal started
    lost: str | None = None
    held_elsewhere_by: str | None = None  # who holds it in the store while it is taken
    lingering: threading.Timer | None = None  # kept after its last run (`LINGER_SECONDS`)

    @property
    def holding(self) -> str | None:
        """Who a run waiting for it waits for: its holder here, or the other
        process's run it is being taken from."""
        return self.holder if self.taken else self.held_elsewhere_by

    def admits(self, share: Share | None) -> bool:
        return (share is not None and self.lost is None
                and self.execution_id == share.execution_id
                and share.tag not in self.members.values())


class _WaitNote:
    """Tells a run's `on_wait` who holds the lease, once."""

    def __init__(self, on_wait: Callable[[str | None], None] | None) -> None:
        self._on_wait = on_wait
        self.told = False

    def __call__(self, holder: str | None) -> None:
        if not self.told and self._on_wait is not None:
            self._on_wait(holder)
        self.told = True


class LeaseKeeper:
    """Acquires, renews and releases repository leases for running jobs."""

    def __init__(
        self, store: Store, stopping: threading.Event, ttl: float = LEASE_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._stopping = stopping
        self._ttl = ttl
        self._clock = clock
        self._leases: dict[str, _Lease] = {}
        self._lines: dict[str, list[str]] = {}  # runs waiting for each key, in order
        self._changed = threading.Condition()
        self._renewer = threading.Thread(target=self._renew_loop, name="lease-renewer",
                                         daemon=True)
        self._renewer.start()

    def acquire(
        self, key: str, holder: str, on_wait: Callable[[str | None], None] | None = None,
        share: Share | None = None,
    ) -> bool:
        """Wait for the lease (alone, or with the runs `share` allows); False only when
        the consumer is stopping meanwhile. `on_wait` is told once who holds it.

        Runs of this process get the lease in the order they asked for it: one that
        could join the lease held now still waits behind one that cannot."""
        note = _WaitNote(on_wait)
        with self._changed:
            line = self._lines.setdefault(key, [])
            line.append(holder)
            try:
                while True:
                    lease = self._leases.get(key)
                    if line[0] == holder and (lease is None or lease.admits(share)):
                        line.pop(0)
                        self._changed.notify_all()  # the next in line may join too
                        if lease is None:
                            lease = _Lease(holder, share.execution_id if share else None)
                            lease.members[holder] = share.tag if share else None
                            self._leases[key] = lease
                            break  # take it from the store, below
                        lease.members[holder] = share.tag if share else None
                        if lease.lingering is not None:
                            lease.lingering.cancel()
                            lease.lingering = None
                        if self._wait_taken(key, lease, holder):
                            return True
                        line.insert(0, holder)  # its taker gave up: first in line again
                        continue
                    if lease is not None and lease.holding is not None and not note.told:
                        note(lease.holding)
                    if self._stopping.is_set():
                        return False
                    self._changed.wait(WAKE_SECONDS)
            finally:
                if holder in line:
                    line.remove(holder)
                if not line and self._lines.get(key) is line:
                    del self._lines[key]
                self._changed.notify_all()
        return self._take(key, lease, holder, note)

    def _wait_taken(self, key: str, lease: _Lease, holder: str) -> bool:
        """A run that joined a lease still being taken waits for it (lock held).
        False when the taking ended without it (the run is no longer a member)."""
        while not lease.taken:
            if self._leases.get(key) is not lease:
                return False
            if self._stopping.is_set():
                lease.members.pop(holder, None)
                return False
            self._changed.wait(WAKE_SECONDS)
        return True

    def _take(self, key: str, lease: _Lease, holder: str, note: _WaitNote) -> bool:
        """Take `lease` from the store for its runs, waiting while another process holds it."""
        delay = POLL_FIRST_SECONDS
        try:
            while True:
                asked = self._clock()
                if self._store.try_acquire_lease(key, holder, self._ttl):
                    break
                if lease.held_elsewhere_by is None:
                    other = self._store.lease_holder(key)
                    with self._changed:
                        lease.held_elsewhere_by = other or "another process"
                        self._changed.notify_all()
                    note(other)
                if self._stopping.wait(delay):
                    self._forget(key, lease)
                    return False
                delay = min(delay * 2, POLL_SECONDS)
        except BaseException:
            self._forget(key, lease)
            raise
        with self._changed:
            lease.taken, lease.renewed = True, asked
            self._changed.notify_all()
        return True

    def _forget(self, key: str, lease: _Lease) -> None:
        with self._changed:
            if self._leases.get(key) is lease:
                del self._leases[key]
            self._changed.notify_all()

    def release(self, key: str, holder: str) -> None:
        """`holder` is done with the lease; the last run under it lets it go, or keeps
        it `LINGER_SECONDS` for its execution's next run when nobody else waits."""
        with self._changed:
            lease = self._leases.get(key)
            if lease is not None and holder in lease.members:
                del lease.members[holder]
                if lease.members:
                    return
                if (lease.execution_id is not None and lease.lost is None
                        and not self._stopping.is_set() and not self._lines.get(key)):
                    lease.lingering = threading.Timer(LINGER_SECONDS, self._end_linger,
                                                      (key, lease))
                    lease.lingering.daemon = True
                    lease.lingering.start()
                    return
                del self._leases[key]
                holder = lease.holder
        self._let_go(key, holder)

    def _end_linger(self, key: str, lease: _Lease) -> None:
        with self._changed:
            if self._leases.get(key) is not lease or lease.members:
                return  # a run joined it meanwhile
            del self._leases[key]
        self._let_go(key, lease.holder)

    def close(self) -> None:
        """Let go at once of the leases kept for their execution's next run (the
        consumer is stopping: no run will join them)."""
        with self._changed:
            idle = [(key, lease) for key, lease in self._leases.items()
                    if lease.lingering is not None and not lease.members]
            for key, lease in idle:
                assert lease.lingering is not None
                lease.lingering.cancel()
                del self._leases[key]
        for key, lease in idle:
            self._let_go(key, lease.holder)

    def _let_go(self, key: str, holder: str) -> None:
        try:
            self._store.release_lease(key, holder)
        except CrossdockError as exc:  # it expires on its own
            log.warning("could not release a lease", lease=key, error=str(exc))
        with self._changed:
            self._changed.notify_all()

    def fresh(self, key: str, holder: str) -> FreshRepository | None:
        """What the runs under the lease of `key` know of its repository (None when
        `holder` is not one of them). Only they write there while they hold it: one
        writer, whose record starts anew with each taking of the lease."""
        with self._changed:
            lease = self._leases.get(key)
            if lease is None or not lease.taken or holder not in lease.members:
                return None
            return lease.fresh

    def lost(self, holder: str) -> str | None:
        """Why `holder` can no longer be sure it holds its leases, or None while it is.
        Once lost, a lease stays lost for this holder until released."""
        now = self._clock()
        with self._changed:
            for key, lease in self._leases.items():
                if holder not in lease.members or not lease.taken:
                    continue
                if lease.lost is None and now - lease.renewed >= self._ttl:
                    lease.lost = (f"lease {key} could not be renewed for {self._ttl:g} s (the "
                                  "store is unreachable), so it may have expired and been taken")
                if lease.lost is not None:
                    return lease.lost
        return None

    def renew(self) -> None:
        """Renew every lease held and not lost, once (the renewer thread calls this
        every third of the TTL). A refused renewal marks the lease lost."""
        with self._changed:
            held = [(key, lease) for key, lease in self._leases.items()
                    if lease.taken and lease.lost is None]
        for key, lease in held:
            asked = self._clock()
            try:
                renewed = self._store.renew_lease(key, lease.holder, self._ttl)
            except CrossdockError as exc:
                log.warning("could not renew a lease", lease=key, holder=lease.holder,
                            error=str(exc))
                for member in list(lease.members):
                    self.lost(member)  # marks it once a whole TTL has gone by
                continue
            with self._changed:
                if self._leases.get(key) is not lease or lease.lost is not None:
                    continue  # released meanwhile, or already given up
                if renewed:
                    lease.renewed = asked
                else:
                    lease.lost = f"lease {key} was taken by another run (it had expired)"
            if not renewed:
                log.warning("lease lost: renewal refused", lease=key, holder=lease.holder)

    def _renew_loop(self) -> None:
        while not self._stopping.wait(self._ttl / 3):
            self.renew()
