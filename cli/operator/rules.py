"""Replication rules: create, update, enable, disable, run."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import click

from cli import tables
from cli.api_client import ApiClient, Json
from cli.operator.common import (
    Decorator,
    api_command,
    api_group,
    call,
    changes_or_fail,
    emit,
    given,
    json_option,
    stamps,
    usage_error,
    warn,
    warn_about,
)

# -- rules ------------------------------------------------------------------------------

rules_group = api_group("rules", "Replication rules: which images go from a source to an "
                                 "endpoint.")


def rule_options(*, update: bool) -> Decorator:
    """The options of `rules create` (all optional, plus ``--clear-*``, for `update`)."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        needed = not update
        options: list[Decorator] = [
            click.option("--source", required=needed, metavar="SOURCE",
                         help="The source's name."),
            click.option("--endpoint", required=needed, metavar="ENDPOINT",
                         help="The endpoint's name."),
            click.option("--project", required=needed, metavar="PROJECT",
                         help="The project (first path component) to replicate."),
            click.option("--dest-namespace", metavar="NAMESPACE",
                         help="Where the project lands on the endpoint (default: same name)."),
            click.option("--repo-filter", multiple=True, metavar="PATTERN",
                         help="Keep only repositories matching this glob (repeatable)."),
            click.option("--exclude-repo", multiple=True, metavar="PATTERN",
                         help="Drop repositories matching this glob (repeatable)."),
            click.option("--tag-filter", multiple=True, metavar="PATTERN",
                         help="Keep only tags matching this glob (repeatable)."),
            click.option("--exclude-tag", multiple=True, metavar="PATTERN",
                         help="Drop tags matching this glob (repeatable)."),
            click.option("--deletes/--no-deletes", default=None,
                         help="Replicate deletions (default: on)."),
            click.option("--override/--no-override", default=None,
                         help="Overwrite tags that differ on the endpoint (default: on)."),
            click.option("--referrers/--no-referrers", default=None,
                         help="Copy signatures, SBOMs, attestations (default: on)."),
            click.option("--prune/--no-prune", default=None,
                         help="Scheduled syncs delete what the source no longer has "
                              "(default: off)."),
            click.option("--schedule", metavar="CRON",
                         help="Five-field cron (UTC) for a periodic resync."),
            click.option("--description", metavar="TEXT", help="What the rule is for."),
        ]
        if update:
            options += [
                click.option("--clear-dest-namespace", is_flag=True,
                             help="Land under the project's own name."),
                click.option("--clear-repo-filters", is_flag=True,
                             help="Remove the repository filters."),
                click.option("--clear-tag-filters", is_flag=True,
                             help="Remove the tag filters."),
                click.option("--clear-schedule", is_flag=True,
                             help="Remove the schedule."),
            ]
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def rule_fields(options: dict[str, Any]) -> Json:
    """API fields from `rule_options`; given filters replace the rule's list."""
    fields = given(source=options["source"], endpoint=options["endpoint"],
                   project=options["project"], dest_namespace=options["dest_namespace"],
                   replicate_deletes=options["deletes"], override=options["override"],
                   copy_referrers=options["referrers"], prune=options["prune"],
                   schedule=options["schedule"], description=options["description"])
    for kind, keep, drop in (("repo", "repo_filter", "exclude_repo"),
                             ("tag", "tag_filter", "exclude_tag")):
        found = filter_list(options[keep], options[drop])
        if options.get(f"clear_{kind}_filters"):
            if found:
                raise usage_error(f"give {kind} filters or --clear-{kind}-filters, not both")
            fields[f"{kind}_filters"] = []
        elif found:
            fields[f"{kind}_filters"] = found
    for name, api_name in (("dest_namespace", "dest_namespace"), ("schedule", "schedule")):
        if options.get(f"clear_{name}"):
            if api_name in fields:
                flag = name.replace("_", "-")
                raise usage_error(f"give --{flag} or --clear-{flag}, not both")
            fields[api_name] = None
    return fields


def filter_list(keep: Iterable[str], drop: Iterable[str]) -> list[Json]:
    return ([{"pattern": p, "decision": "matches"} for p in keep]
            + [{"pattern": p, "decision": "excludes"} for p in drop])


def filters_text(filters: list[Json] | None) -> str:
    if not filters:
        return "all"
    return ", ".join(f["pattern"] if f.get("decision") != "excludes" else f"not {f['pattern']}"
                     for f in filters)


