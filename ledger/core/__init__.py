"""The ledger's pure core: what a record is (:mod:`~ledger.core.records`), every check of a
submission that needs no ledger state (:mod:`~ledger.core.admission`: parsing, schema,
disclosures, grade, proofs), the append rules over a view of the ledger's state
(:mod:`~ledger.core.rules`) and diagnostic grading (:mod:`~ledger.core.grading`).

No SQL and no database here (an import contract says so): the rules read a ``View``, and
the audit replays them over one held in memory, so they are testable without a database.
"""
