"""The Projects page: each source's projects from its cached listing, with rule
counts and the last execution's status, a filter, pages, a section that polls
while the first listing loads, and a source whose credentials can't list."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from receiver.console.pages import projects as projects_page
from receiver.services import services_of
from shared.store import ExecutionTrigger, SourceRecord, Store
from tests.conftest import PASSWORD
from tests.receiver.conftest import Records
from tests.support.images import push_image
from tests.support.registry_server import RegistryServer


def _listed(app: Flask, source: SourceRecord) -> None:
    """Wait for the source's first listing, as a page's later poll would."""
    with app.app_context():
        services_of(app).projects.get(source.id, wait=10)


def _rows(html: str, source: SourceRecord) -> list[str]:
    section = html[html.index(f'id="source-{source.id}"'):]
    section = section[:section.index("</section>")]
    return re.findall(r'<th scope="row"><a href="[^"]*">([^<]+)</a></th>', section)


def test_a_sources_projects_show_their_rule_counts_and_last_execution(
    signed_in_client: FlaskClient, app: Flask, records: Records, store: Store,
    registry_factory: Callable[..., RegistryServer],
) -> None:
    registry = registry_factory()
    for repository in ("lib/app", "lib/web", "tools/cli"):
        push_image(registry.url, repository, "v1")
    source = records.source(registry.url)
    endpoint = records.endpoint()
    rule = records.rule(source, endpoint, project="lib")
    records.rule(source, endpoint, project="lib")
    execution = store.create_execution(rule.id, ExecutionTrigger.MANUAL)
    _listed(app, source)

    html = signed_in_client.get("/ui/projects/").text

    assert _rows(html, source) == ["lib", "tools"]
    lib_row = html[html.index(f'href="/ui/projects/{source.name}/lib/"'):]
    lib_row = lib_row[:lib_row.index("</tr>")]
    assert re.search(r"<td>2</td>\s*<td>2</td>", lib_row), lib_row  # repositories, rules
    assert f"status-{execution.status}" in lib_row
    tools_row = html[html.index(f'href="/ui/projects/{source.name}/tools/"'):]
    assert "Never run" in tools_row[:tools_row.index("</tr>")]


def test_the_filter_box_keeps_the_projects_whose_name_contains_it(
    signed_in_client: FlaskClient, records: Records,
) -> None:
    source = records.source()
    endpoint = records.endpoint()
    for project in ("alpha", "beta", "alphabet"):
        records.rule(source, endpoint, project=project)

    html = signed_in_client.get("/ui/projects/?q=ALPHA").text

    assert _rows(html, source) == ["alpha", "alphabet"]
    assert 'value="ALPHA"' in html


def test_projects_come_in_pages_with_links_to_the_next_and_previous(
    signed_in_client: FlaskClient, records: Records, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(projects_page, "PAGE_SIZE", 2)
    source = records.source()
    endpoint = records.endpoint()
    for project in ("p1", "p2", "p3", "p4", "p5"):
        records.rule(source, endpoint, project=project)

    first = signed_in_client.get("/ui/projects/").text
    second = signed_in_client.get(f"/ui/projects/?source={source.name}&offset=2").text
    fragment = signed_in_client.get(f"/ui/projects/sources/{source.name}?offset=4",
                                    headers={"HX-Request": "true"}).text

    assert _rows(first, source) == ["p1", "p2"]
    assert f"source={source.name}&amp;offset=2" in first
    assert _rows(second, source) == ["p3", "p4"]
    assert "offset=4" in second and "Previous" in second
    assert _rows(fragment, source) == ["p5"]
    assert "<html" not in fragment and "Next" not in fragment


def test_a_section_polls_while_its_first_listing_loads_and_stops_once_listed(
    signed_in_client: FlaskClient, app: Flask, records: Records,
    registry_factory: Callable[..., RegistryServer],
) -> None:
    registry = registry_factory()
    push_image(registry.url, "lib/app", "v1")
    source = records.source(registry.url)

    loading = signed_in_client.get("/ui/projects/").text
    _listed(app, source)
    listed = signed_in_client.get(f"/ui/projects/sources/{source.name}",
                                  headers={"HX-Request": "true"}).text

    assert 'data-polling="yes"' in loading
    assert f'hx-get="/ui/projects/sources/{source.name}"' in loading
    assert "Listing the source" in loading
    assert 'data-polling="no"' in listed and "hx-trigger" not in listed
    assert _rows(listed, source) == ["lib"]


def test_a_source_whose_credentials_cannot_list_says_so(
    signed_in_client: FlaskClient, app: Flask, records: Records,
    htpasswd_registry: RegistryServer,
) -> None:
    source = records.source(htpasswd_registry.url, username="mallory", password=PASSWORD)
    records.rule(source, records.endpoint(), project="known")
    _listed(app, source)

    html = signed_in_client.get("/ui/projects/").text

    assert "Not allowed to list this source." in html
    assert "credentials (mallory) may not list its catalog" in html
    assert _rows(html, source) == ["known"]  # the projects of its rules, all the same
