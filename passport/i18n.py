"""The pages' languages: English, German and French (Babel message catalogues).

The catalogues are ``passport/locales/<lang>/LC_MESSAGES/messages.po``, extracted from the
templates and this package with ``babel.cfg`` (``pybabel extract -F babel.cfg``). They are
read once, at start-up, with ``babel.messages.pofile`` and compiled in memory: no binary
``.mo`` file is kept in the repository or the package. Each language gets a Jinja2
environment of its own, its ``gettext`` and its date and number filters bound to its
locale, so a request never changes shared state.

A request's language is ``?lang=`` if given (one of :data:`LANGUAGES`, a region allowed:
``de-AT`` is ``de``), else the best match of ``Accept-Language`` (RFC 9110 section
12.5.4), else English.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from babel import Locale, dates, numbers
from babel.messages import mofile, pofile
from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape

LANGUAGES = ("en", "de", "fr")
"""The pages' languages; the first is the default and the templates' own."""
DEFAULT = LANGUAGES[0]
MAX_RANGES = 32
_TAG = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")


class LanguageError(ValueError):
    """A ``?lang=`` the pages are not written in."""


def _primary(tag: str) -> str:
    return tag.split("-", maxsplit=1)[0].split("_", maxsplit=1)[0].lower()


def choose(lang: str | None, accept_language: str | None) -> str:
    """The page language for ``?lang=`` and ``Accept-Language`` (see the module's doc).
    Raises :class:`LanguageError` for a ``lang`` that is not one of :data:`LANGUAGES`."""
    if lang is not None:
        wanted = lang.strip()
        if not _TAG.fullmatch(wanted) or _primary(wanted) not in LANGUAGES:
            raise LanguageError(f"lang is one of {', '.join(LANGUAGES)}")
        return _primary(wanted)
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((accept_language or "").split(",")[:MAX_RANGES]):
        pieces = [p.strip() for p in part.split(";")]
        tag = pieces[0]
        quality = 1.0
        for parameter in pieces[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if not 0.0 < quality <= 1.0 or not (tag == "*" or _TAG.fullmatch(tag)):
            continue
        language = DEFAULT if tag == "*" else _primary(tag)
        if language in LANGUAGES and (best is None or (quality, -position) > best[:2]):
            best = (quality, -position, language)
    return DEFAULT if best is None else best[2]


def catalogue(language: str) -> gettext.NullTranslations:
    """The translations of ``language``, compiled in memory from its ``.po`` file
    (English: the message ids themselves)."""
    if language == DEFAULT:
        return gettext.NullTranslations()
    source = resources.files("passport") / "locales" / language / "LC_MESSAGES" / "messages.po"
    with source.open("rb") as po:
        messages = pofile.read_po(po, locale=language)
    compiled = io.BytesIO()
    mofile.write_mo(compiled, messages, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _parse_instant(value: object) -> dt.datetime | dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True)
class Formats:
    """Dates and numbers written as ``locale`` writes them (times in UTC, said so)."""

    locale: Locale

    def date(self, value: object) -> str:
        """A date (``2026-01-31``) or the date of a timestamp; anything else as given."""
        parsed = _parse_instant(value)
        if parsed is None:
            return "" if value is None else str(value)
        day = parsed.date() if isinstance(parsed, dt.datetime) else parsed
        return dates.format_date(day, format="medium", locale=self.locale)

    def datetime(self, value: object) -> str:
        """A timestamp in UTC (a plain date as a date)."""
        parsed = _parse_instant(value)
        if not isinstance(parsed, dt.datetime):
            return self.date(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return dates.format_datetime(
            parsed.astimezone(dt.UTC), format="medium", tzinfo=dt.UTC, locale=self.locale
        ) + (" UTC")

    def number(self, value: object) -> str:
        """A number with the locale's separators (others as given)."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "" if value is None else str(value)
        return numbers.format_decimal(value, locale=self.locale)


class Pages:
    """One Jinja2 environment per language over ``passport/templates``, each with its
    catalogue and its locale's formats."""

    def __init__(self) -> None:
        self.environments = {language: self._environment(language) for language in LANGUAGES}
        """Built at start-up: a missing or broken catalogue fails the service's start."""

    def _environment(self, language: str) -> Environment:
        env = Environment(
            loader=PackageLoader("passport", "templates"),
            autoescape=select_autoescape(["html"]),
            auto_reload=False,
            extensions=["jinja2.ext.i18n"],
        )
        translations = catalogue(language)
        env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
        formats = Formats(Locale.parse(language))
        filters: dict[str, Callable[[object], str]] = {
            "date": _remembered(formats.date),
            "datetime": _remembered(formats.datetime),
            "number": _remembered(formats.number),
        }
        env.filters.update(filters)
        words = _words(translations)
        env.filters.update(words)
        env.filters["show"] = _shows(translations, filters, words)
        env.filters["withheld"] = _withheld(translations, words["term"])
        env.globals["lang"] = language
        env.globals["languages"] = {
            code: (Locale.parse(code).get_display_name(code) or code).capitalize()
            for code in LANGUAGES
        }
        return env

    def render(self, language: str, template: str, **context: Any) -> str:
        """``template`` rendered in ``language`` (one of :data:`LANGUAGES`)."""
        return self.environments[language].get_template(template).render(**context)


def _remembered(format_value: Callable[[object], str]) -> Callable[[object], str]:
    """``format_value`` remembering what it wrote for the last values of a plain type: a
    page writes the same dates and numbers again and again, and Babel's formatting is
    what took longest in rendering a hundred records."""
    remembered = functools.lru_cache(maxsize=4096, typed=True)(format_value)

    def apply(value: object) -> str:
        if isinstance(value, str | int | float):
            return remembered(value)
        return format_value(value)

    return apply


def N_(message: str) -> str:  # noqa: N802 (Babel's marker for a message translated later)
    """Marks ``message`` for extraction; the page translates it when it shows it."""
    return message


KINDS: Mapping[str, str] = {
    "PassportIssued": N_("Passport issued"),
    "CustodyTransfer": N_("Custody transferred"),
    "DiagnosticTest": N_("Diagnostic test"),
    "Shipment": N_("Shipped"),
    "ShipmentReceived": N_("Shipment received"),
    "StatusChange": N_("Status changed"),
    "DocumentAttached": N_("Document attached"),
    "PassportSucceeded": N_("Passport succeeded"),
    "Recycled": N_("Recycled"),
    "BatteryModelPublished": N_("Battery model published"),
}
"""The record kinds as a page names them."""

TERMS: Mapping[str, str] = {
    # lifecycle
    "live": N_("live"),
    "closed": N_("closed"),
    "succeeded": N_("succeeded"),
    # access groups
    "public": N_("public"),
    "circularity": N_("circularity"),
    "compliance": N_("compliance"),
    "performance": N_("performance"),
    "business": N_("business"),
    "legitimate-interest": N_("legitimate interest"),
    "authority": N_("authorities"),
    # status
    "original": N_("original"),
    "repurposed": N_("repurposed"),
    "re-used": N_("re-used"),
    "remanufactured": N_("remanufactured"),
    "waste": N_("waste"),
    # grades and reasons
    "reuse": N_("re-use"),
    "repurpose": N_("repurpose"),
    "remanufacture": N_("remanufacture"),
    "recycle": N_("recycle"),
    "sale": N_("sale"),
    "return": N_("return"),
    "repurposing": N_("repurposing"),
    "remanufacturing": N_("remanufacturing"),
    "preparation-for-re-use": N_("preparation for re-use"),
    "preparation-for-repurposing": N_("preparation for repurposing"),
    "waste-handover": N_("waste handover"),
    "import": N_("import"),
    "insolvency-succession": N_("insolvency succession"),
    # other codes
    "intact": N_("intact"),
    "damaged": N_("damaged"),
    "whole": N_("whole battery"),
    "part": N_("part of the battery"),
    "industrial": N_("industrial"),
    "declaration-of-conformity": N_("declaration of conformity"),
    "test-report": N_("test report"),
    "invoice": N_("invoice"),
    "lab-test": N_("laboratory test"),
    "bms-readout": N_("BMS read-out"),
    "hydrometallurgical": N_("hydrometallurgical"),
    "pyro-hydrometallurgical": N_("pyro- and hydrometallurgical"),
}
"""Code values (lifecycle, groups, status, grades, reasons...) as a page words them."""

LABELS: Mapping[str, str] = {
    "batteryId": N_("Battery id"),
    "manufacturedOn": N_("Manufactured on"),
    "manufacturedAt": N_("Manufactured at"),
    "manufacturer": N_("Manufacturer"),
    "mass": N_("Mass (kg)"),
    "model": N_("Model"),
    "status": N_("Status"),
    "reason": N_("Reason"),
    "puttingIntoServiceOn": N_("Put into service on"),
    "predecessors": N_("Made from"),
    "successors": N_("Continued as"),
    "from": N_("From"),
    "to": N_("To"),
    "place": N_("Place"),
    "time": N_("Time"),
    "price": N_("Price"),
    "amount": N_("Amount"),
    "currency": N_("Currency"),
    "invoice": N_("Invoice"),
    "invoiceOrContract": N_("Invoice or contract"),
    "testedOn": N_("Tested on"),
    "shipmentId": N_("Shipment"),
    "carrier": N_("Carrier"),
    "dangerousGoods": N_("Dangerous goods"),
    "crateIds": N_("Crates"),
    "consignor": N_("Consignor"),
    "consignee": N_("Consignee"),
    "waste": N_("Waste"),
    "annexXivEvidence": N_("Annex XIV evidence"),
    "holderDeclaration": N_("Holder's declaration"),
    "documents": N_("Documents"),
    "condition": N_("Condition"),
    "receivedAt": N_("Received at"),
    "remarks": N_("Remarks"),
    "documentHash": N_("Document hash"),
    "documentType": N_("Document type"),
    "mediaType": N_("Media type"),
    "title": N_("Title"),
    "scope": N_("Scope"),
    "recovered": N_("Recovered (kg)"),
    "inputMass": N_("Input mass (kg)"),
    "process": N_("Process"),
    "components": N_("Components"),
    "component": N_("Component"),
    # dangerous goods
    "unNumber": N_("UN number"),
    "class": N_("Class"),
    "properShippingName": N_("Proper shipping name"),
    "packingInstruction": N_("Packing instruction"),
    "specialProvisions": N_("Special provisions"),
    "tunnelCode": N_("Tunnel code"),
    "grossMass": N_("Gross mass (kg)"),
    "packages": N_("Packages"),
    "marks": N_("Marks"),
    # diagnostic measures
    "soce": N_("State of certified energy (%)"),
    "remainingCapacity": N_("Remaining capacity (Ah)"),
    "remainingEnergy": N_("Remaining energy (kWh)"),
    "powerAt80Soc": N_("Power at 80 % SoC (W)"),
    "powerAt20Soc": N_("Power at 20 % SoC (W)"),
    "resistanceIncrease": N_("Resistance increase (%)"),
    "roundTripEfficiency": N_("Round-trip efficiency"),
    "selfDischarge": N_("Self-discharge (%/month)"),
    "selfDischargeEvolution": N_("Evolution of self-discharge"),
    "fullCycles": N_("Full cycles"),
    "energyThroughput": N_("Energy throughput (kWh)"),
    "capacityThroughput": N_("Capacity throughput (Ah)"),
    "deepDischargeEvents": N_("Deep-discharge events"),
    "overchargeEvents": N_("Overcharge events"),
    "accidents": N_("Accidents"),
    "temperatureHistory": N_("Temperature history"),
    "damaged": N_("Damaged"),
    "grade": N_("Grade"),
    "gradingPolicy": N_("Grading policy"),
    "socAtTest": N_("State of charge at the test (%)"),
    "cellSohSpread": N_("Spread of cell health (%)"),
    "calibrationRef": N_("Calibration"),
    "equipment": N_("Equipment"),
    "level": N_("Level"),
    "method": N_("Method"),
    "standard": N_("Standard"),
    "temperature": N_("Temperature (°C)"),
    "uncertainty": N_("Uncertainty"),
    "timeAboveIdleRange": N_("Time above the idle range"),
    "timeBelowIdleRange": N_("Time below the idle range"),
    "chargingTimeAboveIdleRange": N_("Charging time above the idle range"),
    "chargingTimeBelowIdleRange": N_("Charging time below the idle range"),
    # model data
    "gtin": N_("GTIN"),
    "modelName": N_("Model name"),
    "operator": N_("Economic operator"),
    "category": N_("Category"),
    "chemistry": N_("Chemistry"),
    "warrantyPeriod": N_("Warranty period"),
    "symbols": N_("Symbols"),
    "symbol": N_("Symbol"),
    "meaning": N_("Meaning"),
    "carbonFootprint": N_("Carbon footprint"),
    "perFunctionalUnit": N_("Per functional unit (kg CO2e/kWh)"),
    "rawMaterialAcquisition": N_("Raw material acquisition"),
    "production": N_("Production"),
    "distribution": N_("Distribution"),
    "endOfLife": N_("End of life and recycling"),
    "performanceClass": N_("Performance class"),
    "studyUrl": N_("Study"),
    "absolute": N_("Absolute (kg CO2e)"),
    "label": N_("Label"),
    "dueDiligenceReport": N_("Due diligence report"),
    "thirdPartyAssurances": N_("Third-party assurances"),
    "criticalRawMaterials": N_("Critical raw materials"),
    "hazardousSubstances": N_("Hazardous substances"),
    "hazardClass": N_("Hazard class"),
    "impact": N_("Impact"),
    "cas": N_("CAS number"),
    "name": N_("Name"),
    "recycledContent": N_("Recycled content (%)"),
    "preConsumer": N_("Pre-consumer"),
    "postConsumer": N_("Post-consumer"),
    "renewableContent": N_("Renewable content (%)"),
    "endUserInformation": N_("Information for end users"),
    "wastePrevention": N_("Waste prevention"),
    "separateCollection": N_("Separate collection"),
    "collectionAndTreatment": N_("Collection and treatment"),
    "ratedCapacity": N_("Rated capacity (Ah)"),
    "certifiedUsableEnergy": N_("Certified usable energy (kWh)"),
    "ratedEnergy": N_("Rated energy (kWh)"),
    "voltage": N_("Voltage (V)"),
    "minimum": N_("Minimum"),
    "nominal": N_("Nominal"),
    "maximum": N_("Maximum"),
    "power": N_("Power (W)"),
    "original": N_("Original"),
    "maximumPermitted": N_("Maximum permitted"),
    "nominalToEnergyRatio": N_("Ratio of nominal power to energy"),
    "roundTripEfficiencyFade": N_("Round-trip efficiency fade (%)"),
    "initial": N_("Initial"),
    "at50PercentCycleLife": N_("At half of the cycle life"),
    "internalResistance": N_("Internal resistance (mΩ)"),
    "cell": N_("Cell"),
    "module": N_("Module"),
    "pack": N_("Pack"),
    "expectedLifetime": N_("Expected lifetime"),
    "cycles": N_("Cycles"),
    "referenceTest": N_("Reference test"),
    "cRate": N_("C-rate"),
    "capacityThresholdForExhaustion": N_("Capacity threshold for exhaustion (%)"),
    "idleTemperatureRange": N_("Idle temperature range (°C)"),
    "lower": N_("Lower"),
    "upper": N_("Upper"),
    "extinguishingAgents": N_("Extinguishing agents"),
    "declarationOfConformity": N_("EU declaration of conformity"),
    "composition": N_("Composition"),
    "partNumbers": N_("Part numbers"),
    "partNumber": N_("Part number"),
    "source": N_("Source"),
    "dismantling": N_("Dismantling"),
    "safety": N_("Safety measures"),
    "complianceReports": N_("Compliance reports"),
    "capacityFade": N_("Capacity fade (%)"),
    "powerFade": N_("Power fade (%)"),
    "internalResistanceIncrease": N_("Internal resistance increase (%)"),
    "expectedLifetimeYears": N_("Expected lifetime (years)"),
    "initialSelfDischargeRate": N_("Initial self-discharge rate"),
    "address": N_("Address"),
    "contact": N_("Contact"),
    "email": N_("E-mail"),
    "phone": N_("Phone"),
    "url": N_("Web address"),
    "hash": N_("Hash"),
    "digest": N_("Digest"),
    "version": N_("Version"),
    "date": N_("Date"),
    "rate": N_("Rate"),
    "type": N_("Type"),
    "material": N_("Material"),
    "massFraction": N_("Mass fraction (%)"),
    "image": N_("Image"),
    "protection": N_("Protection"),
    "measures": N_("Measures"),
    "testRecords": N_("Test records"),
    "record": N_("Record"),
}
"""Field names as a page labels them (a field not here is shown by its name, spaced)."""

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def humanize(name: str) -> str:
    """``remainingCapacity`` -> ``remaining capacity``: a field with no label yet."""
    spaced = _CAMEL.sub(" ", name).replace("-", " ").replace("_", " ")
    return spaced[:1].upper() + spaced[1:].lower() if len(name) > 3 else name


_TIMES = frozenset({"validFrom", "time"})
_DATES = frozenset({"date", "testedOn", "manufacturedOn", "puttingIntoServiceOn"})


def _shows(
    translations: gettext.NullTranslations,
    formats: Mapping[str, Callable[[object], str]],
    words: Mapping[str, Callable[[object], str]],
) -> Callable[..., Markup]:
    """The ``show`` filter of one language: a value of any shape as HTML (nested lists
    for objects and arrays, links, hashes, actors by name, dates and numbers as the
    locale writes them, terms translated), in Python: the recursive Jinja2 macro it
    replaces was most of the time a page of a hundred records took to render."""
    label, term = words["label"], words["term"]
    number, date, datetime_ = formats["number"], formats["date"], formats["datetime"]
    # Translations are markup as the templates' _() treats them (not escaped).
    none = f'<span class="muted">{translations.gettext("none")}</span>'
    yes, no = translations.gettext("yes"), translations.gettext("no")

    def who(did: str, actors: Mapping[str, str]) -> str:
        if did in actors:
            return (
                f'<span class="actor">{escape(actors[did])}</span> '
                f'<code class="did">{escape(did)}</code>'
            )
        return f'<code class="did">{escape(did)}</code>' if did else none

    def html(value: object, key: object, actors: Mapping[str, str]) -> str:  # noqa: PLR0911 (a return a shape)
        if isinstance(value, Mapping):
            items = "".join(
                f"<dt>{escape(label(k))}</dt><dd>{html(item, k, actors)}</dd>"
                for k, item in value.items()
            )
            return f'<dl class="nested">{items}</dl>'
        if isinstance(value, list | tuple):
            items = "".join(f"<li>{html(item, key, actors)}</li>" for item in value)
            return f'<ul class="list">{items}</ul>'
        if value is None:
            return none
        if value is True:
            return yes
        if value is False:
            return no
        if isinstance(value, int | float):
            return str(escape(number(value)))
        if isinstance(value, str):
            if value.startswith(("https://", "http://")):
                link = escape(value)
                return f'<a href="{link}" rel="nofollow">{link}</a>'
            if value.startswith("sha256:"):
                return f'<code class="hash">{escape(value)}</code>'
            if value.startswith("did:"):
                return who(value, actors)
            if key in _TIMES:
                return str(escape(datetime_(value)))
            if key in _DATES:
                return str(escape(date(value)))
        return str(escape(term(value)))

    @pass_context
    def show(context: Context, value: object, key: object = None) -> Markup:
        return Markup(html(value, key, context.get("actors") or {}))  # noqa: S704 (escaped)

    return show


def _withheld(
    translations: gettext.NullTranslations, term: Callable[[object], str]
) -> Callable[[object], Markup]:
    """The ``withheld`` filter of one language: the groups a reader may not read, each
    named with its digest (a list on every record of a public page, so in Python)."""
    # A translation is markup, as the templates' _() treats it; the group is escaped.
    sentence = Markup(  # noqa: S704 (the catalogue's own text)
        translations.gettext("%(group)s data: withheld from you, present and proven by its digest")
    )

    def withheld(digests: object) -> Markup:
        if not isinstance(digests, Mapping) or not digests:
            return Markup("")
        items = "".join(
            f"\n<li>{sentence % {'group': term(group)}} "
            f'<code class="hash">{escape(digest)}</code></li>'
            for group, digest in digests.items()
        )
        return Markup(f'\n<ul class="withheld">{items}\n</ul>')  # noqa: S704 (escaped)

    return withheld


def _words(translations: gettext.NullTranslations) -> dict[str, Callable[[object], str]]:
    """The label, term and kind filters of one language."""

    def label(name: object) -> str:
        key = str(name)
        return translations.gettext(LABELS[key]) if key in LABELS else humanize(key)

    def term(value: object) -> str:
        key = str(value)
        return translations.gettext(TERMS[key]) if key in TERMS else key

    def kind(value: object) -> str:
        key = str(value)
        return translations.gettext(KINDS[key]) if key in KINDS else key

    return {"label": label, "term": term, "kind": kind}
