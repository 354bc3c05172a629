"""The replication procedure in a real browser, end to end: real registries
(the source notifies the receiver; the endpoint has htpasswd and a self-signed
certificate), RabbitMQ, the receiver and a consumer.

Sign in, open the source's project, add a rule with a New Endpoint (Test
Connection fails on the certificate, passes without verifying it), save it
enabled, watch the initial sync's jobs succeed without a reload, open a log,
push and delete on the source and see their jobs, add a second rule on another
project with the existing endpoint, and sign out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from consumers.service import ConsumerService
from shared.store import SourceRecord, Store
from tests.conftest import PASSWORD, USERNAME
from tests.receiver.conftest import delete_by_tag, skopeo_copy
from tests.support.browser import ConsoleBrowser
from tests.support.images import push_image
from tests.support.registry_server import RegistryServer
from tests.support.tls import make_tls_files

SCRIPT = "<script>alert('rule')</script>"
#: How long a browser waits for a replication to show (jobs run on real registries).
REPLICATION_MS = 45_000


def _job_row(page: Page, image: str, action: str = "Replicate") -> object:
    return page.locator("#jobs-table table.jobs tbody tr").filter(
        has=page.locator("td.image", has_text=re.compile(rf"^{re.escape(image)}$"))
    ).filter(has_text=action)


def _test_connection(page: Page, expected_ok: str) -> None:
    page.get_by_role("button", name="Test Connection").click()
    expect(page.locator("#ping-report .ping-summary")).to_have_attribute(
        "data-ok", expected_ok, timeout=20_000)


def test_a_rule_with_a_new_endpoint_replicates_and_its_jobs_show_as_they_run(
    console: ConsoleBrowser,
    notifying_registry: Callable[[], tuple[RegistryServer, SourceRecord]],
    registry_factory: Callable[..., RegistryServer],
    start_consumer: Callable[..., ConsumerService],
    store: Store,
    tmp_path: Path,
) -> None:
    source_registry, source = notifying_registry()
    push_image(source_registry.url, "lib/app", "v1")
    push_image(source_registry.url, "lib/web", "v1")
    push_image(source_registry.url, "tools/cli", "v1")
    tls = make_tls_files(tmp_path / "endpoint-tls")
    endpoint_registry = registry_factory(auth="htpasswd", users={USERNAME: PASSWORD},
                                         tls=(tls.server_cert, tls.server_key),
                                         ca_path=tls.ca_cert)
    start_consumer()
    page = console.page

    # Projects: the source's projects, listed in the background.
    console.goto("/ui/projects/", "projects")
    section = page.locator(f"#source-{source.id}")
    expect(section.get_by_role("link", name="lib", exact=True)).to_be_visible(timeout=15_000)
    expect(section.get_by_role("link", name="tools", exact=True)).to_be_visible()
    console.snap("projects-listed")
    with page.expect_navigation():
        section.get_by_role("link", name="lib", exact=True).click()
    assert console.path() == f"/ui/projects/{source.name}/lib/"
    expect(page.get_by_role("link", name="Registry Replication")).to_have_attribute(
        "aria-current", "page")
    console.snap("project-without-rules")

    # + Replication Rule, with a New Endpoint.
    with page.expect_navigation():
        page.get_by_role("button", name="+ Replication Rule").click()
    page.get_by_label("Name", exact=True).fill("lib-to-tls")
    page.get_by_label("Description (optional)").fill(SCRIPT)
    expect(page.get_by_label("Endpoint URL")).to_be_hidden()
    page.get_by_label("New Endpoint").check()
    page.get_by_label("Endpoint name").fill("tls-endpoint")
    page.get_by_label("Endpoint URL").fill(endpoint_registry.url)
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    expect(page.get_by_label("Verify Remote Cert")).to_be_checked()

    _test_connection(page, "no")
    expect(page.locator("#ping-report")).to_contain_text("certificate")
    console.snap("rule-form-certificate-refused")
    page.get_by_label("Verify Remote Cert").uncheck()
    _test_connection(page, "yes")
    console.snap("rule-form-connection-ok")
    expect(page.get_by_label("Name", exact=True)).to_have_value("lib-to-tls")  # nothing lost
    expect(page.get_by_label("Password")).to_have_value(PASSWORD)

    expect(page.get_by_label("Enable")).to_be_checked()
    with page.expect_navigation():
        page.get_by_role("button", name="OK").click()
    assert console.path() == "/ui/jobs/?rule=lib-to-tls"

    # The initial sync's jobs reach Succeeded without a reload.
    for image in ("lib/app:v1", "lib/web:v1"):
        expect(_job_row(page, image).locator(".status")).to_have_text(  # type: ignore[attr-defined]
            "Succeeded", timeout=REPLICATION_MS)
    expect(page.locator("#jobs-table")).to_have_attribute("data-polling", "no",
                                                          timeout=REPLICATION_MS)
    expect(page.locator("#jobs-table table.executions tbody tr").first.locator(".status")
           ).to_have_text("Succeeded")
    console.snap("jobs-initial-sync-succeeded")

    # A job's log opens.
    with page.expect_navigation():
        _job_row(page, "lib/app:v1").get_by_role(  # type: ignore[attr-defined]
            "link", name=re.compile("^Logs of job")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Log of job")
    expect(page.locator("table.job-log tbody tr").first).to_be_visible()
    console.snap("job-log")

    # A push to the source, with skopeo, and its job.
    skopeo_copy(f"{source_registry.host}/lib/app:v1", f"{source_registry.host}/lib/app:v2")
    console.goto("/ui/jobs/?rule=lib-to-tls", "jobs-after-push")
    expect(_job_row(page, "lib/app:v2").locator(".status")).to_have_text(  # type: ignore[attr-defined]
        "Succeeded", timeout=REPLICATION_MS)

    # A delete on the source, and its job.
    delete_by_tag(source_registry.url, "lib/web", "v1")
    console.goto("/ui/jobs/?rule=lib-to-tls", "jobs-after-delete")
    delete_rows = page.locator("#jobs-table table.jobs tbody tr").filter(
        has_text="Delete").filter(has_text="lib/web")
    expect(delete_rows.first).to_be_visible(timeout=REPLICATION_MS)
    console.snap("jobs-with-delete")

    # The project's page: the rule, its description shown as text.
    console.goto(f"/ui/projects/{source.name}/lib/", "project-with-rule")
    row = page.locator("table.rules tbody tr").filter(has_text="lib-to-tls")
    expect(row.locator(".description")).to_have_text(SCRIPT)
    expect(row).to_contain_text("tls-endpoint")

    # A second rule, on another project, with the existing endpoint.
    console.goto(f"/ui/projects/{source.name}/tools/rules/new", "second-rule-form")
    chooser = page.get_by_label("Endpoint", exact=True)
    expect(chooser).to_have_value("tls-endpoint")  # the only one, selected already
    chooser.select_option("")
    expect(page.get_by_label("Endpoint URL (read-only)")).to_have_count(0)
    chooser.select_option("tls-endpoint")
    expect(page.get_by_label("Endpoint URL (read-only)")).to_have_value(endpoint_registry.url)
    expect(page.get_by_label("Endpoint username (read-only)")).to_have_value(USERNAME)
    assert PASSWORD not in page.content()
    console.snap("second-rule-existing-endpoint")
    page.get_by_label("Name", exact=True).fill("tools-to-tls")
    page.get_by_label("Enable").uncheck()
    with page.expect_navigation():
        page.get_by_role("button", name="OK").click()
    assert console.path() == f"/ui/projects/{source.name}/tools/"
    expect(page.locator("table.rules tbody tr").filter(has_text="tools-to-tls")).to_contain_text(
        "Disabled")
    assert store.get_rule_by_name("tools-to-tls").endpoint_id == store.get_endpoint_by_name(
        "tls-endpoint").id

    # Signed out, the pages lead to sign-in.
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    for path in ("/ui/projects/", f"/ui/projects/{source.name}/lib/",
                 f"/ui/projects/{source.name}/lib/rules/new", "/ui/jobs/?rule=lib-to-tls"):
        console.goto(path)
        assert console.path().startswith("/ui/sign-in?next="), path
