"""Fixtures of the service's tests: demo ledgers on SQLite and PostgreSQL, the app over
each, and a bearer token for every reader role.

The PostgreSQL database is made here (not with tests/ledger's fixtures, which are the
ledger's): one per module and engine, dropped afterwards, on ``$BPL_TEST_POSTGRES_URL``
(default: the local server, user postgres). PostgreSQL being unreachable fails the tests;
``BPL_TEST_SKIP_POSTGRES=1`` skips them (CI does not set it).
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from ledger.core.access import READER_ROLES
from ledger.demo import DemoSummary, _Demo, run_demo
from ledger.facade import Ledger
from passport.access_log import AccessLog
from passport.app import create_app
from passport.tokens import TokenStore
from signing import keys
from signing.keys import KeyPair

POSTGRES_ADMIN_URL = os.environ.get(
    "BPL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ORIGIN = "passport.bpl.example/log"
BATTERIES = 30
SEED = 17
_counter = itertools.count()


@dataclass
class Service:
    """A demo ledger, the app over it, and a token per reader role."""

    ledger: Ledger
    operator: KeyPair
    summary: DemoSummary
    client: TestClient
    tokens: TokenStore
    engine: str
    role_tokens: dict[str, str] = field(default_factory=dict)
    role_dids: dict[str, str] = field(default_factory=dict)
    role_keys: dict[str, KeyPair] = field(default_factory=dict)
    """The key pair of each role's actor (the demo's), to sign requests as it."""
    access: AccessLog | None = None
    """The access log the app records restricted reads in."""

    def as_role(self, role: str | None) -> dict[str, str]:
        """Headers of a request made by a reader of ``role`` (None: the public)."""
        if role is None:
            return {}
        return {"Authorization": f"Bearer {self.role_tokens[role]}"}


def _postgres_database() -> str:
    # The pid, a count and a random part: the module may be imported twice (as the
    # conftest plugin and by the modules that import its fixtures), each with a count.
    name = f"bpl_test_passport_{os.getpid()}_{next(_counter)}_{secrets.token_hex(4)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop(name: str) -> None:
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_service(directory: Path, engine: str) -> Iterator[Service]:
    """A demo ledger in ``directory`` on ``engine`` and the service over it."""
    name = None
    if engine == "postgresql" and os.environ.get("BPL_TEST_SKIP_POSTGRES"):
        pytest.skip("BPL_TEST_SKIP_POSTGRES is set")
    # $DATABASE_URL only while the ledger is made: the fixture lives for a module (or
    # several), and other tests in the worker meanwhile make ledgers of their own.
    with pytest.MonkeyPatch.context() as patch:
        if engine == "postgresql":
            name = _postgres_database()
            patch.setenv("DATABASE_URL", f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}")
        else:
            patch.delenv("DATABASE_URL", raising=False)
        operator = keys.generate()
        try:
            ledger = Ledger.init(directory / "data", operator, origin=ORIGIN)
        except BaseException:
            if name is not None:
                _drop(name)
            raise
    try:
        summary = run_demo(ledger, operator, batteries=BATTERIES, seed=SEED)
        tokens = TokenStore.in_directory(directory / "data")
        access = AccessLog.in_directory(directory / "data")
        service = Service(
            ledger,
            operator,
            summary,
            TestClient(create_app(ledger, tokens=tokens, access=access)),
            tokens,
            engine,
            access=access,
        )
        demo_keys = {key.did: key for key in _Demo(operator, 0, SEED).keys.values()}
        for actor in ledger.actors():
            for role in actor.roles:
                if role in READER_ROLES and role not in service.role_tokens:
                    service.role_tokens[role], _ = tokens.issue(actor.did, label=role)
                    service.role_dids[role] = actor.did
                    service.role_keys[role] = (
                        operator if actor.did == operator.did else demo_keys[actor.did]
                    )
        assert set(service.role_tokens) == set(READER_ROLES)
        yield service
    finally:
        ledger.close()
        if name is not None:
            _drop(name)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    """A demo ledger and the service over it, on each engine (one per test module)."""
    yield from make_service(tmp_path_factory.mktemp(request.param), request.param)


@pytest.fixture(scope="module")
def sqlite_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The service over a demo ledger on SQLite alone (for tests of the HTTP layer)."""
    yield from make_service(tmp_path_factory.mktemp("sqlite"), "sqlite")
