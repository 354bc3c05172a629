"""`crossdock copy` and `crossdock sync` as a user runs them: the real console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.images import list_state, push_image, push_index
from tests.support.registry_server import RegistryServer, corrupt_blob, free_port

CROSSDOCK = str(Path(sys.executable).with_name("crossdock"))


def crossdock(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CROSSDOCK, *args], capture_output=True, text=True, timeout=120)


def test_copy_prints_what_it_did(registry: RegistryServer, registry2: RegistryServer) -> None:
    image = push_image(registry.url, "lib/app", "v1")

    run = crossdock("copy", f"{registry.url}/lib/app:v1", f"{registry2.url}/lib/app")

    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith(f"copied {registry2.host}/lib/app:v1 ({image.digest})")
    assert list_state(registry2.url, "lib/app") == {"v1": image.digest}


def test_copy_json_summary_and_skip_on_second_run(
    registry: RegistryServer, registry2: RegistryServer
) -> None:
    push_index(registry.url, "lib/multi", "v1")
    args = ("copy", "--json", f"{registry.url}/lib/multi:v1", f"{registry2.url}/lib/multi:v1")
    first = json.loads(crossdock(*args).stdout)

    second = crossdock(*args)

    assert first["status"] == "copied" and first["bytes"] > 0
    assert json.loads(second.stdout)["status"] == "skipped"
    assert json.loads(second.stdout)["bytes"] == 0


def test_copy_with_credentials_and_tls_options(
    registry: RegistryServer, htpasswd_registry: RegistryServer, tls_registry: RegistryServer
) -> None:
    image = push_image(registry.url, "lib/app", "v1")
    to_htpasswd = crossdock(
        "copy", "--dest-creds", "alice:s3cret",
        f"{registry.url}/lib/app:v1", f"{htpasswd_registry.url}/lib/app:v1",
    )
    to_tls = crossdock(
        "copy", "--src-creds", "alice:s3cret", "--dest-ca", str(tls_registry.ca_path),
        f"{htpasswd_registry.url}/lib/app:v1", f"{tls_registry.url}/lib/app:v1",
    )
    back = crossdock(
        "copy", "--no-src-tls-verify", f"{tls_registry.url}/lib/app:v1",
        f"{registry.url}/lib/back:v1",
    )

    assert [to_htpasswd.returncode, to_tls.returncode, back.returncode] == [0, 0, 0], (
        to_htpasswd.stderr + to_tls.stderr + back.stderr
    )
    assert list_state(registry.url, "lib/back") == {"v1": image.digest}


def test_failures_are_one_line_and_non_zero(registry: RegistryServer) -> None:
    missing = crossdock("copy", f"{registry.url}/lib/none:v1", f"{registry.url}/lib/x")
    refused = crossdock("copy", f"http://127.0.0.1:{free_port()}/lib/app:v1",
                        f"{registry.url}/lib/x")

    assert missing.returncode == 1
    assert missing.stderr.strip().startswith("crossdock: error: GET manifest lib/none:v1")
    assert "404" in missing.stderr
    assert refused.returncode == 1
    assert "connection refused" in refused.stderr
    for run in (missing, refused):
        assert "Traceback" not in run.stderr
        assert len(run.stderr.strip().splitlines()) == 1


def test_bad_arguments_exit_2_with_a_reason(registry: RegistryServer) -> None:
    bad_name = crossdock("copy", f"{registry.url}/Lib/App:v1", f"{registry.url}/lib/x")
    bad_creds = crossdock("copy", "--src-creds", "nocolon", f"{registry.url}/lib/a:v1",
                          f"{registry.url}/lib/x")
    no_project = crossdock("sync", registry.url, f"{registry.url}/x")
    bad_scheme = crossdock("copy", "ftp://host/lib/a:v1", f"{registry.url}/lib/x")

    assert bad_name.returncode == 2 and "not a valid repository name" in bad_name.stderr
    assert bad_creds.returncode == 2 and "USER:PASS" in bad_creds.stderr
    assert no_project.returncode == 2 and "name a project" in no_project.stderr
    assert bad_scheme.returncode == 2 and "http or https" in bad_scheme.stderr


def test_sync_summary_and_exit_status(registry: RegistryServer, registry2: RegistryServer) -> None:
    push_image(registry.url, "lib/a", "v1")
    push_image(registry.url, "lib/b", "v1")
    broken = push_image(registry.url, "lib/c", "v1", layers=(5000,))
    corrupt_blob(registry.storage_dir, broken.blobs[-1][0])

    run = crossdock("sync", "--json", f"{registry.url}/lib", f"{registry2.url}/mirror")

    assert run.returncode == 1
    summary = json.loads(run.stdout)
    assert (summary["images"], summary["copied"], summary["failed"]) == (3, 2, 1)
    assert summary["failures"][0]["image"] == "lib/c:v1"
    assert set(list_state(registry2.url, "mirror/a")) == {"v1"}

    text = crossdock("sync", f"{registry.url}/lib", f"{registry2.url}/mirror")
    assert text.stdout.startswith("3 images: 0 copied, 2 skipped, 1 failed")


def test_secret_key_prints_a_usable_key() -> None:
    from shared.store.secrets import SecretBox

    run = crossdock("secret-key")

    assert run.returncode == 0
    box = SecretBox(run.stdout.strip())
    assert box.decrypt(box.encrypt("s3cret")) == "s3cret"
