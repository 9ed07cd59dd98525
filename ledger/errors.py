"""The ledger's error hierarchy: every refusal is a :class:`LedgerError` with a message
that says which rule failed, so the CLI and the API can report it without a traceback."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose."""


class StoreError(LedgerError):
    """The database cannot be used: unreachable, wrong schema version, corrupt."""


class LogError(LedgerError):
    """A request the log cannot answer: a size beyond the tree, an unknown leaf."""


class LogIntegrityError(StoreError):
    """What is stored contradicts itself (e.g. the root does not match the checkpoint)."""
