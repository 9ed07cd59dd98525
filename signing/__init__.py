"""Keys, did:key, canonicalization and W3C Data Integrity proofs.

Knows nothing of batteries: the ledger builds on it, never the other way round.
Public modules: :mod:`signing.keys`, :mod:`signing.proofs`, :mod:`signing.errors`,
:mod:`signing.did_key`, :mod:`signing.contexts`, :mod:`signing.jcs`.
"""
