"""A battery's own identifier: which forms the ledger accepts, and when two are one battery.

Under Regulation (EU) 2023/1542 (Article 77, Annex XIII) each battery's passport is reached
through the battery's unique identifier; a passport's ``batteryId`` is that identifier of
one individual battery. :func:`parse_battery_id` accepts three forms of it, all from
ISO/IEC 15459 issuing agencies (docs/battery-ids.md says why these and not others):

1. ``gs1-digital-link``: a GS1 Digital Link URI whose primary key is a GTIN (AI 01) with a
   serial number (AI 21), ``https://<any host>[/<prefix>]/01/<GTIN>[/22/..][/10/..]/21/<serial>``.
   A GTIN alone names a model, not a battery, and is refused (``no_serial``); so are the
   other GS1 keys (``unsupported_key``): a GIAI (8004) is assigned by whoever owns the asset
   and changes with its owner, an SSCC names a shipment, and (01)+(235) is the tobacco
   traceability identifier issued by a third party.
2. ``epc-sgtin``: the same GTIN + serial as a GS1 EPC pure-identity URI (Tag Data Standard,
   SGTIN), ``urn:epc:id:sgtin:<company prefix>.<indicator><item reference>.<serial>``.
3. ``iso15459``: an ISO/IEC 15459-4 unique item identifier of a non-GS1 issuing agency, as
   the ANSI MH10.8.2 data identifier 25S writes it: ``25S<IAC><CIN><serial>``.

Forms 1 and 2 of the same GTIN + serial are the same battery: they share one ``key``, the
canonical GS1 Digital Link URI ``https://id.gs1.org/01/<14-digit GTIN>/21/<serial>``.

Pure standard library: no I/O, no SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal
from urllib.parse import quote, unquote_to_bytes

from ledger.core.digital_link import (
    GS1_RESOLVER,
    SET_82,
    DigitalLinkError,
    check_digit,
    parse_digital_link,
)

__all__ = [
    "BatteryId",
    "BatteryIdError",
    "Scheme",
    "gtin_check_digit",
    "is_valid_gtin",
    "parse_battery_id",
]

Scheme = Literal["gs1-digital-link", "epc-sgtin", "iso15459"]


class BatteryIdError(ValueError):
    """A battery identifier the ledger does not accept.

    ``reason`` is a short, stable code; for a malformed Digital Link URI it is
    ``invalid_digital_link`` and ``detail`` holds the parser's own reason
    (:class:`~ledger.core.digital_link.DigitalLinkError`, also chained as the cause).
    """

    def __init__(self, reason: str, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class BatteryId:
    """An accepted battery identifier.

    ``text`` is the identifier exactly as given (what the ledger stores and shows);
    ``key`` is what uniqueness is decided on. Two ids are the same battery when, and only
    when, their keys are equal: ``https://a.example/01/09506000134352/21/X1`` and
    ``https://b.example/01/9506000134352/21/X1`` (another host, the GTIN-13 form of the
    same GTIN) and ``urn:epc:id:sgtin:9506000.013435.X1`` are one battery, key
    ``https://id.gs1.org/01/09506000134352/21/X1``. Hosts, path prefixes, lot and variant
    qualifiers, query strings and fragments never enter the key: a GTIN's serial number
    is unique for that GTIN on its own. Compare ids with :meth:`same_battery`, not ``==``
    (which also compares the text).
    """

    text: str
    scheme: Scheme
    gtin: str | None  # 14 digits, GS1 forms only
    serial: str | None  # GS1 forms only
    key: str

    def same_battery(self, other: BatteryId) -> bool:
        """Whether ``other`` identifies the same battery (equal keys)."""
        return self.key == other.key


def gtin_check_digit(digits: str) -> str:
    """The check digit completing a GTIN: ``digits`` is the GTIN without it (7, 11, 12 or
    13 digits for a GTIN-8, -12, -13 or -14)."""
    if len(digits) not in (7, 11, 12, 13) or not digits.isascii() or not digits.isdigit():
        raise ValueError(f"a GTIN without its check digit is 7, 11, 12 or 13 digits: {digits!r}")
    return check_digit(digits)


def is_valid_gtin(text: str) -> bool:
    """Whether ``text`` is a GTIN-8, -12, -13 or -14 with a right check digit."""
    return (
        len(text) in (8, 12, 13, 14)
        and text.isascii()
        and text.isdigit()
        and check_digit(text[:-1]) == text[-1]
    )


def _sgtin_key(gtin: str, serial: str) -> str:
    """The canonical GS1 Digital Link URI of a GTIN + serial: the key of both GS1 forms."""
    return f"{GS1_RESOLVER}/01/{gtin}/21/{quote(serial, safe='')}"


# --- GS1 Digital Link --------------------------------------------------------------------

_OTHER_KEYS: Final = {
    "8004": "a GIAI identifies an asset in its owner's inventory and is reassigned by each "
    "new owner, not one manufactured battery for life",
    "00": "an SSCC identifies a logistic unit (a shipment), not a battery",
    "8006": "an ITIP identifies one piece of a trade item split over several packages",
}


def _from_digital_link(text: str) -> BatteryId:
    try:
        link = parse_digital_link(text)
    except DigitalLinkError as error:
        raise BatteryIdError(
            "invalid_digital_link",
            f"not a valid GS1 Digital Link URI: {error}",
            detail=error.reason,
        ) from error
    key_ai = link.primary[0]
    if link.gtin is None:
        why = _OTHER_KEYS.get(key_ai, f"AI {key_ai} does not identify an individual product")
        raise BatteryIdError(
            "unsupported_key",
            f"a battery is identified by a GTIN (01) with a serial number (21); {why}",
        )
    if link.serial is None:
        why = (
            "(235) is a third-party controlled serial extension (tobacco traceability), not "
            "the manufacturer's serial number"
            if link.value("235") is not None
            else "a GTIN alone identifies a battery model, and a passport is per battery"
        )
        raise BatteryIdError("no_serial", f"the URI has no serial number (AI 21): {why}")
    return BatteryId(
        text, "gs1-digital-link", link.gtin, link.serial, _sgtin_key(link.gtin, link.serial)
    )


# --- EPC pure identity (SGTIN) -----------------------------------------------------------

_EPC_PREFIX: Final = "urn:epc:id:sgtin:"
_EPC_MUST_ESCAPE: Final = frozenset('"&/<>?')  # and "%", which starts an escape
_HEX: Final = frozenset("0123456789ABCDEFabcdef")


def _epc_error(text: str, problem: str) -> BatteryIdError:
    return BatteryIdError("invalid_epc_uri", f"not a valid SGTIN EPC URI ({text!r}): {problem}")


def _epc_serial(text: str, raw: str) -> str:
    """The serial of an SGTIN EPC URI: set 82, with " % & / < > ? escaped (%22 %25 ...)."""
    for index, char in enumerate(raw):
        if char in _EPC_MUST_ESCAPE or (char != "%" and char not in SET_82):
            raise _epc_error(
                text,
                f"{char!r} at position {index + 1} of the serial must be %-escaped or is "
                "not in GS1 AI encodable character set 82",
            )
    if any(len(p) < 2 or any(c not in _HEX for c in p[:2]) for p in raw.split("%")[1:]):
        raise _epc_error(text, "a '%' in the serial is not followed by two hex digits")
    serial = unquote_to_bytes(raw).decode("latin-1")
    bad = next((c for c in serial if c not in SET_82), None)
    if bad is not None:
        raise _epc_error(
            text, f"the serial escapes {bad!r}, not in GS1 AI encodable character set 82"
        )
    if not 1 <= len(serial) <= 20:
        raise _epc_error(text, f"the serial has {len(serial)} characters, GS1 allows 1 to 20")
    return serial


