"""The stored log, on SQLite and on PostgreSQL: appends, proofs, checkpoints, audit,
refusals that leave the store as it was, and the schema the migrations create."""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from ledger.errors import LogError, LogIntegrityError, StoreError
from ledger.log import TransparencyLog, checkpoint, merkle
from ledger.log.proofs import ConsistencyProof, InclusionProof
from ledger.storage import database as store
from ledger.storage import tables
from signing import note
from tests.ledger.conftest import ORIGIN


def leaves(start: int, end: int) -> list[bytes]:
    return [f"leaf {i}".encode() for i in range(start, end)]


def fill(log: TransparencyLog, batches: list[int]) -> list[bytes]:
    """Append batches of the given sizes; return every leaf appended, in order."""
    appended: list[bytes] = []
    for count in batches:
        batch = leaves(len(appended), len(appended) + count)
        result = log.append(batch)
        assert result.first_index == len(appended)
        appended += batch
        assert result.size == len(appended)
    return appended


def test_new_log_is_the_empty_tree(log: TransparencyLog, log_keys: tuple[str, str]) -> None:
    assert log.size() == 0
    assert log.root() == merkle.root([])
    signed = checkpoint.verify(log.checkpoint(), log_keys[1], ORIGIN)
    assert (signed.size, signed.root) == (0, merkle.root([]))


def test_appends_commit_leaves_in_order_with_one_checkpoint_per_batch(
    log: TransparencyLog, log_keys: tuple[str, str]
) -> None:
    appended = fill(log, [1, 2, 5, 1, 13, 10])
    hashes = [merkle.leaf_hash(leaf) for leaf in appended]
    assert log.size() == 32
    assert log.leaves(0, 32) == appended
    assert log.leaf_hashes(3, 9) == hashes[3:9]
    for size in (1, 3, 8, 9, 22, 32):
        cp = checkpoint.verify(log.checkpoint_at(size), log_keys[1], ORIGIN)
        assert (cp.size, cp.root) == (size, merkle.root(hashes[:size]))
    with pytest.raises(LogError, match="no checkpoint for size 4"):
        log.checkpoint_at(4)  # inside a batch: never checkpointed
    latest = checkpoint.verify(log.checkpoint(), log_keys[1], ORIGIN)
    assert (latest.size, latest.root) == (32, merkle.root(hashes))


def test_roots_and_proofs_from_the_store_equal_the_reference(log: TransparencyLog) -> None:
    appended = fill(log, [3, 7, 1, 16, 4, 6])  # 37 leaves, batch edges off powers of two
    hashes = [merkle.leaf_hash(leaf) for leaf in appended]
    for size in range(len(hashes) + 1):
        root = merkle.root(hashes[:size])
        assert log.root(size) == root
        for index in range(size):
            proof = log.inclusion_proof(index, size)
            assert list(proof.hashes) == merkle.inclusion_proof(hashes[:size], index)
            assert proof.leaf_hash == hashes[index]
            proof.verify(root)
        for old in range(size + 1):
            consistency = log.consistency_proof(old, size)
            assert list(consistency.hashes) == merkle.consistency_proof(hashes[:size], old)
            consistency.verify(merkle.root(hashes[:old]), root)


def test_a_repeated_leaf_is_found_at_its_first_index(log: TransparencyLog) -> None:
    log.append([b"a", b"b", b"a"])
    log.append([b"a"])
    assert log.inclusion_proof_by_hash(merkle.leaf_hash(b"a")).index == 0
    assert log.inclusion_proof_by_hash(merkle.leaf_hash(b"b"), size=2).index == 1


