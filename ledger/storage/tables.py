"""Every table of a ledger's database (SQLModel): the transparency log's (``log_*``) and
the ledger's (``ledger_*``). The hot paths write plain driver SQL against them; the Alembic
migrations must create exactly these (a test compares them); ``docs/ledger.md`` says for
each column how the audit holds it to the log (another test keeps that list complete).

The log's layout follows C2SP ``tlog-tiles`` (see :mod:`ledger.log.tiles`): full hash tiles of
16 node hashes, written once and never changed, and each leaf in a row of its own; the
right edge of the tree lives in the state row. ``log_leaf_index`` finds a leaf by its hash
(by the hash's first 8 bytes; candidates are checked in full).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

STATE_ROW = 1
"""``log_state`` holds exactly one row, with this id; appenders lock it to sequence."""
IDENTITY_ROW = 1
"""``log_identity`` holds at most one row, with this id."""


class LogTile(SQLModel, table=True):
    """A full hash tile: 16 consecutive node hashes of tree level ``4 * level``."""

    __tablename__ = "log_tiles"
    __table_args__ = {"sqlite_with_rowid": False}

    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    index: int = Field(sa_column=Column("idx", BigInteger, primary_key=True, autoincrement=False))
    hashes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


LEAF_INDEX = BigInteger().with_variant(Integer(), "sqlite")
"""A leaf index as a table's key: on SQLite ``INTEGER PRIMARY KEY``, the rowid itself (a
``BIGINT`` key would be a second index beside the rowid)."""


class LogLeaf(SQLModel, table=True):
    """A leaf's bytes, one row each, written once (ADR 0010: bundles of 256 leaves, with the
    open bundle's leaves waiting in a table of their own, wrote each leaf twice and read the
    waiting ones back). An entry bundle is a range of these rows."""

    __tablename__ = "log_leaves"

    index: int = Field(sa_column=Column("idx", LEAF_INDEX, primary_key=True, autoincrement=False))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LogLeafIndex(SQLModel, table=True):
    """Leaf lookup by hash: ``(epoch, prefix, index)``, where the prefix is the first 8
    bytes of the leaf hash (signed; candidates are checked in full) and the epoch
    ``index >> 16``.

    The epoch leads the key so that a batch's inserts land in one small part of the B-tree:
    keyed by hash alone, every batch would dirty pages all over an index that grows with
    the log, and the write-ahead log with them (appends fell from 78,000 to 44,000 leaves/s
    over the first million). A lookup seeks once per epoch instead.
    """

    __tablename__ = "log_leaf_index"
    __table_args__ = {"sqlite_with_rowid": False}

    epoch: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    prefix: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    index: int = Field(sa_column=Column("idx", BigInteger, primary_key=True, autoincrement=False))


class LogState(SQLModel, table=True):
    """The committed size, root and right edge of the log; the sequencer's lock row.

    ``frontier`` is the concatenated hashes of the complete subtrees that make up the tree
    (largest first); ``edges`` the partial tiles (:func:`ledger.log.tiles.encode_edges`).
    """

    __tablename__ = "log_state"

    id: int = Field(default=STATE_ROW, primary_key=True)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    root: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    frontier: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    edges: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LogIdentity(SQLModel, table=True):
    """Which log this database holds: its origin and note verifier key (both public; the
    signer key never enters the database). Lets a database URL be opened and audited
    without the data directory, and a data directory pointed at another log's database be
    refused (ADR 0007)."""

    __tablename__ = "log_identity"
    __table_args__ = (CheckConstraint("id = 1", name="ck_log_identity_one_row"),)

    id: int = Field(default=IDENTITY_ROW, primary_key=True)
    origin: str = Field(sa_column=Column(Text, nullable=False))
    verifier_key: str = Field(sa_column=Column(Text, nullable=False))


class LogCheckpoint(SQLModel, table=True):
    """A signed checkpoint (C2SP tlog-checkpoint as a signed note), one per batch."""

    __tablename__ = "log_checkpoints"

    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class LedgerRecord(SQLModel, table=True):
    """An accepted record, keyed by its log position: its hash and chain position. Its
    canonical bytes are the log's leaf at that position (``log_leaves``), stored once.

    Keyed by leaf index, so that a batch's rows go to the end of the table, as its leaves
    do: keyed by record hash, every batch dirtied pages all over an index as large as the
    ledger (ADR 0010). A hash is found through ``hash_key`` (:func:`ledger.storage.ledger_rows.
    hash_key`), whose index stays as local as the log's leaf index. The unique (subject,
    sequence) pair is the database's own guard against a fork, and the way a resubmitted
    record is recognised: equal hashes mean equal bytes, so equal positions.
    """

    __tablename__ = "ledger_records"
    __table_args__ = (
        UniqueConstraint("subject_id", "sequence", name="uq_ledger_chain"),
        Index("ix_ledger_records_hash_key", "hash_key"),
    )

    leaf_index: int = Field(sa_column=Column(LEAF_INDEX, primary_key=True, autoincrement=False))
    record_hash: str = Field(sa_column=Column(String(71), nullable=False))
    hash_key: int = Field(sa_column=Column(BigInteger, nullable=False))
    subject_id: str = Field(sa_column=Column(Text, nullable=False))
    sequence: int = Field(sa_column=Column(BigInteger, nullable=False))
    kind: str = Field(sa_column=Column(String(64), nullable=False))
    issuer: str = Field(sa_column=Column(Text, nullable=False))


class LedgerDisclosure(SQLModel, table=True):
    """A restricted group of the record at ``leaf_index``: never in the log, served by
    access level."""

    __tablename__ = "ledger_disclosures"
    __table_args__ = {"sqlite_with_rowid": False}

    leaf_index: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    group: str = Field(sa_column=Column("grp", String(32), primary_key=True))
    body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LedgerPassport(SQLModel, table=True):
    """A passport found by its battery and its manufacturer: the public identity its
    ``PassportIssued`` record states (lookups for the verification service and the QR
    resolver; the audit derives every row from those records)."""

    __tablename__ = "ledger_passports"
    __table_args__ = (
        Index("ix_ledger_passports_battery_id", "battery_id"),
        Index("ix_ledger_passports_manufacturer", "manufacturer", "subject_id"),
        Index("ix_ledger_passports_battery_key", "battery_key", "subject_id"),
        Index("ix_ledger_passports_gtin", "gtin", "subject_id"),
        Index("ix_ledger_passports_model_id", "model_id", "subject_id"),
    )

    subject_id: str = Field(sa_column=Column(Text, primary_key=True))
    battery_id: str = Field(sa_column=Column(Text, nullable=False))
    manufacturer: str = Field(sa_column=Column(Text, nullable=False))
    issued_leaf: int = Field(sa_column=Column(BigInteger, nullable=False))
    """The leaf index of its PassportIssued record."""
    battery_key: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """The battery id's canonical key (docs/battery-ids.md); v2 passports only (ADR 0016):
    v1 battery ids were free text, found by ``battery_id`` as written."""
    gtin: str | None = Field(default=None, sa_column=Column(String(14), nullable=True))
    """The GTIN-14 of a v2 passport's GS1 battery id."""
    model_id: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    """The battery model a v2 passport names."""


