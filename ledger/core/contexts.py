"""The project's JSON-LD contexts, handed to :mod:`signing`, which knows none of them.

``schemas/contexts/index.json`` is the one list of the project's contexts (URL: file in
``schemas/contexts``, one per record format version: ``https://w3id.org/bpl/v1``, ...).
:func:`loader` is signing's offline loader (the bundled W3C contexts) plus every context
that index lists: what the ledger's admission, the ``bpl`` verbs, the tests and the
benchmarks sign and verify records with::

    proofs.sign(record, key, loader=contexts.loader())
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from importlib import resources
from types import MappingProxyType
from typing import Any

from signing.contexts import DocumentLoader, default_loader

_INDEX = "contexts/index.json"
"""The index of the project's contexts, in the ``schemas`` package's data."""


@functools.cache
def documents() -> Mapping[str, Any]:
    """Every context ``schemas/contexts/index.json`` lists: URL -> parsed JSON-LD document
    (read once)."""
    folder = resources.files("schemas")
    index = json.loads(folder.joinpath(_INDEX).read_text(encoding="utf-8"))
    return MappingProxyType(
        {
            url: json.loads(folder.joinpath(f"contexts/{name}").read_text(encoding="utf-8"))
            for url, name in index.items()
        }
    )


@functools.cache
def loader() -> DocumentLoader:
    """signing's default loader plus the project's contexts (built once: its cache of
    resolved contexts serves every caller)."""
    return default_loader().with_contexts(documents())
