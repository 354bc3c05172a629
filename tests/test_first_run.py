"""The README's first run, typed as written: every ```sh block the README marks with
``<!-- as-written -->`` runs, in order, in one bash shell in a fresh clone of HEAD
(so commit a README change before running this): the install step, the secrets,
the receiver and a consumer in the background, the CLI. Each line must succeed; the
first that fails fails the test, named. Between blocks the test only does what a
person does: after the block marked ``<!-- as-written: the receiver starts -->`` it
waits until the receiver answers ``/readyz``. At the end it stops what the blocks
started with SIGTERM, on which each must exit 0 (the README says so).

The shell gets the machine's environment less every CROSSDOCK_* variable, any
virtualenv and any PATH entry holding a ``crossdock`` (only the README's install
step may put one there), with a HOME of its own (where crossdock may keep its data
by default). The machine is shared, so the settings the README leaves at their
defaults that would collide with other runs get values of their own: the
receiver's address (and the CLI's URL for it), the consumer's metrics port (off)
and the queue prefix.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import signal
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.support.registry_server import free_port
from tests.support.settings import delete_prefixed_queues

ROOT = Path(__file__).resolve().parent.parent
MARKED = re.compile(r"^<!-- as-written(?:: (?P<after>[^>]*?))? -->\n```sh\n(?P<body>.*?)^```$",
                    re.M | re.S)
RECEIVER_STARTS = "the receiver starts"
SECONDS = 270  # under pytest's timeout, so that clean-up still runs

PRELUDE = r"""
first_run_failed() {  # a README line failed: say which, and stop
  echo "first-run: this README line failed (exit $1): $2" >&2
  exit 1
}
first_run_record() {  # what the blocks run in the background, for the test's clean-up
  jobs -p > "$FIRST_RUN_PIDS"
}
first_run_wait_for_receiver() {  # as a person waits for it to come up
  local url="${CROSSDOCK_API_URL:-http://127.0.0.1:8080}/readyz" pid
  for _ in $(seq 1 600); do
    python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' \
      "$url" 2>/dev/null && return 0
    for pid in $(cat "$FIRST_RUN_PIDS"); do
      kill -0 "$pid" 2>/dev/null || { echo "first-run: pid $pid exited" >&2; exit 1; }
    done
    sleep 0.2
  done
  echo "first-run: nothing answered $url" >&2
  exit 1
}
first_run_stop() {  # SIGTERM to each background job; each must exit 0
  local pid status=0
  for pid in $(jobs -p); do kill -TERM "$pid"; done
  for pid in $(jobs -p); do
    wait "$pid" || { echo "first-run: pid $pid exited $? on SIGTERM" >&2; status=1; }
  done
  return "$status"
}
trap first_run_stop EXIT
"""


@dataclass(frozen=True)
class Block:
    """One marked block: its command lines, and what follows it (`after`)."""

    lines: tuple[str, ...]
    after: str


def marked_blocks(readme: str) -> list[Block]:
    """The README's as-written blocks, in order; continued lines joined."""
    blocks = []
    for found in MARKED.finditer(readme):
        joined = found.group("body").replace("\\\n", "")
        lines = tuple(line for line in joined.splitlines()
                      if line.strip() and not line.lstrip().startswith("#"))
        blocks.append(Block(lines, found.group("after") or ""))
    return blocks


def first_run_script(blocks: list[Block]) -> str:
    """A bash script that runs `blocks` as typed, each line checked."""
    parts = [PRELUDE]
    for number, block in enumerate(blocks, 1):
        parts.append(f"\n# -- block {number}")
        for line in block.lines:
            # A group runs in this shell (exports and `.` stay), and the newline ends
            # any comment on the line.
            parts.append(f"{{ {line}\n}} || first_run_failed $? {shlex.quote(line)}")
        parts.append("first_run_record")
        if block.after == RECEIVER_STARTS:
            parts.append("first_run_wait_for_receiver")
    parts.append("\nfirst_run_stop || exit 1\necho 'first-run: done'\n")
    return "\n".join(parts)


def first_run_environment(home: Path, pids: Path, port: int, prefix: str) -> dict[str, str]:
    """The machine's environment as a new user has it, plus a place of its own on
    the shared machine (see the module's docstring)."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("CROSSDOCK_", "XDG_"))
           and name not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(
        entry for entry in os.environ["PATH"].split(os.pathsep)
        if entry and not (Path(entry) / "crossdock").exists())
    env["PIP_CACHE_DIR"] = os.environ.get("PIP_CACHE_DIR") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pip")
    env["HOME"] = str(home)
    env["FIRST_RUN_PIDS"] = str(pids)
    env["CROSSDOCK_RECEIVER_BIND"] = f"127.0.0.1:{port}"
    env["CROSSDOCK_API_URL"] = f"http://127.0.0.1:{port}"
    env["CROSSDOCK_CONSUMER_METRICS_PORT"] = "0"
    env["CROSSDOCK_QUEUE_PREFIX"] = prefix
    if "CROSSDOCK_TEST_AMQP_URL" in os.environ:
        env["CROSSDOCK_AMQP_URL"] = os.environ["CROSSDOCK_TEST_AMQP_URL"]
    return env


def what_went_wrong(run: subprocess.CompletedProcess[str], clone: Path) -> str:
    logs = "".join(f"\n--- {log.name} (end)\n{log.read_text()[-2000:]}"
                   for log in sorted(clone.glob("*.log")))
    return f"--- stdout (end)\n{run.stdout[-3000:]}\n--- stderr (end)\n{run.stderr[-3000:]}{logs}"


def kill_leftovers(pids: Path) -> None:
    """Services a killed shell left running (the shell stops them otherwise)."""
    if not pids.exists():
        return
    for pid in pids.read_text().split():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)


def test_the_readme_blocks_marked_as_written_run_as_written_from_a_fresh_clone(
    tmp_path: Path,
) -> None:
    clone = tmp_path / "crossdock"
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", str(ROOT), str(clone)],
                   check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", head], check=True)
    blocks = marked_blocks((clone / "README.md").read_text())
    assert {block.after for block in blocks} <= {"", RECEIVER_STARTS}
    assert [block.after for block in blocks].count(RECEIVER_STARTS) == 1
    (tmp_path / "home").mkdir()
    pids = tmp_path / "pids"
    prefix = f"crossdock-test-firstrun-{uuid.uuid4().hex[:6]}"
    script = tmp_path / "first-run.sh"
    script.write_text(first_run_script(blocks))

    try:
        run = subprocess.run(
            ["bash", str(script)], cwd=clone, capture_output=True, text=True,
            stdin=subprocess.DEVNULL, timeout=SECONDS, check=False,
            env=first_run_environment(tmp_path / "home", pids, free_port(), prefix))
    finally:
        kill_leftovers(pids)
        delete_prefixed_queues(prefix)

    assert run.returncode == 0, what_went_wrong(run, clone)
    assert run.stdout.rstrip().endswith("first-run: done")
