"""RFC 9457 problem details: every error the service answers is one.

A :class:`Problem` raised anywhere in a route becomes an ``application/problem+json``
response with ``type``, ``title``, ``status`` and ``detail``, and the extension members a
problem carries (``rule`` for a refused record, ``head`` for a stale one, ``index`` for a
batch). ``type`` is a URI under :data:`TYPE_BASE` naming the kind of problem; the
problem kinds are listed in docs/service.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

TYPE_BASE = "https://w3id.org/bpl/problems/"
"""Where the problem types live: ``type`` is this followed by the problem's slug."""
MEDIA_TYPE = "application/problem+json"

TITLES: Mapping[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Problem(Exception):  # noqa: N818 (an RFC 9457 "problem", answered as one)
    """An error answered as RFC 9457 problem details.

    ``slug`` names the problem type (``type`` is :data:`TYPE_BASE` + slug); ``extra`` holds
    extension members (``rule``, ``head``, ``index``...); ``headers`` go on the response
    (``WWW-Authenticate`` for a 401, ``Allow`` for a 405); ``members`` and keyword
    arguments both become extension members."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        title: str | None = None,
        headers: Mapping[str, str] | None = None,
        members: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.title = title or TITLES.get(status, "Error")
        self.headers = dict(headers or {})
        self.extra = {**(members or {}), **extra}

    def body(self, instance: str | None = None) -> dict[str, Any]:
        """The problem details object."""
        document: dict[str, Any] = {
            "type": TYPE_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance is not None:
            document["instance"] = instance
        document.update(self.extra)
        return document

    def response(self, instance: str | None = None) -> Response:
        headers = {"Cache-Control": "no-store", **self.headers}
        return Response(
            orjson.dumps(self.body(instance)),
            status_code=self.status,
            media_type=MEDIA_TYPE,
            headers=headers,
        )


def problem_response(
    status: int, slug: str, detail: str, *, instance: str | None = None, **extra: Any
) -> Response:
    """A problem details response without raising."""
    return Problem(status, slug, detail, **extra).response(instance)
