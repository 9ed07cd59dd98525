"""The documents the records are read with: JSON-LD contexts and JSON Schemas over HTTP.

``GET /contexts`` lists the contexts the project publishes (``schemas/contexts/index.json``:
``https://w3id.org/bpl/v1``, ``.../v2``), each at ``GET /contexts/{name}``, its name the
URL's path (``bpl/v2``), so that a permanent redirect from w3id.org can point here. They
are served byte for byte as shipped, ``application/ld+json``, with an ETag and a long
public cache: a context is what signatures were made against, and changes only with a
release. ``GET /schemas`` lists the record kinds per version of the record format;
``GET /schemas/{kind}?version=v1|v2`` (default: the current version) is a kind's JSON
Schema (``application/schema+json``), the one admission validates with.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import orjson
from fastapi import FastAPI, Request
from starlette.responses import Response

import schemas
from passport.openapi_problems import problem_responses
from passport.problems import Problem

CONTEXT_TYPE = "application/ld+json"
SCHEMA_TYPE = "application/schema+json"
CACHE = "public, max-age=604800"
"""A week: documents change only with a release, and the ETag revalidates them."""
_INDEX = "contexts/index.json"


@functools.cache
def context_files() -> Mapping[str, tuple[str, bytes]]:
    """Name (the URL's path, ``bpl/v2``) -> (URL, the file's bytes), for every context
    the project's index lists."""
    folder = resources.files("schemas")
    index = json.loads(folder.joinpath(_INDEX).read_text(encoding="utf-8"))
    found = {}
    for url, file_name in index.items():
        name = urlsplit(url).path.strip("/")
        found[name] = (url, folder.joinpath(f"contexts/{file_name}").read_bytes())
    return found


@functools.cache
def schema_bytes(kind: str, version: str) -> bytes:
    """A kind's JSON Schema as served (made once per kind and version)."""
    return orjson.dumps(schemas.schema(kind, version), option=orjson.OPT_INDENT_2)


def etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:32] + '"'


def cached(request: Request, data: bytes, media_type: str) -> Response:
    """``data`` with its ETag and public cache; 304 when the client holds it already."""
    tag = etag(data)
    headers = {"ETag": tag, "Cache-Control": CACHE}
    wanted = request.headers.get("if-none-match", "")
    if tag in {value.strip().removeprefix("W/") for value in wanted.split(",")} or (
        wanted.strip() == "*"
    ):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)


def _document(media_type: str) -> dict[str, Any]:
    return {"content": {media_type: {"schema": {"type": "object"}}}}


_NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "The client's copy (If-None-Match) is current"}
}


def install(app: FastAPI) -> None:
    """Add the contexts' and schemas' routes to ``app``."""

    @app.get(
        "/contexts",
        tags=["documents"],
        responses={200: {"description": "The contexts the project publishes"}},
    )
    def list_contexts(request: Request) -> Response:
        """The JSON-LD contexts the project publishes: URL -> where they are served."""
        base = str(request.base_url).rstrip("/")
        body = {url: f"{base}/contexts/{name}" for name, (url, _) in context_files().items()}
        return Response(
            orjson.dumps({"contexts": body}),
            media_type="application/json",
            headers={"Cache-Control": CACHE},
        )

    @app.get(
        "/contexts/{name:path}",
        tags=["documents"],
        responses={200: _document(CONTEXT_TYPE), **_NOT_MODIFIED, **problem_responses(404)},
    )
    def get_context(name: str, request: Request) -> Response:
        """A JSON-LD context the project publishes, as shipped (``bpl/v1``, ``bpl/v2``)."""
        found = context_files().get(name.strip("/"))
        if found is None:
            known = ", ".join(sorted(context_files()))
            raise Problem(404, "not-found", f"no context by that name (there are: {known})")
        return cached(request, found[1], CONTEXT_TYPE)

    @app.get(
        "/schemas",
        tags=["documents"],
        responses={200: {"description": "The record kinds of each version"}},
    )
    def list_schemas(request: Request) -> Response:
        """The record kinds of each version of the record format, with their schemas."""
        base = str(request.base_url).rstrip("/")
        body = {
            "current": schemas.CURRENT,
            "versions": {
                version: {
                    kind: f"{base}/schemas/{kind}?version={version}"
                    for kind in schemas.kinds(version)
                }
                for version in schemas.VERSIONS
            },
        }
        return Response(
            orjson.dumps(body), media_type="application/json", headers={"Cache-Control": CACHE}
        )

    @app.get(
        "/schemas/{kind}",
        tags=["documents"],
        responses={
            200: _document(SCHEMA_TYPE),
            **_NOT_MODIFIED,
            **problem_responses(400, 404),
        },
    )
    def get_schema(kind: str, request: Request, version: str = schemas.CURRENT) -> Response:
        """The JSON Schema of a record kind (``?version=v1|v2``, default the current)."""
        if version not in schemas.VERSIONS:
            raise Problem(
                400,
                "invalid-request",
                f"version is one of {', '.join(schemas.VERSIONS)}",
            )
        if kind not in schemas.kinds(version):
            where = "" if kind not in schemas.KINDS else f" in version {version}"
            raise Problem(404, "not-found", f"no record kind {kind[:64]!r}{where}")
        return cached(request, schema_bytes(kind, version), SCHEMA_TYPE)
