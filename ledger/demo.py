"""A realistic demo ledger: actors, battery models, and a few hundred batteries' lives.

:func:`run_demo` writes record format v2 (ADR 0016). It registers the actors of a small
European battery value chain (:mod:`ledger.demo_models`: four manufacturers, three
dismantlers, a test lab, two carriers, a repurposer, a remanufacturer, two recyclers, the
reader roles (market surveillance, a notified body, the Commission, a party with a
legitimate interest) and three private persons), has the manufacturers, the repurposer and
the remanufacturer publish their battery models (``BatteryModelPublished``: every field of
Annex XIII point 1 in clear, points 2, 3 and 4 in disclosures), then gives every battery a
life drawn from the seed:

1. ``PassportIssued`` by its manufacturer (status ``original``), naming its model's id and
   record hash, with a GS1 Digital Link battery id, its date of manufacture and its mass;
2. custody to a dismantler at the end of its first life (an e-bike battery: sold to a
   private person first, who hands it in), countersigned; sometimes the purchase invoice
   (``DocumentAttached``, business group);
3. ``DiagnosticTest`` graded by the bundled grading policy, with the Annex VII part B
   history; sometimes an inspection report by market surveillance (compliance group);
4. by grade: ``reuse`` -> a successor passport for the same battery id (status
   ``re-used``); ``remanufacture`` -> the remanufacturer's successor, of its own model;
   ``repurpose`` -> the repurposer's stationary product (a used-battery ``Shipment`` with
   its Annex XIV evidence) or the pack split into module passports; ``recycle`` -> waste,
   an ADR ``Shipment`` to a recycler, ``Recycled`` whole, or in part (some modules) with
   the rest recycled later or repurposed as modules.

Every life is planned first; then the records go in by rounds (the first record of every
life in one ``append_many`` batch, then every second record, ...), with ``sequence`` and
``previous`` computed locally from the hashes of the records signed before.

Same seed, same actors (keys from the seed), models, batteries, measures, grades and lives;
only record ids, salts and timestamps differ. The actors' keys derive from the seed: a
demo ledger is for demonstrations only.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ledger.core import contexts, grading, records
from ledger.demo_models import (
    ACTORS,
    MODELS,
    PERSON_NEAR,
    RESOLVER,
    ModelSpec,
    actor,
    digest,
    gtin_check_digit,
    model,
    model_record,
    registration,
)
from ledger.facade import Ledger
from signing import keys, proofs
from signing.keys import KeyPair

__all__ = ["VERSION", "DemoSummary", "demo_batches", "gtin_check_digit", "run_demo"]

VERSION = "v2"
"""The record format the demo writes."""
BATCH_LIMIT = 1000
"""At most this many records per ``append_many`` (one transaction each)."""

_FIRST_LIFE_ENDS = (date(2025, 9, 1), date(2026, 10, 15))
"""The window in which the demo's batteries leave their first life."""
_FIRST_LIFE_DAYS = {
    "EV": (5 * 365, 9 * 365),
    "industrial": (6 * 365, 9 * 365),
    "LMT": (3 * 365, 6 * 365),
}
_CYCLES_PER_YEAR = {"EV": (120, 260), "industrial": (250, 330), "LMT": (60, 150)}
_DISMANTLERS = ("dismantler-rhein", "dismantler-loire", "dismantler-po")
_RECYCLERS = ("recycler-hydro", "recycler-pyro")
_CARRIERS = ("carrier-adr", "carrier-alpine")
_OTHER_PLANT = {"nw-p78": "Nordwerk battery plant Zwickau, Zwickau, DE"}
_CRATE_KG = {"EV": 65.0, "industrial": 140.0, "LMT": 14.0}  # steel crate, pallet crate, drum

# Which models batteries are drawn from (weights), and each category's fleets: a mixture
# of profiles (weights) whose measures the grading policy grades.
_MODEL_WEIGHTS = (("nw-p78", 0.37), ("vm-l60", 0.31), ("bgs-c215", 0.07), ("vc-576", 0.25))
_PROFILES = {
    "EV": (("healthy", 0.3), ("incident", 0.1), ("aged", 0.3), ("end-of-life", 0.3)),
    "industrial": (("healthy", 0.35), ("incident", 0.05), ("aged", 0.3), ("end-of-life", 0.3)),
    "LMT": (("healthy", 0.35), ("incident", 0.1), ("aged", 0.15), ("end-of-life", 0.4)),
}
IN_TRANSIT = 3
"""The last lives of a demo that, sent to recycling, are still on their way when it ends:
open shipments, whose dangerous-goods marks their crate labels print (docs/labels.md)."""
# The first lives are one typical battery of each kind of life (model, fleet profile,
# route), so that even a small demo has every grade (the first four), category and route.
_TYPICAL = (
    ("nw-p78", "healthy", "reuse"),
    ("vm-l60", "incident", "remanufacture"),
    ("nw-p78", "aged", "split"),
    ("vc-576", "end-of-life", "recycle"),
    ("bgs-c215", "aged", "split"),
    ("vm-l60", "end-of-life", "partial-repurpose"),
    ("nw-p78", "aged", "repurpose"),
    ("bgs-c215", "end-of-life", "partial-recycle"),
    ("vc-576", "healthy", "reuse"),
)

