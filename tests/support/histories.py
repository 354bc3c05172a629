"""Seeded histories of what users do to registries, and the model of what they hold after.

Pure: no I/O. A history is a list of operations (pushes, overwrites, retags,
restores, deletes by digest, multi-arch indexes, signatures, bursts of concurrent
pushes, and for two-way sync pushes and deletes on either side, restores,
rollbacks and conflicting pushes while the consumers are stopped) generated from
`random.Random(seed)`. Content is named by a *content key*: the same key always
gives the same bytes, hence the same digest, so a restore pushes exactly the
image seen earlier. The model tracks ``{repository: {tag: content key}}``; the
harness (`tests.support.convergence`) turns keys into digests.

Two-way histories are made of phases separated by `Barrier`s (the pipeline goes
quiet). Within a phase each repository has an *owner* side: only the owner
overwrites, retags, restores or deletes there, and only tags it can see (from
earlier phases or its own pushes of this phase); the other side only pushes new
tags with new content. So the end state is determinate whatever the timing, and
a conflict happens only where the history makes one: pushes to the same tag on
both sides while the consumer is stopped (`Pause` ... `Resume`), which the
preferred side (A, the source of the pair's first rule) wins.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

Side = Literal["a", "b"]
Mode = Literal["one-way", "two-way"]
ContentKind = Literal["image", "index"]
SIDES: tuple[Side, Side] = ("a", "b")
PREFERRED: Side = "a"  # the source of the pair's first rule (A->B, created first)

# A signature's tag is `sha256-<hex of its subject>.sig`, unknown until pushed: the
# model names it after the subject's content key and the harness translates it.
SIG_TAG_PREFIX = "@sig:"
SIG_KEY_PREFIX = "sig:"


def sig_tag(subject_key: str) -> str:
    return SIG_TAG_PREFIX + subject_key


def sig_key(subject_key: str) -> str:
    return SIG_KEY_PREFIX + subject_key


def is_sig_tag(tag: str) -> bool:
    return tag.startswith(SIG_TAG_PREFIX)


# -- operations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Content:
    """What a push puts up: the same key always gives the same bytes."""

    key: str
    kind: ContentKind = "image"


@dataclass(frozen=True)
class Push:
    """Push `content` under `tag` (`why`: new, overwrite, restore, rollback, conflict)."""

    side: Side
    repository: str
    tag: str
    content: Content
    why: str = "new"

    def describe(self) -> str:
        return (f"{self.side}: push {self.repository}:{self.tag} = {self.content.key}"
                f" ({self.content.kind}, {self.why})")


@dataclass(frozen=True)
class Retag:
    """Put the manifest of `source_tag` under `tag` too (same bytes)."""

    side: Side
    repository: str
    source_tag: str
    tag: str

    def describe(self) -> str:
        return f"{self.side}: retag {self.repository}:{self.source_tag} -> {self.tag}"


@dataclass(frozen=True)
class Delete:
    """Delete the manifest `tag` points at, by digest: every tag on it goes."""

    side: Side
    repository: str
    tag: str

    def describe(self) -> str:
        return f"{self.side}: delete {self.repository}:{self.tag} by digest"


@dataclass(frozen=True)
class Sign:
    """Push a signature (a referrer, by digest and under its cosign tag) for `tag`."""

    side: Side
    repository: str
    tag: str

    def describe(self) -> str:
        return f"{self.side}: sign {self.repository}:{self.tag}"


@dataclass(frozen=True)
class Burst:
    """New tags pushed from `threads` threads at once, nothing waited in between."""

    side: Side
    pushes: tuple[Push, ...]
    threads: int

    def describe(self) -> str:
        repositories = sorted({push.repository for push in self.pushes})
        return (f"{self.side}: burst of {len(self.pushes)} new tags over "
                f"{', '.join(repositories)} from {self.threads} threads")


@dataclass(frozen=True)
class Barrier:
    """Wait until the pipeline is quiet and both sides are equal."""

    why: str = "phase"

    def describe(self) -> str:
        return f"-- wait for the pipeline to go quiet ({self.why})"


@dataclass(frozen=True)
class Pause:
    """Stop the consumer (stop and join): events queue up, nothing is copied."""

    def describe(self) -> str:
        return "-- stop the consumer"


@dataclass(frozen=True)
class Resume:
    """Start a new consumer."""

    def describe(self) -> str:
        return "-- start a new consumer"


Operation = Push | Retag | Delete | Sign | Burst | Barrier | Pause | Resume
State = dict[str, dict[str, str]]  # repository -> tag -> content key


# -- the model -----------------------------------------------------------------------------


@dataclass
class Model:
    """What the registries hold once events stop: one state, since every side (the
    source and its endpoint, or both sides of a two-way pair) ends equal.

    While the consumer is paused, the first side to change a tag claims it; a later
    change of that tag from the other side is a conflict, won by `preferred`.
    """

    preferred: Side = PREFERRED
    state: State = field(default_factory=dict)
    kinds: dict[str, ContentKind] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    _claims: dict[tuple[str, str], Side] | None = None

    def apply(self, op: Operation) -> None:
        if isinstance(op, Push):
            self._set(op.side, op.repository, op.tag, op.content.key)
            self.kinds[op.content.key] = op.content.kind
        elif isinstance(op, Retag):
            self._set(op.side, op.repository, op.tag, self.state[op.repository][op.source_tag])
        elif isinstance(op, Delete):
            tags = self.state[op.repository]
            key = tags[op.tag]
            for tag in [t for t, k in tags.items() if k == key]:
                del tags[tag]
        elif isinstance(op, Sign):
            subject = self.state[op.repository][op.tag]
            self._set(op.side, op.repository, sig_tag(subject), sig_key(subject))
        elif isinstance(op, Burst):
            for push in op.pushes:
                self.apply(push)
        elif isinstance(op, Pause):
            self._claims = {}
        elif isinstance(op, Resume):
            self._claims = None

    def _set(self, side: Side, repository: str, tag: str, key: str) -> None:
        if self._claims is not None:
            claimed = self._claims.setdefault((repository, tag), side)
            if claimed != side:
                self.conflicts.append(f"{repository}:{tag}")
                if side != self.preferred:
                    return
        self.state.setdefault(repository, {})[tag] = key

    def tags(self, repository: str) -> dict[str, str]:
        return self.state.get(repository, {})


def expected_state(operations: list[Operation] | tuple[Operation, ...]) -> Model:
    """The model after every operation."""
    model = Model()
    for op in operations:
        model.apply(op)
    return model


# -- histories -----------------------------------------------------------------------------


@dataclass(frozen=True)
class History:
    seed: int
    mode: Mode
    project: str
    repositories: tuple[str, ...]
    operations: tuple[Operation, ...]

    def model(self) -> Model:
        return expected_state(self.operations)

    def describe(self) -> list[str]:
        return [op.describe() for op in self.operations]


class _Names:
    """Fresh tags and content keys, unique within a history."""

    def __init__(self, project: str) -> None:
        self.project = project
        self.tags = 0
        self.contents = 0

    def tag(self) -> str:
        self.tags += 1
        return f"v{self.tags}"

    def content(self, kind: ContentKind = "image") -> Content:
        self.contents += 1
        return Content(f"{self.project}-c{self.contents}", kind)


def _plain_tags(model: Model, repository: str, allowed: set[str] | None = None) -> list[str]:
    return sorted(tag for tag in model.tags(repository)
                  if not is_sig_tag(tag) and (allowed is None or tag in allowed))


class _Generator:
    """Random single operations by one side on one repository, valid for the model."""

    def __init__(self, rng: random.Random, names: _Names, model: Model) -> None:
        self.rng = rng
        self.names = names
        self.model = model
        self.seen: list[tuple[Content, Side]] = []  # every content pushed, for restores
        # Two-way: contents pushed from this index on (this phase) are restorable only
        # by the side that pushed them; the other side may not have them yet.
        self.phase_start: int | None = None

    def fresh(self, side: Side) -> Content:
        kind: ContentKind = "index" if self.rng.random() < 0.15 else "image"
        content = self.names.content(kind)
        self.seen.append((content, side))
        return content

    def restorable(self, side: Side) -> list[Content]:
        start = len(self.seen) if self.phase_start is None else self.phase_start
        return [content for i, (content, by) in enumerate(self.seen)
                if i < start or by == side]

    def new_push(self, side: Side, repository: str) -> Push:
        return Push(side, repository, self.names.tag(), self.fresh(side), "new")

    def one(self, side: Side, repository: str, visible: set[str] | None = None) -> Operation:
        """One operation by `side`; `visible`: the tags it may act on (None: all)."""
        rng, model = self.rng, self.model
        tags = _plain_tags(model, repository, visible)
        every = sorted(t for t in model.tags(repository) if visible is None or t in visible)
        kinds = ["push"]
        weights = [5]
        if tags:
            kinds += ["overwrite", "retag", "delete", "sign"]
            weights += [3, 2, 2, 1]
        if self.restorable(side):
            kinds.append("restore")
            weights.append(2)
        kind = rng.choices(kinds, weights)[0]
        if kind == "push":
            return self.new_push(side, repository)
        if kind == "overwrite":
            return Push(side, repository, rng.choice(tags), self.fresh(side), "overwrite")
        if kind == "retag":
            target = rng.choice([*tags, self.names.tag()])
            source = rng.choice(tags)
            if target == source:
                target = self.names.tag()
            return Retag(side, repository, source, target)
        if kind == "restore":
            target = rng.choice([*tags, self.names.tag()]) if tags else self.names.tag()
            return Push(side, repository, target, rng.choice(self.restorable(side)),
                        "restore")
        if kind == "delete":
            return Delete(side, repository, rng.choice(every))
        present = model.tags(repository)
        unsigned = [t for t in tags if sig_tag(present[t]) not in present]
        if not unsigned:
            return self.new_push(side, repository)
        return Sign(side, repository, rng.choice(unsigned))


def _burst(gen: _Generator, side: Side, repositories: tuple[str, ...], size: int,
           threads: int) -> Burst:
    pushes = []
    for i in range(size):
        repository = repositories[i % len(repositories)]
        pushes.append(Push(side, repository, gen.names.tag(), gen.names.content("image"),
                           "burst"))
    return Burst(side, tuple(pushes), threads)


def one_way_history(seed: int, ops: int = 30, *, burst: int = 0,
                    burst_threads: int = 4) -> History:
    """A source's history: `ops` random operations, and a burst of `burst` new tags
    (over every repository, from `burst_threads` threads) somewhere in the middle."""
    rng = random.Random(seed)
    project = f"h{seed}"
    repositories = tuple(f"{project}/{name}" for name in ("app", "web", "tools/cli"))
    model = Model()
    gen = _Generator(rng, _Names(project), model)
    operations: list[Operation] = []
    burst_at = rng.randrange(ops + 1) if burst else -1

    def add(op: Operation) -> None:
        model.apply(op)
        operations.append(op)

    for step in range(ops + 1):
        if step == burst_at:
            add(_burst(gen, "a", repositories, burst, burst_threads))
        if step < ops:
            add(gen.one("a", rng.choice(repositories)))
    return History(seed, "one-way", project, repositories, tuple(operations))


def two_way_history(seed: int, ops: int = 30, *, phases: int = 3) -> History:
    """Two-way sync: `ops` random operations over `phases` phases on either side,
    plus a restore, a rollback and conflicting pushes while the consumer is stopped."""
    rng = random.Random(seed)
    project = f"h{seed}"
    random_repos = tuple(f"{project}/{name}" for name in ("app", "web"))
    restore_repo, rollback_repo, conflict_repo = (f"{project}/{name}" for name in
                                                  ("restore", "rollback", "conflict"))
    repositories = (*random_repos, restore_repo, rollback_repo, conflict_repo)
    phases = max(phases, 3)
    model = Model()
    names = _Names(project)
    gen = _Generator(rng, names, model)
    operations: list[Operation] = []

    def add(op: Operation) -> None:
        model.apply(op)
        operations.append(op)

    restored, rolled_x, rolled_y = names.content(), names.content(), names.content()
    conflict_tag = names.tag()
    scenario: dict[int, list[Operation]] = {
        # restore: v2 pushed on B, replicated to A, deleted on A, then pushed to A:v2 again
        0: [Push("b", restore_repo, "v2", restored, "new"),
            Push("a", rollback_repo, "prod", rolled_x, "new"),
            Push("a", conflict_repo, conflict_tag, names.content(), "new")],
        1: [Delete("a", restore_repo, "v2"),
            Push("a", rollback_repo, "prod", rolled_y, "overwrite")],
        2: [Push("a", restore_repo, "v2", restored, "restore"),
            Push("b", rollback_repo, "prod", rolled_x, "rollback")],
    }
    per_phase = max(1, ops // phases)
    for phase in range(phases):
        gen.phase_start = len(gen.seen)
        owners: dict[str, Side] = {repo: rng.choice(SIDES) for repo in random_repos}
        mine: dict[Side, set[str]] = {side: set() for side in SIDES}
        steps: list[Operation | None] = [None] * per_phase + list(scenario.get(phase, []))
        rng.shuffle(steps)
        synced = {repo: set(model.tags(repo)) for repo in random_repos}
        for step in steps:
            if step is not None:
                add(step)
                continue
            repo = rng.choice(random_repos)
            side = rng.choice(SIDES)
            if side == owners[repo]:
                visible = synced[repo] | mine[side]
                op = gen.one(side, repo, visible)
            else:
                op = gen.new_push(side, repo)
            add(op)
            for tag in _tags_touched(op, model):
                mine[side].add(tag)
        add(Barrier(f"end of phase {phase + 1}"))

    # Simultaneous conflicting pushes: the consumer is stopped while both sides push the
    # same tags, an existing one (synced above) and a new one; new tags on both sides too.
    add(Pause())
    new_tag = names.tag()
    for tag in (conflict_tag, new_tag):
        first, second = rng.sample(SIDES, 2)
        add(Push(first, conflict_repo, tag, names.content(), "conflict"))
        add(Push(second, conflict_repo, tag, names.content(), "conflict"))
    for side in SIDES:
        add(gen.new_push(side, rng.choice(random_repos)))
    add(Resume())
    return History(seed, "two-way", project, repositories, tuple(operations))


def _tags_touched(op: Operation, model: Model) -> Iterator[str]:
    if isinstance(op, Push | Retag):
        yield op.tag
    elif isinstance(op, Sign):
        yield sig_tag(model.tags(op.repository)[op.tag])


def make_history(mode: Mode, seed: int, ops: int, *, burst: int = 0) -> History:
    if mode == "one-way":
        return one_way_history(seed, ops, burst=burst)
    return two_way_history(seed, ops)