def test_inclusion_proof_by_leaf_hash(log: TransparencyLog) -> None:
    appended = fill(log, [5, 6])
    digest = merkle.leaf_hash(appended[7])
    proof = log.inclusion_proof_by_hash(digest)
    assert (proof.index, proof.size) == (7, 11)
    proof.verify(log.root())
    with pytest.raises(LogError, match="no leaf with hash"):
        log.inclusion_proof_by_hash(digest, size=7)  # not yet in the tree of size 7
    with pytest.raises(LogError, match="no leaf with hash"):
        log.inclusion_proof_by_hash(merkle.leaf_hash(b"never appended"))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda log: log.inclusion_proof(4), "leaf index 4 is not in a tree of size 4"),
        (lambda log: log.inclusion_proof(-1), "leaf index -1"),
        (lambda log: log.inclusion_proof(0, 5), "tree size 5 is beyond the log's size 4"),
        (lambda log: log.consistency_proof(3, 9), "tree size 9 is beyond"),
        (lambda log: log.consistency_proof(5, 4), "old size 5 is not between 0 and 4"),
        (lambda log: log.root(-1), "tree size -1"),
        (lambda log: log.leaves(2, 9), r"range \[2, 9\) is not within the log of size 4"),
        (lambda log: log.leaves(3, 2), r"range \[3, 2\)"),
    ],
)
def test_questions_beyond_the_log_are_refused(log: TransparencyLog, call, message: str) -> None:
    fill(log, [4])
    with pytest.raises(LogError, match=message):
        call(log)


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ([b"fine", "text"], "leaf 1 of the batch is str, not bytes"),
        ([None], "leaf 0 of the batch is NoneType"),
        ([b"x" * (4 * 1024 * 1024 + 1)], "leaf 0 of the batch is 4194305 bytes"),
    ],
)
def test_a_refused_batch_writes_nothing(log: TransparencyLog, batch: list, message: str) -> None:
    fill(log, [3])
    before = (log.size(), log.checkpoint(), log.root())
    with pytest.raises(LogError, match=message):
        log.append(batch)
    assert (log.size(), log.checkpoint(), log.root()) == before
    assert log.leaves(0, 3) == leaves(0, 3)


def test_an_empty_batch_returns_the_current_state(log: TransparencyLog) -> None:
    fill(log, [3])
    result = log.append([])
    assert (result.first_index, result.size) == (3, 3)
    assert result.checkpoint == log.checkpoint()


def test_appending_needs_the_signer_key(database_url: str, log: TransparencyLog) -> None:
    reader = TransparencyLog.open(database_url, ORIGIN)
    with pytest.raises(LogError, match="signer key"):
        reader.append([b"x"])
    assert "PRIVATE" not in repr(log)
    reader.engine.dispose()


def test_audit_passes_then_names_a_tampered_leaf(
    log: TransparencyLog, log_keys: tuple[str, str]
) -> None:
    fill(log, [10, 7])
    assert log.audit(log_keys[1], chunk=4) == 17
    with log.engine.begin() as connection:
        connection.execute(sa.text("UPDATE log_leaves SET data = :d WHERE idx = 5"), {"d": b"!"})
    with pytest.raises(LogIntegrityError, match="leaf 5 does not match its stored hash"):
        log.audit(log_keys[1])


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        ("DELETE FROM log_leaves WHERE idx = 42", "leaf 42 is missing"),
        (
            "INSERT INTO log_leaves (idx, data) SELECT 320, data FROM log_leaves WHERE idx = 0",
            "321 leaves are stored for a tree of 320",
        ),
    ],
    ids=["deleted", "added"],
)
def test_audit_names_a_deleted_or_added_leaf(
    log: TransparencyLog, log_keys: tuple[str, str], statement: str, reason: str
) -> None:
    fill(log, [300, 20])
    assert log.audit(log_keys[1]) == 320
    with log.engine.begin() as connection:
        connection.exec_driver_sql(statement)
    with pytest.raises(LogIntegrityError, match=reason):
        log.audit(log_keys[1])


def test_audit_names_a_tampered_hash_tile(log: TransparencyLog, log_keys: tuple[str, str]) -> None:
    fill(log, [513])
    with log.engine.begin() as connection:
        blob = connection.execute(
            sa.text("SELECT hashes FROM log_tiles WHERE level = 0 AND idx = 16")
        ).scalar()
        connection.execute(
            sa.text("UPDATE log_tiles SET hashes = :h WHERE level = 0 AND idx = 16"),
            {"h": blob[: 32 * 7] + bytes(32) + blob[32 * 8 :]},
        )
    with pytest.raises(LogIntegrityError, match="leaf 263 does not match its stored hash"):
        log.audit(log_keys[1])
    with pytest.raises(merkle.ProofError):  # the proofs now lead elsewhere than the checkpoint
        checkpoint_root = checkpoint.verify(log.checkpoint(), log_keys[1], ORIGIN).root
        log.inclusion_proof(260).verify(checkpoint_root)


