"""The transparency log: one RFC 9162 Merkle tree over every accepted leaf, stored as C2SP
``tlog-tiles`` hash tiles, with signed C2SP checkpoints, inclusion and consistency proofs
and an audit that re-derives every stored row from the leaves.

It knows nothing of batteries or records: a leaf is bytes. Its modules:
:mod:`~ledger.log.merkle` (the tree's maths), :mod:`~ledger.log.tiles` (the tiled layout),
:mod:`~ledger.log.tile_store` (its SQL), :mod:`~ledger.log.stored_log` (appends and
proofs on a database), :mod:`~ledger.log.checkpoint` (signed tree heads),
:mod:`~ledger.log.proofs` (proofs as JSON), :mod:`~ledger.log.audit` (the audit).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ledger.log.stored_log import (
        MAX_LEAF_BYTES,
        AppendResult,
        PlannedAppend,
        State,
        TransparencyLog,
    )

__all__ = ["MAX_LEAF_BYTES", "AppendResult", "PlannedAppend", "State", "TransparencyLog"]


def __getattr__(name: str) -> Any:
    """The stored log's names, imported when first asked for: the offline verbs use the
    maths, checkpoints and proofs without the storage code (SQLAlchemy, Alembic)."""
    if name in __all__:
        from ledger.log import stored_log  # noqa: PLC0415 (deliberately lazy)

        return getattr(stored_log, name)
    raise AttributeError(f"module 'ledger.log' has no attribute {name!r}")
