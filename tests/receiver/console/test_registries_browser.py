"""The Endpoints and Sources pages in a real browser (Chromium), against a real
registry with htpasswd and the shared RabbitMQ: create an endpoint, Test Connection,
its queue depths and Redrive; create a source, its secret shown once, regenerate it.
Any browser console error or CSP violation fails the test (`console_browser`)."""

from __future__ import annotations

import re

import pika
from playwright.sync_api import expect

from shared.broker.topology import declare_topology
from shared.queues import failed_queue
from shared.settings import Settings
from tests.support.browser import ConsoleBrowser
from tests.support.registry_server import RegistryServer


def test_an_endpoint_is_created_tested_and_its_failed_queue_redriven(
    console: ConsoleBrowser, htpasswd_registry: RegistryServer, settings: Settings,
) -> None:
    page = console.page
    console.goto("/ui/endpoints/", "endpoints-empty")
    page.get_by_role("button", name="+ New endpoint").click()
    page.get_by_label("Name", exact=True).fill("mirror")
    page.get_by_label("URL", exact=True).fill(htpasswd_registry.url)
    page.get_by_label("Username", exact=True).fill("alice")
    page.get_by_label("Password", exact=True).fill("s3cret")
    page.get_by_label("Project to test pushes in (optional)").fill("lib")
    console.snap("endpoint-new")
    with page.expect_navigation():
        page.get_by_label("Project to test pushes in (optional)").press("Enter")
    assert console.path() == "/ui/endpoints/mirror/"
    expect(page.get_by_role("status")).to_contain_text("Endpoint mirror created.")

    page.get_by_label("Project to test pushes in (optional)").fill("lib")
    page.get_by_role("button", name="Test Connection").click()
    checks = page.locator("#connection-checks")
    expect(checks.locator("tr.check")).not_to_have_count(0)
    expect(checks.locator("tr.check-failed")).to_have_count(0)
    expect(checks.get_by_role("row", name=re.compile("^credentials"))).to_contain_text("ok")
    expect(checks.get_by_role("row", name=re.compile("^push"))).to_contain_text("ok")
    assert console.path() == "/ui/endpoints/mirror/"  # no page left: htmx swapped the result
    console.snap("endpoint-tested")

    page.get_by_label("Password", exact=True).fill("wrong")
    page.get_by_role("button", name="Test Connection").click()
    expect(checks.get_by_role("row", name=re.compile("^credentials"))).to_contain_text("failed")
    console.snap("endpoint-wrong-password")

    connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_url))
    try:
        declare_topology(connection, settings, "mirror")
        channel = connection.channel()
        channel.basic_publish("", failed_queue(settings.queue_prefix, "mirror"), b"{}",
                              pika.BasicProperties(message_id="parked-1", delivery_mode=2))
    finally:
        connection.close()

    console.goto("/ui/endpoints/", "endpoints")
    queues = page.locator("#endpoint-queues")
    expect(queues).to_have_attribute("data-polling", "no")
    row = queues.get_by_role("row", name=re.compile("^mirror"))
    expect(row.locator("td").nth(2)).to_have_text("1")  # work, retry, failed
    console.snap("endpoints-queues")
    with page.expect_navigation():
        row.get_by_role("button", name="Redrive mirror's failed queue").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Redrive of mirror: 1 message moved back to the work queue")
    console.snap("endpoints-redriven")

    page.get_by_role("link", name="Delete mirror").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete endpoint mirror?")
    console.snap("endpoint-delete-confirm")
    with page.expect_navigation():
        page.get_by_role("button", name="Delete mirror").click()
    expect(page.get_by_role("status")).to_contain_text("Endpoint mirror deleted")


def test_a_source_shows_its_secret_once_and_a_regenerated_one_once(
    console: ConsoleBrowser,
) -> None:
    page = console.page
    console.goto("/ui/sources/", "sources-empty")
    page.get_by_role("button", name="+ New source").click()
    page.get_by_label("Name", exact=True).fill("hub")
    page.get_by_label("URL", exact=True).fill("http://hub.test:5000")
    console.snap("source-new")
    with page.expect_navigation():
        page.get_by_role("button", name="Create").click()
    secret = page.get_by_label("Webhook secret").input_value()
    assert len(secret) >= 32
    expect(page.locator("#setup-config")).to_contain_text(f"Bearer {secret}")
    expect(page.locator("#setup-config")).to_contain_text("notifications:")
    console.snap("source-secret")

    page.get_by_role("button", name="Done: to the source").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Source hub")
    assert secret not in page.content()
    console.snap("source-edit")

    page.get_by_role("link", name="Regenerate the webhook secret…").click()
    console.snap("source-regenerate-confirm")
    with page.expect_navigation():
        page.get_by_role("button", name="Regenerate the secret").click()
    renewed = page.get_by_label("Webhook secret").input_value()
    assert renewed != secret and len(renewed) >= 32
    console.snap("source-regenerated")

    console.goto("/ui/sources/", "sources")
    assert renewed not in page.content()
    expect(page.get_by_role("row", name=re.compile("^hub"))).to_contain_text("/webhooks/hub")
