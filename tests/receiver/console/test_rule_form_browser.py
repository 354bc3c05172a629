"""The replication pages in a real browser: the rule form by keyboard alone, its
folded and shown parts, the schedule's next runs as an htmx fragment, and every
page of projects, rules and jobs free of console errors and CSP violations (the
`console` fixture fails the test on any)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from shared.store import JobStatus, NewJob, Store
from tests.receiver.conftest import Records
from tests.support.browser import ConsoleBrowser


def _tab_to(page: Page, field: Locator, presses: int = 25) -> None:
    for _ in range(presses):
        page.keyboard.press("Tab")
        if field.evaluate("element => element === document.activeElement"):
            return
    pytest.fail(f"Tab never reached {field}")


def test_the_rule_form_is_filled_and_sent_with_tab_typing_and_enter_alone(
    console: ConsoleBrowser, records: Records, store: Store,
) -> None:
    source, endpoint = records.source(), records.endpoint()
    console.goto(f"/ui/projects/{source.name}/lib/rules/new", "rule-form-keyboard")
    page = console.page

    _tab_to(page, page.get_by_label("Name", exact=True))
    page.keyboard.type("by-keyboard")
    _tab_to(page, page.get_by_label("Description (optional)"))
    page.keyboard.type("typed, not clicked")
    _tab_to(page, page.get_by_label("Enable"))
    page.keyboard.type(" ")  # unticked: no initial sync
    _tab_to(page, page.locator("details.advanced summary"))
    page.keyboard.press("Enter")  # unfolds Advanced
    _tab_to(page, page.get_by_label("Repository filters"))
    page.keyboard.type("lib/**")
    _tab_to(page, page.get_by_label("Destination namespace"))
    page.keyboard.type("mirror")
    console.snap("rule-form-typed")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert console.path() == f"/ui/projects/{source.name}/lib/"
    rule = store.get_rule_by_name("by-keyboard")
    assert (rule.description, rule.enabled, rule.endpoint_id, rule.dest_namespace) == (
        "typed, not clicked", False, endpoint.id, "mirror")
    assert [item.pattern for item in rule.repo_filters] == ["lib/**"]


def test_the_forms_hidden_parts_and_the_schedules_next_runs(
    console: ConsoleBrowser, records: Records,
) -> None:
    source = records.source()
    records.endpoint()
    records.endpoint()  # two: none is chosen for the operator
    console.goto(f"/ui/projects/{source.name}/lib/rules/new", "rule-form")
    page = console.page

    expect(page.get_by_label("Endpoint", exact=True)).to_have_value("")
    expect(page.get_by_label("Schedule (cron, UTC)")).to_be_hidden()  # Advanced is folded
    expect(page.get_by_label("Endpoint URL")).to_be_hidden()
    page.get_by_label("New Endpoint").check()
    expect(page.get_by_label("Endpoint URL")).to_be_visible()
    expect(page.get_by_label("Endpoint", exact=True)).to_be_hidden()
    page.get_by_label("New Endpoint").uncheck()
    expect(page.get_by_label("Endpoint URL")).to_be_hidden()

    page.locator("details.advanced summary").click()
    page.get_by_label("Schedule (cron, UTC)").fill("30 2 * * *")
    runs = page.locator("#schedule-runs time")
    expect(runs).to_have_count(3)
    expect(runs.first).to_contain_text("02:30")
    page.get_by_label("Schedule (cron, UTC)").fill("not cron")
    expect(page.locator("#schedule-runs .field-error")).to_be_visible()
    console.snap("rule-form-advanced")


def test_every_replication_page_loads_without_a_console_error(
    console: ConsoleBrowser, records: Records, store: Store,
) -> None:
    source, endpoint = records.source(), records.endpoint()
    rule = records.rule(source, endpoint, project="lib", description="Nightly mirror")
    [job] = store.create_jobs([NewJob(rule.id, endpoint.id, source.id, "lib/app", "replicate",
                                      tag="v1")])
    store.mark_running(job.id)
    store.mark_finished(job.id, JobStatus.FAILED, "manifest unknown")
    store.append_log(job.id, "error", "manifest unknown")
    base = f"/ui/projects/{source.name}/lib"

    for path, label, heading in (
        ("/ui/projects/", "projects", "Projects"),
        (f"{base}/", "project", "Project lib"),
        (f"{base}/rules/new", "rule-new", "New replication rule"),
        (f"{base}/rules/{rule.name}/edit", "rule-edit", f"Edit rule {rule.name}"),
        (f"{base}/rules/{rule.name}/delete", "rule-delete", f"Delete rule {rule.name}?"),
        ("/ui/jobs/", "jobs", "Replication Jobs"),
        (f"/ui/jobs/?rule={rule.name}&status=failed", "jobs-failed", "Replication Jobs"),
        (f"/ui/jobs/{job.id}/log", "job-log", f"Log of job {job.id}"),
    ):
        console.goto(path, label)
        expect(console.page.get_by_role("heading", level=1)).to_contain_text(heading)

    console.goto(f"/ui/jobs/?rule={rule.name}")
    with console.page.expect_navigation():
        console.page.get_by_role("button", name=f"Retry job {job.id}").click()
    console.snap("job-retried")
    expect(console.page.locator("#console-alerts")).to_contain_text(f"Job {job.id}")
