"""Which rules an event must not go to because crossdock itself made that change
(DESIGN invariant 3), known exactly, never guessed from content or time.

Every request a consumer makes while running a job carries a write token in its
User-Agent (`shared.writetoken`), and Distribution copies it into the event
(``request.useragent``). The token names the job, so its rule and origin: the job
copied from its source S into this registry, and the rule that would copy the
change back to S is the one whose endpoint is S, by the registry link "source S
is endpoint E". The event is dropped for that rule only, so a chain A→B→C flows.

Harbor names only an account (``operator``): when it is the account the link of
this registry says crossdock writes with, the write came from one of the rules
writing into this registry, and the event is dropped for the rules that lead back
to any of their sources.

A change with no token (a user's, or crossdock's from before the upgrade) goes to
every rule; a two-way job then finds both sides equal and writes nothing.
"""

from __future__ import annotations

from receiver.notifications import RegistryEvent
from shared.store import RecordNotFoundError, SourceRecord, Store
from shared.writetoken import token_from_user_agent

NO_ENDPOINTS: frozenset[int] = frozenset()


class EchoOrigins:
    """For one batch of events: the endpoints each event must not be copied to."""

    def __init__(self, store: Store, secret_key: str) -> None:
        self._store = store
        self._secret_key = secret_key
        self._by_job: dict[int, frozenset[int]] = {}
        self._by_account: dict[tuple[int, str], frozenset[int]] = {}

    def back_to_origin(self, source: SourceRecord, event: RegistryEvent) -> frozenset[int]:
        """Endpoint ids that lead back to where crossdock copied `event`'s change from.

        Raises the store's errors (the webhook answers 503 and the event comes again).
        """
        token = token_from_user_agent(event.user_agent, self._secret_key)
        if token is not None:
            if token.job_id not in self._by_job:
                self._by_job[token.job_id] = self._for_job(token.job_id)
            return self._by_job[token.job_id]
        if event.operator:
            key = (source.id, event.operator)
            if key not in self._by_account:
                self._by_account[key] = self._for_harbor_account(source, event.operator)
            return self._by_account[key]
        return NO_ENDPOINTS

    def _for_job(self, job_id: int) -> frozenset[int]:
        try:
            job = self._store.get_job(job_id)
        except RecordNotFoundError:  # its rule was deleted since: nothing to go back to
            return NO_ENDPOINTS
        return self._endpoints_of_sources({job.source_id})

    def _for_harbor_account(self, source: SourceRecord, operator: str) -> frozenset[int]:
        link = self._store.link_for_source(source.id)
        if link is None or not link.harbor_account or link.harbor_account != operator:
            return NO_ENDPOINTS
        writers = self._store.list_rules(endpoint_id=link.endpoint_id)
        return self._endpoints_of_sources({rule.source_id for rule in writers})

    def _endpoints_of_sources(self, source_ids: set[int]) -> frozenset[int]:
        found = set()
        for source_id in source_ids:
            link = self._store.link_for_source(source_id)
            if link is not None:
                found.add(link.endpoint_id)
        return frozenset(found)
