"""Reading a request's body within ``max_body_bytes``, however it is sent.

Werkzeug refuses a ``Content-Length`` over the limit with 413, but a body sent
without one (``Transfer-Encoding: chunked``) is only cut at the limit, and the
cut reads like a whole body: a JSON prefix would be acted on. Reading one byte
past the limit tells a body that fits from one that doesn't.
"""

from __future__ import annotations

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge


def read_body(*, cache: bool = False) -> bytes:
    """The whole body of the current request (`cache`: keep it on the request).

    Raises `RequestEntityTooLarge` (413) for a body longer than the limit.
    """
    limit = request.max_content_length
    if limit is None:
        return request.get_data(cache=cache)
    request.max_content_length = limit + 1  # before the stream is opened
    try:
        body = request.get_data(cache=cache)
    finally:
        request.max_content_length = limit
    if len(body) > limit:
        raise RequestEntityTooLarge()
    return body
