"""The operator's commands: `crossdock endpoints|sources|links|rules|pairs|jobs|executions`.

They drive the management API over HTTP (`cli.api_client`), never the store:
each group takes ``--api URL`` and ``--token TOKEN`` (env ``CROSSDOCK_API_URL``,
``CROSSDOCK_ADMIN_TOKEN``). Every command prints a table or a ``key: value``
block (`cli.tables`), or the API's JSON with ``--json``. Failures are one line on
stderr: exit 1 when the API or the operation failed, 2 for bad usage.
"""

from cli.operator.endpoints import endpoints_group
from cli.operator.jobs import executions_group, jobs_group
from cli.operator.links import links_group
from cli.operator.pairs import pairs_group
from cli.operator.rules import rules_group
from cli.operator.sources import sources_group

__all__ = [
    "endpoints_group",
    "executions_group",
    "jobs_group",
    "links_group",
    "pairs_group",
    "rules_group",
    "sources_group",
]
