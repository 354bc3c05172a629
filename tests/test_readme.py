"""The README tells the truth: every setting with its default, every command."""

from __future__ import annotations

import dataclasses
import re
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


def _commands() -> list[list[str]]:
    """`crossdock …` command lines in the README's shell blocks, up to the first option."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for line in block.splitlines():
            line = line.split("#")[0].strip()
            if line.startswith("crossdock "):
                words = [w for w in line.split()[1:] if not w.startswith(("-", "http", "<"))]
                found.append(words[:2] if words and words[0] not in ("copy", "sync") else
                             words[:1])
    return found


@pytest.mark.parametrize("words", _commands(), ids=" ".join)
def test_every_command_in_the_readme_exists(words: list[str]) -> None:
    run = subprocess.run([CROSSDOCK, *words, "--help"], capture_output=True, text=True,
                         timeout=60, check=False)
    assert run.returncode == 0, run.stderr


def test_every_header_of_ours_is_documented_in_the_console_section() -> None:
    from shared.broker import delivery

    section = README.split("### Reading the queues in the RabbitMQ console")[1].split("\n### ")[0]
    headers = [value for name, value in vars(delivery).items() if name.endswith("_HEADER")]
    assert len(headers) == 7
    for header in headers:
        assert f"| `{header}` |" in section, f"{header} is not in the console section's table"
