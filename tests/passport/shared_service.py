"""A demo service shared by the test modules that only read (the VC API, the documents,
the proof routes, HEAD and OPTIONS, schemathesis): built once per session and engine
instead of once per module. A test that appends records uses conftest's ``service``.

Import the fixtures a module uses from here (pytest finds them in its namespace). pytest
makes a fixture imported into several modules once per module, so the services are kept
here, made by the first module that asks, and closed at the end of the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.passport.conftest import Service, make_service

_made: dict[str, Service] = {}


def _shared(engine: str, factory: pytest.TempPathFactory) -> Iterator[Service]:
    if engine in _made:
        yield _made[engine]
        return
    for service in make_service(factory.mktemp(f"read-only-{engine}"), engine):
        _made[engine] = service
        try:
            yield service
        finally:
            del _made[engine]


@pytest.fixture(scope="session")
def read_only_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The demo service on SQLite; tests must not change its ledger."""
    yield from _shared("sqlite", tmp_path_factory)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def read_only_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """The demo service on each engine; tests must not change its ledger."""
    yield from _shared(request.param, tmp_path_factory)
