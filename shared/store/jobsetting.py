"""Everything a consumer reads before running a job, in one read transaction."""

from __future__ import annotations

from dataclasses import dataclass

from shared.store.base import StoreBase, row_by_id
from shared.store.jobs import _job_record
from shared.store.pairs import pair_of
from shared.store.records import EndpointRecord, JobRecord, PairRecord, RuleRecord, SourceRecord
from shared.store.registries import _endpoint_record, _source_record
from shared.store.rules import _rule_record
from shared.store.schema import endpoints, jobs, rules, sources


@dataclass(frozen=True)
class JobSetting:
    """A job with its rule, endpoint, source and two-way pair as they are now; None for
    one that no longer exists (the caller decides what that means for the job)."""

    job: JobRecord
    rule: RuleRecord | None
    endpoint: EndpointRecord | None
    source: SourceRecord | None
    pair: PairRecord | None  # the pair the job's rule belongs to, enabled or not


class JobSettingStore(StoreBase):
    def job_setting(self, job_id: int) -> JobSetting:
        """The job and what it needs, read together (one snapshot, one round of
        connection and transaction instead of five). Raises `RecordNotFoundError`
        for an unknown job."""
        with self._read() as conn:
            job = _job_record(self._row(conn, jobs, job_id, "job"))
            rule_row = conn.execute(row_by_id(rules, False), {"row_id": job.rule_id}).first()
            endpoint_row = conn.execute(row_by_id(endpoints, False),
                                        {"row_id": job.endpoint_id}).first()
            source_row = conn.execute(row_by_id(sources, False),
                                      {"row_id": job.source_id}).first()
            pair = pair_of(conn, job.rule_id)
        return JobSetting(
            job=job,
            rule=None if rule_row is None else _rule_record(rule_row),
            endpoint=None if endpoint_row is None else _endpoint_record(endpoint_row),
            source=None if source_row is None else _source_record(source_row),
            pair=pair,
        )
