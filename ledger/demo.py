"""A realistic demo ledger: actors, and a few hundred EV batteries with full lives.

:func:`run_demo` registers the actors of a small European battery value chain (two OEMs,
three dismantlers, a test lab, two carriers, a repurposer, a remanufacturer, two recyclers
and a market-surveillance authority), then gives every battery a life drawn from the seed:

1. ``PassportIssued`` by its OEM (status ``original``), with model data, composition,
   part numbers, safety information and compliance report hashes;
2. ``CustodyTransfer`` to a dismantler (``sale`` or ``return``), countersigned by it;
   sometimes a ``DocumentAttached`` (the dismantler's purchase invoice);
3. ``DiagnosticTest`` by the test lab, graded by the bundled grading policy; sometimes a
   ``DocumentAttached`` by the authority (an inspection report, authority group);
4. by grade: ``reuse`` -> ``StatusChange`` to ``re-used``; ``repurpose`` /
   ``remanufacture`` -> custody to the repurposer / remanufacturer, a successor passport
   (``repurposed`` / ``remanufactured``, with ``predecessors``) and ``PassportSucceeded``
   on the original; ``recycle`` -> ``StatusChange`` to ``waste``, an ADR ``Shipment`` to a
   recycler, ``ShipmentReceived``, a ``waste-handover`` transfer and ``Recycled``.

Every life is planned first; then the records go in by rounds (the first record of every
life in one ``append_many`` batch, then every second record, ...), with ``sequence`` and
``previous`` computed locally from the hashes of the records signed before.

Same seed, same actors (keys from the seed), batteries, measures, grades and lives; only
record ids, salts and timestamps differ. The actors' keys derive from the seed: a demo
ledger is for demonstrations only.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ledger.core import grading, records
from ledger.facade import Ledger
from signing import keys, proofs
from signing.keys import KeyPair

__all__ = ["DemoSummary", "gtin_check_digit", "run_demo"]

BATCH_LIMIT = 1000
"""At most this many records per ``append_many`` (one transaction each)."""

_FIRST_LIFE_ENDS = (date(2025, 9, 1), date(2026, 10, 15))
"""The window in which the demo's batteries leave their first life."""


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`run_demo` appended."""

    actors: int
    """Actors registered (the operator, registered by ``Ledger.init``, not counted)."""
    passports: int
    """Passports opened: originals and successors."""
    records: int
    """Records appended, actor records included."""
    by_kind: dict[str, int]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "actors": self.actors,
            "passports": self.passports,
            "records": self.records,
            "byKind": dict(self.by_kind),
            "seconds": round(self.seconds, 3),
            "recordsPerSecond": round(self.records / self.seconds, 1) if self.seconds else None,
        }


# -- the value chain ----------------------------------------------------------------------


@dataclass(frozen=True)
class _ActorSpec:
    slug: str
    name: str
    roles: tuple[str, ...]
    address: str
    site: str


_ACTORS = (
    _ActorSpec(
        "oem-nordwerk",
        "Nordwerk Automobile AG",
        ("manufacturer",),
        "Werkstrasse 1, 38440 Wolfsburg, DE",
        "Salzgitter, DE",
    ),
    _ActorSpec(
        "oem-vistula",
        "Vistula Motors S.A.",
        ("manufacturer",),
        "ul. Fabryczna 12, 44-100 Gliwice, PL",
        "Gliwice, PL",
    ),
    _ActorSpec(
        "dismantler-rhein",
        "Rhein Autoverwertung GmbH",
        ("dismantler",),
        "Hafenstrasse 40, 47119 Duisburg, DE",
        "Duisburg, DE",
    ),
    _ActorSpec(
        "dismantler-loire",
        "Loire Démolition Auto SAS",
        ("dismantler",),
        "12 rue des Casses, 44000 Nantes, FR",
        "Nantes, FR",
    ),
    _ActorSpec(
        "dismantler-po",
        "Po Valley Autodemolizioni S.r.l.",
        ("dismantler",),
        "Via dell'Industria 7, 43122 Parma, IT",
        "Parma, IT",
    ),
    _ActorSpec(
        "lab",
        "Batterieprüfzentrum Süd GmbH",
        ("test-lab",),
        "Prüffeldweg 3, 85748 Garching, DE",
        "Garching, DE",
    ),
    _ActorSpec(
        "carrier-adr",
        "EuroHaz Logistics B.V.",
        ("carrier",),
        "Waalhaven 5, 3089 Rotterdam, NL",
        "Rotterdam, NL",
    ),
    _ActorSpec(
        "carrier-alpine",
        "Alpine Gefahrgut Transporte GmbH",
        ("carrier",),
        "Frachtstrasse 9, 6020 Innsbruck, AT",
        "Innsbruck, AT",
    ),
    _ActorSpec(
        "repurposer",
        "SecondLife Storage ApS",
        ("repurposer",),
        "Energivej 4, 8000 Aarhus, DK",
        "Aarhus, DK",
    ),
    _ActorSpec(
        "remanufacturer",
        "ReCell Remanufacturing s.r.o.",
        ("remanufacturer",),
        "Průmyslová 22, 60200 Brno, CZ",
        "Brno, CZ",
    ),
    _ActorSpec(
        "recycler-hydro",
        "Nordic Hydromet Recycling AB",
        ("recycler",),
        "Återvinningsgatan 2, 93133 Skellefteå, SE",
        "Skellefteå, SE",
    ),
    _ActorSpec(
        "recycler-pyro",
        "Meuse Metals Recovery NV",
        ("recycler",),
        "Industrieweg 50, 2250 Olen, BE",
        "Olen, BE",
    ),
    _ActorSpec(
        "authority",
        "Bundesamt für Batteriesicherheit (market surveillance)",
        ("authority",),
        "Marktaufsichtsplatz 1, 53113 Bonn, DE",
        "Bonn, DE",
    ),
)

_GS1_PREFIX = {  # company prefixes (7 digits) used in the batteries' GTINs
    "oem-nordwerk": "4068194",
    "oem-vistula": "5901234",
    "repurposer": "5790002",
    "remanufacturer": "8595012",
}
_RESOLVER = {
    "oem-nordwerk": "https://id.nordwerk-automobile.example",
    "oem-vistula": "https://id.vistula-motors.example",
    "repurposer": "https://id.secondlife-storage.example",
    "remanufacturer": "https://id.recell.example",
}


@dataclass(frozen=True)
class _Model:
    maker: str
    item: str  # GTIN item reference (5 digits)
    name: str
    chemistry: str
    cells: int  # in series
    cell_voltage: float
    capacity: float  # Ah
    mass: float  # kg
    carbon_footprint: float  # kg CO2e/kWh
    lifetime: int  # cycles


_MODELS = (
    _Model(
        "oem-nordwerk", "00811", "NW-P78 NMC811 pack", "NMC811", 96, 3.7, 220.0, 478.0, 72.4, 1500
    ),
    _Model(
        "oem-nordwerk", "00812", "NW-P52 NMC811 pack", "NMC811", 96, 3.7, 146.0, 338.0, 74.1, 1500
    ),
    _Model("oem-nordwerk", "00905", "NW-P86 NCA pack", "NCA", 96, 3.6, 250.0, 541.0, 69.8, 1200),
    _Model("oem-vistula", "00160", "VM-L60 LFP pack", "LFP", 104, 3.2, 180.0, 433.0, 58.2, 3500),
    _Model(
        "oem-vistula", "00172", "VM-L75 LFP blade pack", "LFP", 120, 3.2, 196.0, 587.0, 56.9, 4000
    ),
    _Model(
        "oem-vistula", "00811", "VM-N70 NMC811 pack", "NMC811", 108, 3.65, 178.0, 452.0, 76.3, 1600
    ),
)

# Per kg of pack: (material, CAS, component, mass fraction %).
_COMPOSITION: Mapping[str, tuple[tuple[str, str, str, float], ...]] = {
    "NMC811": (
        ("lithium nickel manganese cobalt oxide (NMC811)", "346417-97-8", "cathode", 24.0),
        ("graphite", "7782-42-5", "anode", 16.5),
        ("lithium hexafluorophosphate electrolyte", "21324-40-3", "electrolyte", 9.0),
        ("copper foil", "7440-50-8", "anode", 8.5),
        ("aluminium", "7429-90-5", "casing", 21.0),
    ),
    "NCA": (
        ("lithium nickel cobalt aluminium oxide (NCA)", "193214-24-3", "cathode", 25.0),
        ("graphite", "7782-42-5", "anode", 16.0),
        ("lithium hexafluorophosphate electrolyte", "21324-40-3", "electrolyte", 9.0),
        ("copper foil", "7440-50-8", "anode", 8.0),
        ("aluminium", "7429-90-5", "casing", 20.0),
    ),
    "LFP": (
        ("lithium iron phosphate", "15365-14-7", "cathode", 28.0),
        ("graphite", "7782-42-5", "anode", 15.0),
        ("lithium hexafluorophosphate electrolyte", "21324-40-3", "electrolyte", 10.0),
        ("copper foil", "7440-50-8", "anode", 9.0),
        ("aluminium", "7429-90-5", "casing", 19.0),
    ),
}
# Recoverable kg per kg of pack, before the process's yield.
_RECOVERABLE: Mapping[str, Mapping[str, float]] = {
    "NMC811": {
        "Li": 0.014,
        "Ni": 0.115,
        "Co": 0.014,
        "Mn": 0.013,
        "Cu": 0.085,
        "Al": 0.21,
        "graphite": 0.165,
    },
    "NCA": {"Li": 0.014, "Ni": 0.12, "Co": 0.022, "Cu": 0.08, "Al": 0.205, "graphite": 0.16},
    "LFP": {"Li": 0.012, "Fe": 0.098, "P": 0.055, "Cu": 0.09, "Al": 0.19, "graphite": 0.15},
}
_PROCESS = {  # recycler -> (process, yield, lithium yield)
    "recycler-hydro": ("hydrometallurgical", 0.95, 0.85),
    "recycler-pyro": ("pyro-hydrometallurgical", 0.9, 0.6),
}
_CRITICAL = {
    "NMC811": ["lithium", "nickel", "cobalt", "manganese", "natural graphite"],
    "NCA": ["lithium", "nickel", "cobalt", "aluminium", "natural graphite"],
    "LFP": ["lithium", "phosphorus", "natural graphite"],
}
_RECYCLED_CONTENT = {
    "NMC811": {"Co": 8.0, "Li": 2.0, "Ni": 3.0},
    "NCA": {"Co": 10.0, "Li": 2.0, "Ni": 4.0},
    "LFP": {"Li": 1.5},
}

# Diagnostic profiles: a mixture of fleets (weights); the first four lives are one typical
# battery of each (the policy grades them reuse, remanufacture, repurpose and recycle).
_PROFILES = (("healthy", 0.34), ("incident", 0.1), ("aged", 0.26), ("end-of-life", 0.3))


def gtin_check_digit(digits: str) -> str:
    """The GS1 check digit of a GTIN's first digits: weights 3, 1, 3, ... from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def _gtin14(owner: str, item: str) -> str:
    body = "0" + _GS1_PREFIX[owner] + item
    return body + gtin_check_digit(body)


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