class LedgerModel(SQLModel, table=True):
    """A battery model, found by its GTIN: what its first ``BatteryModelPublished`` record
    states (the model's current record is its chain's head)."""

    __tablename__ = "ledger_models"
    __table_args__ = (Index("ix_ledger_models_gtin", "gtin", "model_id"),)

    model_id: str = Field(sa_column=Column(Text, primary_key=True))
    gtin: str | None = Field(default=None, sa_column=Column(String(14), nullable=True))
    publisher: str = Field(sa_column=Column(Text, nullable=False))
    published_leaf: int = Field(sa_column=Column(BigInteger, nullable=False))
    """The leaf index of its first BatteryModelPublished record."""


class LedgerHead(SQLModel, table=True):
    """The latest state of a chain (a passport or an actor), for the append rules; indexed
    by custodian, for the passports an actor holds."""

    __tablename__ = "ledger_heads"
    __table_args__ = (Index("ix_ledger_heads_custodian", "custodian", "subject_id"),)

    subject_id: str = Field(sa_column=Column(Text, primary_key=True))
    sequence: int = Field(sa_column=Column(BigInteger, nullable=False))
    record_hash: str = Field(sa_column=Column(String(71), nullable=False))
    kind: str = Field(sa_column=Column(String(64), nullable=False))
    custodian: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    closed: bool = Field(sa_column=Column(Boolean, nullable=False))
    state: str = Field(sa_column=Column(Text, nullable=False))


class LedgerActor(SQLModel, table=True):
    """A registered actor and its roles (JSON list)."""

    __tablename__ = "ledger_actors"

    did: str = Field(sa_column=Column(Text, primary_key=True))
    roles: str = Field(sa_column=Column(Text, nullable=False))


class LedgerKey(SQLModel, table=True):
    """A signing key (did:key) of an actor; revoked once a KeyRevoked is in the log."""

    __tablename__ = "ledger_keys"

    key: str = Field(sa_column=Column(Text, primary_key=True))
    actor: str = Field(sa_column=Column(Text, nullable=False))
    revoked: bool = Field(sa_column=Column(Boolean, nullable=False))


class LedgerGradingPolicy(SQLModel, table=True):
    """A grading policy registered with this ledger (bundled ones are not stored).

    Content-addressed and immutable per version: ``digest`` is ``sha256:`` of ``document``,
    the policy's JCS text (``GradingPolicy.digest``); a registered (id, version) never gets
    other content, and the audit holds each document to its digest (ADR 0009) and each row
    to the record that registered it on the log (ADR 0013).
    """

    __tablename__ = "ledger_grading_policies"

    policy_id: str = Field(sa_column=Column(Text, primary_key=True))
    version: str = Field(sa_column=Column(Text, primary_key=True))
    digest: str = Field(sa_column=Column(String(71), nullable=False))
    document: str = Field(sa_column=Column(Text, nullable=False))
    registered_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    record_hash: str | None = Field(default=None, sa_column=Column(String(71), nullable=True))
    """The GradingPolicyRegistered record on the log (ADR 0013); None: registered before
    registrations were records (off the log: records cannot name it)."""
