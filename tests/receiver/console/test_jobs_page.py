"""Replication Jobs through Flask's client: executions with their counts, jobs
with status, action, image, digest, attempts and times, filtered by rule,
execution and status, paged by key; polling while something runs; each job's
log; Retry on a failed job."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from shared.store import (
    ExecutionTrigger,
    JobAction,
    JobRecord,
    JobStatus,
    NewJob,
    RuleRecord,
    Store,
)
from tests.receiver.conftest import Records
from tests.receiver.console.conftest import csrf_from

DIGEST = "sha256:" + "ab" * 32


def _rule(records: Records) -> RuleRecord:
    return records.rule(records.source(), records.endpoint())


def _jobs(store: Store, rule: RuleRecord, count: int, execution_id: int | None = None,
          action: JobAction = JobAction.REPLICATE) -> list[JobRecord]:
    return store.create_jobs([
        NewJob(rule.id, rule.endpoint_id, rule.source_id, f"lib/app{n}", action, tag="v1",
               digest=DIGEST, execution_id=execution_id) for n in range(count)])


def _job_ids(html: str) -> list[int]:
    return [int(found) for found in re.findall(r'<tr id="job-(\d+)">', html)]


def test_executions_show_their_progress_and_jobs_their_details(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    rule = _rule(records)
    execution = store.create_execution(rule.id, ExecutionTrigger.SCHEDULED)
    done, running = _jobs(store, rule, 2, execution.id)
    store.mark_running(done.id)
    store.mark_finished(done.id, JobStatus.SUCCEEDED)
    store.mark_running(running.id)

    html = signed_in_client.get(f"/ui/jobs/?rule={rule.name}").text

    row = html[html.index(f'<tr id="execution-{execution.id}">'):]
    row = row[:row.index("</tr>")]
    assert "Scheduled" in row and "1 of 2 succeeded, 1 in progress" in row
    job = html[html.index(f'<tr id="job-{done.id}">'):]
    job = job[:job.index("</tr>")]
    assert "Succeeded" in job and "Replicate" in job and "lib/app0:v1" in job
    assert DIGEST[:19] in job and f'href="/ui/jobs/{done.id}/log"' in job
    assert 'data-polling="yes"' in html and 'hx-trigger="every 3s"' in html


def test_the_fragment_polls_with_its_filters_while_an_execution_runs_then_stops(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    rule = _rule(records)
    execution = store.create_execution(rule.id, ExecutionTrigger.MANUAL)
    [job] = _jobs(store, rule, 1, execution.id)
    store.mark_running(job.id)
    path = f"/ui/jobs/?rule={rule.name}&status=failed"  # no job shown: the execution runs

    running = signed_in_client.get(path, headers={"HX-Request": "true"}).text
    store.mark_finished(job.id, JobStatus.SUCCEEDED)
    finished = signed_in_client.get(path, headers={"HX-Request": "true"}).text

    assert "<html" not in running and _job_ids(running) == []
    assert 'data-polling="yes"' in running
    assert f'hx-get="/ui/jobs/?rule={rule.name}&amp;status=failed"' in running
    assert 'data-polling="no"' in finished and "hx-trigger" not in finished


def test_jobs_filter_by_status_rule_and_execution(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    rule, other = _rule(records), _rule(records)
    execution = store.create_execution(rule.id, ExecutionTrigger.MANUAL)
    failed, pending = _jobs(store, rule, 2, execution.id)
    outside = _jobs(store, rule, 1)[0]
    elsewhere = _jobs(store, other, 1)[0]
    store.mark_running(failed.id)
    store.mark_finished(failed.id, JobStatus.FAILED, "manifest unknown")

    by_status = signed_in_client.get("/ui/jobs/?status=failed").text
    by_rule = signed_in_client.get(f"/ui/jobs/?rule={rule.name}").text
    by_execution = signed_in_client.get(f"/ui/jobs/?execution={execution.id}").text
    bad = signed_in_client.get("/ui/jobs/?status=bogus")

    assert _job_ids(by_status) == [failed.id] and "manifest unknown" in by_status
    assert _job_ids(by_rule) == [outside.id, pending.id, failed.id]
    assert elsewhere.id not in _job_ids(by_rule)
    assert _job_ids(by_execution) == [pending.id, failed.id]
    assert bad.status_code == 400 and "Not a job status" in bad.text


def test_jobs_come_in_pages_by_key(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    rule = _rule(records)
    jobs = _jobs(store, rule, 55)
    newest_first = [job.id for job in reversed(jobs)]

    first = signed_in_client.get("/ui/jobs/").text
    cursor = newest_first[49]
    second = signed_in_client.get(f"/ui/jobs/?before={cursor}").text

    assert _job_ids(first) == newest_first[:50]
    assert f"before={cursor}" in first
    assert _job_ids(second) == newest_first[50:]
    assert "Older jobs" not in second and "Newest" in second
    assert 'data-polling="no"' in second  # an older page never polls


def test_a_jobs_log_opens_on_its_own_page(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    rule = _rule(records)
    [job] = _jobs(store, rule, 1)
    store.append_log(job.id, "info", "copying <lib/app0:v1>")
    store.append_log(job.id, "error", "manifest unknown")

    html = signed_in_client.get(f"/ui/jobs/{job.id}/log").text
    missing = signed_in_client.get("/ui/jobs/999999/log")

    assert f"Log of job {job.id}</h1>" in html
    assert "copying &lt;lib/app0:v1&gt;" in html
    assert html.index("copying") < html.index("manifest unknown")
    assert missing.status_code == 404


def test_retry_puts_a_failed_job_back_and_returns_to_the_list(
    signed_in_client: FlaskClient, records: Records, store: Store,
) -> None:
    rule = _rule(records)
    failed, succeeded = _jobs(store, rule, 2)
    for job, status in ((failed, JobStatus.FAILED), (succeeded, JobStatus.SUCCEEDED)):
        store.mark_running(job.id)
        store.mark_finished(job.id, status, "boom" if status == JobStatus.FAILED else None)
    page = signed_in_client.get(f"/ui/jobs/?rule={rule.name}").text
    token = csrf_from(page)

    assert f'action="/ui/jobs/{failed.id}/retry"' in page
    assert f'action="/ui/jobs/{succeeded.id}/retry"' not in page
    answer = signed_in_client.post(f"/ui/jobs/{failed.id}/retry", data={
        "csrf_token": token, "next": f"/ui/jobs/?rule={rule.name}"})
    refused = signed_in_client.post(f"/ui/jobs/{succeeded.id}/retry", data={
        "csrf_token": token, "next": "https://elsewhere.example/"})

    assert (answer.status_code, answer.location) == (303, f"/ui/jobs/?rule={rule.name}")
    assert store.get_job(failed.id).status in (JobStatus.PENDING, JobStatus.RUNNING)
    assert (refused.status_code, refused.location) == (303, "/ui/jobs/")
    flashed = signed_in_client.get("/ui/jobs/").text
    assert f"Job {succeeded.id} was not retried" in flashed
