"""The GS1 Digital Link resolver: a battery's QR code leads here, and on to its passport.

``GET /01/{gtin}/21/{serial}`` (and every other path the parser accepts: a lot or variant
before the serial, data attributes in the query, the other primary keys) is parsed by
:func:`ledger.core.digital_link.parse_digital_link` from the raw (still percent-encoded)
request target. A malformed URI is a 400 naming the rule (the parser's reason code);
a battery with passports is a 307 to its live passport (or, if none is live, its latest,
which links its successors), the query string passed on; an unknown serial of a known GTIN,
and a GTIN without serial, is a 307 to the model's page; anything else a 404. With
``?linkType=`` or ``Accept: application/linkset+json`` the resolver answers the links as
an RFC 9264 linkset instead of redirecting, with exactly one default link.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.requests import Request

from ledger.core.digital_link import DigitalLink, DigitalLinkError, parse_digital_link
from ledger.facade import Ledger
from passport.problems import Problem

GS1_VOC = "https://gs1.org/voc/"
LINKSET_TYPE = "application/linkset+json"
PRIMARY_KEYS = (
    "00",
    "01",
    "253",
    "255",
    "401",
    "402",
    "414",
    "415",
    "417",
    "8003",
    "8004",
    "8006",
    "8010",
    "8013",
    "8017",
    "8018",
)
"""The GS1 primary keys the parser knows: the paths the resolver answers."""
CONVENIENCE_ALPHAS = frozenset({"gtin", "itip", "cpv", "lot", "ser", "sscc", "gln", "giai", "grai"})


def request_uri(request: Request) -> str:
    """The URI the client asked for, as sent: scheme, Host, raw path and query (Starlette's
    ``request.url`` decodes the path, which would turn an encoded ``/`` in a serial into a
    path separator)."""
    scope = request.scope
    host = request.headers.get("host") or "localhost"
    raw = scope.get("raw_path") or scope["path"].encode("utf-8")
    path = raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{scope.get('scheme', 'http')}://{host}{path}" + (f"?{query}" if query else "")


def parse(request: Request) -> DigitalLink:
    try:
        return parse_digital_link(request_uri(request))
    except DigitalLinkError as error:
        extra = {"ai": error.ai} if error.ai else {}
        raise Problem(
            400, "invalid-digital-link", str(error), rule=error.reason, members=extra
        ) from None


def passport_path(passport_id: str) -> str:
    return "/passports/" + quote(passport_id, safe=":")


def model_path(gtin: str) -> str:
    return f"/models/{gtin}"


def target(ledger: Ledger, link: DigitalLink) -> tuple[str, str] | None:
    """Where a Digital Link leads: (path, what it is: ``passport`` or ``model``)."""
    gtin = link.gtin
    if gtin is None:
        return None
    if link.serial is not None:
        history = ledger.battery_history(link.canonical())
        if history.current is not None:
            return passport_path(history.current.subject_id), "passport"
        if history.passports:
            return passport_path(history.passports[-1].subject_id), "passport"
    if ledger.models_by_gtin(gtin):
        return model_path(gtin), "model"
    return None


def linkset(base: str, link: DigitalLink, path: str, what: str) -> dict[str, Any]:
    """The RFC 9264 linkset of a Digital Link: one default link, the passport (or model)
    page, and for a passport its verification report."""
    anchor = link.canonical(base)
    page = base + path
    title = "Battery passport" if what == "passport" else "Battery model"
    entry: dict[str, Any] = {
        "anchor": anchor,
        GS1_VOC + "defaultLink": [{"href": page, "title": title}],
        GS1_VOC + "pip": [
            {"href": page, "title": title, "type": "text/html"},
            {"href": page, "title": title, "type": "application/ld+json"},
        ],
    }
    if what == "passport":
        entry["https://w3id.org/bpl/linktype/verify"] = [
            {"href": page + "/verify", "title": "Verification report", "type": "application/json"}
        ]
    return {"linkset": [entry]}


def well_known(base: str) -> dict[str, Any]:
    """``/.well-known/gs1resolver``: what this resolver answers (GS1-Conformant Resolver
    standard, its resolver description file)."""
    return {
        "name": "bpl battery passport resolver",
        "resolverRoot": base,
        "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [
            {"namespace": GS1_VOC, "prefix": "gs1:", "profile": GS1_VOC + "defaultLink"},
            {"namespace": GS1_VOC, "prefix": "gs1:", "profile": GS1_VOC + "pip"},
        ],
        "linkTypeDefaultCanBeLinkset": False,
        "validatesURISyntax": True,
        "contact": None,
    }
