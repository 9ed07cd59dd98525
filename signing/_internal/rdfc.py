"""RDF Dataset Canonicalization, RDFC-1.0 (W3C Recommendation, 21 May 2024).

Implements https://www.w3.org/TR/rdf-canon/ over the RDF dataset structure that
``pyld.jsonld.to_rdf`` produces, returning the canonical N-Quads document that
``eddsa-rdfc-2022`` and friends hash and sign.

Why not ``pyld.jsonld.normalize``?  pyld implements URDNA2015, the Community
Group predecessor.  The labelling algorithm is the same, but the results are not
always the same bytes:

* Canonical N-Quads (RDFC-1.0 Appendix A).  In string literals RDFC-1.0 writes
  BS, HT, LF, FF, CR, ``"`` and ``\\`` as ``\\b \\t \\n \\f \\r \\" \\\\``, and
  U+0000-U+0007, U+000B, U+000E-U+001F, U+007F and the code points that are not
  XML 1.1 ``Char`` (lone surrogates, U+FFFE, U+FFFF) as ``\\uXXXX`` with
  uppercase hex.  pyld escapes only ``\\ \\t \\n \\r "`` and writes every other
  control character raw.  Because this serialization also feeds Hash First
  Degree Quads, a control character can change blank node labels, not just the
  literal's own line.
* SHA-384 (and other hashes) must be selectable; pyld hard-codes SHA-256.
* Mention sets are sets: pyld files a quad twice under a blank node that occurs
  twice in it (``_:a :p _:a``), which changes first degree hashes.
* RDFC-1.0 section 7.1 expects implementations to abort poison datasets by
  default; pyld has no limit and can run for ever.  Here the work of Hash
  N-Degree Quads is metered (``max_work``) and :class:`PoisonDatasetError` is
  raised when the budget is spent.
* pyld's normalizer mutates the caller's dataset (it adds ``name`` to quads
  and rewrites blank node labels) and leaves an input label that already
  starts with ``c14n`` unrenamed; this module does neither.
* IRIs, datatypes and language tags are written raw in canonical N-Quads, so
  values outside their N-Quads productions are refused with ValueError rather
  than allowed to forge extra quads in the text that gets signed.

Within Hash N-Degree Quads a related blank node is appended to the related-hash
list once per mention, as the JavaScript and Python reference implementations
do (the Recommendation does not say whether that list is a set).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from signing.errors import CanonicalizationError

__all__ = ["DEFAULT_MAX_WORK", "PoisonDatasetError", "canonicalize_dataset", "serialize_quad"]

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

DEFAULT_MAX_WORK = 65_536
"""Default budget, in units: Hash N-Degree Quads calls plus permutations tried.

