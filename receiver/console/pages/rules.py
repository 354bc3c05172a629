"""A project's replication rules: the rule form (new and edit, with an existing
endpoint or a new one, Test Connection and the schedule's next runs as htmx
fragments), enable/disable, run now, and delete after a confirmation page.

The form becomes the API's rule shape (`receiver.console.rule_form`), which the
API's schemas validate and `receiver.services.rules` acts on.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, request, url_for
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from receiver.api.ping import ping_in
from receiver.api.rule_schemas import rule_create, rule_patch
from receiver.console.context import app_services, store
from receiver.console.forms import FormState, field_errors
from receiver.console.htmx import redirect_to, render
from receiver.console.rule_form import (
    NEW_RULE,
    on_form_fields,
    ping_data,
    posted_values,
    rule_data,
    rule_values,
    shown_values,
)
from receiver.services import rules as rule_services
from receiver.services.connection import ping_endpoint
from receiver.services.lookup import rule_named, source_named
from receiver.services.schedules import next_runs
from shared.store import ConflictError, EndpointRecord, RecordNotFoundError, RuleRecord

blueprint = Blueprint("rules", __name__, url_prefix="/projects/<source_name>/<project>/rules")

FORM = "console/rules/form.html"


def _project_url(source_name: str, project: str) -> str:
    return url_for("console.projects.project", source_name=source_name, project=project)


def _jobs_url(rule: RuleRecord) -> str:
    return url_for("console.jobs.index", rule=rule.name)


def _rule(source_name: str, project: str, rule_name: str) -> RuleRecord:
    """The rule, when it is one of this project's. Raises `RecordNotFoundError`."""
    source = source_named(store(), source_name)
    rule = rule_named(store(), rule_name)
    if rule.source_id != source.id or rule.project != project:
        raise RecordNotFoundError(f"rule {rule_name!r} is not a rule of project {project!r}")
    return rule


def _endpoint(name: object) -> EndpointRecord | None:
    if not isinstance(name, str) or not name:
        return None
    try:
        return store().get_endpoint_by_name(name)
    except RecordNotFoundError:
        return None


def _form_page(source_name: str, project: str, form: FormState, *, rule: RuleRecord | None,
               status: int = 200) -> Response:
    return render(FORM, status=status, tested=None, ping_errors=[],
                  **_page_context(source_name, project, form, rule))


def _page_context(source_name: str, project: str, form: FormState,
                  rule: RuleRecord | None) -> dict[str, Any]:
    """What the form page shows besides the form: the endpoints to choose from (the
    only one selected already), the one chosen, the schedule's next runs."""
    endpoints = sorted(store().list_endpoints(), key=lambda endpoint: endpoint.name)
    if not form.value("endpoint") and len(endpoints) == 1:
        form.values["endpoint"] = endpoints[0].name
    return {"source": source_named(store(), source_name), "project": project, "form": form,
            "rule": rule, "endpoints": endpoints, "chosen": _endpoint(form.value("endpoint")),
            "schedule": _schedule_preview(form.value("schedule"))}


def _schedule_preview(schedule: object) -> dict[str, Any]:
    text = schedule.strip() if isinstance(schedule, str) else ""
    if not text:
        return {"runs": [], "error": None}
    try:
        return {"runs": next_runs(text), "error": None}
    except ValidationError as exc:
        return {"runs": [], "error": " ".join(field_errors(exc).get("schedule", []))}


def _refused(form_values: dict[str, Any], error: ValidationError) -> FormState:
    return FormState(shown_values(form_values), on_form_fields(field_errors(error)))


def _conflict(form_values: dict[str, Any], exc: ConflictError) -> FormState:
    """A name taken: the new endpoint's, when one by that name exists, else the rule's."""
    form = FormState(shown_values(form_values))
    about_endpoint = (form_values.get("new_endpoint")
                      and _endpoint(form_values.get("endpoint_name")) is not None)
    form.add_error("endpoint_name" if about_endpoint else "name", str(exc))
    return form


def _report(change: rule_services.RuleChange) -> None:
    for warning in change.warnings:
        flash(f"Warning: {warning}", "error")
    if change.started is not None and not change.started.queued:
        flash(f"The initial sync could not be queued ({change.started.reason}): "
              f"{change.started.error}. Retry its job, or run the rule again.", "error")


def _after_save(change: rule_services.RuleChange, source_name: str, project: str,
                verb: str) -> Response:
    flash(f"Rule {change.rule.name} {verb}.", "success")
    _report(change)
    if change.started is not None:
        return redirect_to(_jobs_url(change.rule))
    return redirect_to(_project_url(source_name, project))


@blueprint.get("/new")
def new(source_name: str, project: str) -> Response:
    return _form_page(source_name, project, FormState(dict(NEW_RULE)), rule=None)