def test_tiles_across_levels_match_the_reference(log: TransparencyLog) -> None:
    """70,000 leaves: full tiles at tile levels 0 to 3 (65,536 leaves fill a level-3 tile)."""
    appended = fill(log, [1, 255, 4000, 61_281, 500, 463, 3500])
    assert len(appended) == 70_000
    hashes = [merkle.leaf_hash(leaf) for leaf in appended]
    rng = random.Random(8)
    for size in (256, 257, 65_535, 65_536, 65_537, 70_000):
        root = merkle.root(hashes[:size])
        assert log.root(size) == root
        for index in {0, size - 1, rng.randrange(size)}:
            proof = log.inclusion_proof(index, size)
            assert list(proof.hashes) == merkle.inclusion_proof(hashes[:size], index)
        old = rng.randrange(1, size + 1)
        consistency = log.consistency_proof(old, size)
        assert list(consistency.hashes) == merkle.consistency_proof(hashes[:size], old)
    assert log.leaves(65_530, 65_542) == appended[65_530:65_542]
    assert log.leaf_hashes(250, 260) == hashes[250:260]
    assert log.inclusion_proof_by_hash(hashes[65_600]).index == 65_600


def test_audit_refuses_a_checkpoint_by_another_key(log: TransparencyLog) -> None:
    fill(log, [2])
    with pytest.raises(LogIntegrityError, match=r"latest checkpoint: .*no signature by a known"):
        log.audit(note.generate(ORIGIN)[1])


def test_proof_json_round_trips_and_names_bad_fields(log: TransparencyLog) -> None:
    fill(log, [9])
    inclusion = log.inclusion_proof(3)
    assert InclusionProof.from_dict(inclusion.to_dict()) == inclusion
    consistency = log.consistency_proof(2)
    assert ConsistencyProof.from_dict(consistency.to_dict()) == consistency
    bad = inclusion.to_dict() | {"leafHash": "00" * 31}
    with pytest.raises(LogError, match="leafHash must be a SHA-256 hash"):
        InclusionProof.from_dict(bad)
    with pytest.raises(LogError, match=r"hashes\[1\]"):
        ConsistencyProof.from_dict(consistency.to_dict() | {"hashes": ["00" * 32, "zz"]})
    with pytest.raises(LogError, match="treeSize must be a non-negative integer"):
        InclusionProof.from_dict(inclusion.to_dict() | {"treeSize": True})
    with pytest.raises(LogError, match="not a consistency proof"):
        ConsistencyProof.from_dict(inclusion.to_dict())


