"""Opening a ledger by database URL (its identity recorded in the database) and through
a data directory (refused on another log's database), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from ledger import identity
from ledger.core import records
from ledger.datadir import DataDir
from ledger.errors import LedgerError
from ledger.facade import Ledger
from ledger.log import TransparencyLog, checkpoint, merkle
from ledger.storage import database as store
from signing import keys, note, secret_files
from tests.ledger.conftest import ORIGIN
from tests.ledger.world import World

OTHER_ORIGIN = "other.bpl.example/log"
PASSPORT = "urn:bpl:passport:3d0c8f4e-6a2b-4c1d-9e8f-0a1b2c3d4e5f"


@pytest.fixture
def world(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A ledger (data directory ``tmp_path / "data"``) whose database is at
    ``database_url``, with a manufacturer, a dismantler and one issued passport."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv(identity.SIGNER_KEY_FILE_ENV, raising=False)
    operator = keys.generate()
    world = World(Ledger.init(tmp_path / "data", operator, origin=ORIGIN), operator)
    world.add("maker", "manufacturer")
    world.add("dismantler", "dismantler")
    world.issue(PASSPORT)
    yield world
    world.ledger.engine.dispose()


@pytest.fixture
def opened() -> Iterator[list[Ledger]]:
    """Ledgers a test opens, disposed of after it."""
    ledgers: list[Ledger] = []
    yield ledgers
    for ledger in ledgers:
        ledger.engine.dispose()


def secret_of(data: Path) -> str:
    """The base64 seed of the data directory's signer key: must never be shown."""
    return (data / "log.key").read_text().strip().split("+", 4)[4]


def state(url: str) -> dict[str, Any]:
    """What a refused opener must leave as it was: revision, identity, checkpoints, records."""
    engine = store.create_engine(url)
    try:
        with engine.connect() as connection:
            count = connection.exec_driver_sql
            found = {
                "revision": store.current_revision(engine),
                "checkpoints": count("SELECT count(*) FROM log_checkpoints").scalar(),
                "records": count("SELECT count(*) FROM ledger_records").scalar(),
                "latest": count("SELECT max(size) FROM log_checkpoints").scalar(),
            }
        if found["revision"] == store.head_revision():
            found["identity"] = identity.read(engine)
        return found
    finally:
        engine.dispose()


# -- by URL ---------------------------------------------------------------------------


def test_a_database_url_opens_read_only_and_audits(
    world: World, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opened
) -> None:
    monkeypatch.delenv("DATABASE_URL")  # the URL alone: no data directory, no environment
    reader = Ledger.open(database_url, writable=False)
    opened.append(reader)
    assert reader.log.origin == ORIGIN
    assert reader.verifier_key == (tmp_path / "data" / "log.pub").read_text().strip()
    audit = reader.audit()
    assert audit.ok and audit.records == world.ledger.log.size(), audit
    chain = reader.verify_chain(PASSPORT)
    assert chain.ok and chain.records == 1, chain
    assert reader.chain(PASSPORT) == world.ledger.chain(PASSPORT)
    with pytest.raises(LedgerError, match="signer key"):
        reader.append(world.transfer_record(PASSPORT, "maker", "dismantler"))
    assert world.ledger.head(PASSPORT).sequence == 0


@pytest.mark.parametrize("given_as", ["argument", "environment"])
def test_a_database_url_opens_writable_with_the_log_key_file(
    world: World,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    opened,
    given_as: str,
) -> None:
    monkeypatch.delenv("DATABASE_URL")
    key_file = tmp_path / "data" / "log.key"
    if given_as == "argument":
        writer = Ledger.open(database_url, log_key=key_file)
    else:
        monkeypatch.setenv(identity.SIGNER_KEY_FILE_ENV, str(key_file))
        writer = Ledger.open(database_url)
    opened.append(writer)
    submission = world.transfer_record(PASSPORT, "maker", "dismantler")
    receipt = writer.append(submission)
    verifier = (tmp_path / "data" / "log.pub").read_text().strip()
    signed = checkpoint.verify(receipt.checkpoint, verifier, ORIGIN)
    receipt.inclusion.verify(signed.root)
    assert receipt.inclusion.leaf_hash == merkle.leaf_hash(records.canonical(submission["record"]))
    assert (receipt.leaf_index, signed.size) == (4, 5)  # after operator, 2 actors, the issue
    assert world.ledger.head(PASSPORT).sequence == 1  # the data directory's view agrees
    assert world.ledger.audit().ok