@blueprint.post("/new")
def create(source_name: str, project: str) -> Response:
    source = source_named(store(), source_name)
    values = posted_values(request.form)
    try:
        loaded = rule_create.load(rule_data(values, source.name, project))
        change = rule_services.create_rule(app_services(), loaded)
    except ValidationError as exc:
        return _form_page(source_name, project, _refused(values, exc), rule=None, status=400)
    except ConflictError as exc:
        return _form_page(source_name, project, _conflict(values, exc), rule=None, status=409)
    return _after_save(change, source.name, project, "created")


@blueprint.get("/<rule_name>/edit")
def edit(source_name: str, project: str, rule_name: str) -> Response:
    rule = _rule(source_name, project, rule_name)
    endpoint = store().get_endpoint(rule.endpoint_id)
    return _form_page(source_name, project, FormState(rule_values(rule, endpoint.name)),
                      rule=rule)


@blueprint.post("/<rule_name>/edit")
def update(source_name: str, project: str, rule_name: str) -> Response:
    rule = _rule(source_name, project, rule_name)
    values = posted_values(request.form)
    data = rule_data(values, source_name, project)
    del data["source"], data["project"]  # a rule stays in its project
    try:
        loaded = rule_patch.load(data, partial=True)
        change = rule_services.update_rule(app_services(), rule, loaded)
    except ValidationError as exc:
        return _form_page(source_name, project, _refused(values, exc), rule=rule, status=400)
    except ConflictError as exc:
        return _form_page(source_name, project, _conflict(values, exc), rule=rule, status=409)
    return _after_save(change, source_name, project, "saved")


@blueprint.post("/<rule_name>/enabled")
def toggle(source_name: str, project: str, rule_name: str) -> Response:
    rule = _rule(source_name, project, rule_name)
    if request.form.get("enabled") == "yes":
        change = rule_services.enable_rule(app_services(), rule)
        flash(f"Rule {rule.name} enabled.", "success")
        _report(change)
        if change.started is not None:
            return redirect_to(_jobs_url(rule))
    else:
        rule_services.disable_rule(app_services(), rule)
        flash(f"Rule {rule.name} disabled: new events are ignored, queued jobs skipped.",
              "success")
    return redirect_to(_project_url(source_name, project))


@blueprint.post("/<rule_name>/run")
def run(source_name: str, project: str, rule_name: str) -> Response:
    rule = _rule(source_name, project, rule_name)
    started = rule_services.run_rule(app_services(), rule)
    if started.queued:
        flash(f"Rule {rule.name} is running.", "success")
    else:
        flash(f"The execution could not be queued ({started.reason}): {started.error}",
              "error")
    return redirect_to(_jobs_url(rule))


@blueprint.get("/<rule_name>/delete")
def confirm_delete(source_name: str, project: str, rule_name: str) -> Response:
    rule = _rule(source_name, project, rule_name)
    return render("console/rules/delete.html", rule=rule, source_name=source_name,
                  project=project, back=_project_url(source_name, project))


@blueprint.post("/<rule_name>/delete")
def delete(source_name: str, project: str, rule_name: str) -> Response:
    rule = _rule(source_name, project, rule_name)
    rule_services.delete_rule(app_services(), rule)
    flash(f"Rule {rule.name} deleted, with its executions and jobs.", "success")
    return redirect_to(_project_url(source_name, project))


@blueprint.get("/endpoint")
def endpoint_info(source_name: str, project: str) -> Response:
    """The chosen endpoint's URL and username (a fragment; never its password)."""
    return render("console/rules/_endpoint_info.html",
                  chosen=_endpoint(request.args.get("endpoint", "")))


@blueprint.get("/schedule")
def schedule_runs(source_name: str, project: str) -> Response:
    """The schedule's next three runs in UTC (a fragment)."""
    return render("console/rules/_schedule.html",
                  schedule=_schedule_preview(request.args.get("schedule", "")))


@blueprint.post("/ping")
def ping(source_name: str, project: str) -> Response:
    """Test Connection on the form's endpoint, checking push rights where the rule
    writes; the fragment of checks (for htmx) or the form again with them."""
    source_named(store(), source_name)
    values = posted_values(request.form)
    tested, problems = None, []
    try:
        tested = ping_endpoint(app_services(), ping_in.load(ping_data(values, project)))
    except ValidationError as exc:
        problems = [f"{key.replace('_', ' ')}: {' '.join(messages)}"
                    for key, messages in on_form_fields(field_errors(exc)).items()]
    except RecordNotFoundError as exc:
        problems = [str(exc)]
    rule = _rule(source_name, project, request.args["rule"]) if request.args.get("rule") else None
    return render(FORM, "console/rules/_ping.html", tested=None if problems else tested,
                  ping_errors=problems,
                  **_page_context(source_name, project, FormState(shown_values(values)), rule))
