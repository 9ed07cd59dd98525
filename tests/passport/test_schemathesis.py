"""schemathesis against the service's own OpenAPI document, over a demo ledger: for every
operation, requests generated from the document (valid ones, then invalid ones) get no 5xx
and a response the document declares (status code, content type, body schema).

Examples are bounded (:data:`EXAMPLES` per operation and mode) so that the whole runs in
seconds; ``$BPL_SCHEMATHESIS_EXAMPLES`` raises them for a deeper run."""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.passport.conftest import Service
from tests.passport.shared_service import read_only_sqlite  # noqa: F401 (a fixture)

EXAMPLES = {
    GenerationMode.POSITIVE: int(os.environ.get("BPL_SCHEMATHESIS_EXAMPLES", "10")),
    GenerationMode.NEGATIVE: int(os.environ.get("BPL_SCHEMATHESIS_EXAMPLES", "3")),
}
"""Examples per operation: invalid requests cost the most to make (schemathesis draws many
before it finds one the document forbids), and each invalid path is much like another."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
"""What is checked of every response. Not schemathesis's positive_data_acceptance: a
document cannot say which strings are signed records or existing hashes, so a request it
calls valid may rightly be refused (a 400 for a record that is no record)."""


def failures_of(operation: Any, mode: GenerationMode) -> list[str]:
    """What went wrong for one operation in one generation mode (empty: nothing)."""
    found: list[str] = []

    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        try:
            case.call_and_validate(checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # every operation is reported
            found.append(f"{operation.label} ({mode.value}): {str(exc).strip()[:1500]}")

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (an operation without parameters)
        assert mode is GenerationMode.NEGATIVE, operation.label
    return found


def test_every_response_conforms_to_the_openapi_document(
    read_only_sqlite: Service,  # noqa: F811 (the fixture imported)
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", read_only_sqlite.client.app)
    results = list(schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in results), results
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) >= 15
    failures: list[str] = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += failures_of(operation, mode)
    assert not failures, "\n\n".join(failures)


def test_the_document_declares_problems(read_only_sqlite: Service) -> None:  # noqa: F811
    document = read_only_sqlite.client.get("/openapi.json").json()
    assert "Problem" in document["components"]["schemas"]
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for template, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses or "HTTPValidationError" not in str(responses), (
                template,
                method,
            )
            default = responses["default"]["content"]
            assert list(default) == ["application/problem+json"], (template, method)
