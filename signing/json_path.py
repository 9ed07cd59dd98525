"""The one notation every error message uses for a place in a JSON document.

A JSONPath (RFC 9535) of member names and indexes: ``$.credentialSubject.sequence``,
``$.proof[1]``, and a name that is not an identifier in brackets as a JSON string,
``$.credentialSubject.disclosures["legitimate-interest"]`` (ASCII-escaped: a name may hold
characters a terminal cannot show). Canonicalization, schema and policy errors all say
where with it, so a user reads one form whatever refused the document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

__all__ = ["json_path"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def json_path(steps: Iterable[str | int]) -> str:
    """The path of ``steps`` (member names and array indexes) from the document's root."""
    text = "$"
    for step in steps:
        if isinstance(step, int):
            text += f"[{step}]"
        elif _IDENTIFIER.fullmatch(step):
            text += "." + step
        else:
            text += "[" + json.dumps(step) + "]"
    return text
