"""Play seeded histories (`tests.support.histories`) against the real pipeline and
check that it converges: every side ends with exactly what the model says, no job
failed, and once quiet nothing writes any more.

`ConvergenceStack` is the pipeline: a SQLite store in a directory of its own, the
receiver (`create_app` with a real `Publisher`) served by werkzeug in a thread,
one `ConsumerService` in a thread, and two real `docker-registry` 2.8 (A and B)
that notify the receiver. One-way: rule A->B. Two-way: rules A->B (first, so A
is preferred in a conflict) and B->A, each registry linked as source and
endpoint. Each history gets rules for its own project (`h<seed>`), so one stack
serves any number of histories. No pytest in here: the soak bench uses it too.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer, make_server

from consumers.service import ConsumerService
from receiver.app import create_app
from shared.broker import Publisher
from shared.settings import Settings
from shared.store import JobAction, JobRecord, JobStatus, RuleRecord, open_store
from tests.support.histories import (
    SIDES,
    SIG_TAG_PREFIX,
    Barrier,
    Burst,
    Content,
    Delete,
    History,
    Mode,
    Model,
    Operation,
    Pause,
    Push,
    Resume,
    Retag,
    Side,
    Sign,
    expected_state,
    is_sig_tag,
    sig_key,
)
from tests.support.images import (
    MANIFEST_ACCEPT,
    OCI_INDEX,
    PushedImage,
    cosign_tag,
    delete_manifest,
    list_state,
    push_image,
    push_referrer,
    sha256_digest,
)
from tests.support.registry_server import RegistryServer
from tests.support.settings import delete_endpoint_queues, pipeline_settings

WEBHOOK_SECRET = "convergence-webhook-secret-0123456789"
ADMIN_TOKEN = "convergence-admin-token-0123456789"
INDEX_PLATFORMS = (("linux", "amd64"), ("linux", "arm64"))
Digests = dict[str, dict[str, str]]  # repository -> tag -> digest


# -- the stack -----------------------------------------------------------------------------


class ConvergenceStack:
    """The whole pipeline on this machine, for one mode; `close()` stops what it started."""

    def __init__(self, workdir: Path, mode: Mode, **settings_changes: Any) -> None:
        self.workdir = workdir
        self.mode = mode
        workdir.mkdir(parents=True, exist_ok=True)
        values: dict[str, Any] = {"admin_token": ADMIN_TOKEN, "defer_seconds": 1,
                                  "settle_seconds": 5, "retry_delays": (1, 2),
                                  "max_attempts": 3}
        values.update(settings_changes)
        self.settings: Settings = pipeline_settings(workdir, **values)
        self.store = open_store(self.settings)
        self.registries: dict[Side, RegistryServer] = {}
        self.endpoint_names: list[str] = []
        self._server: BaseWSGIServer | None = None
        self._server_thread: threading.Thread | None = None
        self._consumer: tuple[ConsumerService, threading.Thread] | None = None
        self.publisher = Publisher(self.settings, name="convergence-receiver")
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self) -> None:
        app = create_app(self.settings, store=self.store, publisher=self.publisher)
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self._server_thread = threading.Thread(target=self._server.serve_forever,
                                               name="convergence-receiver", daemon=True)
        self._server_thread.start()
        receiver = f"http://127.0.0.1:{self._server.server_port}"
        tag = uuid.uuid4().hex[:6]
        notifying: tuple[Side, ...] = SIDES if self.mode == "two-way" else ("a",)
        sources: dict[Side, int] = {}
        for side in SIDES:
            notifications = []
            name = f"cv-{side}-{tag}"
            if side in notifying:
                notifications = [{
                    "url": f"{receiver}/webhooks/{name}",
                    "headers": {"Authorization": [f"Bearer {WEBHOOK_SECRET}"]},
                    "timeout": "2s", "threshold": 3, "backoff": "200ms",
                    "ignoredmediatypes": ["application/octet-stream"],
                    "ignore": {"actions": ["pull"]},
                }]
            server = RegistryServer(self.workdir / f"registry-{side}", log_level="error",
                                    notifications=notifications)
            self.registries[side] = server
            server.start()
            if side in notifying:
                sources[side] = self.store.create_source(
                    name=name, kind="distribution", url=server.url,
                    webhook_secret=WEBHOOK_SECRET).id
        self.sources = sources
        self.endpoints: dict[Side, int] = {}
        receiving: tuple[Side, ...] = SIDES if self.mode == "two-way" else ("b",)
        for side in receiving:
            name = f"cv-ep-{side}-{tag}"
            self.endpoint_names.append(name)
            self.endpoints[side] = self.store.create_endpoint(
                name=name, kind="registry", url=self.registries[side].url).id
        if self.mode == "two-way":
            for side in SIDES:
                # Source and endpoint of one registry are one registry (two-way sync).
                self.store.create_link(
                    source_id=self.sources[side], endpoint_id=self.endpoints[side])
        self.start_consumer()

    def url(self, side: Side) -> str:
        return self.registries[side].url

    def add_rules(self, project: str) -> list[RuleRecord]:
        """The rules of one history: A->B, and for two-way then B->A."""
        directions: list[tuple[Side, Side]] = [("a", "b")]
        if self.mode == "two-way":
            directions.append(("b", "a"))
        return [self.store.create_rule(
            name=f"{project}-{src}{dst}-{uuid.uuid4().hex[:4]}", source_id=self.sources[src],
            endpoint_id=self.endpoints[dst], project=project) for src, dst in directions]

    @property
    def consumer_running(self) -> bool:
        return self._consumer is not None

    def start_consumer(self) -> None:
        if self._consumer is not None:
            raise RuntimeError("a consumer is running already")
        service = ConsumerService(self.settings, self.store, (), endpoint_poll_seconds=0.2)
        thread = threading.Thread(target=service.run, kwargs={"handle_signals": False},
                                  name="convergence-consumer", daemon=True)
        thread.start()
        self._consumer = (service, thread)

    def stop_consumer(self, timeout: float = 60.0) -> None:
        """`ConsumerService.stop`, then join its thread. Raises RuntimeError if it hangs."""
        if self._consumer is None:
            return
        service, thread = self._consumer
        self._consumer = None
        service.stop()
        thread.join(timeout)
        if thread.is_alive():
            raise RuntimeError(f"the consumer did not stop within {timeout} s")

    def close(self) -> None:
        try:
            self.stop_consumer()
        finally:
            if self._server is not None:
                self._server.shutdown()
                self._server.server_close()
            if self._server_thread is not None:
                self._server_thread.join(10)
            self.publisher.close()
            for server in self.registries.values():
                server.stop()
            delete_endpoint_queues(self.settings, self.endpoint_names)
            self.store.close()


# -- pushing content -----------------------------------------------------------------------


def _push_index(base: str, repository: str, tag: str, key: str,
                session: requests.Session) -> PushedImage:
    """A multi-arch OCI index whose children are deterministic images (by digest)."""
    children = tuple(push_image(base, repository, None, layers=(384,), seed=f"{key}/{p[1]}",
                                platform=p, session=session) for p in INDEX_PLATFORMS)
    entries = [{**child.descriptor(), "platform": {"architecture": p[1], "os": p[0]}}
               for child, p in zip(children, INDEX_PLATFORMS, strict=True)]
    body = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries},
                      indent=2).encode()
    resp = session.put(f"{base}/v2/{repository}/manifests/{tag}", data=body,
                       headers={"Content-Type": OCI_INDEX}, timeout=60)
    if resp.status_code != 201:
        raise RuntimeError(f"index push {repository}:{tag} -> {resp.status_code}: {resp.text}")
    blobs = tuple(dict.fromkeys(blob for child in children for blob in child.blobs))
    return PushedImage(repository, tag, sha256_digest(body), OCI_INDEX, body, blobs, children)


def push_content(base: str, repository: str, tag: str, content: Content,
                 session: requests.Session) -> PushedImage:
    """Push `content` (the same key, the same bytes) under `tag`."""
    if content.kind == "index":
        return _push_index(base, repository, tag, content.key, session)
    return push_image(base, repository, tag, layers=(640,), seed=content.key, session=session)


def signature_payload(subject: PushedImage) -> bytes:
    """A cosign-like payload that depends on the subject alone (not on the repository)."""
    return json.dumps({"critical": {"image": {"docker-manifest-digest": subject.digest},
                                    "type": "cosign container image signature"}},
                      indent=2).encode()


def _new_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    return session


# -- results -------------------------------------------------------------------------------


class HistoryFailed(Exception):
    """A history could not go on (no convergence at a barrier, a vanished tag)."""


@dataclass
class HistoryResult:
    history: History
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    report: str = ""
    jobs: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        h = self.history
        verdict = "converged" if self.ok else "FAILED: " + "; ".join(
            p.splitlines()[0] for p in self.problems)[:300]
        return (f"{h.mode} seed {h.seed}: {len(h.operations)} ops, {self.jobs} jobs, "
                f"{self.seconds:.1f} s, {verdict}")


ReplayHint = Callable[[History], str]


def default_replay_hint(history: History) -> str:
    return (f"CROSSDOCK_HISTORY_SEED={history.seed} .venv/bin/pytest "
            f"tests/convergence/test_model.py -k {history.mode.replace('-', '_')}   or   "
            f".venv/bin/python bench/convergence_soak.py --mode {history.mode} "
            f"--seeds {history.seed}")


# -- the runner ----------------------------------------------------------------------------


@dataclass
class _Run:
    history: History
    rules: list[RuleRecord]
    pushed: dict[str, PushedImage] = field(default_factory=dict)  # content key -> image
    digests: dict[str, str] = field(default_factory=dict)  # content key -> digest
    problems: list[str] = field(default_factory=list)
    suspects: set[tuple[str, str]] = field(default_factory=set)  # (repository, tag)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def real_tag(self, tag: str) -> str:
        """A model tag as in the registry: a signature's is `sha256-<subject hex>.sig`."""
        if not is_sig_tag(tag):
            return tag
        subject = tag.removeprefix(SIG_TAG_PREFIX)
        return cosign_tag(self.digests.get(subject, f"unknown:{subject}"))

    def jobs(self, store: Any) -> list[JobRecord]:
        found: list[JobRecord] = []
        for rule in self.rules:
            found += store.list_jobs(rule_id=rule.id, limit=1_000_000)
        return sorted(found, key=lambda job: job.id)


