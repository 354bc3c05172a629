"""The vendored htmx and Pico are the pinned files, with their licences beside them."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CONSOLE = Path(__file__).resolve().parents[3] / "receiver" / "console"
MANIFEST: dict[str, Any] = json.loads((CONSOLE / "vendor.json").read_text())
PACKAGES = {package["name"]: package for package in MANIFEST["packages"]}
#: The pins, here too: a changed file needs a changed test, not only a new manifest.
HTMX_SHA256 = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"
PICO_SHA256 = "fbc9a63fc9fc9f72d12fd7fc9806e11fa9f77ae4f9cad146b27003a1119ba3db"


def _sha256(path: str) -> str:
    return hashlib.sha256((CONSOLE / path).read_bytes()).hexdigest()


def test_htmx_is_the_pinned_2x_release() -> None:
    htmx = PACKAGES["htmx.org"]
    script = (CONSOLE / "static/vendor/htmx/htmx.min.js").read_text()

    assert htmx["version"] == "2.0.11"  # npm's `latest` is 4.x: a breaking release
    assert _sha256("static/vendor/htmx/htmx.min.js") == HTMX_SHA256
    assert re.search(r'version:"2\.0\.11"', script)


def test_pico_is_the_pinned_2x_release() -> None:
    assert PACKAGES["@picocss/pico"]["version"] == "2.1.1"
    assert _sha256("static/vendor/pico/pico.min.css") == PICO_SHA256
    assert "Pico CSS ✨ v2.1.1" in (CONSOLE / "static/vendor/pico/pico.min.css").read_text()


def test_the_licences_ship_beside_the_files() -> None:
    htmx_licence = (CONSOLE / "static/vendor/htmx/LICENSE").read_text()
    pico_licence = (CONSOLE / "static/vendor/pico/LICENSE.md").read_text()

    assert "Zero-Clause BSD" in htmx_licence and PACKAGES["htmx.org"]["license"] == "0BSD"
    assert pico_licence.startswith("MIT License")


@pytest.mark.parametrize("entry", [entry for package in MANIFEST["packages"]
                                   for entry in package["files"]], ids=lambda e: e["to"])
def test_every_vendored_file_matches_its_pinned_hash(entry: dict[str, str]) -> None:
    assert _sha256(entry["to"]) == entry["sha256"]


def test_nothing_unpinned_is_vendored() -> None:
    pinned = {entry["to"] for package in MANIFEST["packages"] for entry in package["files"]}
    shipped = {str(path.relative_to(CONSOLE)) for path in (CONSOLE / "static/vendor").rglob("*")
               if path.is_file()}

    assert shipped == pinned


def test_the_vendor_script_finds_the_shipped_files_pinned() -> None:
    script = CONSOLE.parents[1] / "scripts" / "vendor_assets.py"
    checked = subprocess.run([sys.executable, str(script), "--check"], capture_output=True,
                             text=True, timeout=60, check=False)

    assert checked.returncode == 0, checked.stderr
    assert "vendored files match their pins" in checked.stdout
