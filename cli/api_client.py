"""A small client of the management API (``/api/v1``), for the operator commands.

One method per call; answers are the API's JSON as plain dicts. Every failure is
an `ApiError` with a one-line message: the API's error body (with its field
errors), a refused admin token, or an API that cannot be reached. The only
module of the operator CLI that imports `requests`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import requests

from shared.errors import ConfigurationError, CrossdockError

DEFAULT_API_URL = "http://127.0.0.1:8080"
API_PREFIX = "/api/v1"
#: Connect quickly; a Test Connection may take several seconds to answer.
TIMEOUT = (5.0, 60.0)

Json = dict[str, Any]


class ApiError(CrossdockError):
    """The API refused a call, answered an error, or could not be reached."""

    def __init__(self, message: str, *, status: int | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def api_base(url: str) -> str:
    """``http(s)://host[:port][/prefix]`` with ``/api/v1`` appended once.

    Raises `ConfigurationError` for anything but an http(s) URL.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(f"--api wants the receiver's http(s) URL, not {url!r}")
    base = url.strip().rstrip("/")
    return base if base.endswith(API_PREFIX) else base + API_PREFIX


def error_message(status: int, body: Any, reason: str = "") -> str:
    """One line from an answer ``{"error": {"code", "message", "fields"?}}``."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return f"the API answered {status} {reason}".rstrip()
    message: str = error["message"]
    fields = error.get("fields")
    if isinstance(fields, dict) and fields:
        message += ": " + "; ".join(f"{name}: {text}" for name, text in flatten_fields(fields))
    return " ".join(message.split())


def flatten_fields(fields: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """marshmallow's nested field errors as ``("repo_filters.0.pattern", "msg msg")``."""
    flat: list[tuple[str, str]] = []
    for key, value in fields.items():
        # `_schema` and `_body` hold errors of the object itself, not of a field.
        itself = key in ("_schema", "_body")
        name = (prefix.rstrip(".") or "request") if itself else f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat += flatten_fields(value, f"{name}.")
        elif isinstance(value, list | tuple):
            flat.append((name, " ".join(str(item).rstrip(".") for item in value)))
        else:
            flat.append((name, str(value).rstrip(".")))
    return flat


