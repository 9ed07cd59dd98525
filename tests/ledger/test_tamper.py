"""The audit against an outside tamperer (issue 14): every stored value of every table is
either held to the signed log by the audit or on the documented unchecked list.

A ledger built by ``bpl demo``'s generator (plus registered grading policies and a revoked
key, so that every table has rows) is copied fresh for each edit: one bit of a binary
value, one character of a text, one number, a boolean, a time; a deleted row, two rows'
values swapped, a forged row. After each, opening the copy by its URL (as an auditor
does) must fail with a LedgerError or its audit must report; the audit never crashes.
Edits of a column ``docs/ledger.md`` lists as unchecked only must not crash it.
On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from ledger.demo import run_demo
from ledger.errors import LedgerError
from ledger.facade import Ledger
from ledger.storage import tables  # noqa: F401 (the models register their tables
from signing import keys
from tests.ledger.conftest import POSTGRES_ADMIN_URL
from tests.ledger.world import STRICT_POLICY, policy_file

DOCS = Path(__file__).parents[2] / "docs" / "ledger.md"
_ROW = re.compile(r"^\| `(\w+)` \| `(\w+)` \| (checked|unchecked) \| (.+) \|$")
_counter = itertools.count()


def documented() -> dict[tuple[str, str], str]:
    """``docs/ledger.md``'s table of stored columns: (table, column) -> checked/unchecked."""
    found = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if match:
            found[match[1], match[2]] = match[3]
    return found


def stored_columns(engine: sa.Engine) -> set[tuple[str, str]]:
    """Every column of every table in a ledger's database, as the database has them."""
    inspector = sa.inspect(engine)
    return {
        (table, column["name"])
        for table in inspector.get_table_names()
        for column in inspector.get_columns(table)
    }


def test_every_column_is_documented_as_checked_or_unchecked() -> None:
    """A new column fails here until docs/ledger.md says whether the audit holds it to the
    log (and the tamper test below then edits it), or why nothing needs to."""
    models = {(t.name, c.name) for t in SQLModel.metadata.tables.values() for c in t.columns}
    models.add(("alembic_version", "version_num"))
    assert set(documented()) == models


@dataclass(frozen=True)
class Built:
    """The demo ledger a module builds once per engine, and how to copy it."""

    kind: str
    url: str
    directory: Path

    def copy(self, tmp_path: Path) -> str:
        """A fresh copy's URL."""
        if self.kind == "sqlite":
            target = tmp_path / "copy.db"
            shutil.copyfile(self.directory / "ledger.db", target)
            return f"sqlite:///{target}"
        name = f"bpl_tamper_{os.getpid()}_{next(_counter)}"
        template = self.url.rsplit("/", 1)[1]
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return f"{self.url.rsplit('/', 1)[0]}/{name}"

    def drop(self, url: str) -> None:
        if self.kind == "postgresql":
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Built]:
    directory = tmp_path_factory.mktemp("tamper") / "data"
    with pytest.MonkeyPatch.context() as monkeypatch:
        if request.param == "sqlite":
            monkeypatch.delenv("DATABASE_URL", raising=False)
            url = f"sqlite:///{directory / 'ledger.db'}"
        else:
            if os.environ.get("BPL_TEST_SKIP_POSTGRES"):
                pytest.skip("BPL_TEST_SKIP_POSTGRES is set")
            name = f"bpl_tamper_base_{os.getpid()}"
            with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'CREATE DATABASE "{name}"')
            url = f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
            monkeypatch.setenv("DATABASE_URL", url)
        operator = keys.generate()
        ledger = Ledger.init(directory, operator, origin="tamper.bpl.example/log")
        run_demo(ledger, operator, batteries=4, seed=14)
        policies = directory.parent / "policies"
        policies.mkdir()
        ledger.add_grading_policy(operator, policy_file(policies))
        ledger.add_grading_policy(
            operator, policy_file(policies, dict(STRICT_POLICY, version="2025.2"))
        )
        spare = keys.generate()
        ledger.add_key(operator, operator.did, spare.did + "#" + spare.did.split(":")[-1])
        ledger.revoke_key(
            operator, operator.did, spare.did + "#" + spare.did.split(":")[-1], "superseded"
        )
        assert ledger.audit().ok
        ledger.engine.dispose()
    built = Built(request.param, url, directory)
    yield built
    built.drop(url)


@dataclass(frozen=True)
class Edit:
    """One edit of the stored ledger: ``statement`` with ``params``, on ``table``."""

    name: str
    table: str
    column: str | None
    statement: str
    params: dict[str, Any]


