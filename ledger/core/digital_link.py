"""GS1 Digital Link URIs (uncompressed form): parse, validate, canonicalise.

A GS1 Digital Link URI writes GS1 Application Identifiers (AIs) as a web address::

    https://<host>[/<path prefix>]/<primary key AI>/<value>[/<qualifier AI>/<value>...]
        [?<data attribute AI>=<value>&...&<other parameter>=...][#fragment]

:func:`parse_digital_link` checks every rule of *GS1 Digital Link: URI Syntax* that a
resolver must enforce before answering (docs/battery-ids.md lists them with their sources)
and returns a :class:`DigitalLink`; anything else raises :class:`DigitalLinkError`, whose
``reason`` is a short code and whose message says which rule failed and where. The HTTP
resolver turns the error into a 400; the ledger uses the parsed value as a battery's id
(:mod:`ledger.core.battery_id`).

Choices (each explained in docs/battery-ids.md):

- numeric AIs only: the "convenience alphas" (``/gtin/``, ``/ser/``...) were deprecated by
  URI Syntax 1.2 and GS1's reference parser refuses them by default; so do we;
- a GTIN-8, -12 or -13 in AI (01) is accepted and padded to 14 digits (URI Syntax 1.2's
  ABNF allows them; the standard's own examples use GTIN-13); every GTIN we return is 14
  digits;
- the AI table below restates the GS1 General Specifications' AI definitions as GS1
  publishes them machine-readably in the *GS1 Barcode Syntax Dictionary* (2025): format,
  check digits, which AIs are primary keys with which key qualifiers, which may be data
  attributes, and the mandatory and exclusive pairings. Of the dictionary's content checks
  ("linters") we run the check digits (mod 10 and the GMN check pair), dates, times and the
  few small ones named in ``_LINTERS``; the rest (country and currency codes, IBAN,
  coordinates, coupon layouts, GS1 Company Prefix plausibility) are not checked.

Pure standard library: no I/O, no network, no SQL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, unquote_to_bytes

__all__ = [
    "AIS",
    "GS1_RESOLVER",
    "SET_82",
    "DigitalLink",
    "DigitalLinkError",
    "check_digit",
    "parse_digital_link",
]

GS1_RESOLVER: Final = "https://id.gs1.org"
"""The stem of canonical GS1 Digital Link URIs: GS1's own resolver."""