class ApiClient:
    """Calls the management API at `url` with ``Authorization: Bearer <token>``."""

    def __init__(self, url: str, token: str, *, timeout: tuple[float, float] = TIMEOUT) -> None:
        self.url = url.strip().rstrip("/")
        self.base = api_base(url)
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.session.headers["User-Agent"] = "crossdock-cli"

    def close(self) -> None:
        self.session.close()

    def call(self, method: str, path: str, *, body: Json | None = None,
             params: Mapping[str, Any] | None = None) -> Any:
        """One request; the decoded JSON answer (None for 204).

        Raises `ApiError` for an error answer or an API that cannot be reached.
        """
        url = self.base + path
        try:
            response = self.session.request(method, url, json=body, params=params,
                                            timeout=self.timeout)
        except requests.exceptions.SSLError as exc:
            raise ApiError(f"TLS to the crossdock API at {self.url} failed: {exc}") from exc
        except requests.exceptions.Timeout as exc:
            raise ApiError(f"the crossdock API at {self.url} did not answer in time") from exc
        except requests.exceptions.ConnectionError as exc:
            raise ApiError(f"cannot reach the crossdock API at {self.url}: "
                           "is `crossdock receiver` running?") from exc
        except requests.RequestException as exc:
            raise ApiError(f"calling the crossdock API at {self.url} failed: {exc}") from exc
        with response:
            return self._decode(response)

    def _decode(self, response: requests.Response) -> Any:
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = None
        if response.status_code == 401:
            raise ApiError("the API refused the admin token (set CROSSDOCK_ADMIN_TOKEN or "
                           "--token)", status=401)
        if response.status_code >= 400:
            error = body.get("error") if isinstance(body, dict) else None
            code = error.get("code") if isinstance(error, dict) else None
            raise ApiError(error_message(response.status_code, body, response.reason or ""),
                           status=response.status_code, code=code)
        if response.content and body is None:
            raise ApiError(f"{self.url} answered {response.status_code} without JSON: "
                           "is it the crossdock receiver?", status=response.status_code)
        return body

    # -- endpoints --------------------------------------------------------------------

    def list_endpoints(self) -> Json:
        return dict(self.call("GET", "/endpoints"))

    def get_endpoint(self, name: str) -> Json:
        return dict(self.call("GET", f"/endpoints/{_seg(name)}"))

    def create_endpoint(self, fields: Json) -> Json:
        return dict(self.call("POST", "/endpoints", body=fields))

    def update_endpoint(self, name: str, changes: Json) -> Json:
        return dict(self.call("PATCH", f"/endpoints/{_seg(name)}", body=changes))

    def delete_endpoint(self, name: str) -> None:
        self.call("DELETE", f"/endpoints/{_seg(name)}")

    def ping_endpoint(self, fields: Json) -> Json:
        """Test Connection: a stored endpoint's ``name``, connection fields, or both."""
        return dict(self.call("POST", "/endpoints/ping", body=fields))

    def redrive_endpoint(self, name: str) -> Json:
        return dict(self.call("POST", f"/endpoints/{_seg(name)}/redrive", body={}))

    # -- sources ----------------------------------------------------------------------

    def list_sources(self) -> Json:
        return dict(self.call("GET", "/sources"))

    def get_source(self, name: str) -> Json:
        return dict(self.call("GET", f"/sources/{_seg(name)}"))

    def create_source(self, fields: Json) -> Json:
        return dict(self.call("POST", "/sources", body=fields))

    def update_source(self, name: str, changes: Json) -> Json:
        return dict(self.call("PATCH", f"/sources/{_seg(name)}", body=changes))

    def delete_source(self, name: str) -> None:
        self.call("DELETE", f"/sources/{_seg(name)}")

    # -- rules ------------------------------------------------------------------------

    def list_rules(self) -> Json:
        return dict(self.call("GET", "/rules"))

    def get_rule(self, name: str) -> Json:
        return dict(self.call("GET", f"/rules/{_seg(name)}"))

    def create_rule(self, fields: Json) -> Json:
        return dict(self.call("POST", "/rules", body=fields))

    def update_rule(self, name: str, changes: Json) -> Json:
        return dict(self.call("PATCH", f"/rules/{_seg(name)}", body=changes))

    def delete_rule(self, name: str) -> None:
        self.call("DELETE", f"/rules/{_seg(name)}")

    def enable_rule(self, name: str) -> Json:
        return dict(self.call("POST", f"/rules/{_seg(name)}/enable", body={}))

    def disable_rule(self, name: str) -> Json:
        return dict(self.call("POST", f"/rules/{_seg(name)}/disable", body={}))

    def run_rule(self, name: str) -> Json:
        return dict(self.call("POST", f"/rules/{_seg(name)}/run", body={}))

    # -- registry links and two-way pairs ---------------------------------------------

    def list_links(self) -> Json:
        return dict(self.call("GET", "/links"))

    def get_link(self, link_id: int) -> Json:
        return dict(self.call("GET", f"/links/{link_id}"))

    def create_link(self, fields: Json) -> Json:
        return dict(self.call("POST", "/links", body=fields))

    def update_link(self, link_id: int, changes: Json) -> Json:
        return dict(self.call("PATCH", f"/links/{link_id}", body=changes))

    def delete_link(self, link_id: int) -> None:
        self.call("DELETE", f"/links/{link_id}")

    def list_pairs(self) -> Json:
        return dict(self.call("GET", "/pairs"))

    def get_pair(self, pair: str) -> Json:
        return dict(self.call("GET", f"/pairs/{_seg(pair)}"))

    def prefer(self, pair: str, rule: str) -> Json:
        """Make `rule`'s source the side that wins the pair's conflicts."""
        return dict(self.call("PUT", f"/pairs/{_seg(pair)}/preferred", body={"rule": rule}))

    # -- executions and jobs ----------------------------------------------------------

    def list_executions(self, **query: Any) -> Json:
        return dict(self.call("GET", "/executions", params=_query(query)))

    def get_execution(self, execution_id: int) -> Json:
        return dict(self.call("GET", f"/executions/{execution_id}"))

    def list_jobs(self, **query: Any) -> Json:
        return dict(self.call("GET", "/jobs", params=_query(query)))

    def get_job(self, job_id: int) -> Json:
        return dict(self.call("GET", f"/jobs/{job_id}"))

    def job_log(self, job_id: int) -> Json:
        return dict(self.call("GET", f"/jobs/{job_id}/log"))

    def retry_job(self, job_id: int) -> Json:
        return dict(self.call("POST", f"/jobs/{job_id}/retry", body={}))


def _seg(name: str) -> str:
    """A name as one path segment: a slash in it cannot reach another route."""
    return quote(name, safe="")


def _query(query: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in query.items() if value is not None}
