"""The demo's flow against real processes: RabbitMQ, two registries, `crossdock
receiver` and `crossdock consumer`, driven through the public API; at the end
the endpoint holds exactly what the source holds."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from pathlib import Path
from types import ModuleType

from tests.support.registry_server import free_port

ROOT = Path(__file__).resolve().parent.parent


def load_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("crossdock_demo", ROOT / "scripts" / "demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["crossdock_demo"] = module
    spec.loader.exec_module(module)
    return module


def test_demo_flow_ends_with_the_endpoint_equal_to_the_source(capsys: object) -> None:
    demo_module = load_demo()
    demo = demo_module.Demo(free_port(), free_port(), free_port(),
                            queue_prefix=f"crossdock-test-demo-{uuid.uuid4().hex[:6]}",
                            console=False)
    try:
        demo.start()
        demo_module.walk_through(demo)

        source = demo_module.state(demo.source_client(), "demo")
        endpoint = demo_module.state(demo.endpoint_client(), "demo")
        jobs = demo.api("GET", "/jobs?limit=500")["items"]
    finally:
        demo.stop()

    assert set(source) == {"demo/web", "demo/api", "demo/multi", "demo/worker"}
    assert "v1" not in source["demo/web"]  # the demo deletes it
    assert endpoint == source
    assert {job["status"] for job in jobs} <= {"succeeded", "skipped"}
    assert any(job["action"] == "delete" and job["status"] == "succeeded" for job in jobs)
