"""`make demo`: two local registries, a few generated images, and crossdock copying them.

Starts a source and a destination Distribution registry on 127.0.0.1, pushes a
few generated images (one of them multi-arch) into project `demo` of the
source with crossdock's own registry client, then runs `crossdock sync` twice
(the second run copies nothing) and `crossdock copy` for one image. It keeps
the registries up until Ctrl-C, then stops exactly what it started.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.mediatypes import OCI_INDEX, OCI_MANIFEST  # noqa: E402
from shared.registry import Manifest, RegistryClient, RegistryConfig  # noqa: E402

CROSSDOCK = str(Path(sys.executable).with_name("crossdock"))
REGISTRY = "/usr/bin/docker-registry"
SOURCE_PORT = int(os.environ.get("DEMO_SOURCE_PORT", "5001"))
DEST_PORT = int(os.environ.get("DEMO_DEST_PORT", "5002"))


def start_registry(workdir: Path, name: str, port: int) -> subprocess.Popen[bytes]:
    template = (ROOT / "config" / "registry-demo.yml").read_text()
    config = workdir / f"{name}.yml"
    config.write_text(template.format(root=workdir / name, port=port))
    log = (workdir / f"{name}.log").open("wb")
    process = subprocess.Popen([REGISTRY, "serve", str(config)], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}/v2/"
    for _ in range(100):
        if process.poll() is not None:
            raise SystemExit(f"the {name} registry exited; see {workdir / (name + '.log')} "
                             f"(is port {port} taken? set DEMO_SOURCE_PORT/DEMO_DEST_PORT)")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return process
        except requests.ConnectionError:
            time.sleep(0.05)
    raise SystemExit(f"the {name} registry did not answer on {url}")


def push_blob(client: RegistryClient, repository: str, data: bytes) -> dict[str, object]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    session = client.start_upload(repository)
    if session is not None:
        client.upload_blob(repository, session, digest, len(data), iter([data]),
                           chunk_size=len(data) + 1)
    return {"digest": digest, "size": len(data)}


def push_generated_image(client: RegistryClient, repository: str, tag: str | None,
                         arch: str = "amd64", layer_mib: int = 2) -> Manifest:
    layers = [push_blob(client, repository, os.urandom(layer_mib << 20)) for _ in range(2)]
    diff_ids = [layer["digest"] for layer in layers]
    config = json.dumps({"architecture": arch, "os": "linux",
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}})
    manifest = Manifest(OCI_MANIFEST, json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   **push_blob(client, repository, config.encode())},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}
                   for layer in layers],
    }, indent=2).encode())
    client.put_manifest(repository, tag or manifest.digest, manifest)
    return manifest


def push_generated_index(client: RegistryClient, repository: str, tag: str) -> Manifest:
    children = [push_generated_image(client, repository, None, arch) for arch in ("amd64", "arm64")]
    index = Manifest(OCI_INDEX, json.dumps({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": child.digest, "size": len(child.data),
                       "platform": {"os": "linux", "architecture": arch}}
                      for child, arch in zip(children, ("amd64", "arm64"), strict=True)],
    }, indent=2).encode())
    client.put_manifest(repository, tag, index)
    return index


def step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def run(*argv: str) -> None:
    print("$ " + " ".join(argv), flush=True)
    subprocess.run(argv, check=False)


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="crossdock-demo-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        step("starting two registries")
        processes.append(start_registry(workdir, "source", SOURCE_PORT))
        processes.append(start_registry(workdir, "destination", DEST_PORT))
        source = f"http://127.0.0.1:{SOURCE_PORT}"
        destination = f"http://127.0.0.1:{DEST_PORT}"
        print(f"source {source}, destination {destination}, data in {workdir}")

        step("pushing generated images into project 'demo' of the source")
        client = RegistryClient(RegistryConfig(source))
        for repository, tag in (("demo/web", "v1"), ("demo/web", "v2"), ("demo/api", "1.0")):
            print(f"  {repository}:{tag} {push_generated_image(client, repository, tag).digest}")
        print(f"  demo/multi:latest {push_generated_index(client, 'demo/multi', 'latest').digest}"
              " (linux/amd64 + linux/arm64)")

        step("crossdock sync: the whole project")
        run(CROSSDOCK, "sync", f"{source}/demo", f"{destination}/demo")
        step("crossdock sync again: everything is already there")
        run(CROSSDOCK, "sync", f"{source}/demo", f"{destination}/demo")
        step("crossdock copy: one image under a new name")
        run(CROSSDOCK, "copy", f"{source}/demo/web:v2", f"{destination}/release/web:stable")

        step("the destination's catalog")
        print(json.dumps(requests.get(f"{destination}/v2/_catalog", timeout=5).json(), indent=2))
        if os.environ.get("DEMO_EXIT") or not sys.stdin.isatty():
            return
        print(f"\nRegistries stay up: try `skopeo inspect --tls-verify=false "
              f"docker://127.0.0.1:{DEST_PORT}/demo/multi:latest`. Ctrl-C stops them.")
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(workdir, ignore_errors=True)
        print("\nstopped the demo's registries")


if __name__ == "__main__":
    main()
