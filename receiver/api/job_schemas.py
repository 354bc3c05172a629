"""Schemas of executions, jobs and job logs, and of their list queries."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from receiver.api.fields import ApiSchema, Text
from receiver.services.names import MAX_INT
from shared.store import ExecutionStatus, ExecutionTrigger, JobAction, JobStatus, LogLevel


class PageSchema(ApiSchema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_INT))
    before = fields.Integer(validate=validate.Range(min=1, max=MAX_INT), metadata={
        "description": "Only records older than this id: the previous answer's next_before"})


class ExecutionQuerySchema(PageSchema):
    rule = Text(metadata={"description": "A rule's name or id"})
    status = fields.Enum(ExecutionStatus, by_value=True)


class JobQuerySchema(PageSchema):
    rule = Text(metadata={"description": "A rule's name or id"})
    endpoint = Text(metadata={"description": "An endpoint's name or id"})
    status = fields.Enum(JobStatus, by_value=True)
    execution = fields.Integer(validate=validate.Range(min=1, max=MAX_INT))


class ExecutionSchema(Schema):
    """One run of a rule. Counts cover image jobs (not the sync job that listed them)."""

    id = fields.Integer()
    rule_id = fields.Integer()
    rule = fields.String()
    trigger = fields.Enum(ExecutionTrigger, by_value=True)
    status = fields.Enum(ExecutionStatus, by_value=True)
    total = fields.Integer()
    succeeded = fields.Integer()
    failed = fields.Integer()
    skipped = fields.Integer()
    in_progress = fields.Integer(metadata={"description": "Image jobs not finished yet"})
    started_at = fields.AwareDateTime()
    finished_at = fields.AwareDateTime(allow_none=True)


class JobSchema(Schema):
    id = fields.Integer()
    execution_id = fields.Integer(allow_none=True)
    rule_id = fields.Integer()
    rule = fields.String()
    endpoint_id = fields.Integer()
    endpoint = fields.String()
    source_id = fields.Integer()
    repository = fields.String()
    tag = fields.String(allow_none=True)
    digest = fields.String(allow_none=True)
    action = fields.Enum(JobAction, by_value=True)
    status = fields.Enum(JobStatus, by_value=True)
    attempts = fields.Integer()
    error = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
    started_at = fields.AwareDateTime(allow_none=True)
    finished_at = fields.AwareDateTime(allow_none=True)


class LogLineSchema(Schema):
    at = fields.AwareDateTime()
    level = fields.Enum(LogLevel, by_value=True)
    message = fields.String()


class JobLogSchema(Schema):
    job_id = fields.Integer()
    lines = fields.List(fields.Nested(LogLineSchema))


def _next_before() -> fields.Integer:
    return fields.Integer(allow_none=True, metadata={
        "description": "Give it as before= for the next (older) page; null on the last page"})


class ExecutionListSchema(Schema):
    items = fields.List(fields.Nested(ExecutionSchema))
    limit = fields.Integer()
    offset = fields.Integer()
    next_before = _next_before()


class JobListSchema(Schema):
    items = fields.List(fields.Nested(JobSchema))
    limit = fields.Integer()
    offset = fields.Integer()
    next_before = _next_before()


execution_query = ExecutionQuerySchema()
job_query = JobQuerySchema()
execution_out = ExecutionSchema()
job_out = JobSchema()
job_log_out = JobLogSchema()