def _changed(value: Any) -> Any:
    """One small change of a stored value: a bit, a character, a number, a truth, a second."""
    if value is None:
        return "x"
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, bytes | memoryview):
        data = bytearray(bytes(value))
        data[len(data) // 2] ^= 1
        return bytes(data)
    if isinstance(value, str):
        middle = len(value) // 2
        if not value:
            return "x"
        return value[:middle] + ("y" if value[middle] != "y" else "z") + value[middle + 1 :]
    if hasattr(value, "tzinfo"):
        return value + timedelta(seconds=1)
    raise TypeError(f"no edit for {type(value).__name__}")


def _forged_key(value: Any) -> Any:
    """A key value no row has: far beyond for numbers, another text for texts."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value + 1_000  # beyond every row of a small ledger, within a smallint
    return _changed(value)


def edits(url: str) -> list[Edit]:
    """Every edit of the ledger at ``url``: per column one value changed (in the middle row
    by key), per table a row deleted, two rows' values swapped, a row forged."""
    engine = sa.create_engine(url)
    found: list[Edit] = []
    try:
        inspector = sa.inspect(engine)
        with engine.connect() as connection:
            for table in sorted(inspector.get_table_names()):
                keys_ = inspector.get_pk_constraint(table)["constrained_columns"] or [
                    c["name"] for c in inspector.get_columns(table)
                ]
                columns = [c["name"] for c in inspector.get_columns(table)]
                order = ", ".join(f'"{k}"' for k in keys_)
                rows = connection.execute(sa.text(f'SELECT * FROM "{table}" ORDER BY {order}'))
                stored = [dict(row._mapping) for row in rows]
                if not stored:
                    continue
                middle = stored[len(stored) // 2]
                where = " AND ".join(f'"{k}" = :key_{k}' for k in keys_)
                at = {f"key_{k}": middle[k] for k in keys_}
                for column in columns:
                    found.append(
                        Edit(
                            f"{table}.{column}",
                            table,
                            column,
                            f'UPDATE "{table}" SET "{column}" = :value WHERE {where}',
                            {**at, "value": _changed(middle[column])},
                        )
                    )
                found.append(
                    Edit(
                        f"{table}:deleted", table, None, f'DELETE FROM "{table}" WHERE {where}', at
                    )
                )
                names = ", ".join(f'"{c}"' for c in columns)
                markers = ", ".join(f":new_{c}" for c in columns)
                forged = {f"new_{c}": middle[c] for c in columns}
                for k in keys_:
                    forged[f"new_{k}"] = _forged_key(middle[k])
                found.append(
                    Edit(
                        f"{table}:forged",
                        table,
                        None,
                        f'INSERT INTO "{table}" ({names}) VALUES ({markers})',
                        forged,
                    )
                )
                other = stored[0] if stored[0] != middle else stored[-1]
                values = [c for c in columns if c not in keys_ and other[c] != middle[c]]
                if other is not middle and values:
                    # The rows' non-key values swapped: every key keeps a row.
                    where_other = " AND ".join(f'"{k}" = :other_{k}' for k in keys_)
                    sets = ", ".join(f'"{c}" = :v_{c}' for c in values)
                    found.append(
                        Edit(
                            f"{table}:swapped",
                            table,
                            None,
                            f'UPDATE "{table}" SET {sets} WHERE {where}; UPDATE "{table}" SET '
                            f"{sets.replace(':v_', ':w_')} WHERE {where_other}",
                            {
                                **at,
                                **{f"other_{k}": other[k] for k in keys_},
                                **{f"v_{c}": other[c] for c in values},
                                **{f"w_{c}": middle[c] for c in values},
                            },
                        )
                    )
    finally:
        engine.dispose()
    return found


def _apply(url: str, edit: Edit) -> bool:
    """Apply ``edit``; False if the database itself refuses it (nothing changed then)."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            for statement in edit.statement.split("; "):
                connection.execute(sa.text(statement), edit.params)
        return True
    except (sa.exc.IntegrityError, sa.exc.DataError):
        return False
    finally:
        engine.dispose()


def _verdict(url: str) -> str:
    """What an auditor with the database URL learns: ``refused`` (it does not open),
    ``reported`` (the audit names something) or ``clean``."""
    try:
        ledger = Ledger.open(url, writable=False)
    except LedgerError:
        return "refused"
    try:
        report = ledger.audit()
    finally:
        ledger.engine.dispose()
    return "clean" if report.ok else "reported"


@pytest.fixture(scope="module")
def cases(built: Built, tmp_path_factory: pytest.TempPathFactory) -> list[Edit]:
    """Every edit of the module's ledger (read from a copy on PostgreSQL: a database being
    read cannot be a template)."""
    base = built.copy(tmp_path_factory.mktemp("base")) if built.kind == "postgresql" else built.url
    try:
        return edits(base)
    finally:
        if base != built.url:
            built.drop(base)


def test_the_edits_cover_every_documented_column(cases: list[Edit]) -> None:
    assert {(e.table, e.column) for e in cases if e.column} == set(documented())


# One test per table (each of its edits on a fresh copy), so that parallel workers share
# the copies and audits; every documented table is one, and the test above holds the edits
# to every documented column.
@pytest.mark.parametrize("table", sorted({table for table, _ in documented()}))
def test_the_audit_reports_every_edit_of_a_checked_column(
    built: Built, cases: list[Edit], table: str, tmp_path: Path
) -> None:
    listed = documented()
    of_table = [edit for edit in cases if edit.table == table]
    assert of_table, f"no edit of {table}: the demo ledger leaves it empty"
    missed = []
    for number, edit in enumerate(of_table):
        (tmp_path / str(number)).mkdir()
        url = built.copy(tmp_path / str(number))
        try:
            if not _apply(url, edit):
                continue  # the database refused the edit: nothing to find
            verdict = _verdict(url)
        finally:
            built.drop(url)
        unchecked = edit.column is not None and listed[edit.table, edit.column] == "unchecked"
        if verdict == "clean" and not unchecked:
            missed.append(edit.name)
    assert missed == []
