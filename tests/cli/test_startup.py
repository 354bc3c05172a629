"""What a copy command loads: its start-up is part of every copy's time (issue #12)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Loaded only by the commands, or the settings, that need them.
HEAVY = ("yaml", "cryptography", "sqlalchemy", "pika", "flask", "gunicorn", "marshmallow")

_PROBE = """
import json, sys
from cli.main import main
sys.argv = ["crossdock", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in {heavy})))
"""


@pytest.mark.parametrize("argv", [
    ["sync", "http://127.0.0.1:9/lib", "http://127.0.0.1:9/lib"],
    ["copy", "http://127.0.0.1:9/lib/app:v1", "http://127.0.0.1:9/lib/app:v1"],
])
def test_a_copy_command_without_a_config_file_or_key_loads_no_heavy_library(
    argv: list[str],
) -> None:
    env = {"PATH": "/usr/bin:/bin", "CROSSDOCK_CONFIG": ""}  # nothing from this session
    probe = _PROBE.format(heavy=set(HEAVY))
    done = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True,
                          text=True, env=env, timeout=60, check=False)

    assert "connection refused" in done.stderr  # it got as far as the registry
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == []
