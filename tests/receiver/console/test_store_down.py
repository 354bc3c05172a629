"""The console when its store goes away: a 503 page in the browser, not a traceback,
and the pages back once the store is.

The store is a real PostgreSQL reached through a TCP proxy that the test cuts, so
the receiver meets a database that refuses connections (and resets the open ones).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import expect

from receiver.app import create_app
from shared.store import open_store
from tests.receiver.conftest import ADMIN_TOKEN
from tests.support.browser import ConsoleBrowser
from tests.support.cluster_pipeline import postgres_database
from tests.support.publishers import RecordingPublisher
from tests.support.settings import pipeline_settings
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres


@pytest.fixture
def proxied_console(postgres_admin_url: str, tmp_path: Path,
                    browse_app: Callable[[Flask], ConsoleBrowser],
                    ) -> Iterator[tuple[ConsoleBrowser, TcpProxy]]:
    """A receiver whose store is PostgreSQL behind a `TcpProxy`, and a browser on it."""
    with postgres_database(postgres_admin_url) as url:
        proxy = TcpProxy(("127.0.0.1", 5432)).start()
        proxied = url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
        assert proxied != url
        settings = pipeline_settings(tmp_path, database_url=proxied, admin_token=ADMIN_TOKEN,
                                     store_wait_seconds=1.0)
        store = open_store(settings)
        publisher = RecordingPublisher(settings, name="test-console")
        try:
            yield browse_app(create_app(settings, store=store, publisher=publisher)), proxy
        finally:
            proxy.cut()
            publisher.close()
            store.close()


def test_a_store_that_goes_down_is_a_503_page_then_the_pages_come_back(
    proxied_console: tuple[ConsoleBrowser, TcpProxy],
) -> None:
    console, proxy = proxied_console
    console.sign_in()
    expect(console.page.get_by_role("heading", level=1)).to_have_text("Projects")

    proxy.cut()
    console.allow(r"status of 503")
    for path in ("/ui/projects/", "/ui/jobs/"):
        response = console.goto(path, f"store-down-{path.strip('/').replace('/', '-')}")
        assert response is not None and response.status == 503
        assert response.headers["retry-after"] == "5"
        expect(console.page.get_by_role("heading", level=1)).to_contain_text(
            "Service unavailable")
        expect(console.page.locator("main")).to_contain_text("The store is unavailable")
        expect(console.page.locator("main")).not_to_contain_text("Traceback")
        # Still the console: signed in, with its navigation.
        expect(console.page.get_by_role("button", name="Sign out")).to_be_visible()

    proxy.start()
    response = console.goto("/ui/projects/", "store-back")
    assert response is not None and response.status == 200