# -- planning ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Step:
    """One record to sign and append."""

    kind: str
    subject: str
    signer: str  # actor slug
    public: Mapping[str, Any]
    restricted: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    cosigner: str | None = None


class _Planner:
    """Draws every battery's life from one seeded RNG (in a fixed order)."""

    def __init__(self, rng: random.Random, dids: Mapping[str, str]) -> None:
        self.rng = rng
        self.dids = dids
        self.policy = grading.load_policy()
        self.serials: Counter[str] = Counter()
        self.shipments = 0
        self.passports = 0

    def passport_id(self) -> str:
        self.passports += 1
        return f"urn:bpl:passport:{uuid.UUID(int=self.rng.getrandbits(128), version=4)}"

    def day(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randint(0, (end - start).days))

    def battery_id(self, owner: str, item: str, made: date) -> str:
        gtin = _gtin14(owner, item)
        self.serials[gtin] += 1
        serial = f"{made:%y%m}{self.rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}{self.serials[gtin]:06d}"
        return f"{_RESOLVER[owner]}/01/{gtin}/21/{serial}"

    def life(self, index: int) -> list[_Step]:
        rng = self.rng
        model = rng.choice(_MODELS)
        maker = model.maker
        dismantler = rng.choice(("dismantler-rhein", "dismantler-loire", "dismantler-po"))
        end_of_first_life = self.day(*_FIRST_LIFE_ENDS)
        made = end_of_first_life - timedelta(days=rng.randint(5 * 365, 9 * 365))
        passport = self.passport_id()
        mass = round(model.mass * rng.uniform(0.995, 1.005), 1)
        steps = [self.issue(passport, model, made, mass)]
        steps.append(
            _Step(
                "CustodyTransfer",
                passport,
                maker,
                {"from": self.dids[maker], "to": self.dids[dismantler]},
                {
                    "legitimate-interest": {
                        "reason": rng.choice(("sale", "sale", "return")),
                        "place": _site(dismantler),
                        "time": f"{end_of_first_life.isoformat()}T{rng.randint(7, 16):02d}:00:00Z",
                    }
                },
                cosigner=dismantler,
            )
        )
        if rng.random() < 0.35:
            steps.append(self.invoice(passport, dismantler, model, end_of_first_life))
        tested = end_of_first_life + timedelta(days=rng.randint(2, 21))
        typical = index < len(_PROFILES)  # so that even a small demo has every grade
        profile = (
            _PROFILES[index][0]
            if typical
            else rng.choices([p for p, _ in _PROFILES], [w for _, w in _PROFILES])[0]
        )
        measures = self.measures(profile, model, made, tested, typical=typical)
        result = grading.grade(measures, self.policy)
        steps.append(
            _Step(
                "DiagnosticTest",
                passport,
                "lab",
                {"testedOn": tested.isoformat()},
                {
                    "legitimate-interest": {
                        "level": "pack",
                        "method": "lab-test",
                        "standard": "IEC 62660-1",
                        "equipment": "Regenerative pack cycler RPC-800, SN 23-0417",
                        "calibrationRef": "DAkkS D-K-15198-01, certificate 2026-0311",
                        **measures,
                        "grade": result.grade,
                        "gradingPolicy": grading.policy_ref(self.policy),
                    }
                },
            )
        )
        if rng.random() < 0.08:
            steps.append(self.inspection(passport, tested))
        later = tested + timedelta(days=rng.randint(5, 30))
        if result.grade == "reuse":
            steps.append(
                _Step(
                    "StatusChange",
                    passport,
                    dismantler,
                    {},
                    {
                        "legitimate-interest": {
                            "status": "re-used",
                            "reason": f"graded reuse (SoCE {measures['soce']} %): sold for "
                            "direct re-use as a replacement pack",
                        }
                    },
                )
            )
        elif result.grade in ("repurpose", "remanufacture"):
            steps += self.successor(
                passport, dismantler, model, mass, measures, result.grade, later
            )
        else:
            steps += self.recycle(passport, dismantler, model, mass, measures, later)
        return steps

    def issue(self, passport: str, model: _Model, made: date, mass: float) -> _Step:
        rng = self.rng
        voltage = round(model.cells * model.cell_voltage, 1)
        composition = [
            {
                "material": material,
                "cas": cas,
                "component": component,
                "mass": round(mass * share / 100, 1),
                "massFraction": share,
            }
            for material, cas, component, share in _COMPOSITION[model.chemistry]
        ]
        model_doc = f"{model.name} ({model.maker})"
        return _Step(
            "PassportIssued",
            passport,
            model.maker,
            {
                "batteryId": self.battery_id(model.maker, model.item, made),
                "category": "EV",
                "chemistry": model.chemistry,
                "manufacturer": self.dids[model.maker],
                "manufacturedAt": _site(model.maker),
                "manufacturedOn": made.isoformat(),
                "mass": mass,
                "ratedCapacity": model.capacity,
                "ratedEnergy": round(model.capacity * voltage / 1000, 1),
                "nominalVoltage": voltage,
                "carbonFootprint": round(model.carbon_footprint * rng.uniform(0.97, 1.03), 1),
                "recycledContent": _RECYCLED_CONTENT[model.chemistry],
                "hazardousSubstances": [
                    {"name": "lithium hexafluorophosphate", "cas": "21324-40-3"},
                    {"name": "ethylene carbonate", "cas": "96-49-1"},
                ],
                "criticalRawMaterials": _CRITICAL[model.chemistry],
                "expectedLifetime": model.lifetime,
            },
            {
                "legitimate-interest": {
                    "status": "original",
                    "composition": composition,
                    "partNumbers": [
                        {"partNumber": f"{model.item}-BMS-01", "name": "battery management unit"},
                        {
                            "partNumber": f"{model.item}-MOD-{model.cells // 12:02d}",
                            "name": "module",
                            "source": _site(model.maker),
                        },
                    ],
                    "dismantling": [
                        {
                            "type": "dismantling-manual",
                            "hash": _digest(f"dismantling manual {model_doc}"),
                            "title": f"{model.name}: dismantling manual",
                        }
                    ],
                    "safety": {
                        "extinguishingAgents": ["water", "AVD (aqueous vermiculite dispersion)"],
                        "documents": [
                            {
                                "type": "emergency-response",
                                "hash": _digest(f"emergency response guide {model_doc}"),
                            }
                        ],
                    },
                },
                "authority": {
                    "complianceReports": [
                        _digest(f"UN 38.3 test summary {model_doc}"),
                        _digest(f"EU declaration of conformity {model_doc}"),
                    ]
                },
            },
        )

    def measures(
        self, profile: str, model: _Model, made: date, tested: date, *, typical: bool
    ) -> dict[str, Any]:
        """Measures of a battery from a fleet ``profile``; ``typical`` leaves out the
        incidents that would move a battery to another grade than its profile's."""
        rng = self.rng
        damaged = accidents = overcharges = 0
        if profile == "healthy":  # reuse, unless an overcharge event knocks it out
            soce = rng.uniform(80.0, 97.0)
            spread = rng.uniform(0.4, 4.5)
            overcharges = int(not typical and rng.random() < 0.08)
        elif profile == "incident":  # remanufacture, or repurpose when the cells diverge
            soce = rng.uniform(90.0, 98.5)
            spread = rng.uniform(0.4, 2.9 if typical else 3.6)
            if rng.random() < 0.6:
                accidents = 1
            else:
                overcharges = rng.randint(1, 3)
        elif profile == "aged":  # repurpose
            soce = rng.uniform(60.0, 79.9)
            spread = rng.uniform(1.0, 6.0)
            overcharges = int(rng.random() < 0.1)
        else:  # end of life: recycle
            soce = rng.uniform(30.0, 59.9)
            spread = rng.uniform(2.0, 12.0)
            damaged = int(rng.random() < 0.3)
            accidents = int(damaged and rng.random() < 0.7)
        soce = round(soce, 1)
        years = (tested - made).days / 365.25
        cycles = int(years * rng.uniform(120, 260))
        energy = model.capacity * model.cells * model.cell_voltage / 1000
        remaining = round(model.capacity * soce / 100, 1)
        resistance_increase = round((100 - soce) * rng.uniform(1.2, 2.2), 1)
        return {
            "temperature": 25.0,
            "socAtTest": 50.0,
            "soce": soce,
            "remainingCapacity": remaining,
            "ratedCapacity": model.capacity,
            "capacityFade": round(100 - remaining / model.capacity * 100, 1),
            "internalResistance": round(95 * (1 + resistance_increase / 100), 1),
            "resistanceIncrease": resistance_increase,
            "roundTripEfficiency": round(rng.uniform(88.0, 95.0), 1),
            "selfDischarge": round(rng.uniform(1.0, 4.0), 1),
            "fullCycles": cycles,
            "energyThroughput": round(cycles * energy * 0.9, 0),
            "deepDischargeEvents": rng.choice((0, 0, 0, 1, 2)),
            "overchargeEvents": overcharges,
            "accidents": accidents,
            "cellSohSpread": round(spread, 1),
            "uncertainty": 1.5,
            "damaged": bool(damaged),
        }

    def invoice(self, passport: str, dismantler: str, model: _Model, day: date) -> _Step:
        number = f"INV-{day:%Y}-{self.rng.randint(10000, 99999)}"
        text = (
            f"{_name(dismantler)}\nInvoice {number} of {day.isoformat()}\n"
            f"1 x used traction battery {model.name}, passport {passport}\n"
            f"EUR {self.rng.randint(900, 4200)}.00 excl. VAT\n"
        )
        return _Step(
            "DocumentAttached",
            passport,
            dismantler,
            {"documentHash": _digest(text), "mediaType": "text/plain"},
            {"legitimate-interest": {"documentType": "invoice", "title": f"Invoice {number}"}},
        )

    def inspection(self, passport: str, day: date) -> _Step:
        number = f"MS-{day:%Y}-{self.rng.randint(1000, 9999)}"
        text = f"Market surveillance inspection {number}: passport {passport}, no findings\n"
        return _Step(
            "DocumentAttached",
            passport,
            "authority",
            {"documentHash": _digest(text), "mediaType": "text/plain"},
            {"authority": {"documentType": "test-report", "title": f"Inspection report {number}"}},
        )

    def successor(
        self,
        original: str,
        dismantler: str,
        model: _Model,
        mass: float,
        measures: Mapping[str, Any],
        grade: str,
        day: date,
    ) -> list[_Step]:
        rng = self.rng
        if grade == "repurpose":
            by, status, reason, category = "repurposer", "repurposed", "repurposing", "industrial"
            capacity = float(measures["remainingCapacity"])
            new_mass = round(mass + rng.uniform(35, 60), 1)  # enclosure, new BMS, inverter link
            item = "10" + model.item[2:]
        else:
            by, status, reason, category = (
                "remanufacturer",
                "remanufactured",
                "remanufacturing",
                "EV",
            )
            capacity = model.capacity
            new_mass = mass
            item = "20" + model.item[2:]
        made = day + timedelta(days=rng.randint(10, 40))
        successor = self.passport_id()
        voltage = round(model.cells * model.cell_voltage, 1)
        steps = [
            _Step(
                "CustodyTransfer",
                original,
                dismantler,
                {"from": self.dids[dismantler], "to": self.dids[by]},
                {
                    "legitimate-interest": {
                        "reason": reason,
                        "place": _site(by),
                        "time": f"{day.isoformat()}T09:30:00Z",
                    }
                },
                cosigner=by,
            ),
            _Step(
                "PassportIssued",
                successor,
                by,
                {
                    "batteryId": self.battery_id(by, item, made),
                    "category": category,
                    "chemistry": model.chemistry,
                    "manufacturer": self.dids[by],
                    "manufacturedAt": _site(by),
                    "manufacturedOn": made.isoformat(),
                    "mass": new_mass,
                    "ratedCapacity": capacity,
                    "ratedEnergy": round(capacity * voltage / 1000, 1),
                    "nominalVoltage": voltage,
                    "expectedLifetime": 3000 if grade == "repurpose" else model.lifetime // 2,
                    "predecessors": [original],
                },
                {"legitimate-interest": {"status": status}},
            ),
            _Step("PassportSucceeded", original, by, {"successor": successor}),
        ]
        if rng.random() < 0.5:
            text = f"EU declaration of conformity, {status} battery {successor}\n"
            steps.append(
                _Step(
                    "DocumentAttached",
                    successor,
                    by,
                    {"documentHash": _digest(text), "mediaType": "text/plain"},
                    {
                        "legitimate-interest": {
                            "documentType": "declaration-of-conformity",
                            "title": f"Declaration of conformity ({status})",
                        }
                    },
                )
            )
        return steps

    def recycle(
        self,
        passport: str,
        dismantler: str,
        model: _Model,
        mass: float,
        measures: Mapping[str, Any],
        day: date,
    ) -> list[_Step]:
        rng = self.rng
        recycler = rng.choice(("recycler-hydro", "recycler-pyro"))
        carrier = rng.choice(("carrier-adr", "carrier-alpine"))
        damaged = bool(measures["damaged"])
        self.shipments += 1
        shipment = f"SHP-{day:%Y}-{self.shipments:05d}"
        adr_document = _digest(f"ADR transport document {shipment} for {passport}")
        if damaged:  # ADR SP 376: damaged or defective, packed per P908
            provision, instruction = 376, "P908"
            marks = ["DAMAGED/DEFECTIVE LITHIUM ION BATTERIES"]
        else:  # ADR SP 377: for disposal or recycling, packed per P909
            provision, instruction = 377, "P909"
            marks = ["LITHIUM BATTERIES FOR RECYCLING"]
        process, yield_, lithium_yield = _PROCESS[recycler]
        recovered = {
            material: round(mass * share * (lithium_yield if material == "Li" else yield_), 1)
            for material, share in _RECOVERABLE[model.chemistry].items()
        }
        arrival = day + timedelta(days=rng.randint(1, 4))
        return [
            _Step(
                "StatusChange",
                passport,
                dismantler,
                {},
                {
                    "legitimate-interest": {
                        "status": "waste",
                        "reason": "damaged: not fit for re-use"
                        if damaged
                        else f"graded recycle (SoCE {measures['soce']} %)",
                    }
                },
            ),
            _Step(
                "Shipment",
                passport,
                dismantler,
                {"shipmentId": shipment, "carrier": self.dids[carrier]},
                {
                    "legitimate-interest": {
                        "consignor": self.dids[dismantler],
                        "consignee": self.dids[recycler],
                        "dangerousGoods": {
                            "unNumber": "UN3480",
                            "properShippingName": "WASTE LITHIUM ION BATTERIES",
                            "class": "9",
                            "specialProvisions": [provision],
                            "packingInstruction": instruction,
                            "marks": marks,
                            "packages": 1,
                            "grossMass": round(mass + 65.0, 1),  # steel crate
                            "tunnelCode": "E",
                        },
                        "waste": True,
                        "crateIds": [f"CRATE-{shipment[4:]}"],
                        "documents": [{"type": "adr-transport-document", "hash": adr_document}],
                    }
                },
            ),
            _Step(
                "ShipmentReceived",
                passport,
                recycler,
                {"shipmentId": shipment},
                {
                    "legitimate-interest": {
                        "condition": "damaged" if damaged else "intact",
                        "receivedAt": _site(recycler),
                    }
                },
            ),
            _Step(
                "CustodyTransfer",
                passport,
                dismantler,
                {"from": self.dids[dismantler], "to": self.dids[recycler]},
                {
                    "legitimate-interest": {
                        "reason": "waste-handover",
                        "place": _site(recycler),
                        "time": f"{arrival.isoformat()}T14:00:00Z",
                    }
                },
                cosigner=recycler,
            ),
            _Step(
                "Recycled",
                passport,
                recycler,
                {},
                {
                    "legitimate-interest": {
                        "recovered": recovered,
                        "inputMass": mass,
                        "process": process,
                    }
                },
            ),
        ]