def rule_text(rule: Json) -> str:
    return tables.details([
        ("name", rule.get("name")),
        ("enabled", rule.get("enabled")),
        ("description", rule.get("description")),
        ("source", rule.get("source")),
        ("project", rule.get("project")),
        ("endpoint", rule.get("endpoint")),
        ("destination", rule.get("dest_namespace") or rule.get("project")),
        ("repositories", filters_text(rule.get("repo_filters"))),
        ("tags", filters_text(rule.get("tag_filters"))),
        ("replicate deletes", rule.get("replicate_deletes")),
        ("override", rule.get("override")),
        ("copy referrers", rule.get("copy_referrers")),
        ("schedule", rule.get("schedule")),
        ("prune", rule.get("prune")),
        *stamps(rule, "created_at", "updated_at"),
    ])


def started(rule: Json) -> str:
    """``execution N started`` for an answer that started one, else ``""``; a warning on
    stderr when its sync job could not be queued."""
    if "warning" in rule:
        warn(str(rule["warning"]).replace("POST /api/v1/rules/<name>/run",
                                          f"`crossdock rules run {rule.get('name')}`"))
    execution = rule.get("execution_id")
    return "" if execution is None else f"execution {execution} started"


@rules_group.command("list")
@json_option
@api_command
def rules_list(api: ApiClient, as_json: bool) -> None:
    """List the rules."""
    answer = call(api.list_rules)
    items = answer.get("items", [])
    emit(as_json, answer, lambda: tables.table(
        ["NAME", "ENABLED", "SOURCE", "PROJECT", "ENDPOINT", "DESTINATION", "REPOSITORIES",
         "TAGS", "SCHEDULE"],
        [[r["name"], r.get("enabled"), r.get("source"), r.get("project"), r.get("endpoint"),
          r.get("dest_namespace") or r.get("project"),
          tables.truncate(filters_text(r.get("repo_filters")), 40),
          tables.truncate(filters_text(r.get("tag_filters")), 40), r.get("schedule")]
         for r in items]))


@rules_group.command("show")
@click.argument("name")
@json_option
@api_command
def rules_show(api: ApiClient, name: str, as_json: bool) -> None:
    """Show the rule NAME."""
    rule = call(lambda: api.get_rule(name))
    emit(as_json, rule, lambda: rule_text(rule))


@rules_group.command("create")
@click.argument("name")
@rule_options(update=False)
@click.option("--disabled", is_flag=True, help="Create it disabled (no initial sync).")
@json_option
@api_command
def rules_create(api: ApiClient, name: str, disabled: bool, as_json: bool,
                 **options: Any) -> None:
    """Create the rule NAME; an enabled rule starts an initial sync of the project."""
    fields = {"name": name, **rule_fields(options), **given(enabled=False if disabled else None)}
    rule = call(lambda: api.create_rule(fields))
    warn_about(rule)
    line = started(rule)
    emit(as_json, rule, lambda: f"created rule {name}\n{rule_text(rule)}\n{line}".rstrip())


@rules_group.command("update")
@click.argument("name")
@rule_options(update=True)
@json_option
@api_command
def rules_update(api: ApiClient, name: str, as_json: bool, **options: Any) -> None:
    """Change the rule NAME; filters given replace its filters of that kind."""
    changes = changes_or_fail(rule_fields(options))
    rule = call(lambda: api.update_rule(name, changes))
    warn_about(rule)
    line = started(rule)
    emit(as_json, rule, lambda: f"updated rule {name}\n{rule_text(rule)}\n{line}".rstrip())


@rules_group.command("delete")
@click.argument("name")
@json_option
@api_command
def rules_delete(api: ApiClient, name: str, as_json: bool) -> None:
    """Delete the rule NAME with its executions and jobs."""
    call(lambda: api.delete_rule(name))
    if not as_json:
        click.echo(f"deleted rule {name}")


@rules_group.command("enable")
@click.argument("name")
@json_option
@api_command
def rules_enable(api: ApiClient, name: str, as_json: bool) -> None:
    """Enable the rule NAME; a disabled rule starts an initial sync (its id is printed)."""
    rule = call(lambda: api.enable_rule(name))
    line = started(rule)
    emit(as_json, rule, lambda: f"enabled rule {name}: {line}" if line
         else f"rule {name} was already enabled")


@rules_group.command("disable")
@click.argument("name")
@json_option
@api_command
def rules_disable(api: ApiClient, name: str, as_json: bool) -> None:
    """Disable the rule NAME: new events are ignored, queued jobs are skipped."""
    rule = call(lambda: api.disable_rule(name))
    emit(as_json, rule, lambda: f"disabled rule {name}")


@rules_group.command("run")
@click.argument("name")
@json_option
@api_command
def rules_run(api: ApiClient, name: str, as_json: bool) -> None:
    """Run the rule NAME now: a manual execution replicating the whole project."""
    rule = call(lambda: api.run_rule(name))
    line = started(rule)
    emit(as_json, rule, lambda: f"rule {name}: {line}")


