"""The log's tables (SQLModel), shared by the ORM, the hot paths (SQLAlchemy Core) and the
Alembic migrations, which must create exactly these.

The tree is stored as its *complete* subtrees: a row of ``log_nodes`` is the hash of the
aligned subtree of ``2**level`` leaves starting at leaf ``index << level``. Such a node
never changes once its last leaf is appended, so appends only insert, and any root or
proof of any past tree size is a fold of O(log n) of them (see :mod:`ledger.merkle`).
Level 0 lives in ``log_leaves`` (the leaf hash), not in ``log_nodes``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, LargeBinary, SmallInteger, Text
from sqlmodel import Field, SQLModel

STATE_ROW = 1
"""``log_state`` holds exactly one row, with this id; appenders lock it to sequence."""


class LogLeaf(SQLModel, table=True):
    """One leaf, in acceptance order: its index, its RFC 9162 leaf hash and its bytes."""

    __tablename__ = "log_leaves"

    index: int = Field(sa_column=Column("idx", BigInteger, primary_key=True, autoincrement=False))
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False, index=True))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LogNode(SQLModel, table=True):
    """A complete subtree of ``2**level`` leaves (level >= 1), aligned at its index."""

    __tablename__ = "log_nodes"
    __table_args__ = {"sqlite_with_rowid": False}

    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    index: int = Field(
        sa_column=Column("idx", BigInteger, primary_key=True, autoincrement=False)
    )
    hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))


class LogState(SQLModel, table=True):
    """The committed size of the log and its right edge; the sequencer's lock row.

    ``frontier`` is the concatenated hashes of the complete subtrees that make up the tree
    (largest first), so an append needs no read of ``log_nodes``.
    """

    __tablename__ = "log_state"

    id: int = Field(default=STATE_ROW, primary_key=True)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    root: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    frontier: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LogCheckpoint(SQLModel, table=True):
    """A signed checkpoint (C2SP tlog-checkpoint as a signed note), one per batch."""

    __tablename__ = "log_checkpoints"

    size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