def _spec(slug: str) -> _ActorSpec:
    return next(a for a in _ACTORS if a.slug == slug)


def _site(slug: str) -> str:
    return _spec(slug).site


def _name(slug: str) -> str:
    return _spec(slug).name


# -- running -------------------------------------------------------------------------------


def run_demo(
    ledger: Ledger, operator: KeyPair, *, batteries: int = 300, seed: int = 2027
) -> DemoSummary:
    """Register the demo's actors and append ``batteries`` battery lives to ``ledger``
    (whose operator is ``operator``). Raises RecordRejected if the ledger refuses a record
    (e.g. the actors are registered already)."""
    if batteries < 0:
        raise ValueError("batteries must be >= 0")
    started = time.perf_counter()
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data (and demo keys)
    actor_keys = {spec.slug: keys.from_seed(rng.randbytes(32)) for spec in _ACTORS}
    by_kind: Counter[str] = Counter()

    registrations = []
    for spec in _ACTORS:
        did = actor_keys[spec.slug].did
        record, disclosures = records.build(
            "ActorRegistered",
            did,
            0,
            None,
            operator.did,
            {
                "roles": list(spec.roles),
                "keys": [records.did_key_method(did)],
                "publicProfile": True,
            },
            {"legitimate-interest": {"name": spec.name, "address": spec.address}},
        )
        registrations.append({"record": proofs.sign(record, operator), "disclosures": disclosures})
    ledger.append_many(registrations)
    by_kind["ActorRegistered"] += len(registrations)

    planner = _Planner(rng, {slug: key.did for slug, key in actor_keys.items()})
    lives = [planner.life(index) for index in range(batteries)]
    positions: dict[str, tuple[int, str | None]] = {}
    for batch in _rounds(lives):
        submissions = []
        for step in batch:
            sequence, previous = positions.get(step.subject, (0, None))
            record, disclosures = records.build(
                step.kind,
                step.subject,
                sequence,
                previous,
                actor_keys[step.signer].did,
                step.public,
                step.restricted,
            )
            signed = proofs.sign(record, actor_keys[step.signer])
            if step.cosigner is not None:
                signed = proofs.sign(signed, actor_keys[step.cosigner])
            positions[step.subject] = (sequence + 1, records.record_hash(signed))
            submissions.append({"record": signed, "disclosures": disclosures})
            by_kind[step.kind] += 1
        ledger.append_many(submissions)
    return DemoSummary(
        actors=len(_ACTORS),
        passports=planner.passports,
        records=sum(by_kind.values()),
        by_kind=dict(sorted(by_kind.items())),
        seconds=time.perf_counter() - started,
    )


def _rounds(lives: list[list[_Step]]) -> Iterator[list[_Step]]:
    """The k-th step of every life, round after round, in batches of at most BATCH_LIMIT.

    A life's steps touch only its own passports, so one round never holds two records of
    one chain, and a life's order (successor issued before PassportSucceeded) is kept."""
    longest = max((len(life) for life in lives), default=0)
    for step in range(longest):
        batch = [life[step] for life in lives if step < len(life)]
        for start in range(0, len(batch), BATCH_LIMIT):
            yield batch[start : start + BATCH_LIMIT]
