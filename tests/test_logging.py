"""Log records stay whole lines when several processes share one stream.

Real processes with ``PYTHONUNBUFFERED=1`` (set in containers, and on the machine
where records were seen glued together): each record, long errors and tracebacks
included, is one JSON line of at most 4096 bytes written in a single write(2),
which a pipe keeps whole whoever else writes to it.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

from shared.logging import LineWriter

ROOT = Path(__file__).resolve().parent.parent
MAX_LINE_BYTES = 4096  # PIPE_BUF: the largest write(2) a pipe keeps whole

# Waits for a line on stdin (so that every writer starts at once), then logs
# `count` rounds of: a short record, one near the size limit, one far above it
# (a long error), a traceback, and a warning from a stdlib logger (as pika's).
WRITER = textwrap.dedent("""
    import logging, sys
    import structlog
    from shared.logging import configure_logging
    from shared.settings import Settings

    name, count = sys.argv[1], int(sys.argv[2])
    configure_logging(Settings(log_format="json"))
    log = structlog.get_logger("writer").bind(writer=name)
    sys.stdin.readline()

    def fail(depth):
        if depth == 0:
            raise RuntimeError("registry said no: " + "detail " * 400)
        fail(depth - 1)

    for n in range(count):
        log.info("short", n=n)
        log.info("near the limit", n=n, payload="p" * 3800)
        log.error("long error", n=n, error="upstream answered: " + "é\\n" * 20000)
        try:
            fail(60)
        except RuntimeError:
            log.exception("job failed", n=n)
        logging.getLogger("pika." + name).warning("connection %s lost", n)
""")
KINDS = ("short", "near the limit", "long error", "job failed", "connection")


def _start_writer(name: str, count: int, stderr: int | socket.socket) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env = {key: value for key, value in env.items() if not key.startswith("CROSSDOCK_")}
    return subprocess.Popen([sys.executable, "-c", WRITER, name, str(count)], cwd=ROOT, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=stderr)


def _go(writers: list[subprocess.Popen[bytes]]) -> None:
    for writer in writers:
        assert writer.stdin is not None
        writer.stdin.write(b"go\n")
        writer.stdin.close()


def _kind(record: dict[str, object]) -> str:
    event = str(record["event"])
    return "connection" if event.startswith("connection") else event


def _writer(record: dict[str, object]) -> str:
    return str(record.get("writer") or str(record["logger"]).removeprefix("pika."))


def test_each_record_is_a_single_write_of_one_whole_line() -> None:
    # A SEQPACKET socket keeps the boundaries of every write(2) as one message.
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with ours:
        with theirs:
            writer = _start_writer("solo", 2, theirs)
        _go([writer])
        writes = []
        while message := ours.recv(1 << 20):
            writes.append(message)
        assert writer.wait(60) == 0

    assert len(writes) == 2 * len(KINDS)
    for data in writes:
        assert data.endswith(b"\n") and data.count(b"\n") == 1, data[:200]
        assert len(data) <= MAX_LINE_BYTES
    records = [json.loads(data) for data in writes]
    assert [_kind(record) for record in records] == list(KINDS) * 2
    long_error, traceback = records[2], records[3]
    assert long_error["truncated"] == ["error"]
    assert str(long_error["error"]).startswith("upstream answered: é\n")
    assert str(traceback["exception"]).startswith("Traceback (most recent call last):")
    assert str(traceback["exception"]).rstrip().endswith("detail")  # the reason is kept
    assert records[4]["logger"] == "pika.solo" and records[4]["level"] == "warning"


def test_records_of_several_processes_on_one_pipe_never_share_a_line() -> None:
    read_end, write_end = os.pipe()
    count = 300
    try:
        writers = [_start_writer(f"w{n}", count, write_end) for n in range(4)]
    finally:
        os.close(write_end)
    _go(writers)
    with os.fdopen(read_end, "rb") as pipe:
        lines = pipe.read().split(b"\n")
    assert [writer.wait(60) for writer in writers] == [0, 0, 0, 0]

    assert lines.pop() == b""  # the stream ends with a whole line
    broken = []
    seen: dict[tuple[str, str], int] = {}
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            broken.append(line[:120])
            continue
        assert len(line) < MAX_LINE_BYTES
        key = (_writer(record), _kind(record))
        seen[key] = seen.get(key, 0) + 1
    assert broken == []
    assert seen == {(f"w{n}", kind): count for n in range(4) for kind in KINDS}


def test_a_record_logged_while_another_is_being_written_goes_out_after_it() -> None:
    # As from a signal handler (the consumer logs SIGTERM) that interrupts a write.
    class Interrupted(io.StringIO):
        def write(self, text: str) -> int:
            written = super().write(text)
            if text.startswith("first"):
                writer.write_line("from the handler")
            return written

    stream = Interrupted()
    writer = LineWriter(stream)

    writer.write_line("first")

    assert stream.getvalue() == "first\nfrom the handler\n"
