"""The wheel ships everything crossdock needs at run time, and the image installs
that wheel: the console's templates, static files and vendored assets included."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONSOLE = ROOT / "receiver" / "console"


def _packages() -> list[str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages: list[str] = pyproject["tool"]["setuptools"]["packages"]
    return packages


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """crossdock's wheel, built from a copy of the sources (as the Dockerfile does)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for top in sorted({package.split(".")[0] for package in _packages()}):
        shutil.copytree(ROOT / top, source / top,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                            "--wheel-dir", str(out), str(source)],
                           capture_output=True, text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stderr
    [found] = out.glob("crossdock-*.whl")
    return zipfile.ZipFile(found)


def test_every_console_file_is_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    console_files = [str(path.relative_to(ROOT)) for path in CONSOLE.rglob("*")
                     if path.is_file() and "__pycache__" not in path.parts]

    missing = sorted(set(console_files) - names)

    assert not missing, f"not in the wheel: {missing}"
    assert {"receiver/console/templates/console/base.html",
            "receiver/console/static/vendor/htmx/htmx.min.js",
            "receiver/console/static/vendor/htmx/LICENSE",
            "receiver/console/static/vendor/pico/pico.min.css",
            "receiver/console/static/vendor/pico/LICENSE.md",
            "receiver/console/vendor.json"} <= names


def test_every_package_and_migration_is_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    for package in _packages():
        assert f"{package.replace('.', '/')}/__init__.py" in names, package
    assert "shared/store/migrations/script.py.mako" in names


def test_the_image_installs_the_wheel_not_the_work_tree() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    stages = re.split(r"^FROM ", dockerfile, flags=re.M)[1:]
    build, final = stages[0], stages[-1]

    assert len(stages) == 2
    assert re.search(r"^RUN pip wheel .*--wheel-dir /dist \.$", build, re.M)
    assert "COPY --from=wheel /dist /dist" in final
    assert re.search(r'pip install .*/dist/crossdock-\*\.whl\)\[server,postgres\]', final)
    assert not re.search(r"^COPY (shared|cli|receiver|consumers) ", final, re.M)
