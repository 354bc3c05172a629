"""Form fields to the API's shapes, and field errors back beside their fields."""

from __future__ import annotations

from flask import Flask, render_template_string
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict

from receiver.console.forms import FormState, field_errors, form_values


def test_form_values_take_the_shapes_the_schemas_take() -> None:
    posted = MultiDict([("csrf_token", "t"), ("name", "  lib-to-mirror "), ("description", ""),
                        ("enabled", "on"), ("tag_filters", "v*\n\n  latest  \n"),
                        ("destination", "")])

    values = form_values(posted, checkboxes=("enabled", "prune"), lists=("tag_filters",),
                         keep_blank=("destination",))

    assert values == {"name": "lib-to-mirror", "enabled": True, "prune": False,
                      "tag_filters": ["v*", "latest"], "destination": ""}


def test_nested_errors_are_keyed_by_their_path() -> None:
    error = ValidationError({"name": ["Missing data."],
                             "filters": {0: {"pattern": ["Not a glob."]}},
                             "_schema": ["Pick an endpoint or a new one."]})

    assert field_errors(error) == {"name": ["Missing data."],
                                   "filters.0.pattern": ["Not a glob."],
                                   "_schema": ["Pick an endpoint or a new one."]}
    assert field_errors(ValidationError("Bad body.")) == {"_schema": ["Bad body."]}


def test_the_macros_show_each_error_beside_its_field_and_keep_what_was_typed(
    app: Flask,
) -> None:
    form = FormState.from_error({"name": "<b>x</b>", "password": "hunter2"},
                                ValidationError({"name": ["Already taken."]}))
    template = ('{% from "console/macros/forms.html" import input, form_errors %}'
                '{{ form_errors(form) }}{{ input(form, "name", "Name", hint="Unique.") }}'
                '{{ input(form, "password", "Password", type="password") }}')

    with app.test_request_context("/ui/"):
        html = render_template_string(template, form=form)

    assert 'role="alert"' in html
    assert '<label for="field-name">Name</label>' in html
    assert 'value="&lt;b&gt;x&lt;/b&gt;"' in html
    assert 'aria-describedby="hint-name error-name" aria-invalid="true"' in html
    assert '<small id="error-name" class="field-error">Already taken.</small>' in html
    assert "hunter2" not in html  # a password is never sent back to the page


def test_checkboxes_selects_and_textareas_keep_their_state(app: Flask) -> None:
    form = FormState({"enabled": True, "endpoint": 2, "notes": "a & b"},
                     {"endpoint": ["Pick one."]})
    template = ('{% from "console/macros/forms.html" import checkbox, select, textarea %}'
                '{{ checkbox(form, "enabled", "Enable", switch=true) }}'
                '{{ checkbox(form, "prune", "Prune") }}'
                '{{ select(form, "endpoint", "Endpoint", [(1, "one"), (2, "two")]) }}'
                '{{ textarea(form, "notes", "Notes") }}')

    with app.test_request_context("/ui/"):
        html = render_template_string(template, form=form)

    assert 'name="enabled" type="checkbox" role="switch" checked>' in html
    assert 'name="prune" type="checkbox">' in html
    assert '<option value="2" selected>two</option>' in html
    assert '<option value="1">one</option>' in html
    assert 'aria-describedby="error-endpoint" aria-invalid="true"' in html
    assert ">a &amp; b</textarea>" in html