# Recycling: the metals of the cathode materials (mass fractions), and each process's
# yield per material (kg recovered per kg in the input).
_CELL_PARTS = frozenset({"cathode", "anode", "electrolyte", "separator", "module"})
"""The components of a module: its cells and their housing."""
_CATHODE_METALS: Mapping[str, Mapping[str, float]] = {
    "NMC811": {"Li": 0.071, "Ni": 0.483, "Mn": 0.056, "Co": 0.061},
    "NMC622": {"Li": 0.072, "Ni": 0.363, "Mn": 0.113, "Co": 0.122},
    "LFP": {"Li": 0.044, "Fe": 0.354, "P": 0.196},
}
_MATERIAL_OF_CAS = {
    "7429-90-5": "Al",
    "7440-50-8": "Cu",
    "12597-69-2": "steel",
    "7782-42-5": "graphite",
    "7440-02-0": "Ni",
}
_YIELDS: Mapping[str, tuple[str, Mapping[str, float]]] = {
    "recycler-hydro": (
        "hydrometallurgical",
        {
            "Li": 0.85,
            "Ni": 0.95,
            "Co": 0.95,
            "Mn": 0.9,
            "Fe": 0.8,
            "P": 0.7,
            "Cu": 0.95,
            "Al": 0.9,
            "steel": 0.98,
            "graphite": 0.9,
            "plastics": 0.6,
        },
    ),
    "recycler-pyro": (
        "pyro-hydrometallurgical",
        {"Li": 0.6, "Ni": 0.95, "Co": 0.95, "Mn": 0.5, "Fe": 0.5, "Cu": 0.93, "steel": 0.98},
    ),
}


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`run_demo` appended."""

    actors: int
    """Actors registered (the operator, registered by ``Ledger.init``, not counted)."""
    models: int
    """Battery models published."""
    passports: int
    """Passports opened: originals and successors."""
    records: int
    """Records appended, actor and model records included."""
    by_kind: dict[str, int]
    seconds: float
    showcase: str | None = None
    """The passport with the longest chain: the page with the most to show."""
    in_transit: tuple[str, ...] = ()
    """Passports whose battery is on its way to a recycler: an open shipment, whose crate
    label prints the shipment's dangerous-goods marks."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "actors": self.actors,
            "models": self.models,
            "passports": self.passports,
            "records": self.records,
            "showcase": self.showcase,
            "inTransit": list(self.in_transit),
            "byKind": dict(self.by_kind),
            "seconds": round(self.seconds, 3),
            "recordsPerSecond": round(self.records / self.seconds, 1) if self.seconds else None,
        }


# -- planning ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Step:
    """One record to sign and append."""

    kind: str
    subject: str
    signer: str  # actor slug (the issuer, first proof)
    public: Mapping[str, Any]
    restricted: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    cosigner: str | None = None


def _at(day: date, hour: int, minute: int = 0) -> str:
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}:00Z"


def _short(spec: ModelSpec) -> str:
    return spec.name.split(" (")[0]