class HistoryRunner:
    """Plays histories on a stack and checks convergence after each."""

    def __init__(self, stack: ConvergenceStack, *, quiet_seconds: float = 10.0,
                 converge_timeout: float = 120.0, stable_seconds: float = 1.5,
                 replay_hint: ReplayHint = default_replay_hint) -> None:
        self.stack = stack
        self.quiet_seconds = quiet_seconds
        self.converge_timeout = converge_timeout
        self.stable_seconds = stable_seconds
        self.replay_hint = replay_hint

    # -- playing -------------------------------------------------------------------------

    def run(self, history: History, *, replay: str | None = None) -> HistoryResult:
        """Play `history`, then check it; `replay` (how to replay it) overrides the hint."""
        if history.mode != self.stack.mode:
            raise ValueError(f"a {history.mode} history on a {self.stack.mode} stack")
        started = time.monotonic()
        run = _Run(history, self.stack.add_rules(history.project))
        done: list[Operation] = []
        try:
            for op in history.operations:
                self._play(run, op, done)
                done.append(op)
            self._final_checks(run)
        except HistoryFailed as exc:
            run.problems.insert(0, f"stopped after {len(done)} of "
                                   f"{len(history.operations)} operations: {exc}")
        finally:
            if not self.stack.consumer_running:  # a history stopped while paused
                self.stack.start_consumer()
        result = HistoryResult(history, time.monotonic() - started, run.problems,
                               jobs=len(run.jobs(self.stack.store)))
        if run.problems:
            result.report = self._report(run, done, replay or self.replay_hint(history))
        return result

    def _play(self, run: _Run, op: Operation, done: list[Operation]) -> None:
        if isinstance(op, Push):
            with _session() as session:
                self._push(run, op, session)
        elif isinstance(op, Burst):
            self._burst(run, op)
        elif isinstance(op, Retag):
            self._retag(run, op)
        elif isinstance(op, Delete):
            self._delete(run, op)
        elif isinstance(op, Sign):
            self._sign(run, op)
        elif isinstance(op, Barrier):
            self._barrier(run, expected_state(done), op.why)
        elif isinstance(op, Pause):
            self.stack.stop_consumer()
        elif isinstance(op, Resume):
            self.stack.start_consumer()

    def _push(self, run: _Run, op: Push, session: requests.Session) -> None:
        image = push_content(self.stack.url(op.side), op.repository, op.tag, op.content,
                             session)
        with run.lock:
            run.pushed[op.content.key] = image
            run.digests[op.content.key] = image.digest

    def _burst(self, run: _Run, op: Burst) -> None:
        def worker(pushes: Sequence[Push]) -> None:
            with _session() as session:
                for push in pushes:
                    self._push(run, push, session)

        with ThreadPoolExecutor(op.threads, thread_name_prefix="burst") as pool:
            futures = [pool.submit(worker, op.pushes[i::op.threads]) for i in range(op.threads)]
            for future in futures:
                future.result()

    def _current(self, run: _Run, side: Side, repository: str, tag: str,
                 what: str) -> requests.Response:
        """GET the manifest a tag points at on one side; HistoryFailed if it is not there
        (the history only acts on tags the side holds once the pipeline did its part)."""
        tag = run.real_tag(tag)
        with _session() as session:
            resp = session.get(f"{self.stack.url(side)}/v2/{repository}/manifests/{tag}",
                               headers={"Accept": MANIFEST_ACCEPT}, timeout=30)
        if resp.status_code == 404:
            run.suspects.add((repository, tag))
            raise HistoryFailed(f"cannot {what} {repository}:{tag} on {side.upper()}: "
                                f"the tag is not there")
        resp.raise_for_status()
        return resp

    def _retag(self, run: _Run, op: Retag) -> None:
        got = self._current(run, op.side, op.repository, op.source_tag, "retag")
        with _session() as session:
            session.put(f"{self.stack.url(op.side)}/v2/{op.repository}/manifests/{op.tag}",
                        data=got.content, headers={"Content-Type": got.headers["Content-Type"]},
                        timeout=30).raise_for_status()

    def _delete(self, run: _Run, op: Delete) -> None:
        got = self._current(run, op.side, op.repository, op.tag, "delete")
        delete_manifest(self.stack.url(op.side), op.repository,
                        got.headers["Docker-Content-Digest"])

    def _sign(self, run: _Run, op: Sign) -> None:
        got = self._current(run, op.side, op.repository, op.tag, "sign")
        digest = got.headers["Docker-Content-Digest"]
        subject = next((image for image in run.pushed.values() if image.digest == digest), None)
        if subject is None:
            raise HistoryFailed(f"{op.repository}:{op.tag} on {op.side.upper()} is {digest}, "
                                f"which this history never pushed")
        key = next(k for k, d in run.digests.items() if d == digest)
        with _session() as session:
            signature = push_referrer(self.stack.url(op.side), op.repository, subject,
                                      payload=signature_payload(subject), session=session)
        run.digests[sig_key(key)] = signature.digest

    # -- waiting and checking ------------------------------------------------------------

    def _states(self, run: _Run) -> dict[Side, Digests]:
        with _session() as session:
            return {side: {repo: list_state(self.stack.url(side), repo, session=session)
                           for repo in run.history.repositories} for side in SIDES}

    def _wait_converged(self, run: _Run, timeout: float) -> tuple[dict[Side, Digests], bool]:
        """Wait until every job of the history is finished and both sides are equal,
        `stable_seconds` in a row; (the states, whether that happened in time)."""
        deadline = time.monotonic() + timeout
        stable_since: float | None = None
        seen: Any = None
        states: dict[Side, Digests] = {}
        while True:
            jobs = run.jobs(self.stack.store)
            unfinished = [job.id for job in jobs if not job.status.finished]
            now = time.monotonic()
            if not unfinished:
                states = self._states(run)
                snapshot = (len(jobs), states)
                if states["a"] == states["b"] and snapshot == seen:
                    assert stable_since is not None
                    if now - stable_since >= self.stable_seconds:
                        return states, True
                elif states["a"] == states["b"]:
                    seen, stable_since = snapshot, now
                else:
                    seen = stable_since = None
            else:
                seen = stable_since = None
            if now > deadline:
                return states or self._states(run), False
            time.sleep(0.3)

    def _expected(self, run: _Run, model: Model) -> Digests:
        """The model with content keys (and signature tags) turned into digests."""
        expected: Digests = {}
        for repo in run.history.repositories:
            tags: dict[str, str] = {}
            for tag, key in model.tags(repo).items():
                tags[run.real_tag(tag)] = run.digests.get(key, f"unknown:{key}")
            expected[repo] = dict(sorted(tags.items()))
        return expected

    def _compare(self, run: _Run, states: dict[Side, Digests], model: Model,
                 when: str) -> None:
        expected = self._expected(run, model)
        lines = []
        for repo in run.history.repositories:
            tags = sorted(set(expected[repo]) | set(states["a"][repo]) | set(states["b"][repo]))
            for tag in tags:
                want = expected[repo].get(tag)
                got = {side: states[side][repo].get(tag) for side in SIDES}
                if got["a"] == got["b"] == want:
                    continue
                run.suspects.add((repo, tag))
                lines.append(f"    {repo}:{tag}: A={_short(got['a'])} B={_short(got['b'])} "
                             f"model={_short(want)}")
        if lines:
            who = ("source A / endpoint B" if run.history.mode == "one-way" else "A / B")
            run.problems.append(f"{when}: {who} differ from each other or from the model "
                                f"({len(lines)} tags):\n" + "\n".join(lines))

    def _barrier(self, run: _Run, model: Model, why: str) -> None:
        states, converged = self._wait_converged(run, self.converge_timeout)
        self._compare(run, states, model, f"at the barrier ({why})")
        if not converged:
            self._unfinished(run, f"at the barrier ({why})")
        if run.problems:
            raise HistoryFailed(f"no convergence at the barrier ({why})")

    def _unfinished(self, run: _Run, when: str) -> None:
        jobs = [job for job in run.jobs(self.stack.store) if not job.status.finished]
        run.problems.append(f"{when}: no convergence within {self.converge_timeout:.0f} s; "
                            f"{len(jobs)} jobs unfinished: "
                            + ", ".join(f"#{j.id} {j.status.value}" for j in jobs[:20]))
        for job in jobs:
            run.suspects.add((job.repository, job.tag or job.digest or ""))

    def _final_checks(self, run: _Run) -> None:
        store = self.stack.store
        model = run.history.model()
        states, converged = self._wait_converged(run, self.converge_timeout)
        self._compare(run, states, model, "after the last event")
        if not converged:
            self._unfinished(run, "after the last event")
            return
        self._check_reachable(run, states)
        jobs = run.jobs(store)
        failed = [job for job in jobs if job.status == JobStatus.FAILED]
        if failed:
            run.problems.append(f"{len(failed)} jobs failed: " + ", ".join(
                f"#{j.id} {_job_subject(j)}: {j.error}" for j in failed[:10]))
            run.suspects.update((j.repository, j.tag or j.digest or "") for j in failed)
        # Quiet: nothing more may write, and the state must hold.
        mark = max((job.id for job in jobs), default=0)
        time.sleep(self.quiet_seconds)
        deadline = time.monotonic() + self.converge_timeout
        late = [job for job in run.jobs(store) if job.id > mark]
        while any(not job.status.finished for job in late) and time.monotonic() < deadline:
            time.sleep(0.5)
            late = [job for job in run.jobs(store) if job.id > mark]
        writers = [job for job in late if job.status not in (JobStatus.SKIPPED,)]
        if writers:
            run.problems.append(
                f"after convergence, {len(writers)} new jobs wrote (or tried to) in the "
                f"{self.quiet_seconds:.0f} s quiet period: " + ", ".join(
                    f"#{j.id} {_job_subject(j)} {j.status.value}" for j in writers[:10]))
            run.suspects.update((j.repository, j.tag or j.digest or "") for j in writers)
        after = self._states(run)
        if after != states:
            self._compare(run, after, model, "after the quiet period")
            if after["a"] == after["b"] and not any("after the quiet" in p
                                                    for p in run.problems):
                run.problems.append("the state changed during the quiet period")

    def _check_reachable(self, run: _Run, states: dict[Side, Digests]) -> None:
        """Every tagged manifest on a receiving side has its children and blobs there."""
        receiving = [side for side in SIDES if side in self.stack.endpoints]
        missing: list[str] = []
        with _session() as session:
            for side in receiving:
                base = self.stack.url(side)
                for repo, tags in states[side].items():
                    for tag in tags:
                        lacking = _unreachable(session, base, repo, tag)
                        if lacking:
                            run.suspects.add((repo, tag))
                            missing += [f"{side.upper()} {repo}:{tag}: {what}"
                                        for what in lacking]
        if missing:
            run.problems.append("incomplete images on a receiving side:\n    "
                                + "\n    ".join(missing[:20]))

    # -- the report ----------------------------------------------------------------------

    def _report(self, run: _Run, done: list[Operation], replay: str) -> str:
        history, store = run.history, self.stack.store
        direction = {rule.id: ("A->B" if rule.endpoint_id == self.stack.endpoints["b"]
                               else "B->A") for rule in run.rules}
        lines = [f"{history.mode} history seed {history.seed} "
                 f"({len(history.operations)} operations, project {history.project}) "
                 f"did not converge:"]
        lines += [f"  - {problem}" for problem in run.problems]
        lines.append(f"Replay: {replay}")
        digest_keys = {v: k for k, v in run.digests.items()}
        lines.append("Operations on those tags (# = position in the history):")
        for number, op in enumerate(history.operations, 1):
            if _touches(op, run) or number == len(done) + 1:
                marker = "" if number <= len(done) else "  (not played)"
                lines.append(f"  #{number} {op.describe()}{marker}")
        lines.append("Jobs for those tags, with their logs:")
        suspects_digests = set(run.digests.values())
        shown = 0
        for job in run.jobs(store):
            hit = ((job.repository, job.tag) in run.suspects
                   or (job.tag is None and job.digest in suspects_digests
                       and any(repo == job.repository for repo, _ in run.suspects))
                   or not job.status.finished)
            if not hit:
                continue
            shown += 1
            if shown > 60:
                lines.append("  ... (more jobs left out)")
                break
            key = digest_keys.get(job.digest or "", "")
            lines.append(f"  job #{job.id} {direction.get(job.rule_id, '?')} "
                         f"{job.action.value} {_job_subject(job)}{f' ({key})' if key else ''}: "
                         f"{job.status.value}, attempts {job.attempts}"
                         + (f", error: {job.error}" if job.error else ""))
            lines += [f"      {entry.at:%H:%M:%S.%f} {entry.level.value}: {entry.message}"
                      for entry in store.job_log(job.id)]
        lines.append("Content keys: " + ", ".join(f"{k}={_short(d)}"
                                                  for k, d in sorted(run.digests.items())))
        return "\n".join(lines)


