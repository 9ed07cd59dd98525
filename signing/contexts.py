"""The offline JSON-LD document loader: every context is bundled, none is ever fetched.

Fetching a context at verification time would let whoever serves it change what a signed
document means, and would make verification depend on the network. So the loader knows
a fixed set of URLs (the W3C ones bundled here, the project's own from ``schemas``) plus
whatever a caller adds explicitly; any other URL is an :class:`UnknownContextError`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from cachetools import LRUCache
from pyld.context_resolver import ContextResolver

from signing.errors import DocumentError, UnknownContextError

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"

_BUNDLED = {
    CREDENTIALS_V2: ("signing", "contexts/credentials-v2.jsonld"),
    DATA_INTEGRITY_V2: ("signing", "contexts/data-integrity-v2.jsonld"),
    MULTIKEY_V1: ("signing", "contexts/multikey-v1.jsonld"),
}
# The project's own contexts live in ``schemas`` (data, shipped in the wheel); their URLs
# are listed in that folder's index so that signing knows no battery vocabulary itself.
_PROJECT_INDEX = ("schemas", "contexts/index.json")
_RESOLVED_CACHE_SIZE = 256


def _read_resource(package: str, name: str) -> Any:
    return json.loads(resources.files(package).joinpath(name).read_text(encoding="utf-8"))


def _bundled_documents() -> dict[str, Any]:
    docs = {url: _read_resource(pkg, name) for url, (pkg, name) in _BUNDLED.items()}
    index = _read_resource(*_PROJECT_INDEX)
    for url, name in index.items():
        docs[url] = _read_resource("schemas", f"contexts/{name}")
    return docs


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
        """A pyld context resolver for one operation, sharing this loader's cache."""
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
    """The loader with every bundled context (built once, on first use)."""
    global _default  # noqa: PLW0603 - a lazily built, immutable singleton
    if _default is None:
        _default = DocumentLoader(_bundled_documents())
    return _default
