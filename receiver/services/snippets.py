"""What to paste into a source registry so it notifies crossdock (pure, no I/O).

Distribution: a ``notifications:`` block for its config.yml (protocols.md §9.1,
§9.2): blob events and pulls ignored, the secret in a static header. Harbor: a
webhook policy for each project (§11.1); Harbor sends ``auth_header`` verbatim.
"""

from __future__ import annotations

from typing import Any

import yaml

from shared.store import SourceKind

#: Shown instead of the secret once it is no longer shown.
SECRET_PLACEHOLDER = "<webhook secret: shown once, when it was set>"  # noqa: S105
HARBOR_POLICY_PATH = "/api/v2.0/projects/{project_name_or_id}/webhook/policies"


def webhook_url(host_url: str, source: str) -> str:
    """The receiver's webhook URL for `source`, from the request's ``host_url``."""
    return f"{host_url.rstrip('/')}/webhooks/{source}"


def notification_setup(kind: SourceKind, source: str, host_url: str,
                       secret: str | None) -> dict[str, Any]:
    """The snippet for a source; `secret` None shows a placeholder."""
    url = webhook_url(host_url, source)
    bearer = f"Bearer {secret or SECRET_PLACEHOLDER}"
    if kind == SourceKind.HARBOR:
        return {
            "instructions": "Create this webhook policy in every project a rule replicates "
                            "(as a project admin), or add it in the project's Webhooks tab.",
            "webhook_url": url,
            "request": f"POST {HARBOR_POLICY_PATH}",
            "body": harbor_policy(source, url, bearer),
        }
    return {
        "instructions": "Add this block to the registry's config.yml (merge it into an "
                        "existing notifications: section) and restart the registry.",
        "webhook_url": url,
        "config_yml": distribution_config(source, url, bearer),
    }


def distribution_config(source: str, url: str, bearer: str) -> str:
    block = {"notifications": {"endpoints": [{
        "name": f"crossdock-{source}",
        "url": url,
        "headers": {"Authorization": [bearer]},
        "timeout": "5s",
        "threshold": 5,
        "backoff": "10s",
        "ignoredmediatypes": ["application/octet-stream"],
        "ignore": {"actions": ["pull"]},
    }]}}
    return yaml.safe_dump(block, sort_keys=False, default_flow_style=False, width=1000)


def harbor_policy(source: str, url: str, bearer: str) -> dict[str, Any]:
    return {
        "name": f"crossdock-{source}",
        "description": "crossdock replication",
        "enabled": True,
        "event_types": ["PUSH_ARTIFACT", "DELETE_ARTIFACT"],
        "targets": [{
            "type": "http",
            "address": url,
            "auth_header": bearer,
            "skip_cert_verify": False,
            "payload_format": "Default",
        }],
    }
