"""Records, per-battery chains, append rules, actors, the Merkle log and storage.

Depends on :mod:`signing`; never on FastAPI or the command line.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ledger.facade import Ledger

__all__ = ["Ledger"]


def __getattr__(name: str) -> Any:
    """``from ledger import Ledger`` without importing the facade for every submodule."""
    if name == "Ledger":
        from ledger.facade import Ledger  # noqa: PLC0415 (deliberately lazy)

        return Ledger
    raise AttributeError(f"module 'ledger' has no attribute {name!r}")
