"""Fetch the web console's third-party files again from npm, at their pinned versions.

    python scripts/vendor_assets.py            # fetch with `npm pack`, check, write
    python scripts/vendor_assets.py --check    # only check the shipped files' hashes
    python scripts/vendor_assets.py --update   # after changing a version: record new hashes

The pins are in receiver/console/vendor.json: each package's version and npm's
`integrity` of its tarball, and each file's SHA-256. No Node build step: the files
are taken from the published tarball as they are. Exit 1 when a hash differs.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONSOLE = ROOT / "receiver" / "console"
MANIFEST = CONSOLE / "vendor.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def npm_integrity(data: bytes) -> str:
    """npm's `integrity` of a tarball (Subresource Integrity, SHA-512)."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def check_shipped(manifest: dict[str, Any]) -> list[str]:
    """The shipped files whose SHA-256 is not the pinned one (or that are missing)."""
    wrong = []
    for package in manifest["packages"]:
        for entry in package["files"]:
            path = CONSOLE / entry["to"]
            if not path.is_file() or sha256(path.read_bytes()) != entry["sha256"]:
                wrong.append(entry["to"])
    return wrong


def fetch(package: dict[str, Any], workdir: Path, *, update: bool) -> list[str]:
    """Write `package`'s files from its npm tarball; the problems found."""
    spec = f"{package['name']}@{package['version']}"
    packed = subprocess.run(["npm", "pack", spec, "--json", "--pack-destination", str(workdir)],
                            capture_output=True, text=True, check=True, timeout=300)
    tarball = workdir / json.loads(packed.stdout)[0]["filename"]
    data = tarball.read_bytes()
    problems = []
    if npm_integrity(data) != package["integrity"]:
        if not update:
            return [f"{spec}: the tarball's integrity is not the pinned one"]
        package["integrity"] = npm_integrity(data)
    with tarfile.open(tarball) as archive:
        for entry in package["files"]:
            member = archive.extractfile(f"package/{entry['from']}")
            if member is None:
                problems.append(f"{spec}: no file {entry['from']} in the tarball")
                continue
            content = member.read()
            if sha256(content) != entry["sha256"]:
                if not update:
                    problems.append(f"{spec}: {entry['from']} is not the pinned file")
                    continue
                entry["sha256"] = sha256(content)
            target = CONSOLE / entry["to"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="only check the shipped files")
    mode.add_argument("--update", action="store_true", help="record the hashes of new versions")
    args = parser.parse_args()
    manifest = json.loads(MANIFEST.read_text())
    if args.check:
        problems = [f"{path}: missing or not the pinned file" for path in check_shipped(manifest)]
    else:
        problems = []
        with tempfile.TemporaryDirectory(prefix="crossdock-vendor-") as workdir:
            for package in manifest["packages"]:
                problems += fetch(package, Path(workdir), update=args.update)
        if args.update:
            MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print("vendored files match their pins")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
