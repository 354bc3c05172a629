"""Console fixtures, on top of the receiver's (tests/receiver/conftest.py: `settings`
with an admin token and a queue prefix of the test's own, `store`, `app`,
`client`, `live_receiver`, `records`, `start_consumer`, `notifying_registry`).

- `signed_in_client`: Flask's test client, signed in through the form;
- `chromium`: Debian's chromium under Playwright, one per test session;
- `console_browser`: a fresh browser context on the live receiver (not signed
  in), taking screenshots of what it visits; the test fails on any browser
  console error, page error or CSP violation it did not `allow`, and on a page
  without what every page must have;
- `console`: the same, signed in through the sign-in form;
- `browse_app`: a `ConsoleBrowser` on another app of the test's own (other
  settings, another store), served the same way, with the same checks.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, sync_playwright
from werkzeug.serving import make_server

from tests.receiver.conftest import ADMIN_TOKEN, LiveReceiver
from tests.support.browser import ConsoleBrowser, chromium_path, launch_chromium, screenshot_dir

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]*)"')


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = CSRF_INPUT.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def sign_in(client: FlaskClient, token: str = ADMIN_TOKEN, next_path: str = "") -> None:
    page = client.get("/ui/sign-in")
    answer = client.post("/ui/sign-in", data={"token": token, "next": next_path,
                                              "csrf_token": csrf_from(page.text)})
    assert answer.status_code == 303, answer.text


@pytest.fixture
def signed_in_client(client: FlaskClient) -> FlaskClient:
    sign_in(client)
    return client


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    if chromium_path() is None:
        message = ("Debian's chromium is not installed: `make test` installs it "
                   "(scripts/ensure-services.sh)")
        if os.environ.get("CROSSDOCK_TEST_REQUIRE_SERVICES"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def console_browser(chromium: Browser, live_receiver: LiveReceiver,
                    request: pytest.FixtureRequest) -> Iterator[ConsoleBrowser]:
    opened = ConsoleBrowser.open(chromium, live_receiver.url, ADMIN_TOKEN,
                                 screenshot_dir(request.node.nodeid))
    yield opened
    try:
        opened.snap("last")
    finally:
        opened.close()
    problems = opened.unexpected_problems()
    assert not problems, "the browser reported:\n" + "\n".join(problems)


@pytest.fixture
def console(console_browser: ConsoleBrowser) -> ConsoleBrowser:
    console_browser.sign_in()
    assert console_browser.path().startswith("/ui/projects/"), console_browser.path()
    return console_browser


@contextlib.contextmanager
def serving(app: Flask) -> Iterator[str]:
    """`app` served by werkzeug (threaded) on a free port: its ``http://host:port``."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="console-app", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def browse_app(chromium: Browser, request: pytest.FixtureRequest
               ) -> Iterator[Callable[[Flask], ConsoleBrowser]]:
    """Serve an app and open a browser on it; both stop at teardown, and the test
    fails on what the browser reported (as with `console_browser`)."""
    opened: list[ConsoleBrowser] = []
    with contextlib.ExitStack() as stack:

        def browse(app: Flask) -> ConsoleBrowser:
            url = stack.enter_context(serving(app))
            browser = ConsoleBrowser.open(chromium, url, ADMIN_TOKEN,
                                          screenshot_dir(request.node.nodeid))
            stack.callback(browser.close)
            opened.append(browser)
            return browser

        yield browse
    for browser in opened:
        problems = browser.unexpected_problems()
        assert not problems, "the browser reported:\n" + "\n".join(problems)
