"""The ledger's error hierarchy: every refusal is a :class:`LedgerError` with a message
that says which rule failed, so the CLI and the API can report it without a traceback."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose."""


class StoreError(LedgerError):
    """The database cannot be used: unreachable, wrong schema version, corrupt."""


class LogError(LedgerError):
    """A request the log cannot answer: a size beyond the tree, an unknown leaf."""


class ProofError(LedgerError):
    """A Merkle proof, root, hash or size does not verify; the message says what is wrong
    (raised by :mod:`ledger.log.merkle`, which re-exports it)."""


class LogIntegrityError(StoreError):
    """What is stored contradicts itself (e.g. the root does not match the checkpoint)."""


class RecordRejected(LedgerError):  # noqa: N818 (the public name issue 4 fixed)
    """A record refused by an append rule; ``rule`` names it (e.g. ``"sequence"``).

    Nothing of the submission is stored. ``index`` is the record's position in the batch
    when it came in one.
    """

    def __init__(self, rule: str, message: str, *, index: int | None = None) -> None:
        where = "" if index is None else f"record {index}: "
        super().__init__(f"{where}{rule}: {message}")
        self.rule = rule
        self.detail = message
        self.index = index

    def at(self, index: int) -> RecordRejected:
        """The same refusal, placed at position ``index`` of a batch."""
        return RecordRejected(self.rule, self.detail, index=index)


class StaleRecord(RecordRejected):
    """The record's sequence/previous is not the head's successor: someone appended first.

    Carries the current head so the client can rebuild on it; never a fork.
    """

    def __init__(
        self,
        message: str,
        *,
        head_sequence: int | None = None,
        head_hash: str | None = None,
        index: int | None = None,
    ) -> None:
        super().__init__("sequence", message, index=index)
        self.head_sequence = head_sequence
        self.head_hash = head_hash

    def at(self, index: int) -> StaleRecord:
        return StaleRecord(
            self.detail, head_sequence=self.head_sequence, head_hash=self.head_hash, index=index
        )


class UnknownGradingPolicy(RecordRejected):
    """A DiagnosticTest names a grading policy (``key``: id, version) the ledger does not
    know (rule ``grade``). A ledger looks it up in its database once before refusing: another
    process may have registered it since."""

    def __init__(self, key: tuple[str, str], *, index: int | None = None) -> None:
        super().__init__("grade", f"unknown grading policy {key[0]} version {key[1]}", index=index)
        self.key = key

    def at(self, index: int) -> UnknownGradingPolicy:
        return UnknownGradingPolicy(self.key, index=index)


class PolicyConflictError(LedgerError):
    """A grading policy whose (id, version) the ledger already knows with other content: a
    released version never changes (or an id reserved for the policies bundled with bpl)."""
