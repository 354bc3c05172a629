"""The console in a real browser (Chromium): signing in and out, the keyboard, every
page free of console errors and CSP violations, htmx under the CSP.

Each test fails on any browser console error it did not expect (the
`console_browser` fixture), and leaves a screenshot of every page it visited in
tests/artifacts/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import expect

from receiver.app import create_app
from receiver.console.navigation import NAVIGATION
from shared.settings import Settings
from shared.store import JobStatus, NewJob, Store
from tests.receiver.conftest import Records
from tests.support.browser import ConsoleBrowser

SCRIPT = "<script>alert('rule')</script>"


def test_signing_in_leads_to_the_page_asked_for_and_signing_out_locks_the_pages(
    console_browser: ConsoleBrowser,
) -> None:
    page = console_browser.page

    console_browser.goto("/ui/jobs/", "jobs-before-sign-in")
    assert console_browser.path() == "/ui/sign-in?next=/ui/jobs/"
    page.get_by_label("Admin token").fill(console_browser.admin_token)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    console_browser.snap("jobs-after-sign-in")
    assert console_browser.path() == "/ui/jobs/"
    expect(page.get_by_role("status")).to_have_text("Signed in.")
    expect(page.get_by_role("link", name="Replication Jobs")).to_have_attribute(
        "aria-current", "page")

    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    console_browser.snap("signed-out")
    assert console_browser.path() == "/ui/sign-in"
    expect(page.get_by_role("status")).to_have_text("Signed out.")

    for item in NAVIGATION:
        console_browser.goto(f"/ui/{item.section.split('.')[-1]}/", f"{item.label}-signed-out")
        assert console_browser.path().startswith("/ui/sign-in?next="), item.label
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_a_wrong_token_is_refused_beside_the_field(console_browser: ConsoleBrowser) -> None:
    console_browser.allow(r"status of 401")  # the form answered 401, as it should

    console_browser.sign_in(token="not-the-token")

    page = console_browser.page
    assert console_browser.path() == "/ui/sign-in"
    field = page.get_by_label("Admin token")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#error-token")).to_have_text("This is not the admin token.")
    expect(field).to_have_attribute("aria-describedby", "error-token")


def test_the_sign_in_form_works_with_tab_typing_and_enter_alone(
    console_browser: ConsoleBrowser,
) -> None:
    console_browser.goto("/ui/sign-in")
    page = console_browser.page
    keyboard = page.keyboard
    field = page.get_by_label("Admin token")

    for _ in range(10):
        keyboard.press("Tab")
        if field.evaluate("element => element === document.activeElement"):
            break
    else:
        pytest.fail("Tab never reached the admin token field")
    keyboard.type(console_browser.admin_token)
    with page.expect_navigation():
        keyboard.press("Enter")

    console_browser.snap("signed-in-by-keyboard")
    assert console_browser.path() == "/ui/projects/"


def test_the_first_tab_offers_to_skip_to_the_content(console_browser: ConsoleBrowser) -> None:
    console_browser.goto("/ui/sign-in")
    console_browser.page.keyboard.press("Tab")

    focused = console_browser.page.evaluate("document.activeElement.textContent.trim()")
    console_browser.snap("skip-link-focused")
    assert focused == "Skip to content"


def test_every_page_loads_without_a_console_error(console: ConsoleBrowser,
                                                  records: Records) -> None:
    source, endpoint = records.source(name="main"), records.endpoint(name="mirror")
    rule = records.rule(source, endpoint, project="library", description="Nightly mirror")
    records.store.create_jobs([NewJob(rule.id, endpoint.id, source.id, "library/app", "replicate",
                                      tag="v1")])

    for item in NAVIGATION:
        with console.page.expect_navigation():
            console.page.get_by_role("link", name=item.label).click()
        console.snap(item.label)
        expect(console.page.get_by_role("heading", level=1)).to_have_text(item.label)
        expect(console.page.get_by_role("link", name=item.label)).to_have_attribute(
            "aria-current", "page")

    console.allow(r"status of 404")
    console.goto("/ui/no-such-page", "not-found")
    expect(console.page.get_by_role("heading", level=1)).to_contain_text("Not Found")


def test_a_rule_description_with_a_script_is_shown_as_text(console: ConsoleBrowser,
                                                           records: Records) -> None:
    dialogs: list[str] = []
    console.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    source, endpoint = records.source(), records.endpoint()
    records.rule(source, endpoint, project="lib", description=SCRIPT)

    console.goto(f"/ui/projects/{source.name}/lib/", "project-with-script")

    expect(console.page.get_by_text(SCRIPT, exact=True)).to_be_visible()
    assert dialogs == []


def test_the_jobs_table_follows_its_jobs_without_a_reload_then_stops_polling(
    console: ConsoleBrowser, records: Records,
) -> None:
    source, endpoint = records.source(), records.endpoint()
    rule = records.rule(source, endpoint)
    [job] = records.store.create_jobs([NewJob(rule.id, endpoint.id, source.id, "lib/app",
                                              "replicate", tag="v1")])
    console.goto("/ui/jobs/", "jobs-pending")
    table = console.page.locator("#jobs-table")
    expect(table).to_have_attribute("data-polling", "yes")
    expect(table).to_contain_text("Pending")
    marker = console.page.evaluate("() => { window.sameDocument = true; return true; }")

    records.store.mark_running(job.id)
    records.store.mark_finished(job.id, JobStatus.SUCCEEDED)

    expect(table).to_contain_text("Succeeded", timeout=15_000)
    expect(table).to_have_attribute("data-polling", "no")
    expect(table).not_to_have_attribute("hx-trigger", re.compile("every"))
    console.snap("jobs-succeeded")
    assert marker and console.page.evaluate("window.sameDocument === true")


def test_htmx_requests_carry_the_csrf_token_from_the_meta_tag(console: ConsoleBrowser) -> None:
    """An htmx POST gets the token from <meta name="csrf-token"> (static/console.js);
    without it the POST is refused, and the refusal shows in the alert area."""
    page = console.page
    console.goto("/ui/endpoints/")
    console.allow(r"status of 403")

    page.evaluate("""() => {
        document.querySelector('meta[name="csrf-token"]').content = "forged";
        return htmx.ajax("POST", "/ui/sign-out", {target: "main", swap: "innerHTML"});
    }""")
    alert = page.locator("#console-alerts [role=alert]")
    expect(alert).to_contain_text("Forbidden")
    console.snap("htmx-post-refused")
    console.goto("/ui/endpoints/", "still-signed-in")
    assert console.path() == "/ui/endpoints/"

    with page.expect_navigation():
        page.evaluate('() => htmx.ajax("POST", "/ui/sign-out", {target: "main"})')
    console.snap("signed-out-through-htmx")
    assert console.path() == "/ui/sign-in"
    console.goto("/ui/endpoints/", "locked-after-htmx-sign-out")
    assert console.path().startswith("/ui/sign-in?next=")


def test_without_an_admin_token_the_console_says_how_to_turn_it_on(
    browse_app: Callable[[Flask], ConsoleBrowser], settings: Settings, store: Store,
) -> None:
    console = browse_app(create_app(settings.replace(admin_token=""), store=store))

    console.goto("/ui/jobs/", "console-off")

    assert console.path() == "/ui/sign-in?next=/ui/jobs/"
    page = console.page
    expect(page.get_by_role("heading", level=1)).to_have_text("The API and the console are off")
    expect(page.locator("main pre")).to_contain_text("export CROSSDOCK_ADMIN_TOKEN=")
    expect(page.get_by_label("Admin token")).to_have_count(0)
