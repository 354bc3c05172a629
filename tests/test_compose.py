"""docker-compose.yml and the Dockerfile stay consistent with the repo and with
`make demo`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_every_part_is_there_and_consumers_scale() -> None:
    services = compose()["services"]

    assert set(services) >= {"rabbitmq", "postgres", "source", "endpoint", "receiver",
                             "consumer"}
    assert "management" in services["rabbitmq"]["image"]
    # --scale needs no fixed container name or host port on the consumer.
    assert "container_name" not in services["consumer"]
    assert "ports" not in services["consumer"]


def test_mounted_config_files_exist_and_match_the_demo() -> None:
    services = compose()["services"]
    for name in ("source", "endpoint"):
        for volume in services[name]["volumes"]:
            host = volume.split(":")[0]
            if host.startswith("./"):
                assert (ROOT / host).is_file(), host
    source_config = yaml.safe_load((ROOT / "config" / "registry-source.yml").read_text())
    [notify] = source_config["notifications"]["endpoints"]
    demo = (ROOT / "scripts" / "demo.py").read_text()
    secret = notify["headers"]["Authorization"][0].removeprefix("Bearer ")
    assert f'WEBHOOK_SECRET = "{secret}"' in demo
    assert notify["url"] == "http://receiver:8080/webhooks/source"
    assert "config/crossdock.yml" in demo.replace('" / "', "/").replace("ROOT / ", "")


@pytest.mark.skipif(shutil.which("docker-compose") is None,
                    reason="docker-compose (Debian package) is not installed")
def test_docker_compose_accepts_the_file() -> None:
    env = {**os.environ, "CROSSDOCK_SECRET_KEY": "k", "CROSSDOCK_ADMIN_TOKEN": "t"}
    checked = subprocess.run(["docker-compose", "config", "--quiet"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stderr


def test_the_image_keeps_its_default_store_where_its_user_may_write() -> None:
    from shared.store import locate_store

    # No Docker engine here: what the Dockerfile says is read instead of built.
    dockerfile = (ROOT / "Dockerfile").read_text()
    user = re.findall(r"^USER (\S+)$", dockerfile, re.M)[-1]
    [xdg] = re.findall(r"^ENV XDG_DATA_HOME=(\S+)$", dockerfile, re.M)
    location = locate_store("", environ={"XDG_DATA_HOME": xdg})

    assert location.path is not None
    assert user not in ("root", "0")
    made = rf"install -d -o {user} -g {user}( -m 0?7[0-7]{{2}})? {location.path.parent}\s"
    assert re.search(made, dockerfile), f"{location.path.parent} is not made for {user}"
