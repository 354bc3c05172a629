"""The templates keep to the Content-Security-Policy and escape what they show."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from tests.receiver.conftest import Records

TEMPLATES = Path(__file__).resolve().parents[3] / "receiver" / "console" / "templates"
ALL = sorted(TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("template", ALL, ids=lambda path: str(path.relative_to(TEMPLATES)))
def test_no_inline_script_style_or_event_handler(template: Path) -> None:
    text = re.sub(r"\{#.*?#\}", "", template.read_text(), flags=re.S)  # comments may say it

    assert not re.search(r"\sstyle=", text), "inline style attribute"
    assert "<style" not in text
    assert not re.search(r"<script(?![^>]*\ssrc=)", text), "inline <script>"
    assert not re.search(r"\son[a-z]+=", text), "inline event handler"
    assert "hx-on" not in text and "js:" not in text, "htmx eval (allowEval is off)"
    assert "|safe" not in text, "|safe turns autoescaping off"


def test_a_script_in_a_rule_description_is_shown_escaped(
    signed_in_client: FlaskClient, records: Records
) -> None:
    source, endpoint = records.source(), records.endpoint()
    records.rule(source, endpoint, project="lib", description="<script>alert('x')</script>")

    page = signed_in_client.get(f"/ui/projects/{source.name}/lib/").text

    assert "<script>alert(" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page


def test_the_htmx_config_is_set_for_the_csp(signed_in_client: FlaskClient) -> None:
    page = signed_in_client.get("/ui/projects/").text
    [config] = re.findall(r'<meta name="htmx-config" content="([^"]+)">', page)

    assert "&#34;includeIndicatorStyles&#34;:false" in config
    assert "&#34;allowEval&#34;:false" in config
    assert re.search(r'<meta name="csrf-token" content="[A-Za-z0-9_-]{40,}">', page)