class DigitalLinkError(ValueError):
    """A URI that is not a valid GS1 Digital Link URI.

    ``reason`` is a short, stable code (the resolver and the ledger report it); ``ai`` the
    Application Identifier concerned, when there is one.
    """

    def __init__(self, reason: str, message: str, *, ai: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.ai = ai


# --- The AI table ------------------------------------------------------------------------
#
# One line per AI or AI range: AI | format | flags | attributes | title.
#   format:     components separated by spaces: N (digits), X (GS1 AI encodable character
#               set 82), Y (set 39), Z (base64url); a fixed length ("N14") or a maximum
#               ("X..20"); "[...]" optional; ",name" a content check from _LINTERS.
#   flags:      "a" when the AI may be a data attribute (in the query string).
#   attributes: "pk" a primary key without qualifiers; "pk=22,10,21;235" a primary key and
#               its ordered, optional key qualifiers (";" separates alternatives);
#               "req=A,B" needs one of A, B ("+" joins AIs needed together, "n" matches
#               any digit), each "req=" separately; "ex=A,B" excludes A and B.
# Source: GS1 General Specifications, AI definitions, as in the GS1 Barcode Syntax
# Dictionary (gs1/gs1-syntax-dictionary, 2025; Apache-2.0, (c) GS1 AISBL).
_TABLE: Final = """
00        | N18,csum                 | a | pk                           | SSCC
01        | N14,csum                 | a | pk=22,10,21;235 ex=255,37    | GTIN
02        | N14,csum                 | a | ex=01,03 req=37              | CONTENT
03        | N14,csum                 |   | ex=01,02,37                  | MTO GTIN
10        | X..20                    | a | req=01,02,03,8006,8026       | BATCH/LOT
11        | N6,yymmd0                | a | req=01,02,03,8006,8026       | PROD DATE
12        | N6,yymmd0                | a | req=8020                     | DUE DATE
13        | N6,yymmd0                | a | req=01,02,03,8006,8026       | PACK DATE
15        | N6,yymmd0                | a | req=01,02,03,8006,8026       | BEST BEFORE
16        | N6,yymmd0                | a | req=01,02,03,8006,8026       | SELL BY
17        | N6,yymmd0                | a | req=01,02,03,255,8006,8026   | USE BY
20        | N2                       | a | req=01,02,8006,8026          | VARIANT
21        | X..20                    |   | req=01,03,8006 ex=235        | SERIAL
22        | X..20                    |   | req=01                       | CPV
235       | X..28                    |   | req=01                       | TPX
240       | X..30                    | a | req=01,02,8006,8026          | ADDITIONAL ID
241       | X..30                    | a | req=01,02,8006,8026          | CUST. PART No.
242       | N..6                     | a | req=01,02,8006,8026          | MTO VARIANT
243       | X..20                    | a | req=01                       | PCN
250       | X..30                    | a | req=01,8006 req=21           | SECONDARY SERIAL
251       | X..30                    | a | req=01,8006                  | REF. TO SOURCE
253       | N13,csum [X..17]         | a | pk                           | GDTI
254       | X..20                    |   | req=414                      | GLN EXTENSION
255       | N13,csum [N..12]         | a | pk ex=01,02,415,8006,8020,8026 | GCN
30        | N..8                     | a | req=01,02                    | VAR. COUNT
3100-3105 | N6                       | a | req=01,02 ex=310n            | NET WEIGHT (kg)
3110-3115 | N6                       | a | req=01,02 ex=311n            | LENGTH (m)
3120-3125 | N6                       | a | req=01,02 ex=312n            | WIDTH (m)
3130-3135 | N6                       | a | req=01,02 ex=313n            | HEIGHT (m)
3140-3145 | N6                       | a | req=01,02 ex=314n            | AREA (m2)
3150-3155 | N6                       | a | req=01,02 ex=315n            | NET VOLUME (l)
3160-3165 | N6                       | a | req=01,02 ex=316n            | NET VOLUME (m3)
3200-3205 | N6                       | a | req=01,02 ex=320n            | NET WEIGHT (lb)
3210-3215 | N6                       | a | req=01,02 ex=321n            | LENGTH (in)
3220-3225 | N6                       | a | req=01,02 ex=322n            | LENGTH (ft)
3230-3235 | N6                       | a | req=01,02 ex=323n            | LENGTH (yd)
3240-3245 | N6                       | a | req=01,02 ex=324n            | WIDTH (in)
3250-3255 | N6                       | a | req=01,02 ex=325n            | WIDTH (ft)
3260-3265 | N6                       | a | req=01,02 ex=326n            | WIDTH (yd)
3270-3275 | N6                       | a | req=01,02 ex=327n            | HEIGHT (in)
3280-3285 | N6                       | a | req=01,02 ex=328n            | HEIGHT (ft)
3290-3295 | N6                       | a | req=01,02 ex=329n            | HEIGHT (yd)
3300-3305 | N6                       | a | req=00,01 ex=330n            | GROSS WEIGHT (kg)
3310-3315 | N6                       | a | req=00,01 ex=331n            | LENGTH (m), log
3320-3325 | N6                       | a | req=00,01 ex=332n            | WIDTH (m), log
3330-3335 | N6                       | a | req=00,01 ex=333n            | HEIGHT (m), log
3340-3345 | N6                       | a | req=00,01 ex=334n            | AREA (m2), log
3350-3355 | N6                       | a | req=00,01 ex=335n            | VOLUME (l), log
3360-3365 | N6                       | a | req=00,01 ex=336n            | VOLUME (m3), log
3370-3375 | N6                       | a | req=01 ex=337n               | KG PER m2
3400-3405 | N6                       | a | req=00,01 ex=340n            | GROSS WEIGHT (lb)
3410-3415 | N6                       | a | req=00,01 ex=341n            | LENGTH (in), log
3420-3425 | N6                       | a | req=00,01 ex=342n            | LENGTH (ft), log
3430-3435 | N6                       | a | req=00,01 ex=343n            | LENGTH (yd), log
3440-3445 | N6                       | a | req=00,01 ex=344n            | WIDTH (in), log
3450-3455 | N6                       | a | req=00,01 ex=345n            | WIDTH (ft), log
3460-3465 | N6                       | a | req=00,01 ex=346n            | WIDTH (yd), log
3470-3475 | N6                       | a | req=00,01 ex=347n            | HEIGHT (in), log
3480-3485 | N6                       | a | req=00,01 ex=348n            | HEIGHT (ft), log
3490-3495 | N6                       | a | req=00,01 ex=349n            | HEIGHT (yd), log
3500-3505 | N6                       | a | req=01,02 ex=350n            | AREA (in2)
3510-3515 | N6                       | a | req=01,02 ex=351n            | AREA (ft2)
3520-3525 | N6                       | a | req=01,02 ex=352n            | AREA (yd2)
3530-3535 | N6                       | a | req=00,01 ex=353n            | AREA (in2), log
3540-3545 | N6                       | a | req=00,01 ex=354n            | AREA (ft2), log
3550-3555 | N6                       | a | req=00,01 ex=355n            | AREA (yd2), log
3560-3565 | N6                       | a | req=01,02 ex=356n            | NET WEIGHT (t oz)
3570-3575 | N6                       | a | req=01,02 ex=357n            | NET VOLUME (oz)
3600-3605 | N6                       | a | req=01,02 ex=360n            | NET VOLUME (qt)
3610-3615 | N6                       | a | req=01,02 ex=361n            | NET VOLUME (gal.)
3620-3625 | N6                       | a | req=00,01 ex=362n            | VOLUME (qt), log
3630-3635 | N6                       | a | req=00,01 ex=363n            | VOLUME (gal.), log
3640-3645 | N6                       | a | req=01,02 ex=364n            | VOLUME (in3)
3650-3655 | N6                       | a | req=01,02 ex=365n            | VOLUME (ft3)
3660-3665 | N6                       | a | req=01,02 ex=366n            | VOLUME (yd3)
3670-3675 | N6                       | a | req=00,01 ex=367n            | VOLUME (in3), log
3680-3685 | N6                       | a | req=00,01 ex=368n            | VOLUME (ft3), log
3690-3695 | N6                       | a | req=00,01 ex=369n            | VOLUME (yd3), log
37        | N..8                     | a | req=00 req=02,8026           | COUNT
3900-3909 | N..15                    | a | req=255,8020 ex=390n,391n,394n,8111 | AMOUNT
3910-3919 | N3 N..15                 | a | req=8020 ex=391n             | AMOUNT
3920-3929 | N..15                    | a | req=01 req=30,31nn,32nn,35nn,36nn ex=392n,393n | PRICE
3930-3939 | N3 N..15                 | a | req=30,31nn,32nn,35nn,36nn ex=393n | PRICE
3940-3943 | N4                       | a | req=255 ex=394n,8111         | PRCNT OFF
3950-3955 | N6 | a | req=30,31nn,32nn,35nn,36nn ex=392n,393n,395n,8005 | PRICE/UoM
400       | X..30                    | a |                              | ORDER NUMBER
401       | X..30                    | a | pk                           | GINC
402       | N17,csum                 | a | pk                           | GSIN
403       | X..30                    | a | req=00                       | ROUTE
410       | N13,csum                 | a |                              | SHIP TO LOC
411       | N13,csum                 | a |                              | BILL TO
412       | N13,csum                 | a |                              | PURCHASE FROM
413       | N13,csum                 | a |                              | SHIP FOR LOC
414       | N13,csum                 | a | pk=254;7040                  | LOC No.
415       | N13,csum                 | a | req=8020 pk=8020             | PAY TO
416       | N13,csum                 | a |                              | PROD/SERV LOC
417       | N13,csum                 | a | pk=7040                      | PARTY
420       | X..20                    | a | ex=421                       | SHIP TO POST
421       | N3 X..9                  | a | ex=4307                      | SHIP TO POST
422       | N3                       | a | req=01,02,8006,8026 ex=426   | ORIGIN
423       | N3 [N3] [N3] [N3] [N3]   | a | req=01,02 ex=426             | COUNTRY - INITIAL PROCESS
424       | N3                       | a | req=01,02 ex=426             | COUNTRY - PROCESS
425       | N3 [N3] [N3] [N3] [N3]   | a | req=01,02 ex=426             | COUNTRY - DISASSEMBLY
426       | N3                       | a | req=01,02                    | COUNTRY - FULL PROCESS
427       | X..3                     | a | req=01,02 req=422            | ORIGIN SUBDIVISION
4300      | X..35                    | a | req=00                       | SHIP TO COMP
4301      | X..35                    | a | req=00                       | SHIP TO NAME
4302      | X..70                    | a | req=00                       | SHIP TO ADD1
4303      | X..70                    | a | req=4302                     | SHIP TO ADD2
4304      | X..70                    | a | req=00                       | SHIP TO SUB
4305      | X..70                    | a | req=00                       | SHIP TO LOC
4306      | X..70                    | a | req=00                       | SHIP TO REG
4307      | X2                       | a | req=00                       | SHIP TO COUNTRY
4308      | X..30                    | a | req=00                       | SHIP TO PHONE
4309      | N10 N10                  | a | req=00                       | SHIP TO GEO
4310      | X..35                    | a | req=00                       | RTN TO COMP
4311      | X..35                    | a | req=00                       | RTN TO NAME
4312      | X..70                    | a | req=00                       | RTN TO ADD1
4313      | X..70                    | a | req=4312                     | RTN TO ADD2
4314      | X..70                    | a | req=00                       | RTN TO SUB
4315      | X..70                    | a | req=00                       | RTN TO LOC
4316      | X..70                    | a | req=00                       | RTN TO REG
4317      | X2                       | a | req=00                       | RTN TO COUNTRY
4318      | X..20                    | a | req=00                       | RTN TO POST
4319      | X..30                    | a | req=00                       | RTN TO PHONE
4320      | X..35                    | a | req=00                       | SRV DESCRIPTION
4321      | N1,yesno                 | a | req=00                       | DANGEROUS GOODS
4322      | N1,yesno                 | a | req=00                       | AUTH TO LEAVE
4323      | N1,yesno                 | a | req=00                       | SIG REQUIRED
4324      | N6,yymmd0 N4,hhmi        | a | req=00                       | NOT BEF DEL DT
4325      | N6,yymmd0 N4,hhmi        | a | req=00                       | NOT AFT DEL DT
4326      | N6,yymmdd                | a | req=00                       | REL DATE
4330      | N6 [X1],hyphen           | a | req=00 ex=4331               | MAX TEMP F.
4331      | N6 [X1],hyphen           | a | req=00 ex=4330               | MAX TEMP C.
4332      | N6 [X1],hyphen           | a | req=00 ex=4333               | MIN TEMP F.
4333      | N6 [X1],hyphen           | a | req=00 ex=4332               | MIN TEMP C.
7001      | N13                      | a | req=01,02,8006,8026          | NSN
7002      | X..30                    | a | req=01,02                    | MEAT CUT
7003      | N6,yymmdd N4,hhmi        | a | req=01,02                    | EXPIRY TIME
7004      | N..4                     | a | req=01 req=10                | ACTIVE POTENCY
7005      | X..12                    | a | req=01,02                    | CATCH AREA
7006      | N6,yymmdd                | a | req=01,02                    | FIRST FREEZE DATE
7007      | N6,yymmdd [N6],yymmdd    | a | req=01,02                    | HARVEST DATE
7008      | X..3                     | a | req=01,02                    | AQUATIC SPECIES
7009      | X..10                    | a | req=01,02                    | FISHING GEAR TYPE
7010      | X..2                     | a | req=01,02                    | PROD METHOD
7011      | N6,yymmdd [N4],hhmi      | a | req=01,02                    | TEST BY DATE
7020      | X..20                    | a | req=01,8006 req=416          | REFURB LOT
7021      | X..20                    | a | req=01,8006                  | FUNC STAT
7022      | X..20                    | a | req=7021                     | REV STAT
7023      | X..30                    | a |                              | GIAI - ASSEMBLY
7030-7039 | N3 X..27                 | a | req=01,02                    | PROCESSOR
7040      | N1 X1 X1 X1              |   |                              | UIC+EXT
7041      | X..4                     |   | req=00                       | UFRGT UNIT TYPE
710-716   | X..20                    | a | req=01                       | NHRN
7230-7239 | X2 X..28                 | a | req=01,8004                  | CERT
7240      | X..20                    | a | req=01,8006                  | PROTOCOL
7241      | N2                       | a | req=8017,8018                | AIDC MEDIA TYPE
7242      | X..25                    | a | req=8017,8018                | VCN
7250      | N8,yyyymmdd              | a | req=8018 ex=7251             | DOB
7251      | N8,yyyymmdd N4,hhmi      | a | req=8018 ex=7250             | DOB TIME
7252      | N1                       | a | req=8018                     | BIO SEX
7253      | X..40                    | a | req=8017,8018 ex=7256,7259   | FAMILY NAME
7254      | X..40                    | a | req=8017,8018 ex=7256,7259   | GIVEN NAME
7255      | X..10                    | a | req=8017,8018 ex=7256,7259   | SUFFIX
7256      | X..90                    | a | req=8017,8018                | FULL NAME
7257      | X..70                    | a | req=8018                     | PERSON ADDR
7258      | X3                       | a | req=8018+7259                | BIRTH SEQUENCE
7259      | X..40                    | a | req=8018 ex=7256             | BABY
8001      | N4,nonzero N5,nonzero N3,nonzero N1,winding N1 | a | req=01 | DIMENSIONS
8002      | X..20                    | a |                              | CMT No.
8003      | N1,zero N13,csum [X..16] | a | pk                           | GRAI
8004      | X..30                    | a | pk=7040                      | GIAI
8005      | N6                       | a | req=01,02                    | PRICE PER UNIT
8006      | N14,csum N4,pieceoftotal | a | ex=01,37 pk=22,10,21         | ITIP
8007      | X..34                    | a | req=415                      | IBAN
8008      | N6,yymmdd N2,hh [N2],mi [N2],ss | a | req=01,02                    | PROD TIME
8009      | X..50                    | a | req=00,01                    | OPTSEN
8010      | Y..30                    | a | pk=8011                      | CPID
8011      | N..12,nozeroprefix       |   | req=8010                     | CPID SERIAL
8012      | X..20                    | a | req=01,8006                  | VERSION
8013      | X..25,csumalpha          | a | pk                           | GMN
8014      | X..25,csumalpha          |   | req=01                       | MUDI
8017      | N18,csum                 | a | ex=8018 pk=8019              | GSRN - PROVIDER
8018      | N18,csum                 | a | ex=8017 pk=8019              | GSRN - RECIPIENT
8019      | N..10                    |   | req=8017,8018                | SRIN
8020      | X..25                    |   | req=415                      | REF No.
8026      | N14,csum N4,pieceoftotal | a | req=37 ex=02,8006            | ITIP CONTENT
8030      | Z..90 | a | req=00,01+21,253,255,8003,8004,8006+21,8010+8011,8017,8018 | DIGSIG
8110      | X..70                    | a |                              | COUPON
8111      | N4                       | a | req=255                      | POINTS
8112      | X..70                    | a |                              | PAPERLESS COUPON
8200      | X..70                    |   | req=01                       | PRODUCT URL
90        | X..30                    | a |                              | INTERNAL
91-99     | X..90                    | a |                              | INTERNAL
"""

SET_82: Final = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
"""GS1 AI encodable character set 82 (GS1 General Specifications, figure 7.11-1)."""
_SET_82_ORDER: Final = "".join(sorted(SET_82))
_SET_39: Final = frozenset("#-/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SET_64: Final = frozenset("-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz=")
_CHARSETS: Final = {
    "N": (frozenset("0123456789"), "digits"),
    "X": (SET_82, "GS1 AI encodable character set 82"),
    "Y": (_SET_39, "GS1 AI encodable character set 39"),
    "Z": (_SET_64, "base64url (character set 64)"),
}


@dataclass(frozen=True, slots=True)
class _Component:
    kind: str  # N, X, Y or Z
    min_len: int
    max_len: int
    optional: bool
    linters: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Ai:
    code: str
    title: str
    components: tuple[_Component, ...]
    attribute: bool  # may be a data attribute (query string)
    qualifiers: tuple[tuple[str, ...], ...] | None  # None: not a primary key
    requires: tuple[tuple[tuple[str, ...], ...], ...]  # each: one of these groups
    excludes: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"AI {self.code} ({self.title})"


def _parse_component(text: str) -> _Component:
    optional = text.startswith("[")
    head, *linters = text.replace("[", "").replace("]", "").split(",")
    kind, length = head[0], head[1:]
    if length.startswith(".."):
        return _Component(kind, 1, int(length[2:]), optional, tuple(linters))
    return _Component(kind, int(length), int(length), optional, tuple(linters))


def _parse_attributes(
    text: str,
) -> tuple[tuple[tuple[str, ...], ...] | None, list[tuple[tuple[str, ...], ...]], list[str]]:
    qualifiers: tuple[tuple[str, ...], ...] | None = None
    requires: list[tuple[tuple[str, ...], ...]] = []
    excludes: list[str] = []
    for item in text.split():
        name, _, value = item.partition("=")
        if name == "pk":
            qualifiers = tuple(tuple(alt.split(",")) if alt else () for alt in value.split(";"))
        elif name == "req":
            requires.append(tuple(tuple(group.split("+")) for group in value.split(",")))
        elif name == "ex":
            excludes.extend(value.split(","))
    return qualifiers, requires, excludes


def _expand(codes: str) -> list[str]:
    first, _, last = codes.partition("-")
    if not last:
        return [first]
    return [str(n).zfill(len(first)) for n in range(int(first), int(last) + 1)]


def _load_table(text: str) -> dict[str, _Ai]:
    table: dict[str, _Ai] = {}
    for line in text.strip().splitlines():
        codes, spec, flags, attributes, title = (field.strip() for field in line.split("|"))
        qualifiers, requires, excludes = _parse_attributes(attributes)
        components = tuple(_parse_component(part) for part in spec.split())
        for code in _expand(codes):
            table[code] = _Ai(
                code,
                title,
                components,
                "a" in flags,
                qualifiers,
                tuple(requires),
                tuple(excludes),
            )
    return table


AIS: Final = _load_table(_TABLE)
"""Every GS1 Application Identifier this parser knows, by code."""

_CONVENIENCE_ALPHAS: Final = frozenset(
    {"cpid", "cpsn", "cpv", "gcn", "gdti", "giai", "ginc", "gln", "glnx", "gmn", "grai", "gsin"}
    | {"gsrn", "gsrnp", "gtin", "itip", "lot", "party", "refno", "ser", "srin", "sscc"}
)


# --- Check digits and content checks -----------------------------------------------------


def check_digit(digits: str) -> str:
    """The GS1 mod-10 check digit of ``digits`` (the key without its check digit).

    Weights 3, 1, 3, 1... from the rightmost digit (GS1 General Specifications 7.9.1); the
    same for GTIN, GLN, SSCC, GSRN, GDTI, GRAI and every other numeric GS1 key.
    """
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"check_digit needs digits, got {digits!r}")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str(-total % 10)


_CHECK_PAIR_CHARS: Final = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
_PRIMES: Final = tuple(n for n in range(2, 84) if all(n % d for d in range(2, n)))  # 2..83


def _check_pair(data: str) -> str:
    """The two check characters of an alphanumeric key (GMN; GenSpecs 7.9.5)."""
    total = sum(_SET_82_ORDER.index(c) * _PRIMES[i] for i, c in enumerate(reversed(data))) % 1021
    return _CHECK_PAIR_CHARS[total // 32] + _CHECK_PAIR_CHARS[total % 32]


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _date_problem(text: str, *, century: bool, day_zero: bool) -> str | None:
    """YYMMDD (two-digit years: YY % 4 decides leap years) or YYYYMMDD; DD 00 if allowed."""
    year = int(text[:4]) if century else 2000 + int(text[:2])
    month, day = int(text[-4:-2]), int(text[-2:])
    if not 1 <= month <= 12:
        return f"month {month:02d} is not 01-12"
    if day == 0 and day_zero:
        return None
    if not 1 <= day <= _days_in_month(year, month):
        return f"day {day:02d} does not exist in month {month:02d}"
    return None


def _range_problem(text: str, limit: int, what: str) -> str | None:
    return None if int(text) < limit else f"{what} {text} is out of range"


def _csum_problem(text: str) -> str | None:
    expected = check_digit(text[:-1])
    return None if text[-1] == expected else f"check digit {text[-1]} is wrong, expected {expected}"


def _csumalpha_problem(text: str) -> str | None:
    if len(text) < 3:
        return "too short to hold its two check characters"
    if any(c not in _CHECK_PAIR_CHARS for c in text[-2:]):
        return f"check characters {text[-2:]!r} are not from the check character set"
    expected = _check_pair(text[:-2])
    return (
        None
        if text[-2:] == expected
        else f"check characters {text[-2:]} are wrong, expected {expected}"
    )


def _pieceoftotal_problem(text: str) -> str | None:
    piece, total = int(text[:2]), int(text[2:])
    ok = 1 <= piece <= total
    return None if ok else f"piece {text[:2]} of total {text[2:]} is impossible"


_LINTERS: Final[dict[str, Callable[[str], str | None]]] = {
    "csum": _csum_problem,
    "csumalpha": _csumalpha_problem,
    "zero": lambda t: None if t == "0" else "must be 0",
    "nonzero": lambda t: None if int(t) else "must not be zero",
    "nozeroprefix": lambda t: None if t == "0" or not t.startswith("0") else "has a leading 0",
    "yesno": lambda t: None if t in ("0", "1") else "must be 0 or 1",
    "hyphen": lambda t: None if t == "-" else "must be '-'",
    "winding": lambda t: None if t in ("0", "1", "9") else "winding direction must be 0, 1 or 9",
    "pieceoftotal": _pieceoftotal_problem,
    "yymmd0": lambda t: _date_problem(t, century=False, day_zero=True),
    "yymmdd": lambda t: _date_problem(t, century=False, day_zero=False),
    "yyyymmdd": lambda t: _date_problem(t, century=True, day_zero=False),
    "hh": lambda t: _range_problem(t, 24, "hour"),
    "mi": lambda t: _range_problem(t, 60, "minute"),
    "ss": lambda t: _range_problem(t, 60, "second"),
    "hhmi": lambda t: _range_problem(t[:2], 24, "hour") or _range_problem(t[2:], 60, "minute"),
}


# --- AI values ---------------------------------------------------------------------------


def _lengths(ai: _Ai) -> tuple[int, int]:
    low = sum(c.min_len for c in ai.components if not c.optional)
    return low, sum(c.max_len for c in ai.components)


def _length_error(ai: _Ai, value: str, where: str) -> DigitalLinkError:
    low, high = _lengths(ai)
    span = f"{low}" if low == high else f"{low} to {high}"
    if ai.code == "01":
        span = "14 (or 8, 12, 13, padded to 14)"
    return DigitalLinkError(
        "length",
        f"length: {ai.label} {where} has {len(value)} characters, it takes {span}",
        ai=ai.code,
    )


def _split_components(ai: _Ai, value: str, where: str) -> list[tuple[_Component, str]]:
    """Cut ``value`` into the AI's components: fixed lengths first, the variable one last."""
    parts: list[tuple[_Component, str]] = []
    rest = value
    for component in ai.components:
        if not rest and component.optional:
            break
        take = component.max_len if component.min_len == component.max_len else len(rest)
        piece, rest = rest[:take], rest[take:]
        if not component.min_len <= len(piece) <= component.max_len:
            raise _length_error(ai, value, where)
        parts.append((component, piece))
    if rest:
        raise _length_error(ai, value, where)
    return parts


def _check_characters(ai: _Ai, value: str, kind: str, offset: int, where: str) -> None:
    allowed, name = _CHARSETS[kind]
    for index, char in enumerate(value):
        if char not in allowed:
            shown = (
                repr(char) if char.isprintable() and char.isascii() else f"byte 0x{ord(char):02X}"
            )
            raise DigitalLinkError(
                "charset",
                f"character set: {ai.label} {where}: character {shown} at position "
                f"{offset + index + 1} of the decoded value is not in {name}",
                ai=ai.code,
            )


def _check_value(ai: _Ai, value: str, where: str) -> None:
    """Format (character set, length) and content (check digits, dates...) of a value."""
    offset = 0
    for component, piece in _split_components(ai, value, where):
        _check_characters(ai, piece, component.kind, offset, where)
        for name in component.linters:
            problem = _LINTERS[name](piece)
            if problem is not None:
                reason = "check_digit" if name.startswith("csum") else "value"
                raise DigitalLinkError(
                    reason, f"{reason.replace('_', ' ')}: {ai.label} {where}: {problem}", ai=ai.code
                )
        offset += len(piece)


def _pad_gtin(ai: str, value: str) -> str:
    """GTIN-8, -12 and -13 become 14 digits, the GTIN-14 form of the same GTIN."""
    if ai == "01" and len(value) in (8, 12, 13) and value.isascii() and value.isdigit():
        return value.zfill(14)
    return value


# --- The URI -----------------------------------------------------------------------------

_URI_CHARACTERS: Final = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%"
)
_BAD_HOST_CHARACTERS: Final = frozenset("_~?#@!$&'()*+,;=%")
_SCHEMES: Final = {"http://": "http", "https://": "https", "HTTP://": "http", "HTTPS://": "https"}
_BAD_PERCENT: Final = re.compile(r"%(?![0-9A-Fa-f]{2})|%00")


@dataclass(frozen=True, slots=True)
class _Parts:
    scheme: str
    host: str
    path: str
    query: str | None


def _split_uri(uri: str) -> _Parts:
    for index, char in enumerate(uri):
        if char not in _URI_CHARACTERS:
            raise DigitalLinkError(
                "uri_charset",
                f"URI characters: {char!r} at position {index + 1} is not allowed in a URI "
                "(percent-encode it)",
            )
    bad = _BAD_PERCENT.search(uri)
    if bad:
        raise DigitalLinkError(
            "percent_encoding",
            f"percent-encoding: {uri[bad.start() : bad.start() + 3]!r} at position "
            f"{bad.start() + 1} is not a percent-encoded byte (or encodes a NUL)",
        )
    scheme = next((s for s in _SCHEMES if uri.startswith(s)), None)
    if scheme is None:
        raise DigitalLinkError(
            "scheme",
            "scheme: a GS1 Digital Link URI starts with http:// or https:// "
            "(in lower or upper case)",
        )
    rest = uri[len(scheme) :].split("#", 1)[0]
    rest, question, query = rest.partition("?")
    host, slash, path = rest.partition("/")
    _check_host(host)
    return _Parts(_SCHEMES[scheme], host, slash + path, query if question else None)


def _check_host(host: str) -> None:
    if not host:
        raise DigitalLinkError("host", "host: the URI has no domain name")
    bad = next((c for c in host if c in _BAD_HOST_CHARACTERS), None)
    if bad is not None:
        raise DigitalLinkError("host", f"host: {bad!r} is not allowed in the domain {host!r}")


def _decode(raw: str, *, query: bool) -> str:
    """Percent-decoding; in a query string "+" also means a space (bytes stay one char)."""
    return unquote_to_bytes(raw.replace("+", " ") if query else raw).decode("latin-1")


# --- The path ----------------------------------------------------------------------------


def _find_primary_key(segments: Sequence[str]) -> int | None:
    """Index of the primary key AI: walking back in /AI/value pairs from the end, the first
    AI that is a primary key; None when an unknown AI comes first."""
    for index in range(len(segments) - 2, -1, -2):
        ai = AIS.get(segments[index])
        if ai is None:
            return None
        if ai.qualifiers is not None:
            return index
    return None


def _no_primary_key(segments: Sequence[str], path: str) -> DigitalLinkError:
    """The most useful error for a path without a findable primary key."""
    if path.endswith("/") and _find_primary_key(segments[:-1]) is not None:
        return DigitalLinkError("empty_segment", "path: the path ends with '/' after a value")
    for index in range(len(segments) - 2, -1, -2):
        segment = segments[index]
        if segment in AIS:
            continue
        if segment.lower() in _CONVENIENCE_ALPHAS:
            return DigitalLinkError(
                "convenience_alpha",
                f"path: /{segment}/ is a convenience alpha, deprecated since URI Syntax 1.2 "
                "and not accepted; use the numeric AI",
            )
        if segment.isascii() and segment.isdigit() and 2 <= len(segment) <= 4:
            earlier = segments[index % 2 : index : 2]
            if any(s in AIS and AIS[s].qualifiers is not None for s in earlier):
                return DigitalLinkError(
                    "unknown_ai",
                    f"unknown AI: {segment} in the path is not a GS1 Application Identifier",
                    ai=segment,
                )
        break
    return DigitalLinkError(
        "no_primary_key",
        "primary key: the path holds no /<primary key AI>/<value> (such as /01/<GTIN>) "
        "followed only by key qualifiers",
    )


def _describe(alternatives: Iterable[Sequence[str]]) -> str:
    shown = [
        ", ".join(alt) + (" in that order" if len(alt) > 1 else "") for alt in alternatives if alt
    ]
    return " or ".join(shown) if shown else "none"


def _is_valid_sequence(key: _Ai, qualifiers: Sequence[str]) -> bool:
    """In order, each at most once, all from one alternative of the key's qualifiers."""
    assert key.qualifiers is not None
    for alternative in key.qualifiers:
        position = 0
        for ai in qualifiers:
            if ai not in alternative[position:]:
                break
            position = alternative.index(ai, position) + 1
        else:
            return True
    return False


def _check_sequence(key: _Ai, qualifiers: Sequence[str]) -> None:
    assert key.qualifiers is not None
    seen: set[str] = set()
    for ai in qualifiers:
        if ai in seen or ai == key.code:
            raise DigitalLinkError(
                "duplicate_ai", f"duplicate AI: {ai} appears twice in the path", ai=ai
            )
        seen.add(ai)
    if _is_valid_sequence(key, qualifiers):
        return
    allowed = _describe(key.qualifiers)
    for alternative in key.qualifiers:
        if set(qualifiers) <= set(alternative):
            raise DigitalLinkError(
                "qualifier_order",
                f"key qualifier order: after {key.label} the qualifiers come as {allowed}; "
                f"found {', '.join(qualifiers)}",
            )
    stray = next((ai for ai in qualifiers if not any(ai in alt for alt in key.qualifiers)), None)
    detail = (
        f"AI {stray} is not a key qualifier of {key.label}"
        + (
            " (data attributes go in the query string)"
            if stray in AIS and AIS[stray].attribute
            else ""
        )
        if stray
        else f"{', '.join(qualifiers)} cannot qualify {key.label} together"
    )
    raise DigitalLinkError(
        "qualifier_not_allowed", f"key qualifiers: {detail}; allowed: {allowed}", ai=stray
    )


def _path_elements(path: str) -> tuple[str, list[tuple[str, str]]]:
    """The path prefix and the (AI, raw value) pairs from the primary key on."""
    segments = path.split("/")[1:]
    start = _find_primary_key(segments)
    if start is None:
        raise _no_primary_key(segments, path)
    prefix = "/" + "/".join(segments[:start]) if start else ""
    pairs = [(segments[i], segments[i + 1]) for i in range(start, len(segments), 2)]
    return prefix, pairs


def _decoded_path(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    key = AIS[pairs[0][0]]
    _check_sequence(key, [ai for ai, _ in pairs[1:]])
    decoded: list[tuple[str, str]] = []
    for code, raw in pairs:
        ai = AIS[code]
        if not raw:
            raise DigitalLinkError(
                "empty_value", f"empty value: {ai.label} in the path has no value", ai=code
            )
        value = _pad_gtin(code, _decode(raw, query=False))
        _check_value(ai, value, "in the path")
        decoded.append((code, value))
    return decoded


# --- The query string --------------------------------------------------------------------


def _split_query(
    query: str | None,
) -> tuple[list[tuple[str, str]], list[tuple[str, str | None]]]:
    """Data attributes (numeric keys, decoded) and other parameters (decoded), in order."""
    attributes: list[tuple[str, str]] = []
    others: list[tuple[str, str | None]] = []
    for param in (query or "").split("&"):
        if not param:
            continue
        name, equals, raw = param.partition("=")
        if not (name.isascii() and name.isdigit()):
            others.append((_decode(name, query=True), _decode(raw, query=True) if equals else None))
            continue
        if name not in AIS:
            raise DigitalLinkError(
                "unknown_ai",
                f"unknown AI: {name} in the query string is not a GS1 Application Identifier "
                "(numeric parameters are reserved for AIs)",
                ai=name,
            )
        if not raw:
            raise DigitalLinkError(
                "empty_value",
                f"empty value: {AIS[name].label} in the query string has no value",
                ai=name,
            )
        attributes.append((name, _pad_gtin(name, _decode(raw, query=True))))
    return attributes, others


def _check_attributes(path: Sequence[str], attributes: Sequence[tuple[str, str]]) -> None:
    seen = set(path)
    key = AIS[path[0]]
    for code, value in attributes:
        ai = AIS[code]
        if code in seen:
            raise DigitalLinkError(
                "duplicate_ai", f"duplicate AI: {code} appears more than once", ai=code
            )
        seen.add(code)
        if any(
            _is_valid_sequence(key, [*path[1:j], code, *path[j:]]) for j in range(1, len(path) + 1)
        ):
            raise DigitalLinkError(
                "qualifier_in_query",
                f"key qualifier in the query: {ai.label} qualifies {key.label} and belongs in "
                "the path, in order",
                ai=code,
            )
        if not ai.attribute:
            raise DigitalLinkError(
                "not_data_attribute",
                f"data attribute: {ai.label} is not permitted in the query string of a GS1 "
                "Digital Link URI",
                ai=code,
            )
        _check_value(ai, value, "in the query string")


# --- Pairings ----------------------------------------------------------------------------


def _matches(pattern: str, code: str) -> bool:
    return len(pattern) == len(code) and all(
        p in ("n", c) for p, c in zip(pattern, code, strict=True)
    )


def _check_pairings(codes: Sequence[str]) -> None:
    """Mandatory (req) and invalid (ex) AI pairings of the GS1 General Specifications."""
    present = set(codes)
    for code in codes:
        ai = AIS[code]
        for alternatives in ai.requires:
            if not any(
                all(any(_matches(p, c) for c in present) for p in group) for group in alternatives
            ):
                wanted = " or ".join("+".join(group) for group in alternatives)
                raise DigitalLinkError(
                    "ai_pairing", f"AI pairing: {ai.label} requires {wanted}", ai=code
                )
        for pattern in ai.excludes:
            clash = next((c for c in present if c != code and _matches(pattern, c)), None)
            if clash is not None:
                raise DigitalLinkError(
                    "ai_pairing", f"AI pairing: {ai.label} cannot appear with AI {clash}", ai=code
                )


# --- The result --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DigitalLink:
    """A parsed, valid GS1 Digital Link URI.

    Values are percent-decoded; a GTIN (AI 01, path or query) is always 14 digits.
    ``prefix`` is the path before the primary key ("" or "/a/b", as written);
    ``other_params`` the non-AI query parameters (decoded; ``None`` for a parameter written
    without "="), such as ``linkType``. The fragment is not kept: it never identifies.
    """

    uri: str
    scheme: str
    host: str
    prefix: str
    primary: tuple[str, str]
    qualifiers: tuple[tuple[str, str], ...]
    attributes: tuple[tuple[str, str], ...]
    other_params: tuple[tuple[str, str | None], ...]

    def value(self, ai: str) -> str | None:
        """The value of ``ai`` wherever it is (primary key, qualifier or attribute)."""
        return next((v for code, v in self.elements if code == ai), None)

    @property
    def elements(self) -> tuple[tuple[str, str], ...]:
        """Every (AI, value), in order: primary key, key qualifiers, data attributes."""
        return (self.primary, *self.qualifiers, *self.attributes)

    @property
    def gtin(self) -> str | None:
        """The 14-digit GTIN when the primary key is a GTIN (AI 01)."""
        return self.primary[1] if self.primary[0] == "01" else None

    @property
    def serial(self) -> str | None:
        """The serial number (AI 21 key qualifier), if any."""
        return next((v for code, v in self.qualifiers if code == "21"), None)

    @property
    def lot(self) -> str | None:
        """The batch or lot number (AI 10 key qualifier), if any."""
        return next((v for code, v in self.qualifiers if code == "10"), None)

    def canonical(self, stem: str = GS1_RESOLVER) -> str:
        """The identifier's canonical URI: ``stem`` then the primary key and key qualifiers.

        Data attributes, other parameters, the path prefix and the host the URI was written
        with are left out (they describe or route, they do not identify); every character
        but A-Z a-z 0-9 - . _ ~ is percent-encoded with upper-case hex, so equal identifiers
        give equal strings.
        """
        if not stem.startswith(("http://", "https://")) or any(c in stem for c in "?#"):
            raise ValueError(f"the stem must be an http(s) URI without query or fragment: {stem!r}")
        path = "".join(
            f"/{ai}/{quote(value, safe='')}" for ai, value in (self.primary, *self.qualifiers)
        )
        return stem.rstrip("/") + path


def parse_digital_link(uri: str) -> DigitalLink:
    """Parse and validate a GS1 Digital Link URI (uncompressed form).

    Raises :class:`DigitalLinkError` naming the rule that failed and where.
    """
    if not isinstance(uri, str):
        raise DigitalLinkError("not_text", f"a URI is text, not {type(uri).__name__}")
    parts = _split_uri(uri)
    prefix, raw_pairs = _path_elements(parts.path)
    path = _decoded_path(raw_pairs)
    attributes, others = _split_query(parts.query)
    _check_attributes([code for code, _ in path], attributes)
    _check_pairings([code for code, _ in (*path, *attributes)])
    return DigitalLink(
        uri=uri,
        scheme=parts.scheme,
        host=parts.host,
        prefix=prefix,
        primary=path[0],
        qualifiers=tuple(path[1:]),
        attributes=tuple(attributes),
        other_params=tuple(others),
    )
