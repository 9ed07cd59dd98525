"""Records, per-battery chains, append rules, actors, the Merkle log and storage.

Depends on :mod:`signing`; never on FastAPI or the command line.
"""