def test_the_revisions_read_from_file_names_are_alembics() -> None:
    """Opening a ledger reads the revisions from the migrations' file names, without
    Alembic (ledger/storage/database.py): they must be Alembic's own chain, in order."""
    config = Config()
    config.set_main_option("script_location", str(store.MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    chain = [migration.revision for migration in script.walk_revisions()][::-1]
    assert list(store._revisions()) == chain
    assert store.head_revision() == script.get_current_head()
    for revision in chain:
        assert store.is_ledger_revision(revision)
    assert not store.is_ledger_revision("ffff")


def test_a_database_with_two_revision_rows_is_refused(tmp_path) -> None:
    engine = store.open_engine(store.default_url(tmp_path))
    with engine.begin() as connection:
        connection.exec_driver_sql("INSERT INTO alembic_version VALUES ('0001')")
    with pytest.raises(StoreError, match=f"not one revision: 0001, {store.head_revision()}"):
        store.current_revision(engine)
    engine.dispose()


def test_migrations_create_exactly_the_models_schema(database_url: str) -> None:
    engine = store.open_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert tables.LogTile.__tablename__ in SQLModel.metadata.tables
    engine.dispose()
    assert differences == []


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_chain_heads_have_room_for_updates_in_place(database_url: str) -> None:
    """``fillfactor = 50`` (migration 0006; ADR 0010). SQLite has no such setting."""
    engine = store.open_engine(database_url)
    with engine.connect() as connection:
        options = connection.exec_driver_sql(
            "SELECT reloptions FROM pg_class WHERE oid = 'ledger_heads'::regclass"
        ).scalar_one()
    engine.dispose()
    assert options == ["fillfactor=50"]


def migrate(engine: sa.Engine, revision: str, *, down: bool = False) -> None:
    with engine.execution_options(**store.WRITE).begin() as connection:
        config = Config()
        config.set_main_option("script_location", str(store.MIGRATIONS))
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def test_leaves_migrate_between_bundles_and_rows_both_ways(
    log: TransparencyLog, log_keys: tuple[str, str]
) -> None:
    """Migration 0006 turns full entry bundles and the open bundle's waiting leaves into a
    row per leaf, and back down: the same leaves, and an audit that passes."""
    leaves = fill(log, [300, 20])
    migrate(log.engine, "0005", down=True)
    with log.engine.connect() as connection:
        bundles = connection.exec_driver_sql("SELECT count(*) FROM log_bundles").scalar_one()
        waiting = connection.exec_driver_sql("SELECT count(*) FROM log_pending_leaves").scalar_one()
    assert (bundles, waiting) == (1, 320 - 256)
    migrate(log.engine, "head")
    assert log.leaves(0, 320) == leaves
    assert log.audit(log_keys[1]) == 320


def test_opening_without_upgrade_refuses_an_unmigrated_database(empty_database_url: str) -> None:
    with pytest.raises(store.StoreError, match="schema is at nothing"):
        store.open_engine(empty_database_url, upgrade=False)


def test_unsupported_database_urls_are_refused() -> None:
    with pytest.raises(store.StoreError, match="unsupported database 'mysql'"):
        store.create_engine("mysql://root@localhost/test")
    with pytest.raises(store.StoreError, match="not a database URL"):
        store.create_engine("no url at all")


def forged_checkpoint(size: int, root: bytes, previous: int | None = None) -> str:
    """A checkpoint of the test log's origin signed by another key than the log's."""
    extensions = () if previous is None else (f"{checkpoint.PREVIOUS}{previous}",)
    head = checkpoint.Checkpoint(ORIGIN, size, root, extensions)
    return checkpoint.sign(head, note.generate(ORIGIN)[0])


# Each edit of an older stored checkpoint (the log's batches end at 3, 8, 9, 22 and 32)
# and of the log's other rows that no count reveals, with the reason the audit gives.
OLDER_CHECKPOINT_EDITS = {
    "deleted": ("DELETE FROM log_checkpoints WHERE size = 8", "checkpoint 8, which checkpoint 9"),
    "first-deleted": ("DELETE FROM log_checkpoints WHERE size = 0", "checkpoint 0, which"),
    "resized": (
        "UPDATE log_checkpoints SET size = 7 WHERE size = 8",
        "for size 7 is one of size 8",
    ),
    "root-edited": (
        "UPDATE log_checkpoints SET root = :zero WHERE size = 8",
        "checkpoint 8: its stored root is not its note's",
    ),
    "swapped": (
        "UPDATE log_checkpoints SET note = CASE size WHEN 8 THEN :n9 ELSE :n8 END "
        "WHERE size IN (8, 9)",
        "for size 8 is one of size 9",
    ),
    "forged": ("UPDATE log_checkpoints SET note = :forged WHERE size = 3", "checkpoint 3: "),
    "forged-added": (
        "INSERT INTO log_checkpoints (size, root, note, created_at) "
        "VALUES (5, :zero, :forged5, CURRENT_TIMESTAMP)",
        "checkpoint 5: checkpoint signature",
    ),
    "beyond-the-tree": (
        "INSERT INTO log_checkpoints (size, root, note, created_at) "
        "SELECT 40, root, note, created_at FROM log_checkpoints WHERE size = 32",
        "1 stored checkpoints are of trees beyond",
    ),
    "index-prefix-edited": (
        "UPDATE log_leaf_index SET prefix = prefix + 1 WHERE idx = 20",
        "leaf index row of leaf 20 does not match",
    ),
    "index-moved-to-another-epoch": (
        "UPDATE log_leaf_index SET epoch = 1 WHERE idx = 20",
        "leaf index row of leaf 20 does not match",
    ),
    "index-rows-swapped": (
        "UPDATE log_leaf_index SET idx = CASE idx WHEN 4 THEN 5 ELSE 4 END WHERE idx IN (4, 5)",
        "leaf index row of leaf 4 does not match",
    ),
    "state-root-edited": (
        "UPDATE log_state SET root = :zero",
        "stored root of the log's state is not the leaves' root",
    ),
    "second-state-row": (
        "INSERT INTO log_state (id, size, root, frontier, edges) "
        "SELECT 2, size, root, frontier, edges FROM log_state",
        "the log has 2 state rows",
    ),
    "tile-beyond-the-tree": (
        "INSERT INTO log_tiles (level, idx, hashes) "
        "SELECT level, idx + 7, hashes FROM log_tiles WHERE level = 0 AND idx = 0",
        "3 hash tiles are stored for a tree of 2",
    ),
}


@pytest.mark.parametrize("case", list(OLDER_CHECKPOINT_EDITS))
def test_audit_holds_every_checkpoint_and_index_row_to_the_tree(
    log: TransparencyLog, log_keys: tuple[str, str], case: str
) -> None:
    fill(log, [3, 5, 1, 13, 10])
    assert log.audit(log_keys[1], chunk=5) == 32
    statement, reason = OLDER_CHECKPOINT_EDITS[case]
    root5 = log.root(5)
    with log.engine.begin() as connection:
        connection.execute(
            sa.text(statement),
            {
                "zero": bytes(32),
                "n8": log.checkpoint_at(8),
                "n9": log.checkpoint_at(9),
                "forged": forged_checkpoint(3, log.root(3), 0),
                "forged5": forged_checkpoint(5, root5, 3),
            },
        )
    for chunk in (5, 16_384):  # checkpoints inside and at the ends of chunks
        with pytest.raises(LogIntegrityError, match=reason):
            log.audit(log_keys[1], chunk=chunk)


def test_every_checkpoint_after_the_first_names_the_one_before(
    log: TransparencyLog, log_keys: tuple[str, str]
) -> None:
    fill(log, [3, 5])
    links = [
        checkpoint.previous_size(checkpoint.verify(log.checkpoint_at(size), log_keys[1], ORIGIN))
        for size in (0, 3, 8)
    ]
    assert links == [None, 0, 3]
    assert log.append([]).checkpoint == log.checkpoint_at(8)  # an empty batch signs nothing


def test_a_log_appended_to_before_its_empty_tree_was_signed_signs_it_first(
    database_url: str, log_keys: tuple[str, str]
) -> None:
    log = TransparencyLog.open(database_url, ORIGIN, log_keys[0])
    log.append([b"a", b"b"])
    assert checkpoint.verify(log.checkpoint_at(0), log_keys[1], ORIGIN).size == 0
    assert log.audit(log_keys[1]) == 2
    log.engine.dispose()


def test_checkpoints_signed_before_they_were_linked_audit_as_a_prefix(
    log: TransparencyLog, log_keys: tuple[str, str]
) -> None:
    """A log whose older checkpoints carry no link (signed before links existed) audits;
    an unlinked checkpoint after a linked one does not."""
    fill(log, [3, 5, 1])
    signer = log_keys[0]
    with log.engine.begin() as connection:
        for size in (3, 8):
            head = checkpoint.Checkpoint(ORIGIN, size, log.root(size))
            connection.execute(
                sa.text("UPDATE log_checkpoints SET note = :n WHERE size = :s"),
                {"n": checkpoint.sign(head, signer), "s": size},
            )
    assert log.audit(log_keys[1]) == 9
    with log.engine.begin() as connection:
        head = checkpoint.Checkpoint(ORIGIN, 9, log.root(9))
        connection.execute(
            sa.text("UPDATE log_checkpoints SET note = :n WHERE size = 9"),
            {"n": checkpoint.sign(head, signer)},
        )
    assert log.audit(log_keys[1]) == 9  # still a prefix: nothing is linked
    log.append([b"next"])  # checkpoint 10 names 9
    assert log.audit(log_keys[1]) == 10
    with log.engine.begin() as connection:
        head = checkpoint.Checkpoint(ORIGIN, 8, log.root(8), (f"{checkpoint.PREVIOUS}3",))
        connection.execute(
            sa.text("UPDATE log_checkpoints SET note = :n WHERE size = 8"),
            {"n": checkpoint.sign(head, signer)},
        )
    with pytest.raises(LogIntegrityError, match="checkpoint 9 names no checkpoint before it"):
        log.audit(log_keys[1])


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("previous 9", "names no smaller tree"),
        ("previous 03", "names no smaller tree"),
        ("previous x", "names no smaller tree"),
    ],
)
def test_a_malformed_link_is_refused(line: str, reason: str) -> None:
    head = checkpoint.Checkpoint(ORIGIN, 9, bytes(32), (line,))
    with pytest.raises(checkpoint.CheckpointError, match=reason):
        checkpoint.previous_size(head)
    twice = checkpoint.Checkpoint(ORIGIN, 9, bytes(32), ("previous 1", "previous 2"))
    with pytest.raises(checkpoint.CheckpointError, match="more than one"):
        checkpoint.previous_size(twice)