Ordinary credentials spend nothing (their blank nodes have unique first degree
hashes, so Hash N-Degree Quads never runs).  Measured with this module: the
rdf-canon "evil" tests 044-046, which the suite says must be computable, spend
3,348 units; an RDF list of 100 identical items 28,812 (the cost is quadratic,
so about 140 items fit); a 6-clique of blank nodes 41,046, a 7-clique 403,207.
A unit costs 5-20 microseconds in CPython, so the default caps one document at
roughly a second of CPU while leaving real data a wide margin.  The 10-node
clique of test074 (the suite's negative test) is refused after 65,536 units.
"""

_IRI = "IRI"
_BNODE = "blank node"
_LITERAL = "literal"

# str.translate table for the body of a canonical STRING_LITERAL_QUOTE
# (RDFC-1.0 Appendix A): ECHAR for seven characters, UCHAR with uppercase HEX
# for the remaining C0 controls, DEL, and code points outside XML 1.1 Char.
_ECHARS = {
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0C: "\\f",
    0x0D: "\\r",
    0x22: '\\"',
    0x5C: "\\\\",
}
_UCHAR_POINTS = itertools.chain(range(0x00, 0x20), (0x7F,), range(0xD800, 0xE000), (0xFFFE, 0xFFFF))
_LITERAL_ESCAPES: dict[int, str] = {cp: f"\\u{cp:04X}" for cp in _UCHAR_POINTS}
_LITERAL_ESCAPES.update(_ECHARS)

# Canonical N-Quads writes IRIs, language tags and (in serialize_quad) blank
# node labels raw, so anything outside their N-Quads productions could forge
# extra quads in the signed text; such input is refused, never escaped.
_NOT_IN_IRIREF = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_LANGTAG = re.compile(r"[a-zA-Z]+(?:-[a-zA-Z0-9]+)*")
_NOT_IN_LABEL = re.compile(r'[\x00-\x20<>"{}|^`\\#@]')


class PoisonDatasetError(CanonicalizationError):
    """Canonicalization was aborted because the dataset needs too much work.

    RDFC-1.0 section 7.1 (Dataset Poisoning) asks implementations to abort such
    inputs by default rather than let an attacker consume unbounded CPU time.
    """


class _Term(NamedTuple):
    """One RDF term; ``value`` of a blank node is its label without ``_:``."""

    kind: str
    value: str
    datatype: str = ""
    language: str = ""


class _Quad(NamedTuple):
    """A quad; ``graph`` is None for the default graph."""

    subject: _Term
    predicate: _Term
    object: _Term
    graph: _Term | None


def serialize_quad(quad: Mapping[str, Any], graph: str | None = None) -> str:
    """Serialize one pyld quad as a canonical N-Quads line, ending in " .\\n".

    ``graph`` is a pyld graph name (an IRI, ``_:label``, ``"@default"`` or None
    for the default graph); a ``name`` entry in ``quad`` (pyld's own quad form)
    takes its place when ``graph`` is None.  Blank node labels are written as
    given, so callers wanting canonical labels must pass a canonicalized quad.
    """
    parsed = _convert_quad(quad, _graph_term(graph, quad))
    return _serialize(parsed, None)


def canonicalize_dataset(
    dataset: Mapping[str, Iterable[Mapping[str, Any]]],
    *,
    hash_name: str = "sha256",
    max_work: int = DEFAULT_MAX_WORK,
) -> str:
    """Return the RDFC-1.0 canonical N-Quads document for a pyld dataset.

    ``dataset`` maps ``"@default"``, graph IRIs and ``_:``-labelled blank node
    graph names to lists of pyld triples; it is read, never modified.  Lines
    are sorted in code point order and each ends with ``"\\n"``.  Duplicate
    quads are dropped, since an RDF dataset is a set.

    Raises PoisonDatasetError when more than ``max_work`` units (Hash N-Degree
    Quads calls plus permutations) would be needed, ValueError for an unknown
    or variable-length ``hash_name`` and for quads that are not RDF.
    """
    if max_work < 0:
        raise ValueError("max_work must not be negative")
    quads = _convert_dataset(dataset)
    labels = _Canonicalizer(quads, _hasher(hash_name), max_work).run()
    return "".join(sorted({_serialize(quad, labels) for quad in quads}))


def _issued_identifiers(
    dataset: Mapping[str, Iterable[Mapping[str, Any]]],
    *,
    hash_name: str = "sha256",
    max_work: int = DEFAULT_MAX_WORK,
) -> dict[str, str]:
    """Return the issued identifiers map (input label to canonical label).

    This is the alternative result of RDFC-1.0 step 7, which the official
    "map" tests check; private because only tests need it.  Labels are given
    without ``_:``, in order of issue.
    """
    quads = _convert_dataset(dataset)
    return _Canonicalizer(quads, _hasher(hash_name), max_work).run()


# --- input conversion ------------------------------------------------------


def _convert_dataset(dataset: Mapping[str, Iterable[Mapping[str, Any]]]) -> list[_Quad]:
    """Turn pyld's dataset into deduplicated quads, keeping input order.

    Input order only decides which of several automorphic blank nodes gets
    which label; the canonical N-Quads output never depends on it.
    """
    if not isinstance(dataset, Mapping):
        raise TypeError("dataset must be a mapping of graph name to triples")
    seen: set[_Quad] = set()
    quads: list[_Quad] = []
    for name, triples in dataset.items():
        graph = _graph_term(name, None)
        for triple in triples:
            quad = _convert_quad(triple, graph)
            if quad not in seen:
                seen.add(quad)
                quads.append(quad)
    return quads


def _graph_term(name: object, quad: Mapping[str, Any] | None) -> _Term | None:
    """Map a pyld graph name (or a quad's ``name`` entry) to a term."""
    if name is None and quad is not None and "name" in quad:
        name = quad["name"]
        if isinstance(name, Mapping):
            name = name.get("value")
    if name is None or name == "@default":
        return None
    if not isinstance(name, str) or not name:
        raise ValueError(f"invalid graph name {name!r}")
    if name.startswith("_:"):
        return _Term(_BNODE, _label(name))
    return _Term(_IRI, _check_iri(name, "graph name"))


def _convert_quad(triple: Mapping[str, Any], graph: _Term | None) -> _Quad:
    """Validate one pyld triple and convert it; reject generalized RDF."""
    if not isinstance(triple, Mapping):
        raise TypeError(f"quad must be a mapping, got {type(triple).__name__}")
    subject = _convert_term(triple.get("subject"), "subject")
    predicate = _convert_term(triple.get("predicate"), "predicate")
    obj = _convert_term(triple.get("object"), "object")
    if subject.kind == _LITERAL:
        raise ValueError("a literal cannot be a subject")
    if predicate.kind != _IRI:
        raise ValueError("a predicate must be an IRI (generalized RDF is not supported)")
    return _Quad(subject, predicate, obj, graph)


def _convert_term(term: object, where: str) -> _Term:
    """Convert one pyld term dict, failing loudly on anything unexpected."""
    if not isinstance(term, Mapping):
        raise ValueError(f"{where} must be a term mapping, got {term!r}")
    kind = term.get("type")
    value = term.get("value")
    if not isinstance(value, str):
        raise ValueError(f"{where} value must be a string, got {value!r}")
    if kind == _IRI:
        return _Term(_IRI, _check_iri(value, where))
    if kind == _BNODE:
        return _Term(_BNODE, _label(value))
    if kind != _LITERAL:
        raise ValueError(f"{where} has unknown term type {kind!r}")
    language = term.get("language") or ""
    datatype = term.get("datatype") or (RDF_LANGSTRING if language else XSD_STRING)
    if not isinstance(language, str) or not isinstance(datatype, str):
        raise ValueError(f"{where} literal has a non-string datatype or language")
    if language and datatype != RDF_LANGSTRING:
        raise ValueError(f"{where} literal has a language tag but datatype {datatype!r}")
    if datatype == RDF_LANGSTRING and not language:
        raise ValueError(f"{where} literal is rdf:langString without a language tag")
    if language and not _LANGTAG.fullmatch(language):
        raise ValueError(f"{where} literal has a malformed language tag {language!r}")
    return _Term(_LITERAL, value, _check_iri(datatype, f"{where} datatype"), language)


def _label(value: str) -> str:
    """Strip ``_:`` from a blank node label; pyld always includes it."""
    label = value[2:] if value.startswith("_:") else value
    if not label or _NOT_IN_LABEL.search(label) or not _is_utf8(label):
        raise ValueError(f"invalid blank node label {value!r}")
    return label


def _check_iri(iri: str, where: str) -> str:
    """Refuse an IRI that canonical N-Quads cannot write unescaped.

    IRIREF excludes controls, space and ``<>"{}|^`\\``; canonical form uses no
    UCHAR outside literals, so such an IRI (which could smuggle in extra
    quads) is an error.  Lone surrogates cannot be written in UTF-8 at all.
    """
    if _NOT_IN_IRIREF.search(iri) or not _is_utf8(iri):
        raise ValueError(f"{where} IRI cannot be written in canonical N-Quads: {iri!r}")
    return iri


def _is_utf8(text: str) -> bool:
    """False for text with lone surrogates (possible in str, not in UTF-8)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# --- canonical N-Quads -------------------------------------------------------


def _term_nquads(term: _Term, labels: Mapping[str, str] | None) -> str:
    """Canonical N-Quads for one term; ``labels`` relabels blank nodes."""
    if term.kind == _IRI:
        return f"<{term.value}>"
    if term.kind == _BNODE:
        return "_:" + (term.value if labels is None else labels[term.value])
    body = '"' + term.value.translate(_LITERAL_ESCAPES) + '"'
    if term.language:
        return f"{body}@{term.language}"
    if term.datatype != XSD_STRING:
        return f"{body}^^<{term.datatype}>"
    return body


def _serialize(quad: _Quad, labels: Mapping[str, str] | None) -> str:
    """One canonical N-Quads line, terminated by a single LF."""
    parts = [
        _term_nquads(quad.subject, labels),
        _term_nquads(quad.predicate, labels),
        _term_nquads(quad.object, labels),
    ]
    if quad.graph is not None:
        parts.append(_term_nquads(quad.graph, labels))
    return " ".join(parts) + " .\n"


# --- the algorithm -----------------------------------------------------------


def _hasher(hash_name: str) -> Callable[[str], str]:
    """Return text -> lowercase hex digest for a fixed-length hashlib algorithm."""
    try:
        probe = hashlib.new(hash_name)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"unknown hash algorithm {hash_name!r}") from exc
    if probe.name.startswith("shake"):
        raise ValueError(f"hash algorithm {hash_name!r} has no fixed digest length")

    def digest(text: str) -> str:
        h = probe.copy()
        h.update(text.encode("utf-8"))
        return h.hexdigest()

    return digest


class _Issuer:
    """Identifier issuer (RDFC-1.0 section 4.3): prefix, counter, ordered map."""

    __slots__ = ("issued", "prefix")

    def __init__(self, prefix: str, issued: dict[str, str] | None = None) -> None:
        self.prefix = prefix
        self.issued: dict[str, str] = {} if issued is None else issued

    def issue(self, existing: str) -> str:
        """Issue Identifier algorithm (section 4.5); the counter is len(issued)."""
        found = self.issued.get(existing)
        if found is None:
            found = self.issued[existing] = f"{self.prefix}{len(self.issued)}"
        return found

    def copy(self) -> _Issuer:
        """An independent issuer with the same state."""
        return _Issuer(self.prefix, dict(self.issued))


class _Canonicalizer:
    """Canonicalization state (section 4.2) and the algorithms of 4.4-4.8."""

    def __init__(self, quads: list[_Quad], digest: Callable[[str], str], max_work: int) -> None:
        self.digest = digest
        self.max_work = max_work
        self.work = 0
        self.canonical = _Issuer("c14n")
        self.first_degree: dict[str, str] = {}
        # Section 4.4.3 step 2: the mention set of each blank node, in input order.
        self.mentions: dict[str, list[_Quad]] = {}
        for quad in quads:
            for label in dict.fromkeys(_blank_labels(quad)):
                self.mentions.setdefault(label, []).append(quad)

    def run(self) -> dict[str, str]:
        """Section 4.4.3; returns the canonical issuer's issued identifiers map."""
        hash_to_nodes: dict[str, list[str]] = {}
        for label in self.mentions:  # step 3
            first = self.first_degree[label] = self._hash_first_degree(label)
            hash_to_nodes.setdefault(first, []).append(label)
        for first in sorted(hash_to_nodes):  # step 4
            if len(hash_to_nodes[first]) == 1:
                self.canonical.issue(hash_to_nodes.pop(first)[0])
        try:
            self._label_shared(hash_to_nodes)
        except RecursionError:
            # Hash N-Degree Quads recurses once per blank node along a path of
            # indistinguishable nodes; only a dataset built that way gets here.
            raise PoisonDatasetError(
                "RDFC-1.0 canonicalization aborted: poison dataset suspected; "
                "Hash N-Degree Quads recursion exceeded Python's recursion limit"
            ) from None
        return dict(self.canonical.issued)

    def _label_shared(self, hash_to_nodes: dict[str, list[str]]) -> None:
        """Step 5: label blank nodes whose first degree hashes are shared."""
        for first in sorted(hash_to_nodes):
            results: list[tuple[str, _Issuer]] = []
            for label in hash_to_nodes[first]:
                if label in self.canonical.issued:
                    continue
                temporary = _Issuer("b")
                temporary.issue(label)
                results.append(self._hash_n_degree(label, temporary))
            # sorted() is stable: equal hashes keep input order (only the
            # issued identifiers map, never the output, depends on that).
            for _, issuer in sorted(results, key=lambda result: result[0]):
                for label in issuer.issued:
                    self.canonical.issue(label)

    def _charge(self, what: str) -> None:
        """Spend one unit of the work budget, or abort as poison."""
        self.work += 1
        if self.work > self.max_work:
            raise PoisonDatasetError(
                f"RDFC-1.0 canonicalization aborted: poison dataset suspected; "
                f"Hash N-Degree Quads exceeded max_work={self.max_work} units "
                f"(calls plus permutations) at a {what}"
            )

    def _hash_first_degree(self, label: str) -> str:
        """Hash First Degree Quads (section 4.6)."""
        relabel = _Placeholders(label)
        nquads = sorted(_serialize(quad, relabel) for quad in self.mentions[label])
        return self.digest("".join(nquads))

    def _hash_related(self, related: str, quad: _Quad, issuer: _Issuer, position: str) -> str:
        """Hash Related Blank Node (section 4.7)."""
        text = position if position == "g" else f"{position}<{quad.predicate.value}>"
        identifier = self.canonical.issued.get(related) or issuer.issued.get(related)
        if identifier is not None:
            text += "_:" + identifier
        else:
            text += self.first_degree[related]
        return self.digest(text)

    def _hash_n_degree(self, label: str, issuer: _Issuer) -> tuple[str, _Issuer]:
        """Hash N-Degree Quads (section 4.8.3), metered against poison datasets."""
        self._charge("call")
        related_by_hash: dict[str, list[str]] = {}  # steps 1-3
        for quad in self.mentions[label]:
            for position, term in (("s", quad.subject), ("o", quad.object), ("g", quad.graph)):
                if term is not None and term.kind == _BNODE and term.value != label:
                    related_hash = self._hash_related(term.value, quad, issuer, position)
                    related_by_hash.setdefault(related_hash, []).append(term.value)
        data_to_hash: list[str] = []  # step 4
        for related_hash in sorted(related_by_hash):  # step 5
            data_to_hash.append(related_hash)
            chosen_path = ""
            chosen_issuer = issuer
            for permutation in itertools.permutations(related_by_hash[related_hash]):
                self._charge("permutation")
                candidate = self._try_permutation(permutation, issuer, chosen_path)
                if candidate is not None and (not chosen_path or candidate[0] < chosen_path):
                    chosen_path, chosen_issuer = candidate
            data_to_hash.append(chosen_path)
            issuer = chosen_issuer
        return self.digest("".join(data_to_hash)), issuer

    def _try_permutation(
        self, permutation: tuple[str, ...], issuer: _Issuer, chosen_path: str
    ) -> tuple[str, _Issuer] | None:
        """Steps 5.4.1-5.4.5: the path for one permutation, or None if it cannot win."""
        issuer_copy = issuer.copy()
        path = ""
        recursion_list: list[str] = []
        for related in permutation:
            canonical = self.canonical.issued.get(related)
            if canonical is not None:
                path += "_:" + canonical
            else:
                if related not in issuer_copy.issued:
                    recursion_list.append(related)
                path += "_:" + issuer_copy.issue(related)
            if _cannot_win(path, chosen_path):
                return None
        for related in recursion_list:
            result_hash, result_issuer = self._hash_n_degree(related, issuer_copy)
            path += f"_:{issuer_copy.issue(related)}<{result_hash}>"
            issuer_copy = result_issuer
            if _cannot_win(path, chosen_path):
                return None
        return path, issuer_copy


def _cannot_win(path: str, chosen_path: str) -> bool:
    """Steps 5.4.4.3 and 5.4.5.5: may the rest of this permutation be skipped?"""
    return bool(chosen_path) and len(path) >= len(chosen_path) and path > chosen_path


def _blank_labels(quad: _Quad) -> Iterable[str]:
    """Labels of the blank node components (never the predicate)."""
    for term in (quad.subject, quad.object, quad.graph):
        if term is not None and term.kind == _BNODE:
            yield term.value


class _Placeholders(Mapping[str, str]):
    """Hash First Degree Quads relabelling: ``a`` for the reference node, else ``z``."""

    __slots__ = ("reference",)

    def __init__(self, reference: str) -> None:
        self.reference = reference

    def __getitem__(self, label: str) -> str:
        return "a" if label == self.reference else "z"

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0
