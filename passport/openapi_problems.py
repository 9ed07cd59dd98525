"""The OpenAPI document says what the service really answers: every error is RFC 9457.

Any route can answer a problem (a bad token is 401 before the route runs, a body over the
limit 413, an unknown method 405, a database that cannot be read 503), so every operation
gets a ``default`` response of ``application/problem+json`` with the :data:`PROBLEM_SCHEMA`
component, and FastAPI's automatic 422 "Validation Error" (a body this service never
sends: bad parameters are a 400 problem, ``passport.app``) becomes that 400. Routes
declare their own successes and the problems they are known for with
:func:`problem_responses`. ``tests/passport/test_schemathesis.py`` holds responses to
the document.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from passport.problems import MEDIA_TYPE, TITLES, TYPE_BASE

PROBLEM_REF = "#/components/schemas/Problem"
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; extension members (rule, index, head, ai, "
    f"limit, errors...) as the problem's type says. type is {TYPE_BASE}<slug>.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
    "additionalProperties": True,
}
_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def problem_content(schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """A response's ``content`` for a problem (``schema``: a narrower one than Problem)."""
    return {MEDIA_TYPE: {"schema": schema or {"$ref": PROBLEM_REF}}}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for problems a route answers, by status."""
    return {
        status: {"description": TITLES.get(status, "Error"), "content": problem_content()}
        for status in statuses
    }


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` declare problems as described above (built once, cached by
    FastAPI as before)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = generate()
        components = document.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = PROBLEM_SCHEMA
        for operations in document.get("paths", {}).values():
            for operation in operations.values():
                if isinstance(operation, dict) and "responses" in operation:
                    _declare_problems(operation["responses"])
        if not _still_referenced(document):
            for name in _VALIDATION_SCHEMAS:
                components.pop(name, None)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def _declare_problems(responses: dict[str, Any]) -> None:
    validation = responses.get("422")
    if validation is not None and _is_validation_error(validation):
        del responses["422"]
        responses.setdefault("400", {"description": TITLES[400], "content": problem_content()})
    responses.setdefault(
        "default",
        {"description": "A problem (RFC 9457): see the type", "content": problem_content()},
    )


def _is_validation_error(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def _still_referenced(document: dict[str, Any]) -> bool:
    text = repr(document.get("paths", {}))
    return any(f"/{name}'" in text for name in _VALIDATION_SCHEMAS)
