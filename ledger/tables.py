"""The log's tables (SQLModel), shared by the ORM, the hot paths (driver SQL) and the
Alembic migrations, which must create exactly these.

The layout follows C2SP ``tlog-tiles`` (see :mod:`ledger.tiles`): full hash tiles of 16 node
hashes, full entry bundles of 256 leaves, both written once and never changed; the right
edge of the tree lives in the state row and in ``log_pending_leaves``. ``log_leaf_index``
finds a leaf by its hash (by the hash's first 8 bytes; candidates are checked in full).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, LargeBinary, SmallInteger, Text
from sqlmodel import Field, SQLModel

STATE_ROW = 1
"""``log_state`` holds exactly one row, with this id; appenders lock it to sequence."""


class LogTile(SQLModel, table=True):
    """A full hash tile: 16 consecutive node hashes of tree level ``4 * level``."""

    __tablename__ = "log_tiles"
    __table_args__ = {"sqlite_with_rowid": False}

    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    index: int = Field(sa_column=Column("idx", BigInteger, primary_key=True, autoincrement=False))
    hashes: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LogBundle(SQLModel, table=True):
    """A full entry bundle: leaves ``256 * index`` to ``256 * index + 255``."""

    __tablename__ = "log_bundles"

    index: int = Field(sa_column=Column("idx", BigInteger, primary_key=True, autoincrement=False))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LogPendingLeaf(SQLModel, table=True):
    """A leaf whose bundle is not full yet; moved into ``log_bundles`` when it fills."""

    __tablename__ = "log_pending_leaves"

    index: int = Field(sa_column=Column("idx", BigInteger, primary_key=True, autoincrement=False))
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
    (largest first); ``edges`` the partial tiles (:func:`ledger.tiles.encode_edges`).
    """

    __tablename__ = "log_state"

    id: int = Field(default=STATE_ROW, primary_key=True)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    root: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    frontier: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    edges: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LogCheckpoint(SQLModel, table=True):
    """A signed checkpoint (C2SP tlog-checkpoint as a signed note), one per batch."""

    __tablename__ = "log_checkpoints"

    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