def test_another_logs_key_is_refused(
    world: World, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL")
    same_name, _ = note.generate(ORIGIN)  # another key that calls itself this log
    other_name, _ = note.generate(OTHER_ORIGIN)
    for name, key in (("same-name.key", same_name), ("other-name.key", other_name)):
        secret_files.write(tmp_path / name, (key + "\n").encode())
    with pytest.raises(LedgerError, match="is not the signer key of log") as same:
        Ledger.open(database_url, log_key=tmp_path / "same-name.key")
    with pytest.raises(LedgerError, match=r"signer key of log 'other\.bpl") as other:
        Ledger.open(database_url, log_key=tmp_path / "other-name.key")
    assert ORIGIN in str(other.value)
    secret_files.write(tmp_path / "public.key", (tmp_path / "data" / "log.pub").read_bytes())
    with pytest.raises(LedgerError, match="does not hold a log signer key"):
        Ledger.open(database_url, log_key=tmp_path / "public.key")
    for refused, key in ((same, same_name), (other, other_name)):
        assert key.split("+", 4)[4] not in str(refused.value)
    assert world.ledger.log.size() == 4


def test_a_key_file_others_may_read_is_refused(
    world: World, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL")
    loose = tmp_path / "loose.key"
    loose.write_text((tmp_path / "data" / "log.key").read_text())
    loose.chmod(0o644)
    with pytest.raises(LedgerError, match="accessible by group or others") as refused:
        Ledger.open(database_url, log_key=loose)
    assert secret_of(tmp_path / "data") not in str(refused.value)
    monkeypatch.setenv(identity.SIGNER_KEY_FILE_ENV, str(loose))
    with pytest.raises(LedgerError, match="chmod 600"):
        Ledger.open(database_url)


def test_writable_without_a_key_says_how_to_give_one(
    world: World, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.setenv(identity.SIGNER_KEY_FILE_ENV, "")
    with pytest.raises(LedgerError, match=r"log_key=<file> or set \$BPL_LOG_KEY_FILE") as refused:
        Ledger.open(database_url)
    assert "writable=False" in str(refused.value)


def test_a_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    garbage = tmp_path / "ledger.db"
    garbage.write_bytes(b"not a database, just text that is long enough " * 40)
    before = garbage.read_bytes()
    for writable in (False, True):
        with pytest.raises(LedgerError, match="cannot open the database"):
            Ledger.open(f"sqlite:///{garbage}", writable=writable, log_key=tmp_path / "x.key")
    assert garbage.read_bytes() == before


def test_an_empty_database_is_not_a_ledger_and_stays_empty(
    empty_database_url: str, tmp_path: Path
) -> None:
    if empty_database_url.startswith("sqlite"):
        with pytest.raises(LedgerError, match=r"no database file .* `bpl init`"):
            Ledger.open(empty_database_url, writable=False)
        assert not (tmp_path / "ledger.db").exists()  # not created by looking
        (tmp_path / "ledger.db").touch()  # an empty file: an empty database
        url = empty_database_url
    else:
        url = empty_database_url.replace("postgres@", "postgres:s3cret-pw@", 1)
    for writable in (False, True):
        with pytest.raises(LedgerError, match="holds no bpl ledger") as refused:
            Ledger.open(url, writable=writable, log_key=tmp_path / "unused.key")
        assert "bpl init" in str(refused.value) and "data directory" in str(refused.value)
        assert "s3cret-pw" not in str(refused.value)
    engine = store.create_engine(url)
    assert sa.inspect(engine).get_table_names() == []
    engine.dispose()


def test_a_database_without_identity_is_refused_by_url(
    world: World, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATABASE_URL")
    with world.ledger.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM log_identity")
    for writable in (False, True):
        with pytest.raises(LedgerError, match=r"without its log identity.*data directory"):
            Ledger.open(database_url, writable=writable, log_key=Path("/nonexistent"))


def test_a_data_directory_is_not_a_url_and_init_needs_one(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="log_key is for a database URL"):
        Ledger.open(tmp_path, log_key=tmp_path / "log.key")
    with pytest.raises(LedgerError, match="needs a data directory"):
        Ledger.init("sqlite:///" + str(tmp_path / "x.db"), keys.generate())
    assert list(tmp_path.iterdir()) == []


def test_no_secret_in_reprs(world: World, tmp_path: Path) -> None:
    secret = secret_of(tmp_path / "data")
    assert secret not in repr(world.ledger) + repr(world.ledger.log)


# -- through a data directory ---------------------------------------------------------


@pytest.mark.parametrize("other_origin", [OTHER_ORIGIN, ORIGIN])
def test_a_data_directory_on_another_logs_database_is_refused(
    world: World,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    other_origin: str,
) -> None:
    monkeypatch.delenv("DATABASE_URL")
    other = Ledger.init(tmp_path / "other", keys.generate(), origin=other_origin)  # SQLite
    other.engine.dispose()
    before = state(database_url)
    monkeypatch.setenv("DATABASE_URL", database_url)  # pointed at the first ledger's
    message = (
        f"holds log '{ORIGIN}', not log '{OTHER_ORIGIN}'"
        if other_origin != ORIGIN
        else f"holds another log named '{ORIGIN}'"
    )
    for writable in (True, False):
        with pytest.raises(LedgerError, match=message):
            Ledger.open(tmp_path / "other", writable=writable)
    with pytest.raises(LedgerError, match=message):
        DataDir(tmp_path / "other").open_log()
    assert state(database_url) == before


def test_init_refuses_a_database_that_holds_a_log(
    world: World, database_url: str, tmp_path: Path
) -> None:
    before = state(database_url)
    with pytest.raises(LedgerError, match=f"already holds log '{ORIGIN}'"):
        Ledger.init(tmp_path / "second", keys.generate(), origin=OTHER_ORIGIN)
    assert not (tmp_path / "second" / "log.key").exists()
    assert state(database_url) == before


# -- databases made before migration 0003 --------------------------------------------


def pre_identity_ledger(url: str, data: Path, origin: str = ORIGIN) -> World:
    """A ledger as bpl made them before migration 0003: the data directory's files, and a
    database at revision 0002 with checkpoints and records but no identity (written at the
    latest revision, then migrated down: through every downgrade, and later up again)."""
    engine = store.create_engine(url)
    store.upgrade_schema(engine)
    signer, verifier = note.generate(origin)
    data.mkdir(mode=0o700)
    secret_files.write(data / "log.key", (signer + "\n").encode())
    (data / "log.pub").write_text(verifier + "\n")
    (data / "log.json").write_text(json.dumps({"origin": origin}) + "\n")
    log = TransparencyLog(engine, origin, signer)
    log.append([])
    operator = keys.generate()
    world = World(Ledger(log, verifier), operator)
    world.ledger.register_actor(operator, operator.did, ["operator"], name="Op")
    world.add("maker", "manufacturer")
    world.add("dismantler", "dismantler")
    world.issue(PASSPORT)
    with engine.execution_options(**store.WRITE).begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(store.MIGRATIONS))
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    engine.dispose()
    return world


def test_a_pre_identity_database_gets_its_identity_through_its_data_directory(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, opened
) -> None:
    monkeypatch.delenv(identity.SIGNER_KEY_FILE_ENV, raising=False)
    old = pre_identity_ledger(database_url, tmp_path / "data")
    assert state(database_url)["revision"] == "0002"
    with pytest.raises(LedgerError, match=r"schema revision 0002.*data directory"):
        Ledger.open(database_url, writable=False)
    assert state(database_url)["revision"] == "0002"  # a reader migrates nothing

    monkeypatch.setenv("DATABASE_URL", database_url)
    ledger = Ledger.open(tmp_path / "data")
    opened.append(ledger)
    verifier = (tmp_path / "data" / "log.pub").read_text().strip()
    after = state(database_url)
    assert after["revision"] == store.head_revision()
    assert after["identity"] == identity.Identity(ORIGIN, verifier)
    world = World(ledger, old.operator, old.actors)
    assert world.transfer(PASSPORT, "maker", "dismantler").leaf_index == 4
    assert ledger.audit().ok

    monkeypatch.delenv("DATABASE_URL")
    reader = Ledger.open(database_url, writable=False)
    opened.append(reader)
    assert reader.verifier_key == verifier and reader.audit().ok


def test_a_pre_identity_database_of_another_log_is_not_adopted(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pre_identity_ledger(database_url, tmp_path / "data")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    Ledger.init(tmp_path / "other", keys.generate(), origin=ORIGIN).engine.dispose()
    before = state(database_url)
    monkeypatch.setenv("DATABASE_URL", database_url)
    with pytest.raises(LedgerError, match="holds another log's checkpoints"):
        Ledger.open(tmp_path / "other", writable=False)
    with pytest.raises(LedgerError, match="already holds a log's checkpoints"):
        Ledger.init(tmp_path / "third", keys.generate())
    assert state(database_url) == before
    assert before["revision"] == "0002"  # not even migrated
    assert not (tmp_path / "third" / "log.key").exists()


def test_claiming_again_matches_and_another_key_is_refused(
    database_url: str, tmp_path: Path
) -> None:
    pre_identity_ledger(database_url, tmp_path / "data")
    engine = store.create_engine(database_url)
    mine = identity.Identity(ORIGIN, (tmp_path / "data" / "log.pub").read_text().strip())
    identity.claim(engine, mine)  # migrates, then records
    identity.claim(engine, mine)  # again: it matches
    _, other_key = note.generate(ORIGIN)
    with pytest.raises(LedgerError, match="another log named"):
        identity.claim(engine, identity.Identity(ORIGIN, other_key))
    assert identity.read(engine) == mine
    engine.dispose()
