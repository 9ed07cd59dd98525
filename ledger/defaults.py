"""Where a ledger lives and what its log is called unless told otherwise.

Nothing here needs the storage code: the command line reads these defaults (its options
show them) before a verb decides whether it opens a ledger at all.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "BPL_DATA_DIR"
DEFAULT_ORIGIN = "bpl.localhost/log"


def default_data_dir() -> Path:
    """``$BPL_DATA_DIR``, else ``$XDG_DATA_HOME/bpl`` (``~/.local/share/bpl``)."""
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "bpl"
