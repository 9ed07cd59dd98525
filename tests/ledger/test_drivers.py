"""One driver per database engine (issue 15): what differs between SQLite and PostgreSQL
lives in ``ledger.storage.sqlite_driver`` (with its WAL checkpoint thread,
``ledger.storage.sqlite_wal``) and ``ledger.storage.postgres_driver``; every other module
asks its connection's driver and branches on no engine.

Import-linter keeps ``sqlite3`` and ``psycopg`` in the drivers (``.importlinter``,
contract ``engines-in-their-drivers``); it cannot see a branch on a dialect's name, an
engine's own SQL in a string, or a URL scheme tested by hand: this test reads the code for
them. Migrations (``ledger/storage/migrations/versions``) are left out: each is a frozen
record of what was run on databases, written for both engines on its own, and never
changes with the code.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import sqlalchemy as sa

from ledger.storage import database
from ledger.storage.driver import Driver
from ledger.storage.postgres_driver import POSTGRES
from ledger.storage.sqlite_driver import SQLITE

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("signing", "schemas", "ledger", "passport", "cli")
DRIVER_MODULES = {
    "ledger/storage/sqlite_driver.py",
    "ledger/storage/sqlite_wal.py",
    "ledger/storage/postgres_driver.py",
}
FROZEN = "ledger/storage/migrations/versions/"

ENGINE_NAMES = {"sqlite", "postgresql", "postgres", "qmark", "pyformat", "format"}
"""Dialect, backend and parameter-style names: compared with, they are a branch."""
ENGINE_SQL = ("PRAGMA", "BEGIN IMMEDIATE", "FOR UPDATE", "unnest(", "ANY(", "%b::")
"""SQL (and parameter markers) that only one of the two engines speaks."""
CHOSEN_HERE = {("ledger/storage/database.py", "reads get_backend_name")}
"""Where the driver is chosen, once per engine: by the URL's backend name."""
ENGINE_SCHEMES = ("sqlite:", "postgresql:", "postgresql+", "postgres:")
"""URL schemes: a string starting with one names (or tests for) an engine."""


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the string constants that are docstrings (of modules, classes,
    functions, and the attribute docstrings that follow an assignment)."""
    found: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for statement in body:
            if (
                isinstance(statement, ast.Expr)
                and isinstance(statement.value, ast.Constant)
                and isinstance(statement.value.value, str)
            ):
                found.add(id(statement.value))
    return found


def engine_branches(source: str) -> list[str]:
    """Each place in ``source`` that tests which engine it runs on, or writes what only
    one engine speaks: ``line: what``."""
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        where = getattr(node, "lineno", 0)
        if (
            isinstance(node, ast.Attribute)
            and node.attr in {"name", "paramstyle"}
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "dialect"
        ):
            found.append(f"{where}: reads the dialect's {node.attr}")
        elif isinstance(node, ast.Attribute) and node.attr in {"paramstyle", "get_backend_name"}:
            found.append(f"{where}: reads {node.attr}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "replace"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == "?"
        ):
            found.append(f"{where}: rewrites the ? markers")
        elif isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                if isinstance(operand, ast.Constant) and operand.value in ENGINE_NAMES:
                    found.append(f"{where}: compares with {operand.value!r}")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            for sql in ENGINE_SQL:
                if sql in node.value:
                    found.append(f"{where}: writes {sql!r}")
            if node.value.startswith(ENGINE_SCHEMES):
                found.append(f"{where}: names the URL scheme {node.value!r}")
    return found


def _modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def test_no_module_but_the_drivers_branches_on_the_engine() -> None:
    branches = {}
    for path in _modules():
        name = path.relative_to(ROOT).as_posix()
        if name in DRIVER_MODULES or name.startswith(FROZEN):
            continue
        found = [
            line
            for line in engine_branches(path.read_text(encoding="utf-8"))
            if (name, line.split(": ", 1)[1]) not in CHOSEN_HERE
        ]
        if found:
            branches[name] = found
    assert branches == {}


def test_the_drivers_are_where_the_engines_differ() -> None:
    """The search finds what it looks for: every driver module has such code."""
    for name in DRIVER_MODULES - {"ledger/storage/sqlite_wal.py"}:
        assert engine_branches((ROOT / name).read_text(encoding="utf-8")), name


@pytest.mark.parametrize(
    ("code", "what"),
    [
        ('if connection.dialect.name == "postgresql": pass', "reads the dialect's name"),
        ("qmark = engine.dialect.paramstyle", "reads the dialect's paramstyle"),
        ("backend = url.get_backend_name()", "reads get_backend_name"),
        ('if kind != "sqlite": pass', "compares with 'sqlite'"),
        ('statement = "SELECT 1 FROM t FOR UPDATE"', "writes 'FOR UPDATE'"),
        ('cursor.execute("PRAGMA journal_mode = WAL")', "writes 'PRAGMA'"),
        ('sql = "x = ANY(%b::text[])"', "writes 'ANY('"),
        ('sql = statement.replace("?", "%s")', "rewrites the ? markers"),
        ('prefix = "sqlite:///"', "names the URL scheme 'sqlite:///'"),
    ],
)
def test_the_search_finds_each_kind_of_branch(code: str, what: str) -> None:
    assert what in [line.split(": ", 1)[1] for line in engine_branches(code)]


def test_docstrings_and_comments_may_name_the_engines() -> None:
    code = '"""On SQLite BEGIN IMMEDIATE, on PostgreSQL SELECT ... FOR UPDATE."""\n# PRAGMA\n'
    assert engine_branches(code) == []


@pytest.mark.parametrize("driver", [SQLITE, POSTGRES], ids=["sqlite", "postgresql"])
def test_each_driver_is_chosen_for_its_engine(driver: Driver, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}" if driver is SQLITE else "postgresql://u@h/db"
    engine = database.create_engine(url)
    try:
        assert database.driver_for(engine.dialect) is driver
        assert isinstance(engine.dialect, sa.Dialect)
    finally:
        database.dispose(engine)


def test_each_driver_starts_with_its_crash_behaviour() -> None:
    """A short note of what a crash mid-commit leaves, pointing to docs/log.md."""
    for name in DRIVER_MODULES - {"ledger/storage/sqlite_wal.py"}:
        doc = ast.get_docstring(ast.parse((ROOT / name).read_text(encoding="utf-8"))) or ""
        assert "Crash behaviour (docs/log.md" in doc, name
        assert "crash" in doc.split("Crash behaviour", 1)[1].lower(), name
