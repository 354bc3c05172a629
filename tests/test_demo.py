"""`make demo` (scripts/demo.py): the flow against real processes (RabbitMQ, two
registries, `crossdock receiver` and `crossdock consumer`, driven through the public
API, ending with the endpoint equal to the source), and how it fails, stops and
cleans up. Every demo here has its console off and a queue prefix of its own: the
shared broker's plugins are never touched (tests/test_demo_broker.py checks the
console on a private node)."""

from __future__ import annotations

import contextlib
import http.server
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pika
import pika.exceptions
import pytest
import requests

from tests.support.registry_server import free_port
from tests.support.settings import AMQP_URL, delete_prefixed_queues, delete_queues

ROOT = Path(__file__).resolve().parent.parent


def load_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("crossdock_demo", ROOT / "scripts" / "demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["crossdock_demo"] = module
    spec.loader.exec_module(module)
    return module


def test_demo_flow_ends_with_the_endpoint_equal_to_the_source(
    capsys: pytest.CaptureFixture[str],
) -> None:
    demo_module = load_demo()
    prefix = f"crossdock-test-demo-{uuid.uuid4().hex[:6]}"
    demo = demo_module.Demo(free_port(), free_port(), free_port(), queue_prefix=prefix,
                            console=False)
    try:
        demo.start()
        converged = demo_module.walk_through(demo)

        source = demo_module.state(demo.source_client(), "demo")
        endpoint = demo_module.state(demo.endpoint_client(), "demo")
        jobs = demo.api("GET", "/jobs?limit=500")["items"]
        # The command the demo suggests, typed as printed in a shell whose PATH has no
        # crossdock (nobody activated the virtualenv).
        printed = capsys.readouterr().out
        suggested = re.search(r"(CROSSDOCK_ADMIN_TOKEN=\S+ CROSSDOCK_API_URL=\S+ \S*crossdock "
                              r"jobs list)", printed)
        assert suggested, "the demo suggests no CLI command"
        tried = subprocess.run(["bash", "-c", suggested.group(1)], capture_output=True,
                               text=True, timeout=60, check=False,
                               env={**os.environ, "PATH": "/usr/bin:/bin"})
        signed_in = sign_in_as_printed(printed)
    finally:
        demo.stop()

    assert converged is True
    assert set(source) == {"demo/web", "demo/api", "demo/multi", "demo/worker"}
    assert "v1" not in source["demo/web"]  # the demo deletes it
    assert endpoint == source
    assert {job["status"] for job in jobs} <= {"succeeded", "skipped"}
    assert any(job["action"] == "delete" and job["status"] == "succeeded" for job in jobs)
    assert tried.returncode == 0, tried.stderr
    assert "demo/worker" in tried.stdout
    assert signed_in in ("/ui/", "/ui/projects/")
    assert not demo.workdir.exists()


def test_the_console_hint_names_the_console_url_and_the_admin_token() -> None:
    demo_module = load_demo()
    demo = SimpleNamespace(api_url="http://127.0.0.1:8080")

    hint = demo_module.console_hint(demo)

    assert hint.strip().splitlines() == [
        "Web console: http://127.0.0.1:8080/ui/",
        f"Sign in with the admin token: {demo_module.ADMIN_TOKEN}"]


def sign_in_as_printed(printed: str) -> str:
    """Open the console at the URL the demo printed last and sign in with the token it
    printed: the path the console leads to."""
    found = re.search(r"Web console: (\S+)\nSign in with the admin token: (\S+)\n*\Z", printed)
    assert found, "the demo does not end with the console's URL and token"
    url, token = found.groups()
    session = requests.Session()
    form = session.get(url, timeout=30)
    assert form.status_code == 200 and "Admin token" in form.text
    csrf = re.search(r'name="csrf_token" value="([^"]*)"', form.text)
    assert csrf
    answer = session.post(form.url, data={"token": token, "csrf_token": csrf.group(1)},
                          allow_redirects=False, timeout=30)
    assert answer.status_code == 303, answer.text
    return str(answer.headers["Location"])


# -- failing, and saying so --------------------------------------------------------------


class QuietDemos:
    """`main()` of a fresh demo module, whose demos have the console off, free ports and
    a queue prefix of their own; `made` holds them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.module = load_demo()
        self.demo_class = self.module.Demo
        self.made: list[Any] = []
        self.prefix = f"crossdock-test-demo-{uuid.uuid4().hex[:6]}"
        monkeypatch.setattr(self.module, "Demo", self._quiet_demo)
        monkeypatch.setenv("DEMO_EXIT", "1")

    def _quiet_demo(self, *_ports: int, **_options: Any) -> Any:
        demo = self.demo_class(free_port(), free_port(), free_port(), queue_prefix=self.prefix,
                               console=False)
        self.made.append(demo)
        return demo


@pytest.fixture
def quiet_demos(monkeypatch: pytest.MonkeyPatch) -> Iterator[QuietDemos]:
    """Their working directories (kept logs included) are removed afterwards."""
    demos = QuietDemos(monkeypatch)
    yield demos
    for demo in demos.made:
        shutil.rmtree(demo.workdir, ignore_errors=True)


def test_a_demo_whose_endpoint_does_not_match_exits_1(
    quiet_demos: QuietDemos, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(quiet_demos.demo_class, "start", lambda self: None)
    monkeypatch.setattr(quiet_demos.module, "walk_through", lambda demo: False)

    status = quiet_demos.module.main()

    assert status == 1
    assert "the demo failed: the endpoint does not match the source" in capsys.readouterr().err


@pytest.mark.timeout(60, method="thread")  # a demo that waits otherwise never returns
def test_ctrl_c_ends_a_demo_that_went_well_with_0_and_cuts_one_short_with_130(
    quiet_demos: QuietDemos, monkeypatch: pytest.MonkeyPatch,
) -> None:
    def ctrl_c(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(quiet_demos.demo_class, "start", lambda self: None)
    monkeypatch.delenv("DEMO_EXIT")
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(signal, "pause", ctrl_c)  # Ctrl-C while it keeps running
    monkeypatch.setattr(quiet_demos.module, "walk_through", lambda demo: True)
    went_well = quiet_demos.module.main()
    monkeypatch.setattr(quiet_demos.module, "walk_through", ctrl_c)  # Ctrl-C halfway
    cut_short = quiet_demos.module.main()

    assert (went_well, cut_short) == (0, 130)
    assert not any(demo.workdir.exists() for demo in quiet_demos.made)


def test_a_service_that_exits_at_once_is_named_with_its_log_which_is_kept(
    quiet_demos: QuietDemos, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken = tmp_path / "crossdock"
    broken.write_text("#!/bin/sh\necho 'crossdock: error: something is wrong' >&2\nexit 3\n")
    broken.chmod(0o755)
    monkeypatch.setattr(quiet_demos.module, "CROSSDOCK", str(broken))

    status = quiet_demos.module.main()

    output = capsys.readouterr()
    named = re.search(r"see (\S+\.log)", output.err)
    assert status == 1
    assert named, output.err
    log = Path(named.group(1))
    assert log.read_text() == "crossdock: error: something is wrong\n"
    (demo,) = quiet_demos.made
    assert sorted(path.name for path in demo.workdir.iterdir()) == ["logs"]  # data removed
    assert f"kept the logs in {demo.logs}" in output.out


def test_settings_from_the_users_shell_do_not_reach_the_demo(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CROSSDOCK_DATABASE_URL", "sqlite:////nowhere/crossdock.db")
    monkeypatch.setenv("CROSSDOCK_READ_TIMEOUT", "0.001")
    monkeypatch.setenv("CROSSDOCK_AMQP_URL", "amqp://someone:else@rabbit.example/%2F")
    monkeypatch.setenv("REGISTRY_STORAGE_DELETE_ENABLED", "false")
    demo = load_demo().Demo(free_port(), free_port(), free_port(), console=False)
    try:
        crossdock = demo.env
        registry = demo.registry_env("endpoint", 5002, {})
    finally:
        shutil.rmtree(demo.workdir)

    assert crossdock["CROSSDOCK_DATABASE_URL"] == f"sqlite:///{demo.workdir / 'crossdock.db'}"
    assert crossdock["CROSSDOCK_AMQP_URL"] == "amqp://guest:guest@127.0.0.1:5672/%2F"
    assert "CROSSDOCK_READ_TIMEOUT" not in crossdock
    assert "REGISTRY_STORAGE_DELETE_ENABLED" not in registry
    assert crossdock["PATH"] == registry["PATH"] == os.environ["PATH"]


# -- the receiver's first answer -----------------------------------------------------------


class SlowFirstAnswer(http.server.ThreadingHTTPServer):
    """Accepts at once but holds its first request until a second one comes (a receiver
    whose workers are still starting), then answers 200."""

    def __init__(self) -> None:
        self.requests = 0
        self.second = threading.Event()
        super().__init__(("127.0.0.1", 0), self.Handler)

    class Handler(http.server.BaseHTTPRequestHandler):
        server: SlowFirstAnswer

        def do_GET(self) -> None:
            self.server.requests += 1
            if self.server.requests == 1:
                self.server.second.wait(30)
                return  # the client gave up long ago
            self.server.second.set()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass


def test_waiting_for_a_service_outlasts_a_slow_first_answer() -> None:
    server = SlowFirstAnswer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        load_demo()._wait_for(f"http://127.0.0.1:{server.server_port}/readyz", "the receiver",
                              request_timeout=0.2)
    finally:
        server.second.set()
        server.shutdown()
        server.server_close()

    assert server.requests == 2


# -- Ctrl-C during the clean-up ----------------------------------------------------------

DRIVER = """
import os, sys
sys.path.insert(0, {root!r})
from tests.test_demo import load_demo

os.environ["DEMO_TEST_TERMINAL"] = str(os.getpgid(0))  # the group a Ctrl-C reaches
demo = load_demo().Demo(1, 2, 3, queue_prefix={prefix!r}, console=False)
print("workdir", demo.workdir, flush=True)
# Asked to stop, this service presses Ctrl-C in the demo's terminal, then exits.
demo._spawn("slow service", ["sh", "-c", "trap 'kill -INT -{{}}; exit 0' TERM; "
                             "while :; do sleep 0.05; done".format(os.getpgid(0))])
print("service", demo.processes[0][1].pid, flush=True)
try:
    raise KeyboardInterrupt  # the first Ctrl-C, which starts the clean-up
except KeyboardInterrupt:
    demo.stop()
print("clean-up finished", flush=True)
"""

# Each rabbitmqctl the clean-up runs meets a Ctrl-C in the terminal as it starts.
CTRL_C_RABBITMQCTL = """#!/bin/sh
kill -INT -"$DEMO_TEST_TERMINAL" 2>/dev/null
exec {real} "$@"
"""


def queue_exists(name: str) -> bool:
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        connection.channel().queue_declare(name, passive=True)
        return True
    except pika.exceptions.ChannelClosedByBroker:
        return False
    finally:
        if connection.is_open:
            connection.close()


def declare(name: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        connection.channel().queue_declare(name, durable=True)
    finally:
        connection.close()


def test_a_second_ctrl_c_during_the_clean_up_does_not_cut_it_short(tmp_path: Path) -> None:
    prefix = f"crossdock-test-demo-{uuid.uuid4().hex[:6]}"
    queue = f"{prefix}.endpoint.mirror.work"
    real = shutil.which("rabbitmqctl")
    assert real, "rabbitmqctl is not installed"
    wrappers = tmp_path / "bin"
    wrappers.mkdir()
    (wrappers / "rabbitmqctl").write_text(CTRL_C_RABBITMQCTL.format(real=real))
    (wrappers / "rabbitmqctl").chmod(0o755)
    declare(queue)
    workdir: Path | None = None
    try:
        # The driver leads a process group of its own, as a program run in a terminal.
        driver = subprocess.Popen(
            [sys.executable, "-c", DRIVER.format(root=str(ROOT), prefix=prefix)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
            env={**os.environ, "PATH": f"{wrappers}:{os.environ['PATH']}"})
        try:
            out, err = driver.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(driver.pid, signal.SIGKILL)
            out, err = driver.communicate()
        found = re.search(r"^workdir (\S+)$", out, re.M)
        workdir = Path(found.group(1)) if found else None
        service = re.search(r"^service (\d+)$", out, re.M)
        if service and driver.returncode:  # the driver died before it stopped its service
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(service.group(1)), signal.SIGKILL)

        assert driver.returncode == 0, out + err
        assert "clean-up finished" in out
        assert re.search(r"stopping the slow service \(pid \d+\)", out)
        assert "Ctrl-C: the clean-up goes on" in out
        assert "deleted 1 queue(s)" in out
        assert not queue_exists(queue)
        assert workdir is not None and not workdir.exists()
    finally:
        delete_queues([queue])
        delete_prefixed_queues(prefix)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
