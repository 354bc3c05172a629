"""A log record renders as one JSON line that fits one atomic pipe write."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shared.log_records import MAX_LINE_BYTES, MAX_RECORD_BYTES, cut_middle, render_json_line

TRACEBACK = ("Traceback (most recent call last):\n"
             + '  File "consumers/runner.py", line 1, in run\n    step()\n' * 400
             + "shared.errors.RegistryUnavailableError: the endpoint answered 503")


def test_a_pipe_write_of_one_line_is_atomic_up_to_4096_bytes() -> None:
    assert MAX_LINE_BYTES == 4096
    assert MAX_RECORD_BYTES == 4095  # and the newline


def test_a_short_record_is_plain_json() -> None:
    record = {"event": "job attempt finished", "job_id": 42, "ok": True, "tag": "v1"}

    assert render_json_line(record) == json.dumps(record)


def test_a_long_value_is_cut_in_the_middle_and_named() -> None:
    record = {"event": "job failed", "job_id": 7, "error": "start " + "x" * 20_000 + " end"}

    line = render_json_line(record)
    shown = json.loads(line)

    assert len(line) <= MAX_RECORD_BYTES
    assert shown["truncated"] == ["error"]
    assert shown["error"].startswith("start xxx") and shown["error"].endswith("xxx end")
    assert " chars cut]... " in shown["error"]
    assert {key: shown[key] for key in ("event", "job_id")} == {"event": "job failed",
                                                                "job_id": 7}


def test_a_traceback_keeps_its_first_and_last_lines() -> None:
    line = render_json_line({"event": "boom", "level": "error", "exception": TRACEBACK})
    exception = json.loads(line)["exception"]

    assert exception.startswith("Traceback (most recent call last):\n")
    assert exception.endswith("RegistryUnavailableError: the endpoint answered 503")


def test_escaped_characters_count_as_the_bytes_they_take() -> None:
    record = {"event": "odd", "error": "é\n\"😀\x01" * 5_000}

    line = render_json_line(record)

    assert len(line.encode()) <= MAX_RECORD_BYTES and line.isascii()
    assert json.loads(line)["truncated"] == ["error"]


def test_the_cut_mark_counts_what_was_cut() -> None:
    assert cut_middle("abcdefghij", 4) == "ab ...[6 chars cut]... ij"
    assert cut_middle("abc", 3) == "abc"


def test_a_record_of_many_small_values_keeps_its_time_level_and_event() -> None:
    record: dict[str, Any] = {"timestamp": "2026-01-01T00:00:00Z", "level": "info",
                              "event": "many fields"}
    record.update({f"field{n}": "value" for n in range(1_000)})

    shown = json.loads(render_json_line(record))

    assert shown == {"timestamp": "2026-01-01T00:00:00Z", "level": "info",
                     "event": "many fields", "truncated": "record"}


values = st.one_of(st.text(max_size=6_000), st.integers(), st.none(),
                   st.lists(st.text(max_size=200), max_size=40))


@given(st.dictionaries(st.text(min_size=1, max_size=30), values, max_size=8),
       st.integers(min_value=200, max_value=MAX_RECORD_BYTES))
def test_every_record_fits_as_json_and_small_ones_are_untouched(
    record: dict[str, Any], limit: int
) -> None:
    line = render_json_line(record, limit)

    assert len(line.encode()) <= limit and "\n" not in line
    shown = json.loads(line)
    if len(json.dumps(record)) <= limit:
        assert shown == record
    else:
        assert shown["truncated"]
