"""Harbor's list paging: `page`, `page_size`, `X-Total-Count` and `Link` (protocols.md §11.2).

`page` starts at 1; `page_size` defaults to 10 and may not exceed 100 (422 above).
`Link` holds path-relative `prev`/`next` URLs whose query is re-encoded with sorted
keys and then unescaped, joined by ` , ` (Harbor's `BaseAPI.Links`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urlencode

from flask import Response, jsonify, request

from tests.support.harbor.state import HarborError

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page:
    number: int
    size: int

    def slice(self, items: Sequence[T]) -> list[T]:
        start = (self.number - 1) * self.size
        return list(items[start : start + self.size])


def _int_arg(args: Mapping[str, str], name: str, default: int) -> int:
    text = args.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise HarborError(
            422, "UNPROCESSABLE_ENTITY", f"{name} in query must be of type int64: \"{text}\""
        ) from None


def parse_page(args: Mapping[str, str]) -> Page:
    """The requested page; HarborError 422 for a page size above 100 or a non-number."""
    number = _int_arg(args, "page", 1)
    size = _int_arg(args, "page_size", DEFAULT_PAGE_SIZE)
    if size > MAX_PAGE_SIZE:
        raise HarborError(
            422,
            "UNPROCESSABLE_ENTITY",
            f"page_size in query should be less than or equal to {MAX_PAGE_SIZE}",
        )
    return Page(max(number, 1), max(size, 0))


def _link(path: str, query: Sequence[tuple[str, str]], page: Page, number: int) -> str:
    params = dict(query)
    params.update(page=str(number), page_size=str(page.size))
    return f"{path}?{unquote(urlencode(sorted(params.items())))}"


def links(path: str, query: Sequence[tuple[str, str]], total: int, page: Page) -> str:
    """The `Link` header value for `page` of `total` items at `path` (may be empty)."""
    if page.size == 0:
        return ""
    parts = []
    if page.number > 1 and (page.number - 1) * page.size < total:
        parts.append(f'<{_link(path, query, page, page.number - 1)}>; rel="prev"')
    if page.size * page.number < total:
        parts.append(f'<{_link(path, query, page, page.number + 1)}>; rel="next"')
    return " , ".join(parts)


def raw_path() -> str:
    """The request path exactly as sent (percent-encoding kept, e.g. `a%252Fb`)."""
    raw = str(request.environ.get("RAW_URI") or request.full_path)
    return raw.split("?", 1)[0]


def paged(items: Sequence[Any], page: Page) -> Response:
    """A JSON list response for one page with `X-Total-Count` and `Link`."""
    response = jsonify(page.slice(items))
    response.headers["X-Total-Count"] = str(len(items))
    link = links(raw_path(), list(request.args.items(multi=True)), len(items), page)
    if link:
        response.headers["Link"] = link
    return response
