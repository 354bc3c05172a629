"""The README tells the truth: every setting with its default, every command."""

from __future__ import annotations

import dataclasses
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from shared.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
CROSSDOCK = str(Path(sys.executable).with_name("crossdock"))


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value)
    return str(value)


@pytest.mark.parametrize("field", dataclasses.fields(Settings), ids=lambda f: f.name)
def test_every_setting_is_documented_with_its_default(field: dataclasses.Field[object]) -> None:
    row = re.search(rf"^\| `CROSSDOCK_{field.name.upper()}` \| (.*?) \|", README, re.M)
    assert row, f"CROSSDOCK_{field.name.upper()} is missing from the configuration reference"
    if field.default not in ("", None):
        assert row.group(1) == f"`{_shown(field.default)}`"


SHELL_OPERATOR = re.compile(r"^[0-9]*[<>|&;]")


def _command_lines() -> list[list[str]]:
    """The words of each `crossdock …` line in the README's shell blocks, without
    comments and up to the first redirection or shell operator."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["crossdock"]:
                end = next((i for i, word in enumerate(words) if SHELL_OPERATOR.match(word)),
                           len(words))
                found.append(words[1:end])
    return found


def _commands() -> list[tuple[list[str], list[str]]]:
    """(command words, options) of each `crossdock …` line, e.g. (["rules", "create"],
    ["--source", "--disabled"])."""
    found = []
    for line in _command_lines():
        words = [w for w in line if not w.startswith(("-", "http", "<"))]
        options = [w.split("=")[0] for w in line if w.startswith("--")]
        found.append((words[:2] if words and words[0] not in ("copy", "sync") else words[:1],
                      options))
    return found


@pytest.mark.parametrize(("words", "options"), _commands(),
                         ids=lambda value: " ".join(value) or "-")
def test_every_command_in_the_readme_exists_with_its_options(
    words: list[str], options: list[str]
) -> None:
    run = subprocess.run([CROSSDOCK, *words, "--help"], capture_output=True, text=True,
                         timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    assert [option for option in options if option not in run.stdout] == []


def test_no_rule_is_enabled_just_after_it_was_created_enabled() -> None:
    """`rules create` enables a rule and starts its initial sync unless `--disabled`;
    a `rules enable` after it starts nothing (it says "already enabled")."""
    enabled: set[str] = set()
    for words in _command_lines():
        if words[:2] == ["rules", "create"] and "--disabled" not in words:
            enabled.add(words[2])
        elif words[:2] in (["rules", "create"], ["rules", "disable"]):
            enabled.discard(words[2])
        elif words[:2] == ["rules", "enable"]:
            assert words[2] not in enabled, (
                f"the README enables the rule {words[2]!r}, which it created enabled")


def test_every_header_of_ours_is_documented_in_the_console_section() -> None:
    from shared.broker import delivery

    section = README.split("### Reading the queues in the RabbitMQ console")[1].split("\n### ")[0]
    headers = [value for name, value in vars(delivery).items() if name.endswith("_HEADER")]
    assert len(headers) == 7
    for header in headers:
        assert f"| `{header}` |" in section, f"{header} is not in the console section's table"