def _from_epc(text: str) -> BatteryId:
    company, _, rest = text[len(_EPC_PREFIX) :].partition(".")
    item, dot, raw_serial = rest.partition(".")
    if not dot:
        raise _epc_error(text, "expected <company prefix>.<indicator><item reference>.<serial>")
    digits = company + item
    if not (
        6 <= len(company) <= 12 and len(digits) == 13 and digits.isascii() and digits.isdigit()
    ):
        raise _epc_error(
            text,
            "the company prefix (6 to 12 digits) and the indicator with the item reference "
            "must be 13 digits together",
        )
    body = item[0] + company + item[1:]
    gtin = body + check_digit(body)
    serial = _epc_serial(text, raw_serial)
    return BatteryId(text, "epc-sgtin", gtin, serial, _sgtin_key(gtin, serial))


# --- ISO/IEC 15459 (data identifier 25S) -------------------------------------------------

_ISO_PREFIX: Final = "25S"
_ISO_CHARACTERS: Final = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ISO_MAX: Final = 50


def _from_iso15459(text: str) -> BatteryId:
    body = text[len(_ISO_PREFIX) :]

    def error(problem: str) -> BatteryIdError:
        return BatteryIdError(
            "invalid_iso15459", f"not an accepted ISO/IEC 15459 identifier: {problem}"
        )

    bad = next((c for c in body if c not in _ISO_CHARACTERS), None)
    if bad is not None:
        raise error(f"{bad!r} is not an upper-case letter or digit")
    if not 3 <= len(body) <= _ISO_MAX:
        raise error(
            f"issuing agency code, company number and serial take 3 to {_ISO_MAX} "
            f"characters, not {len(body)}"
        )
    if body[0].isdigit():
        raise error(
            "issuing agency codes 0-9 are GS1's: write a GS1 identifier as a Digital Link URI "
            "or an SGTIN EPC URI"
        )
    return BatteryId(text, "iso15459", None, None, text)


# --- Entry point -------------------------------------------------------------------------


def parse_battery_id(text: str) -> BatteryId:
    """Parse and validate a battery identifier in one of the three accepted forms.

    Raises :class:`BatteryIdError` saying which rule failed.
    """
    if not isinstance(text, str):
        raise BatteryIdError("not_text", f"a battery id is text, not {type(text).__name__}")
    return _parse_text(text)


@lru_cache(maxsize=4096)
def _parse_text(text: str) -> BatteryId:
    """:func:`parse_battery_id` of a string, remembered: a v2 passport's id is parsed by
    the batch's prefetch, the one-live-passport rule and its lookup row (about 40 us each);
    a refusal is raised again each time (exceptions are not cached)."""
    if not text:
        raise BatteryIdError("empty", "the battery id is empty")
    if text != text.strip():
        raise BatteryIdError("whitespace", "the battery id starts or ends with white space")
    if text[:8].lower().startswith(("http://", "https://")):
        return _from_digital_link(text)
    if text[: len(_EPC_PREFIX)].lower() == _EPC_PREFIX:
        return _from_epc(text)
    if text[:11].lower() == "urn:epc:id:":
        raise BatteryIdError(
            "unsupported_key",
            "of the EPC URIs only the SGTIN (urn:epc:id:sgtin:..., a GTIN with a serial "
            "number) identifies one battery",
        )
    if text.startswith(_ISO_PREFIX):
        return _from_iso15459(text)
    raise BatteryIdError(
        "unsupported_scheme",
        "expected a GS1 Digital Link URI (https://<host>/01/<GTIN>/21/<serial>), an SGTIN EPC "
        "URI (urn:epc:id:sgtin:...) or an ISO/IEC 15459 identifier (25S<IAC><CIN><serial>)",
    )