class _Planner:
    """Draws every battery's life from one seeded RNG (in a fixed order)."""

    def __init__(
        self, rng: random.Random, dids: Mapping[str, str], model_records: Mapping[str, str]
    ) -> None:
        self.rng = rng
        self.dids = dids
        self.model_records = model_records
        self.policy = grading.load_policy()
        self.serials: Counter[str] = Counter()
        self.shipments = 0
        self.passports = 0
        self.in_transit: list[str] = []

    # -- small draws
    def passport_id(self) -> str:
        self.passports += 1
        return f"urn:bpl:passport:{uuid.UUID(int=self.rng.getrandbits(128), version=4)}"

    def day(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randint(0, (end - start).days))

    def battery_id(self, spec: ModelSpec, made: date) -> str:
        """A GS1 Digital Link URI: the model's GTIN and a serial unique for that GTIN."""
        self.serials[spec.gtin] += 1
        letter = self.rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ")
        serial = f"{made:%y%m}{letter}{self.serials[spec.gtin]:06d}"
        return f"{RESOLVER[spec.maker]}/01/{spec.gtin}/21/{serial}"

    def mass(self, nominal: float) -> float:
        return round(nominal * self.rng.uniform(0.995, 1.005), 1 if nominal > 10 else 2)

    def price(self, amount: float) -> dict[str, Any]:
        return {"amount": round(amount, 2), "currency": "EUR"}

    # -- a life
    def life(self, index: int, *, in_transit: bool = False) -> list[_Step]:
        """Battery ``index``'s records; ``in_transit``: a battery sent to recycling stops
        on its way (its shipment open, as its crate label shows)."""
        rng = self.rng
        typical = index < len(_TYPICAL)
        if typical:
            key, profile, preferred = _TYPICAL[index]
        else:
            key = rng.choices([k for k, _ in _MODEL_WEIGHTS], [w for _, w in _MODEL_WEIGHTS])[0]
            profiles = _PROFILES[model(key).category]
            profile = rng.choices([p for p, _ in profiles], [w for _, w in profiles])[0]
            preferred = None
        spec = model(key)
        dismantler = rng.choice(_DISMANTLERS)
        end_of_first_life = self.day(*_FIRST_LIFE_ENDS)
        made = end_of_first_life - timedelta(days=rng.randint(*_FIRST_LIFE_DAYS[spec.category]))
        passport = self.passport_id()
        battery_id = self.battery_id(spec, made)
        mass = self.mass(spec.mass)
        steps = [self.issue(passport, spec, battery_id, made, mass)]
        steps += self.first_life(passport, spec, dismantler, made, end_of_first_life)
        tested = end_of_first_life + timedelta(days=rng.randint(2, 21))
        measures = self.measures(profile, spec, made, tested, typical=typical)
        grade = grading.grade(measures, self.policy).grade
        steps.append(self.test(passport, spec, dismantler, tested, measures, grade))
        if rng.random() < 0.08:
            steps.append(self.inspection(passport, tested))
        later = tested + timedelta(days=rng.randint(5, 30))
        route = self.route(spec, grade, bool(measures["damaged"]), preferred)
        battery = _Battery(passport, battery_id, spec, made, mass, dismantler, measures)
        if route == "reuse":
            steps += self.reuse(battery, later)
        elif route == "remanufacture":
            steps += self.remanufacture(battery, later)
        elif route == "repurpose":
            steps += self.repurpose(battery, later)
        elif route == "split":
            steps += self.split(battery, later)
        else:
            steps += self.recycle(battery, later, route, in_transit=in_transit)
        return steps

    def route(self, spec: ModelSpec, grade: str, damaged: bool, preferred: str | None) -> str:
        """What becomes of a battery of ``grade``: the grade's own route, or among the
        routes that fit the battery (an e-bike battery is not repurposed, a stationary
        cabinet is repurposed as modules)."""
        rng = self.rng
        if preferred is not None or grade in ("reuse", "remanufacture"):
            return preferred or grade
        if grade == "repurpose":
            by_category = {"LMT": "recycle", "industrial": "split"}
            if spec.category in by_category:
                return by_category[spec.category]
            return "repurpose" if rng.random() < 0.75 else "split"
        if spec.modules and not damaged:
            routes = ("recycle", "partial-recycle", "partial-repurpose")
            return rng.choices(routes, (0.7, 0.15, 0.15))[0]
        return "recycle"

    def issue(
        self,
        passport: str,
        spec: ModelSpec,
        battery_id: str,
        made: date,
        mass: float,
        *,
        by: str | None = None,
        status: str = "original",
        predecessors: tuple[str, ...] = (),
    ) -> _Step:
        """A ``PassportIssued`` naming ``spec``'s model record."""
        issuer = by or spec.maker
        public: dict[str, Any] = {
            "batteryId": battery_id,
            "model": {"id": spec.id, "record": self.model_records[spec.key]},
            "manufacturer": self.dids[issuer],
            "manufacturedOn": made.isoformat(),
            "mass": mass,
        }
        if status == "original" and spec.key in _OTHER_PLANT and self.rng.random() < 0.3:
            public["manufacturedAt"] = _OTHER_PLANT[spec.key]
        if predecessors:
            public["predecessors"] = list(predecessors)
        return _Step(
            "PassportIssued", passport, issuer, public, {"performance": {"status": status}}
        )

    def first_life(
        self, passport: str, spec: ModelSpec, dismantler: str, made: date, end: date
    ) -> list[_Step]:
        """Custody from the manufacturer to the dismantler (for an e-bike battery, through
        the private person who bought it), sometimes with the dismantler's invoice."""
        rng = self.rng
        maker = spec.maker
        handover = {"place": actor(dismantler).site, "time": _at(end, rng.randint(7, 16))}
        if spec.category == "LMT":
            person = PERSON_NEAR[dismantler]
            sold = made + timedelta(days=rng.randint(20, 120))
            city = actor(person).site
            receipt = f"Receipt {sold:%Y%m%d}-{rng.randint(100, 999)}: {_short(spec)}, {passport}"
            return [
                self.transfer(
                    passport,
                    maker,
                    person,
                    {
                        "reason": "sale",
                        "place": f"Velocell partner dealer, {city}",
                        "time": _at(sold, rng.randint(10, 17), 30),
                        "price": self.price(rng.choice((649.0, 679.0, 699.0))),
                        "invoice": digest(receipt),
                    },
                ),
                # The person hands the battery in: the dismantler records it, both sign.
                self.transfer(
                    passport, person, dismantler, {"reason": "return", **handover}, by=dismantler
                ),
            ]
        if spec.category == "industrial":  # the producer's take-back (Art. 61)
            return [self.transfer(passport, maker, dismantler, {"reason": "return", **handover})]
        if rng.random() < 0.35:
            return [self.transfer(passport, maker, dismantler, {"reason": "return", **handover})]
        amount = float(rng.randint(900, 4200))
        number = f"INV-{end:%Y}-{rng.randint(10000, 99999)}"
        invoice = digest(
            f"{actor(maker).name}\nInvoice {number} of {end.isoformat()}\n1 x used traction "
            f"battery {_short(spec)}, passport {passport}\nEUR {amount:.2f} excl. VAT\n"
        )
        steps = [
            self.transfer(
                passport,
                maker,
                dismantler,
                {"reason": "sale", **handover, "price": self.price(amount), "invoice": invoice},
            )
        ]
        if rng.random() < 0.5:
            steps.append(
                _Step(
                    "DocumentAttached",
                    passport,
                    dismantler,
                    {"documentHash": invoice, "mediaType": "application/pdf"},
                    {"business": {"documentType": "invoice", "title": f"Invoice {number}"}},
                )
            )
        return steps

    def transfer(
        self,
        passport: str,
        giver: str,
        taker: str,
        business: Mapping[str, Any],
        *,
        by: str | None = None,
    ) -> _Step:
        """A ``CustodyTransfer`` signed by both parties (issued by ``by``, the giver if
        not said)."""
        issuer = by or giver
        return _Step(
            "CustodyTransfer",
            passport,
            issuer,
            {"from": self.dids[giver], "to": self.dids[taker]},
            {"business": business},
            cosigner=taker if issuer == giver else giver,
        )

    def measures(
        self, profile: str, spec: ModelSpec, made: date, tested: date, *, typical: bool
    ) -> dict[str, Any]:
        """Measures and use history of a battery from a fleet ``profile``; ``typical``
        leaves out the incidents that would move a battery to another grade than its
        profile's."""
        rng = self.rng
        damaged = accidents = overcharges = 0
        if profile == "healthy":  # reuse, unless an overcharge event knocks it out
            soce = rng.uniform(80.0, 97.0)
            spread = rng.uniform(0.4, 4.5)
            overcharges = int(not typical and rng.random() < 0.08)
            wear = 0.8
        elif profile == "incident":  # remanufacture, or repurpose when the cells diverge
            soce = rng.uniform(90.0, 98.5)
            spread = rng.uniform(0.4, 2.9 if typical else 3.6)
            if rng.random() < 0.6:
                accidents = 1
            else:
                overcharges = rng.randint(1, 3)
            wear = 0.9
        elif profile == "aged":  # repurpose
            soce = rng.uniform(60.0, 79.9)
            spread = rng.uniform(1.0, 6.0)
            overcharges = int(rng.random() < 0.1)
            wear = 1.2
        else:  # end of life: recycle
            soce = rng.uniform(30.0, 59.9)
            spread = rng.uniform(2.0, 12.0)
            damaged = int(rng.random() < 0.3)
            accidents = int(damaged and rng.random() < 0.7)
            wear = 1.5
        soce = round(soce, 1)
        small = spec.energy < 10
        years = (tested - made).days / 365.25
        cycles = int(years * rng.uniform(*_CYCLES_PER_YEAR[spec.category]) * wear)
        mean_health = (100 + soce) / 200
        increase = round((100 - soce) * rng.uniform(1.2, 2.2), 1)
        power_80 = spec.power[0] / (1 + increase / 100) * rng.uniform(0.97, 1.0)
        self_discharge = round(spec.self_discharge + (100 - soce) * rng.uniform(0.01, 0.04), 1)
        in_service = made + timedelta(days=rng.randint(14, 90))
        midway = in_service + (tested - in_service) / 2
        return {
            "temperature": 25.0,
            "socAtTest": 50.0,
            "soce": soce,
            "remainingCapacity": round(spec.capacity * soce / 100, 2 if small else 1),
            "ratedCapacity": spec.capacity,
            "capacityFade": round(100 - soce, 1),
            "remainingEnergy": round(spec.energy * soce / 100, 3 if small else 1),
            "powerAt80Soc": round(power_80),
            "powerAt20Soc": round(power_80 * rng.uniform(0.72, 0.8)),
            "internalResistance": round(spec.pack_resistance * (1 + increase / 100), 1),
            "resistanceIncrease": increase,
            "roundTripEfficiency": round(
                spec.round_trip[0] - (100 - soce) * rng.uniform(0.08, 0.14), 1
            ),
            "selfDischarge": self_discharge,
            "selfDischargeEvolution": [
                {"date": in_service.isoformat(), "rate": spec.self_discharge},
                {
                    "date": midway.isoformat(),
                    "rate": round((spec.self_discharge + self_discharge) / 2, 1),
                },
                {"date": tested.isoformat(), "rate": self_discharge},
            ],
            "fullCycles": cycles,
            "energyThroughput": round(cycles * spec.energy * mean_health, 1 if small else 0),
            "capacityThroughput": round(cycles * spec.capacity * mean_health, 0),
            "deepDischargeEvents": rng.choice((0, 0, 0, 1, 2)),
            "overchargeEvents": overcharges,
            "accidents": accidents,
            "temperatureHistory": self.temperatures(spec, profile),
            "puttingIntoServiceOn": in_service.isoformat(),
            "cellSohSpread": round(spread, 1),
            "uncertainty": 3.0 if spec.category == "LMT" else 1.5,
            "damaged": bool(damaged),
        }

    def temperatures(self, spec: ModelSpec, profile: str) -> dict[str, float]:
        """Annex VII part B(4): the extremes seen, and the hours spent (and charging)
        outside the model's idle temperature range."""
        rng = self.rng
        lower, upper = spec.idle
        indoor = spec.category == "industrial"
        hot = rng.random() < (0.4 if profile in ("incident", "end-of-life") else 0.05)
        cold = not indoor and rng.random() < 0.15
        hours_hot = round(rng.uniform(2, 60), 1) if hot else 0.0
        hours_cold = round(rng.uniform(1, 30), 1) if cold else 0.0
        if indoor:
            minimum, maximum = rng.uniform(4, 15), rng.uniform(28, 38)
        else:
            minimum, maximum = (
                rng.uniform(lower + 8, lower + 25),
                rng.uniform(upper - 15, upper - 3),
            )
        if hot:
            maximum = rng.uniform(upper + 1, upper + 9)
        if cold:
            minimum = rng.uniform(lower - 6, lower - 0.5)
        return {
            "minimum": round(minimum, 1),
            "maximum": round(maximum, 1),
            "timeAboveIdleRange": hours_hot,
            "timeBelowIdleRange": hours_cold,
            "chargingTimeAboveIdleRange": round(hours_hot * rng.uniform(0.05, 0.3), 1),
            "chargingTimeBelowIdleRange": round(hours_cold * rng.uniform(0.0, 0.2), 1),
        }

    def test(
        self,
        passport: str,
        spec: ModelSpec,
        dismantler: str,
        tested: date,
        measures: Mapping[str, Any],
        grade: str,
    ) -> _Step:
        """A graded ``DiagnosticTest``: a lab test of a pack, or, for an e-bike battery,
        the dismantler's read-out of its battery management system."""
        if spec.category == "LMT":
            signer = dismantler
            how: dict[str, Any] = {
                "method": "bms-readout",
                "equipment": "Velocell service tool VST-2 (BMS diagnostic interface)",
            }
        else:
            signer = "lab"
            how = {
                "method": "lab-test",
                "standard": "IEC 62620:2014"
                if spec.category == "industrial"
                else "IEC 62660-1:2018",
                "equipment": "Regenerative pack cycler RPC-800, SN 23-0417",
                "calibrationRef": "DAkkS D-K-15198-01, certificate 2026-0311",
            }
        return _Step(
            "DiagnosticTest",
            passport,
            signer,
            {"testedOn": tested.isoformat()},
            {
                "performance": {
                    "level": "pack",
                    **how,
                    **measures,
                    "grade": grade,
                    "gradingPolicy": grading.policy_ref(self.policy),
                }
            },
        )

    def inspection(self, passport: str, day: date) -> _Step:
        """Market surveillance checks a battery: its report is for the authorities
        (compliance group)."""
        number = f"MS-{day:%Y}-{self.rng.randint(1000, 9999)}"
        text = f"Market surveillance inspection {number}: passport {passport}, no findings\n"
        return _Step(
            "DocumentAttached",
            passport,
            "market-surveillance",
            {"documentHash": digest(text), "mediaType": "application/pdf"},
            {"compliance": {"documentType": "test-report", "title": f"Inspection report {number}"}},
        )

    def conformity(self, passport: str, spec: ModelSpec, battery_id: str) -> _Step:
        """The EU declaration of conformity of a successor battery (a new product): a
        document whose type is public (no disclosure)."""
        return _Step(
            "DocumentAttached",
            passport,
            spec.maker,
            {
                "documentHash": digest(f"EU declaration of conformity {battery_id}"),
                "mediaType": "application/pdf",
                "documentType": "declaration-of-conformity",
                "title": f"EU declaration of conformity, {_short(spec)}",
            },
        )

    # -- second lives
    def reuse(self, battery: _Battery, day: date) -> list[_Step]:
        """Prepared for re-use by the dismantler: a successor passport for the same battery
        (same id, same model), which closes the original."""
        successor = self.passport_id()
        return [
            self.issue(
                successor,
                battery.spec,
                battery.battery_id,
                battery.made,
                battery.mass,
                by=battery.dismantler,
                status="re-used",
                predecessors=(battery.passport,),
            ),
            _Step(
                "PassportSucceeded",
                battery.passport,
                battery.dismantler,
                {"successors": [successor]},
            ),
        ]

    def remanufacture(self, battery: _Battery, day: date) -> list[_Step]:
        rng = self.rng
        spec = model(f"rc-{battery.spec.key}")
        made = day + timedelta(days=rng.randint(10, 40))
        successor = self.passport_id()
        battery_id = self.battery_id(spec, made)
        value = battery.spec.energy * battery.measures["soce"] / 100 * rng.uniform(60, 90)
        return [
            self.transfer(
                battery.passport,
                battery.dismantler,
                "remanufacturer",
                {
                    "reason": "remanufacturing",
                    "place": actor("remanufacturer").site,
                    "time": _at(day, 9, 30),
                    "price": self.price(round(value)),
                },
            ),
            self.issue(
                successor,
                spec,
                battery_id,
                made,
                self.mass(battery.mass),
                by="remanufacturer",
                status="remanufactured",
                predecessors=(battery.passport,),
            ),
            _Step(
                "PassportSucceeded", battery.passport, "remanufacturer", {"successors": [successor]}
            ),
            self.conformity(successor, spec, battery_id),
        ]

    def repurpose(self, battery: _Battery, day: date) -> list[_Step]:
        """The repurposer's stationary product from a whole EV pack: shipped as a used
        battery (not waste: the Annex XIV evidence), received, bought, issued anew."""
        rng = self.rng
        spec = model(f"sl-{battery.spec.key}")
        shipment = self.shipment_id(day)
        value = battery.spec.energy * battery.measures["soce"] / 100 * rng.uniform(45, 70)
        contract = digest(f"Sales contract {shipment}: {battery.passport} for direct re-use")
        arrival = day + timedelta(days=rng.randint(2, 5))
        made = arrival + timedelta(days=rng.randint(10, 40))
        successor = self.passport_id()
        battery_id = self.battery_id(spec, made)
        return [
            self.ship(
                battery,
                shipment,
                "repurposer",
                day,
                {
                    "invoiceOrContract": contract,
                    "testRecords": [digest(f"test report {battery.passport} {day:%Y}")],
                    "holderDeclaration": digest(f"holder's declaration {shipment}"),
                    "protection": "original pallet crate, terminals capped, service "
                    "disconnect removed, shipped at 30 % state of charge",
                },
            ),
            self.received(battery.passport, shipment, "repurposer", "intact"),
            self.transfer(
                battery.passport,
                battery.dismantler,
                "repurposer",
                {
                    "reason": "repurposing",
                    "place": actor("repurposer").site,
                    "time": _at(arrival, 9, 30),
                    "price": self.price(round(value)),
                    "invoice": digest(f"invoice for {contract}"),
                },
            ),
            self.issue(
                successor,
                spec,
                battery_id,
                made,
                self.mass(battery.mass + spec.mass - battery.spec.mass),
                by="repurposer",
                status="repurposed",
                predecessors=(battery.passport,),
            ),
            _Step("PassportSucceeded", battery.passport, "repurposer", {"successors": [successor]}),
            self.conformity(successor, spec, battery_id),
        ]

    def split(self, battery: _Battery, day: date) -> list[_Step]:
        """The repurposer splits the pack into its modules, each a battery of its own."""
        steps = [
            self.transfer(
                battery.passport,
                battery.dismantler,
                "repurposer",
                {
                    "reason": "repurposing",
                    "place": actor("repurposer").site,
                    "time": _at(day, 10),
                    "price": self.price(round(battery.spec.energy * self.rng.uniform(20, 35))),
                },
            )
        ]
        return steps + self.modules(battery, day, battery.spec.modules)

    def modules(self, battery: _Battery, day: date, count: int) -> list[_Step]:
        """``count`` module passports (successors of the pack), then ``PassportSucceeded``
        listing them all."""
        spec = model(f"slm-{battery.spec.key}")
        made = day + timedelta(days=self.rng.randint(10, 40))
        successors = [self.passport_id() for _ in range(count)]
        steps = [
            self.issue(
                module,
                spec,
                self.battery_id(spec, made),
                made,
                self.mass(spec.mass),
                by="repurposer",
                status="repurposed",
                predecessors=(battery.passport,),
            )
            for module in successors
        ]
        steps.append(
            _Step("PassportSucceeded", battery.passport, "repurposer", {"successors": successors})
        )
        return steps

    def shipment_id(self, day: date) -> str:
        self.shipments += 1
        return f"SHP-{day:%Y}-{self.shipments:05d}"

    def ship(
        self,
        battery: _Battery,
        shipment: str,
        consignee: str,
        day: date,
        evidence: Mapping[str, Any] | None = None,
    ) -> _Step:
        """A road ``Shipment`` under ADR: the crate's marks in clear, the parties and papers
        in the business disclosure. Waste unless ``evidence`` (Annex XIV) says otherwise."""
        category = battery.spec.category
        waste = evidence is None
        damaged = bool(battery.measures["damaged"])
        if not waste:  # a used battery for a second life: intact, packed per P903
            name, provisions, instruction = "LITHIUM ION BATTERIES", [], "P903"
            marks = ["UN3480"]
        elif damaged:  # ADR SP 376: damaged or defective, packed per P908
            name, provisions, instruction = "WASTE LITHIUM ION BATTERIES", [376], "P908"
            marks = ["DAMAGED/DEFECTIVE LITHIUM ION BATTERIES"]
        else:  # ADR SP 377: for disposal or recycling, packed per P909
            name, provisions, instruction = "WASTE LITHIUM ION BATTERIES", [377], "P909"
            marks = ["LITHIUM BATTERIES FOR RECYCLING"]
        documents = [
            {
                "type": "adr-transport-document",
                "hash": digest(f"ADR transport document {shipment} for {battery.passport}"),
            }
        ]
        if waste:  # every demo recycler is abroad: a notified cross-border waste shipment
            documents.append(
                {"type": "waste-shipment", "hash": digest(f"Annex IA/IB notification {shipment}")}
            )
        business: dict[str, Any] = {
            "consignor": self.dids[battery.dismantler],
            "consignee": self.dids[consignee],
            "waste": waste,
        }
        if evidence is not None:
            business["annexXivEvidence"] = dict(evidence)
        business["documents"] = documents
        return _Step(
            "Shipment",
            battery.passport,
            battery.dismantler,
            {
                "shipmentId": shipment,
                "carrier": self.dids[self.rng.choice(_CARRIERS)],
                "dangerousGoods": {
                    "unNumber": "UN3480",
                    "properShippingName": name,
                    "class": "9",
                    "specialProvisions": provisions,
                    "packingInstruction": instruction,
                    "marks": marks,
                    "packages": 1,
                    "grossMass": round(battery.mass + _CRATE_KG[category], 1),
                    "tunnelCode": "E",
                },
                "crateIds": [f"CRATE-{shipment[4:]}"],
            },
            {"business": business},
        )

    def received(self, passport: str, shipment: str, consignee: str, condition: str) -> _Step:
        return _Step(
            "ShipmentReceived",
            passport,
            consignee,
            {"shipmentId": shipment},
            {"business": {"condition": condition, "receivedAt": actor(consignee).site}},
        )

    def recycle(
        self, battery: _Battery, day: date, route: str, *, in_transit: bool = False
    ) -> list[_Step]:
        """Waste: shipped to a recycler and recycled whole; or in part (``partial-...``):
        some modules first, then the rest, or the rest repurposed as modules. A battery
        ``in_transit`` is recycled whole, and the demo ends while it is on its way."""
        rng = self.rng
        spec = battery.spec
        recycler = rng.choice(_RECYCLERS)
        damaged = bool(battery.measures["damaged"])
        shipment = self.shipment_id(day)
        arrival = day + timedelta(days=rng.randint(1, 4))
        handover: dict[str, Any] = {
            "reason": "waste-handover",
            "place": actor(recycler).site,
            "time": _at(arrival, 14),
        }
        if spec.chemistry.startswith("NMC"):  # its nickel and cobalt: the recycler pays
            handover["price"] = self.price(round(battery.mass * rng.uniform(0.8, 1.6), 2))
        steps = [
            _Step(
                "StatusChange",
                battery.passport,
                battery.dismantler,
                {},
                {
                    "performance": {
                        "status": "waste",
                        "reason": "damaged: not fit for re-use"
                        if damaged
                        else f"graded {battery.measures['soce']} % SoCE: end of life",
                    }
                },
            ),
            self.ship(battery, shipment, recycler, day),
            self.received(battery.passport, shipment, recycler, "damaged" if damaged else "intact"),
            self.transfer(battery.passport, battery.dismantler, recycler, handover),
        ]
        if in_transit and route == "recycle":
            self.in_transit.append(battery.passport)
            return steps[:2]  # declared waste and shipped: not yet received
        if route == "recycle":
            steps.append(self.recycled(battery, recycler))
            return steps
        weak = rng.randint(2, max(2, spec.modules // 3))
        steps.append(self.recycled(battery, recycler, modules=weak))
        later = arrival + timedelta(days=rng.randint(20, 60))
        if route == "partial-recycle":
            steps.append(self.recycled(battery, recycler, removed=weak))
            return steps
        steps.append(
            self.transfer(
                battery.passport,
                recycler,
                "repurposer",
                {
                    "reason": "repurposing",
                    "place": actor("repurposer").site,
                    "time": _at(later, 11),
                    "price": self.price((spec.modules - weak) * rng.randint(120, 250)),
                },
            )
        )
        return steps + self.modules(battery, later, spec.modules - weak)

    def recycled(
        self, battery: _Battery, recycler: str, *, modules: int = 0, removed: int = 0
    ) -> _Step:
        """``Recycled``: what went in and what came out. ``modules`` > 0: that many of the
        pack's modules (scope part, named in ``components``); else the whole battery, less
        the ``removed`` modules recycled before (scope whole)."""
        spec = battery.spec
        process, yields = _YIELDS[recycler]
        scale = battery.mass / spec.mass  # this battery's measured mass to its model's
        module_share = (modules or spec.modules - removed) / spec.modules if spec.modules else 1
        content: dict[str, float] = defaultdict(float)
        for material, cas, part, mass in spec.composition:
            if modules and part not in _CELL_PARTS:
                continue  # a module is its cells and their housing
            kg = mass * module_share if part in _CELL_PARTS else mass
            if part == "cathode" and cas not in _MATERIAL_OF_CAS:
                for metal, fraction in _CATHODE_METALS[spec.chemistry].items():
                    content[metal] += kg * fraction
            elif cas in _MATERIAL_OF_CAS:
                content[_MATERIAL_OF_CAS[cas]] += kg
            elif "PC/ABS" in material:
                content["plastics"] += kg
        digits = 3 if battery.mass < 10 else 1
        recovered = {
            material: round(kg * scale * yields[material], digits)
            for material, kg in sorted(content.items())
            if material in yields and round(kg * scale * yields[material], digits) > 0
        }
        module_mass = round(spec.module_mass * scale, 1)
        input_mass = module_mass * modules if modules else battery.mass - module_mass * removed
        business: dict[str, Any] = {
            "recovered": recovered,
            "inputMass": round(input_mass, digits),
            "process": process,
        }
        if modules:
            business["components"] = [
                {"partNumber": spec.module_part, "mass": module_mass} for _ in range(modules)
            ]
        return _Step(
            "Recycled",
            battery.passport,
            recycler,
            {"scope": "part" if modules else "whole"},
            {"business": business},
        )


@dataclass(frozen=True)
class _Battery:
    """A battery at the end of its first life, as its second life needs it."""

    passport: str
    battery_id: str
    spec: ModelSpec
    made: date
    mass: float
    dismantler: str
    measures: Mapping[str, Any]


# -- running -------------------------------------------------------------------------------


class _Demo:
    """The demo's records, signed, in the batches they are appended in."""

    def __init__(self, operator: KeyPair, batteries: int, seed: int) -> None:
        if batteries < 0:
            raise ValueError("batteries must be >= 0")
        self.operator = operator
        self.batteries = batteries
        self.rng = random.Random(seed)  # noqa: S311 - reproducible demo data (and demo keys)
        self.keys = {spec.slug: keys.from_seed(self.rng.randbytes(32)) for spec in ACTORS}
        self.by_kind: Counter[str] = Counter()
        self.passports = 0
        self.in_transit: tuple[str, ...] = ()
        self.showcase: str | None = None

    def _submission(self, step: _Step, sequence: int, previous: str | None) -> dict[str, Any]:
        record, disclosures = records.build(
            step.kind,
            step.subject,
            sequence,
            previous,
            self.keys[step.signer].did,
            step.public,
            step.restricted,
            version=VERSION,
        )
        signed = proofs.sign(record, self.keys[step.signer], loader=contexts.loader())
        if step.cosigner is not None:
            signed = proofs.sign(signed, self.keys[step.cosigner], loader=contexts.loader())
        self.by_kind[step.kind] += 1
        return {"record": signed, "disclosures": disclosures}

    def batches(self) -> Iterator[list[dict[str, Any]]]:
        """The registrations, the models, then the lives round by round."""
        registrations = []
        for spec in ACTORS:
            did = self.keys[spec.slug].did
            public, restricted = registration(spec, did, records.did_key_method(did))
            record, disclosures = records.build(
                "ActorRegistered",
                did,
                0,
                None,
                self.operator.did,
                public,
                restricted,
                version=VERSION,
            )
            signed = proofs.sign(record, self.operator, loader=contexts.loader())
            registrations.append({"record": signed, "disclosures": disclosures})
            self.by_kind["ActorRegistered"] += 1
        yield registrations

        dids = {slug: key.did for slug, key in self.keys.items()}
        model_records: dict[str, str] = {}
        publications = []
        for published in MODELS:
            public, restricted = model_record(published, dids[published.maker])
            step = _Step("BatteryModelPublished", published.id, published.maker, public, restricted)
            submission = self._submission(step, 0, None)
            model_records[published.key] = records.record_hash(submission["record"])
            publications.append(submission)
        yield publications

        planner = _Planner(self.rng, dids, model_records)
        lives = [
            planner.life(index, in_transit=index >= self.batteries - IN_TRANSIT)
            for index in range(self.batteries)
        ]
        self.passports = planner.passports
        self.in_transit = tuple(planner.in_transit)
        chains = Counter(
            step.subject
            for life in lives
            for step in life
            if step.subject.startswith("urn:bpl:passport:")
        )
        self.showcase = max(chains, key=chains.__getitem__) if chains else None
        positions: dict[str, tuple[int, str | None]] = {}
        for batch in _rounds(lives):
            submissions = []
            for step in batch:
                sequence, previous = positions.get(step.subject, (0, None))
                submission = self._submission(step, sequence, previous)
                positions[step.subject] = (sequence + 1, records.record_hash(submission["record"]))
                submissions.append(submission)
            yield submissions


def demo_batches(
    operator: KeyPair, *, batteries: int = 300, seed: int = 2027
) -> Iterator[list[dict[str, Any]]]:
    """The demo's submissions (signed records with their disclosures) for a ledger whose
    operator is ``operator``, batch by batch in append order, without a ledger."""
    return _Demo(operator, batteries, seed).batches()


def run_demo(
    ledger: Ledger, operator: KeyPair, *, batteries: int = 300, seed: int = 2027
) -> DemoSummary:
    """Register the demo's actors, publish its battery models and append ``batteries``
    battery lives to ``ledger`` (whose operator is ``operator``). Raises RecordRejected if
    the ledger refuses a record (e.g. the actors are registered already)."""
    started = time.perf_counter()
    demo = _Demo(operator, batteries, seed)
    for batch in demo.batches():
        ledger.append_many(batch)
    return DemoSummary(
        actors=len(ACTORS),
        models=len(MODELS),
        passports=demo.passports,
        records=sum(demo.by_kind.values()),
        by_kind=dict(sorted(demo.by_kind.items())),
        seconds=time.perf_counter() - started,
        showcase=demo.showcase,
        in_transit=demo.in_transit,
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