@contextmanager
def _session() -> Iterator[requests.Session]:
    session = _new_session()
    try:
        yield session
    finally:
        session.close()


def _short(digest: str | None) -> str:
    if digest is None:
        return "missing"
    return digest[:19] if digest.startswith("sha256:") else digest


def _job_subject(job: JobRecord) -> str:
    what = f"{job.repository}:{job.tag}" if job.tag else f"{job.repository}@{_short(job.digest)}"
    if job.action != JobAction.REPLICATE:
        what = f"{job.action.value} {what}"
    return what


def _touches(op: Operation, run: _Run) -> bool:
    if isinstance(op, Burst):
        return any(_touches(push, run) for push in op.pushes)
    if isinstance(op, Push | Delete | Sign):
        return (op.repository, run.real_tag(op.tag)) in run.suspects
    if isinstance(op, Retag):
        return any((op.repository, tag) in run.suspects for tag in (op.tag, op.source_tag))
    return True  # barriers, pauses


def _unreachable(session: requests.Session, base: str, repo: str, reference: str) -> list[str]:
    """What of a manifest (children, config, layers) the registry cannot serve."""
    resp = session.get(f"{base}/v2/{repo}/manifests/{reference}",
                       headers={"Accept": MANIFEST_ACCEPT}, timeout=30)
    if resp.status_code != 200:
        return [f"manifest {reference} -> {resp.status_code}"]
    if sha256_digest(resp.content) != resp.headers.get("Docker-Content-Digest"):
        return [f"manifest {reference}: bytes do not hash to their digest"]
    document = resp.json()
    missing: list[str] = []
    for child in document.get("manifests") or []:
        missing += _unreachable(session, base, repo, child["digest"])
    for blob in [document.get("config"), *(document.get("layers") or [])]:
        if blob is None:
            continue
        head = session.head(f"{base}/v2/{repo}/blobs/{blob['digest']}", timeout=30)
        if head.status_code != 200:
            missing.append(f"blob {_short(blob['digest'])} of {reference} -> "
                           f"{head.status_code}")
    return missing
