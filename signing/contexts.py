"""The offline JSON-LD document loader: every context is bundled, none is ever fetched.

Fetching a context at verification time would let whoever serves it change what a signed
document means, and would make verification depend on the network. So the loader knows
a fixed set of URLs, the W3C ones bundled here, plus whatever a caller hands it
(:meth:`DocumentLoader.with_contexts`); any other URL is an :class:`UnknownContextError`.
``signing`` knows no battery vocabulary: the ledger hands over its own contexts
(``ledger.core.contexts.loader()``), and ``bpl --context URL=FILE`` any other.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any

from cachetools import LRUCache

from signing.errors import DocumentError, UnknownContextError

if TYPE_CHECKING:
    from pyld.context_resolver import ContextResolver

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"

_BUNDLED = {
    CREDENTIALS_V2: "contexts/credentials-v2.jsonld",
    DATA_INTEGRITY_V2: "contexts/data-integrity-v2.jsonld",
    MULTIKEY_V1: "contexts/multikey-v1.jsonld",
}
"""The W3C contexts bundled with signing (files of this package): the only ones it knows."""
_RESOLVED_CACHE_SIZE = 256


def _bundled_documents() -> dict[str, Any]:
    files = resources.files("signing")
    return {
        url: json.loads(files.joinpath(name).read_text(encoding="utf-8"))
        for url, name in _BUNDLED.items()
    }


class DocumentLoader:
    """A pyld-compatible document loader over a fixed map of URL -> JSON-LD document.

    Each loader keeps its own (bounded) resolved-context cache, so two loaders that map
    one URL to different documents never see each other's version.
    """

    def __init__(self, documents: Mapping[str, Any]) -> None:
        self._documents = dict(documents)
        self._resolved: LRUCache[str, Any] = LRUCache(maxsize=_RESOLVED_CACHE_SIZE)

    def __contains__(self, url: object) -> bool:
        return url in self._documents

    def resolver(self) -> ContextResolver:
        """A pyld context resolver for one operation, sharing this loader's cache. (pyld is
        imported here, when JSON-LD is first expanded: records under eddsa-jcs-2022 never
        need it, and its imports cost a command about 0.2 s.)"""
        from pyld.context_resolver import ContextResolver  # noqa: PLC0415

        return ContextResolver(self._resolved, self)

    def __call__(self, url: str, options: Any = None) -> dict[str, Any]:
        """pyld's loader protocol: the remote document for ``url``, or UnknownContextError."""
        try:
            document = self._documents[url]
        except KeyError:
            raise UnknownContextError(url) from None
        # pyld rewrites relative URLs inside the context it receives: give it a copy.
        return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(document)}

    def with_contexts(self, extra: Mapping[str, Any]) -> DocumentLoader:
        """A new loader that also knows ``extra`` (URL -> parsed JSON-LD context document)."""
        for url, document in extra.items():
            if not isinstance(document, dict) or "@context" not in document:
                raise DocumentError(f"context document for {url} has no top-level @context")
        return DocumentLoader({**self._documents, **extra})

    def check_known(self, context: object) -> None:
        """Raise UnknownContextError for the first context URL in ``context`` not known here.

        Embedded context objects are allowed; they carry their own definitions.
        """
        if context is None:
            return
        for item in context if isinstance(context, list) else (context,):
            if item.__class__ is str:
                if item not in self._documents:
                    raise UnknownContextError(item)
            elif not isinstance(item, dict):
                raise DocumentError("@context entries must be URLs or objects")


_default: DocumentLoader | None = None


def default_loader() -> DocumentLoader:
    """The loader with the bundled W3C contexts and no other (built once, on first use):
    add a vocabulary's own with :meth:`DocumentLoader.with_contexts`."""
    global _default  # noqa: PLW0603 - a lazily built, immutable singleton
    if _default is None:
        _default = DocumentLoader(_bundled_documents())
    return _default
