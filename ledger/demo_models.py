"""The demo's value chain (``ledger.demo``): its actors and its battery models, with data.

Fictional names, addresses and numbers, chosen to be plausible and consistent with each
other: a model's rated capacity is its cells' capacity times the cells in parallel, its
voltages the cell voltages times the cells in series, its composition adds up to its mass,
its carbon footprint's life-cycle stages add up to the total per functional unit (kg CO2e
per kWh of the energy the battery delivers over its expected service life, Art. 7), its
pack resistance is its modules' in series plus the connections.

Four models are put on the market new (an EV NMC811 pack, an EV LFP pack, an industrial
LFP storage cabinet and an LMT e-bike battery); the rest are second-life products derived
from them: the repurposer's stationary products (a whole EV pack in an enclosure, or one
module of a split pack) and the remanufacturer's remanufactured batteries. A battery
that is repurposed or remanufactured is a new product whose maker publishes its own model
(Art. 77(7)); a re-used battery keeps its model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "ACTORS",
    "MODELS",
    "ORIGINALS",
    "ActorSpec",
    "ModelSpec",
    "actor",
    "gtin_check_digit",
    "model",
    "model_record",
    "registration",
]

# -- actors ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActorSpec:
    """One actor of the demo's value chain."""

    slug: str
    name: str
    roles: tuple[str, ...]
    address: str
    site: str
    """Where it receives or hands over batteries (site, city, country)."""
    email: str
    phone: str
    url: str | None = None
    entity: str = "organisation"
    """``organisation`` (name, address and contact public) or ``person`` (a private person:
    all three in the business disclosure only, ADR 0016)."""


def _org(
    slug: str,
    name: str,
    roles: tuple[str, ...],
    address: str,
    site: str,
    domain: str,
    phone: str,
    mailbox: str = "info",
) -> ActorSpec:
    return ActorSpec(
        slug, name, roles, address, site, f"{mailbox}@{domain}", phone, f"https://www.{domain}"
    )


ACTORS: tuple[ActorSpec, ...] = (
    _org(
        "oem-nordwerk",
        "Nordwerk Automobile AG",
        ("manufacturer",),
        "Werkstraße 1, 38440 Wolfsburg, DE",
        "Nordwerk battery plant Salzgitter, Salzgitter, DE",
        "nordwerk-automobile.example",
        "+495361900100",
        "battery-compliance",
    ),
    _org(
        "oem-vistula",
        "Vistula Motors S.A.",
        ("manufacturer",),
        "ul. Fabryczna 12, 44-100 Gliwice, PL",
        "Vistula battery assembly Gliwice, Gliwice, PL",
        "vistula-motors.example",
        "+48322400500",
        "compliance",
    ),
    _org(
        "maker-baltic",
        "Baltic Grid Storage UAB",
        ("manufacturer",),
        "Pramonės pr. 16, 51329 Kaunas, LT",
        "Baltic Grid Storage plant Kaunas, Kaunas, LT",
        "baltic-grid.example",
        "+37037200300",
        "service",
    ),
    _org(
        "maker-velocell",
        "Velocell Mobility GmbH",
        ("manufacturer",),
        "Radweg 8, 04129 Leipzig, DE",
        "Velocell battery assembly Leipzig, Leipzig, DE",
        "velocell.example",
        "+49341870900",
        "batteries",
    ),
    _org(
        "dismantler-rhein",
        "Rhein Autoverwertung GmbH",
        ("dismantler",),
        "Hafenstraße 40, 47119 Duisburg, DE",
        "Rhein Autoverwertung, Duisburg, DE",
        "rhein-autoverwertung.example",
        "+492038090400",
    ),
    _org(
        "dismantler-loire",
        "Loire Démolition Auto SAS",
        ("dismantler",),
        "12 rue des Casses, 44000 Nantes, FR",
        "Loire Démolition Auto, Nantes, FR",
        "loire-demolition.example",
        "+33240100200",
        "contact",
    ),
    _org(
        "dismantler-po",
        "Po Valley Autodemolizioni S.r.l.",
        ("dismantler",),
        "Via dell'Industria 7, 43122 Parma, IT",
        "Po Valley Autodemolizioni, Parma, IT",
        "po-autodemolizioni.example",
        "+390521780300",
    ),
    _org(
        "lab",
        "Batterieprüfzentrum Süd GmbH",
        ("test-lab",),
        "Prüffeldweg 3, 85748 Garching, DE",
        "Batterieprüfzentrum Süd, Garching, DE",
        "bpz-sued.example",
        "+4989320600",
        "labor",
    ),
    _org(
        "carrier-adr",
        "EuroHaz Logistics B.V.",
        ("carrier",),
        "Waalhaven 5, 3089 Rotterdam, NL",
        "EuroHaz depot, Rotterdam, NL",
        "eurohaz.example",
        "+31104290500",
        "dispatch",
    ),
    _org(
        "carrier-alpine",
        "Alpine Gefahrgut Transporte GmbH",
        ("carrier",),
        "Frachtstraße 9, 6020 Innsbruck, AT",
        "Alpine Gefahrgut depot, Innsbruck, AT",
        "alpine-gefahrgut.example",
        "+43512340700",
        "dispo",
    ),
    _org(
        "repurposer",
        "SecondLife Storage ApS",
        ("repurposer",),
        "Energivej 4, 8000 Aarhus, DK",
        "SecondLife Storage works, Aarhus, DK",
        "secondlife-storage.example",
        "+4586120300",
    ),
    _org(
        "remanufacturer",
        "ReCell Remanufacturing s.r.o.",
        ("remanufacturer",),
        "Průmyslová 22, 60200 Brno, CZ",
        "ReCell works, Brno, CZ",
        "recell.example",
        "+420541330500",
    ),
    _org(
        "recycler-hydro",
        "Nordic Hydromet Recycling AB",
        ("recycler",),
        "Återvinningsgatan 2, 93133 Skellefteå, SE",
        "Nordic Hydromet plant, Skellefteå, SE",
        "nordic-hydromet.example",
        "+4691070200",
        "intake",
    ),
    _org(
        "recycler-pyro",
        "Meuse Metals Recovery NV",
        ("recycler",),
        "Industrieweg 50, 2250 Olen, BE",
        "Meuse Metals plant, Olen, BE",
        "meuse-metals.example",
        "+3214250300",
        "intake",
    ),
    _org(
        "market-surveillance",
        "Bundesanstalt für Batteriesicherheit, Marktüberwachung",
        ("market-surveillance",),
        "Marktaufsichtsplatz 1, 53113 Bonn, DE",
        "Bonn, DE",
        "bab-marktueberwachung.example",
        "+4922899610",
        "batteriepass",
    ),
    _org(
        "notified-body",
        "CertiCell Prüf- und Zertifizierungs GmbH (notified body 2987)",
        ("notified-body",),
        "Zertifizierungsring 5, 80939 München, DE",
        "München, DE",
        "certicell.example",
        "+4989358800",
        "batteries",
    ),
    _org(
        "commission",
        "European Commission, DG GROW, batteries unit (demo registration)",
        ("commission",),
        "Rue de la Loi 200, 1049 Bruxelles, BE",
        "Bruxelles, BE",
        "commission.europa.example",
        "+3222991111",
        "grow-batteries",
    ),
    _org(
        "assessor",
        "Fleetwise Battery Analytics B.V.",
        ("legitimate-interest",),
        "Europalaan 40, 3526 KS Utrecht, NL",
        "Utrecht, NL",
        "fleetwise.example",
        "+31302870400",
        "assessments",
    ),
    # Private persons: an e-bike rider each, who bought a Velocell battery and hands it in
    # at the dismantler of their town. Registered as persons (ADR 0016): a pseudonymous DID
    # on the log; name, address and contact in the business disclosure only. A private
    # owner reads their battery's performance data: the operator grants them the
    # legitimate-interest role.
    ActorSpec(
        "person-duisburg",
        "Lena Hoffmann",
        ("legitimate-interest",),
        "Schillerstraße 14, 47051 Duisburg, DE",
        "Duisburg, DE",
        "lena.hoffmann@mail.example",
        "+4915112345678",
        entity="person",
    ),
    ActorSpec(
        "person-nantes",
        "Camille Durand",
        ("legitimate-interest",),
        "8 rue Crébillon, 44000 Nantes, FR",
        "Nantes, FR",
        "camille.durand@mail.example",
        "+33612345678",
        entity="person",
    ),
    ActorSpec(
        "person-parma",
        "Marco Bianchi",
        ("legitimate-interest",),
        "Via Garibaldi 21, 43121 Parma, IT",
        "Parma, IT",
        "marco.bianchi@mail.example",
        "+393471234567",
        entity="person",
    ),
)
_ACTORS_BY_SLUG = {spec.slug: spec for spec in ACTORS}
PERSON_NEAR = {
    "dismantler-rhein": "person-duisburg",
    "dismantler-loire": "person-nantes",
    "dismantler-po": "person-parma",
}
"""The private person who hands an e-bike battery in at each dismantler."""


def actor(slug: str) -> ActorSpec:
    """The actor named ``slug``."""
    return _ACTORS_BY_SLUG[slug]


def _contact(spec: ActorSpec) -> dict[str, str]:
    contact = {"email": spec.email, "phone": spec.phone}
    if spec.url is not None:
        contact["url"] = spec.url
    return contact


def registration(
    spec: ActorSpec, did: str, key: str
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The public fields and disclosures of a v2 ``ActorRegistered`` for ``spec``."""
    public: dict[str, Any] = {"roles": list(spec.roles), "keys": [key], "entity": spec.entity}
    if spec.entity == "person":
        business = {"name": spec.name, "address": spec.address, "contact": _contact(spec)}
        return public, {"business": business}
    public.update(name=spec.name, address=spec.address, contact=_contact(spec))
    return public, {}


# -- GS1 ---------------------------------------------------------------------------------

GS1_PREFIX = {  # GS1 company prefixes (7 digits) of the models' GTINs
    "oem-nordwerk": "4068194",
    "oem-vistula": "5901234",
    "maker-baltic": "4770123",
    "maker-velocell": "4262317",
    "repurposer": "5790002",
    "remanufacturer": "8595012",
}
RESOLVER = {  # each brand's GS1 Digital Link resolver
    "oem-nordwerk": "https://id.nordwerk-automobile.example",
    "oem-vistula": "https://id.vistula-motors.example",
    "maker-baltic": "https://id.baltic-grid.example",
    "maker-velocell": "https://id.velocell.example",
    "repurposer": "https://id.secondlife-storage.example",
    "remanufacturer": "https://id.recell.example",
}


def gtin_check_digit(digits: str) -> str:
    """The GS1 check digit of a GTIN's first digits: weights 3, 1, 3, ... from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def digest(text: str) -> str:
    """``sha256:`` and the hex SHA-256 of ``text`` (the demo's stand-in for a document)."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


# -- the models --------------------------------------------------------------------------

Composition = tuple[tuple[str, str | None, str, float], ...]
"""(material, CAS number or None, component, kg)."""


@dataclass(frozen=True)
class ModelSpec:
    """A battery model: how it is built, and what its publication states."""

    key: str
    maker: str  # actor slug of the publisher
    item: str  # GS1 item reference (5 digits)
    name: str
    category: str  # EV, LMT or industrial
    chemistry: str
    plant: str
    series: int  # cells in series
    parallel: int  # cells in parallel
    cell_voltage: tuple[float, float, float]  # minimum, nominal, maximum (V)
    cell_capacity: float  # Ah
    cell_resistance: float  # mOhm
    modules: int  # in series; 0: the cells are the pack
    connections: float  # busbars, contactors, fuse (mOhm)
    composition: Composition
    usable: float | None  # certified usable share of the rated energy (EV)
    power: tuple[float, float]  # original capability, maximum permitted (W)
    round_trip: tuple[float, float]  # initial, at 50 % of cycle life (%)
    cycles: int
    c_rate: float
    reference_test: str
    threshold: float  # capacity threshold for exhaustion (%)
    idle: tuple[float, float]  # idle temperature range (°C)
    warranty: str  # ISO 8601 duration
    footprint: float  # kg CO2e per kWh of rated energy, cradle to grave
    footprint_shares: tuple[float, float, float, float]  # raw, production, distribution, EoL
    performance_class: str
    fades: tuple[float, float, float]  # capacity, power fade, resistance increase (%)
    years: float  # expected lifetime
    self_discharge: float  # initial, %/month
    recycled: tuple[Mapping[str, float], Mapping[str, float]]  # pre-, post-consumer (%)
    renewable: float  # %
    critical: tuple[str, ...]
    hazardous: tuple[tuple[str, str, str, str], ...]  # name, CAS, hazard class, impact
    extinguishing: tuple[str, ...]
    compliance: tuple[str, ...]  # titles of the test reports
    capacity_rating: float = 1.0  # share of the cells' capacity the model is rated at
    assurances: tuple[str, ...] = ()
    extra_symbol: str | None = None  # meaning of an "other" symbol
    parts: tuple[tuple[str, str, str], ...] = ()  # part number, name, spare-part source
    source: str | None = None  # the model a second-life model is made from
    second_life: str | None = None  # "repurposed", "module" or "remanufactured"

    # -- identity
    @property
    def gtin(self) -> str:
        body = "0" + GS1_PREFIX[self.maker] + self.item
        return body + gtin_check_digit(body)

    @property
    def id(self) -> str:
        """The model id: its GTIN's GS1 Digital Link URI (no serial)."""
        return f"{RESOLVER[self.maker]}/01/{self.gtin}"

    # -- electrical values
    @property
    def capacity(self) -> float:
        return round(self.cell_capacity * self.parallel * self.capacity_rating, 1)

    @property
    def voltage(self) -> tuple[float, float, float]:
        low, nominal, high = self.cell_voltage
        return (
            round(low * self.series, 1),
            round(nominal * self.series, 1),
            round(high * self.series, 1),
        )

    @property
    def energy(self) -> float:
        """Rated energy (kWh)."""
        return round(self.capacity * self.voltage[1] / 1000, 3)

    @property
    def module_series(self) -> int:
        return self.series // self.modules if self.modules else self.series

    @property
    def module_resistance(self) -> float:
        """A module's resistance (mOhm): its cells, and the module's own connections."""
        return round(self.module_series * self.cell_resistance / self.parallel + 0.5, 2)

    @property
    def pack_resistance(self) -> float:
        if self.modules:
            return round(self.modules * self.module_resistance + self.connections, 1)
        return round(self.series * self.cell_resistance / self.parallel + self.connections, 1)

    @property
    def mass(self) -> float:
        return round(sum(kg for _, _, _, kg in self.composition), 1)

    @property
    def module_mass(self) -> float:
        """A module's mass (kg): the cells' materials and the module housing."""
        cells = sum(kg for _, _, part, kg in self.composition if part in _CELL_PARTS)
        return round(cells / self.modules, 1) if self.modules else self.mass

    @property
    def module_part(self) -> str:
        return f"{self.key.upper()}-MOD-{self.module_series}S{self.parallel}P"

    @property
    def lifetime_energy(self) -> float:
        """Energy delivered over the expected service life (kWh): the cycles at the mean of
        the initial and the end-of-life capacity."""
        mean_capacity = (200 - self.fades[0]) / 200
        return self.energy * self.cycles * mean_capacity


_CELL_PARTS = frozenset({"cathode", "anode", "electrolyte", "separator", "module"})

# -- materials ---------------------------------------------------------------------------

_LIPF6 = (
    "lithium hexafluorophosphate",
    "21324-40-3",
    "Acute Tox. 3; Skin Corr. 1A; STOT RE 1",
    "Toxic if swallowed; causes severe skin burns and eye damage; releases hydrogen "
    "fluoride in contact with water or in a fire.",
)
_EC = (
    "ethylene carbonate",
    "96-49-1",
    "Eye Irrit. 2; STOT RE 2",
    "Causes serious eye irritation; may damage the kidneys through prolonged exposure.",
)
_DMC = (
    "dimethyl carbonate",
    "616-38-6",
    "Flam. Liq. 2",
    "Highly flammable liquid and vapour: feeds a battery fire once the cells vent.",
)
_NMC = (
    "lithium nickel manganese cobalt oxide",
    "346417-97-8",
    "Carc. 1A; Skin Sens. 1; STOT RE 1",
    "May cause cancer by inhalation of dust; may cause an allergic skin reaction; harmful "
    "to aquatic life if released.",
)
_LFP_FIRE = (
    "water (large quantities, for cooling)",
    "AVD (aqueous vermiculite dispersion)",
)
_AL, _CU, _STEEL, _PE, _NI = "7429-90-5", "7440-50-8", "12597-69-2", "9002-88-4", "7440-02-0"
_GRAPHITE, _LFP_CAS, _GLYCOL = "7782-42-5", "15365-14-7", "107-21-1"


def _composition(mass: float, rows: tuple[tuple[str, str | None, str, float], ...]) -> Composition:
    """Rows of (material, CAS, component, % of mass), which add up to 100, as kg."""
    total = sum(share for *_, share in rows)
    if abs(total - 100) > 1e-9:  # pragma: no cover - a data error caught at import
        raise ValueError(f"composition adds up to {total} %")
    return tuple((m, cas, part, round(mass * share / 100, 2)) for m, cas, part, share in rows)


_NMC_EV = _composition(
    478.0,
    (
        ("lithium nickel manganese cobalt oxide (NMC811)", _NMC[1], "cathode", 22.0),
        ("aluminium foil (cathode current collector)", _AL, "cathode", 2.5),
        ("graphite", _GRAPHITE, "anode", 14.5),
        ("copper foil (anode current collector)", _CU, "anode", 6.5),
        ("LiPF6 in ethylene carbonate / dimethyl carbonate", _LIPF6[1], "electrolyte", 8.5),
        ("polyethylene separator", _PE, "separator", 1.5),
        ("aluminium pouch laminate and module frames", _AL, "module", 9.0),
        ("aluminium alloy pack housing", _AL, "casing", 21.0),
        ("steel brackets and fasteners", _STEEL, "casing", 5.0),
        ("copper busbars and high-voltage cables", _CU, "pack", 3.5),
        ("battery management system and wiring", None, "other", 2.5),
        ("cooling plates and glycol coolant", _GLYCOL, "other", 3.5),
    ),
)
_LFP_EV = _composition(
    433.0,
    (
        ("lithium iron phosphate (LFP)", _LFP_CAS, "cathode", 26.0),
        ("aluminium foil (cathode current collector)", _AL, "cathode", 3.0),
        ("graphite", _GRAPHITE, "anode", 13.0),
        ("copper foil (anode current collector)", _CU, "anode", 7.0),
        ("LiPF6 in ethylene carbonate / dimethyl carbonate", _LIPF6[1], "electrolyte", 11.0),
        ("polyethylene separator", _PE, "separator", 1.5),
        ("aluminium prismatic cell cans and module frames", _AL, "module", 10.0),
        ("aluminium alloy pack housing", _AL, "casing", 17.0),
        ("steel brackets and fasteners", _STEEL, "casing", 4.5),
        ("copper busbars and high-voltage cables", _CU, "pack", 2.5),
        ("battery management system and wiring", None, "other", 2.0),
        ("cooling plates and glycol coolant", _GLYCOL, "other", 2.5),
    ),
)
_LFP_ESS = _composition(
    2150.0,
    (
        ("lithium iron phosphate (LFP)", _LFP_CAS, "cathode", 22.0),
        ("aluminium foil (cathode current collector)", _AL, "cathode", 2.5),
        ("graphite", _GRAPHITE, "anode", 11.0),
        ("copper foil (anode current collector)", _CU, "anode", 6.0),
        ("LiPF6 in ethylene carbonate / dimethyl carbonate", _LIPF6[1], "electrolyte", 9.5),
        ("polyethylene separator", _PE, "separator", 1.0),
        ("aluminium prismatic cell cans", _AL, "module", 8.0),
        ("steel module housings", _STEEL, "module", 6.0),
        ("steel cabinet and rack", _STEEL, "casing", 24.0),
        ("copper busbars and cabling", _CU, "pack", 3.0),
        ("battery management system, contactors and fuses", None, "other", 2.5),
        ("air conditioning unit and aerosol fire suppression", None, "other", 4.5),
    ),
)
_NMC_LMT = _composition(
    3.4,
    (
        ("lithium nickel manganese cobalt oxide (NMC622)", _NMC[1], "cathode", 26.0),
        ("aluminium foil (cathode current collector)", _AL, "cathode", 3.5),
        ("graphite", _GRAPHITE, "anode", 17.0),
        ("copper foil (anode current collector)", _CU, "anode", 7.5),
        ("LiPF6 in ethylene carbonate / dimethyl carbonate", _LIPF6[1], "electrolyte", 10.5),
        ("polyethylene separator", _PE, "separator", 1.5),
        ("nickel-plated steel cell cans (21700)", _STEEL, "module", 15.0),
        ("nickel cell connector strips", _NI, "pack", 1.5),
        ("PC/ABS housing", None, "casing", 11.0),
        ("aluminium mounting rail and lock", _AL, "casing", 3.0),
        ("battery management system and connector", None, "other", 3.5),
    ),
)

_EV_COMPLIANCE = (
    "UN 38.3 test summary",
    "IEC 62660-2:2018 reliability and abuse test report",
    "IEC 62660-3:2022 safety test report",
    "UN ECE R100 rev. 3 part II approval test report",
    "Regulation (EU) 2023/1542 Annex V safety test report",
)
_ESS_COMPLIANCE = (
    "UN 38.3 test summary",
    "IEC 62619:2022 safety test report",
    "IEC 62620:2014 performance test report",
    "UL 9540A:2019 thermal runaway propagation test report",
    "Regulation (EU) 2023/1542 Annex V safety test report",
)
_LMT_COMPLIANCE = (
    "UN 38.3 test summary",
    "EN 50604-1:2016+A1:2021 test report",
    "IEC 62133-2:2017 test report",
    "Regulation (EU) 2023/1542 Annex V safety test report",
)
_HV_SYMBOL = (
    "High-voltage warning (ISO 7010 W012): only trained and authorised personnel may open "
    "the battery."
)
_ASSURANCES = (
    "IRMA Standard for Responsible Mining, cobalt and nickel supply, audit 2025-09",
    "RMI Responsible Minerals Assurance Process, conformant smelter list 2025",
)

ORIGINALS: tuple[ModelSpec, ...] = (
    ModelSpec(
        key="nw-p78",
        maker="oem-nordwerk",
        item="00811",
        name="Nordwerk NW-P78 traction battery (NMC811, 96S2P, 8 modules)",
        category="EV",
        chemistry="NMC811",
        plant="Nordwerk battery plant Salzgitter, Salzgitter, DE",
        series=96,
        parallel=2,
        cell_voltage=(2.8, 3.65, 4.2),
        cell_capacity=110.0,
        cell_resistance=0.9,
        modules=8,
        connections=9.5,
        composition=_NMC_EV,
        usable=0.94,
        power=(200_000, 250_000),
        round_trip=(95.0, 93.4),
        cycles=2000,
        c_rate=0.33,
        reference_test="IEC 62660-1:2018 cycle life test at 25 °C, 100 % depth of discharge, "
        "C/3, ended at 80 % of rated capacity",
        threshold=70,
        idle=(-30, 55),
        warranty="P8Y",
        footprint=74.0,
        footprint_shares=(0.66, 0.28, 0.016, 0.044),
        performance_class="B",
        fades=(20.0, 22.0, 50.0),
        years=12,
        self_discharge=2.0,
        recycled=(
            {"Co": 6.0, "Li": 1.5, "Ni": 2.5, "Pb": 0},
            {"Co": 4.0, "Li": 1.0, "Ni": 1.5, "Pb": 0},
        ),
        renewable=3.5,
        critical=(
            "lithium",
            "nickel",
            "cobalt",
            "manganese",
            "natural graphite",
            "copper",
            "aluminium",
        ),
        hazardous=(_LIPF6, _NMC, _EC, _DMC),
        extinguishing=_LFP_FIRE,
        compliance=_EV_COMPLIANCE,
        assurances=_ASSURANCES,
        extra_symbol=_HV_SYMBOL,
        parts=(
            ("NW-P78-BMU-3", "battery management unit", "parts"),
            ("NW-P78-HVJB-2", "high-voltage junction box", "parts"),
            ("NW-P78-GSK-1", "pack cover gasket", "service"),
        ),
    ),
    ModelSpec(
        key="vm-l60",
        maker="oem-vistula",
        item="00160",
        name="Vistula VM-L60 traction battery (LFP, 104S1P, 8 modules)",
        category="EV",
        chemistry="LFP",
        plant="Vistula battery assembly Gliwice, Gliwice, PL",
        series=104,
        parallel=1,
        cell_voltage=(2.5, 3.2, 3.65),
        cell_capacity=180.0,
        cell_resistance=0.35,
        modules=8,
        connections=8.0,
        composition=_LFP_EV,
        usable=0.97,
        power=(150_000, 170_000),
        round_trip=(96.0, 94.9),
        cycles=4000,
        c_rate=0.5,
        reference_test="IEC 62660-1:2018 cycle life test at 25 °C, 100 % depth of discharge, "
        "C/2, ended at 80 % of rated capacity",
        threshold=70,
        idle=(-30, 55),
        warranty="P8Y",
        footprint=58.0,
        footprint_shares=(0.60, 0.33, 0.02, 0.05),
        performance_class="A",
        fades=(20.0, 15.0, 35.0),
        years=15,
        self_discharge=1.5,
        recycled=({"Co": 0, "Li": 2.0, "Ni": 0, "Pb": 0}, {"Co": 0, "Li": 1.0, "Ni": 0, "Pb": 0}),
        renewable=2.0,
        critical=("lithium", "phosphorus", "natural graphite", "copper", "aluminium"),
        hazardous=(_LIPF6, _EC, _DMC),
        extinguishing=_LFP_FIRE,
        compliance=_EV_COMPLIANCE,
        extra_symbol=_HV_SYMBOL,
        parts=(
            ("VM-L60-BMS-2", "battery management system", "parts"),
            ("VM-L60-PDU-1", "power distribution unit", "parts"),
            ("VM-L60-VNT-1", "pressure relief vent", "service"),
        ),
    ),
    ModelSpec(
        key="bgs-c215",
        maker="maker-baltic",
        item="00215",
        name="Baltic Grid BGS-C215 energy storage cabinet (LFP, 240S1P, 15 modules)",
        category="industrial",
        chemistry="LFP",
        plant="Baltic Grid Storage plant Kaunas, Kaunas, LT",
        series=240,
        parallel=1,
        cell_voltage=(2.5, 3.2, 3.65),
        cell_capacity=280.0,
        cell_resistance=0.18,
        modules=15,
        connections=14.0,
        composition=_LFP_ESS,
        usable=None,
        power=(107_500, 150_000),
        round_trip=(94.0, 92.6),
        cycles=6000,
        c_rate=0.5,
        reference_test="IEC 62620:2014 endurance in cycles at 25 °C, C/2, ended at 70 % of "
        "rated capacity",
        threshold=60,
        idle=(-20, 50),
        warranty="P10Y",
        footprint=62.0,
        footprint_shares=(0.58, 0.36, 0.03, 0.03),
        performance_class="B",
        fades=(30.0, 20.0, 40.0),
        years=15,
        self_discharge=1.5,
        recycled=({"Co": 0, "Li": 2.5, "Ni": 0, "Pb": 0}, {"Co": 0, "Li": 1.5, "Ni": 0, "Pb": 0}),
        renewable=4.0,
        critical=("lithium", "phosphorus", "natural graphite", "copper", "aluminium"),
        hazardous=(_LIPF6, _EC, _DMC),
        extinguishing=(
            "water (sprinkler or hose, for cooling)",
            "aerosol fire suppression (built in)",
        ),
        compliance=_ESS_COMPLIANCE,
        extra_symbol=_HV_SYMBOL,
        parts=(
            ("BGS-C215-BCU-4", "battery control unit", "parts"),
            ("BGS-C215-HVAC-1", "cabinet air conditioner", "parts"),
            ("BGS-C215-FSA-2", "aerosol fire suppression unit", "service"),
        ),
    ),
    ModelSpec(
        key="vc-576",
        maker="maker-velocell",
        item="00576",
        name="Velocell VC-576 e-bike battery (NMC622, 10S4P 21700, frame-integrated)",
        category="LMT",
        chemistry="NMC622",
        plant="Velocell battery assembly Leipzig, Leipzig, DE",
        series=10,
        parallel=4,
        cell_voltage=(2.5, 3.6, 4.2),
        cell_capacity=4.0,
        cell_resistance=13.0,
        modules=0,
        connections=25.0,
        composition=_NMC_LMT,
        usable=None,
        power=(900, 1_260),
        round_trip=(93.5, 91.8),
        cycles=1000,
        c_rate=0.5,
        reference_test="IEC 61960-3:2017 endurance in cycles at 25 °C, C/2 charge and "
        "discharge, ended at 60 % of rated capacity",
        threshold=60,
        idle=(-20, 45),
        warranty="P2Y",
        footprint=95.0,
        footprint_shares=(0.64, 0.30, 0.03, 0.03),
        performance_class="C",
        fades=(40.0, 30.0, 80.0),
        years=5,
        self_discharge=3.0,
        recycled=(
            {"Co": 5.0, "Li": 1.0, "Ni": 2.0, "Pb": 0},
            {"Co": 7.0, "Li": 1.0, "Ni": 2.0, "Pb": 0},
        ),
        renewable=6.0,
        critical=("lithium", "nickel", "cobalt", "manganese", "natural graphite", "copper"),
        hazardous=(_LIPF6, _NMC, _EC, _DMC),
        extinguishing=(*_LFP_FIRE, "dry sand"),
        compliance=_LMT_COMPLIANCE,
        assurances=_ASSURANCES[:1],
        extra_symbol="Do not throw into fire or expose to temperatures above 60 °C; do not "
        "open or short-circuit.",
        parts=(
            ("VC-576-BMS-2", "battery management board", "parts"),
            ("VC-576-LCK-1", "frame lock and key set", "parts"),
            ("VC-576-CON-3", "discharge connector", "service"),
        ),
    ),
)


# -- second-life models ------------------------------------------------------------------


def _rated_power(spec: ModelSpec, continuous: float, peak: float) -> ModelSpec:
    """``spec`` with a stationary rating: the original power capability at ``continuous``
    C, the maximum permitted at ``peak`` C (W, to the 10 W)."""
    watt_hours = spec.energy * 1000
    return replace(
        spec, power=(int(round(watt_hours * continuous, -1)), int(round(watt_hours * peak, -1)))
    )


def _repurposed(source: ModelSpec) -> ModelSpec:
    """The repurposer's stationary storage: a whole EV pack, re-rated at 60 % (the least
    the grading policy's repurpose grade leaves), in a steel enclosure with its own BMS."""
    added = (
        ("steel enclosure (repurposing)", _STEEL, "casing", 62.0),
        ("stationary battery management system and inverter interface", None, "other", 9.5),
        ("enclosure ventilation and smoke detection", None, "other", 13.5),
    )
    energy = round(source.energy * 0.6, 1)
    spec = replace(
        source,
        key=f"sl-{source.key}",
        maker="repurposer",
        item="10" + source.item[2:],
        name=f"SecondLife HomeGrid {energy:.0f} stationary storage ({source.chemistry}, "
        f"repurposed {source.name.split(' traction')[0]} pack)",
        category="industrial",
        plant="SecondLife Storage works, Aarhus, DK",
        cell_voltage=(*source.cell_voltage[:2], round(source.cell_voltage[2] - 0.1, 2)),
        cell_resistance=round(source.cell_resistance * 1.5, 3),
        connections=source.connections + 5.0,
        composition=source.composition + added,
        usable=None,
        capacity_rating=0.6,
        round_trip=(round(source.round_trip[1] - 0.5, 1), round(source.round_trip[1] - 2.1, 1)),
        cycles=3000,
        c_rate=0.5,
        reference_test="IEC 62620:2014 endurance in cycles at 25 °C, C/2, ended at 70 % of "
        "rated capacity",
        threshold=70,
        idle=(-20, 50),
        warranty="P5Y",
        footprint=9.0,
        footprint_shares=(0.25, 0.62, 0.05, 0.08),
        performance_class="A",
        fades=(30.0, 20.0, 40.0),
        years=8,
        self_discharge=round(source.self_discharge + 0.5, 1),
        compliance=_ESS_COMPLIANCE,
        assurances=(),
        parts=(
            ("SL-ENC-2", "steel enclosure with ventilation", "parts"),
            ("SL-SBMS-3", "stationary battery management system", "parts"),
            (source.module_part, "original module (cells)", source.key),
        ),
        source=source.key,
        second_life="repurposed",
    )
    return _rated_power(spec, 0.5, 0.7)


def _module(source: ModelSpec) -> ModelSpec:
    """One module of a split pack, tested, re-rated at 60 % and sold by the repurposer as a
    stationary storage building block."""
    cells = tuple(
        (material, cas, part, round(kg / source.modules, 2))
        for material, cas, part, kg in source.composition
        if part in _CELL_PARTS
    )
    added = (("module connector kit and cell monitoring board", None, "other", 0.9),)
    spec = replace(
        source,
        key=f"slm-{source.key}",
        maker="repurposer",
        item="30" + source.item[2:],
        name=f"SecondLife M{source.module_series} storage module ({source.chemistry}, "
        f"{source.module_series}S{source.parallel}P, from {source.name.split(' (')[0]})",
        category="industrial",
        plant="SecondLife Storage works, Aarhus, DK",
        series=source.module_series,
        modules=0,
        connections=1.5,
        cell_resistance=round(source.cell_resistance * 1.5, 3),
        composition=cells + added,
        usable=None,
        capacity_rating=0.6,
        round_trip=(round(source.round_trip[1] - 0.5, 1), round(source.round_trip[1] - 2.0, 1)),
        cycles=2500,
        c_rate=0.5,
        reference_test="IEC 62620:2014 endurance in cycles at 25 °C, C/2, ended at 70 % of "
        "rated capacity",
        threshold=70,
        idle=(-20, 50),
        warranty="P3Y",
        footprint=5.0,
        footprint_shares=(0.2, 0.65, 0.07, 0.08),
        performance_class="A",
        fades=(30.0, 20.0, 40.0),
        years=7,
        self_discharge=round(source.self_discharge + 0.5, 1),
        compliance=_ESS_COMPLIANCE,
        assurances=(),
        extra_symbol=None,
        parts=(
            ("SL-CMB-1", "cell monitoring board", "parts"),
            ("SL-MCK-2", "module connector kit", "parts"),
            (source.module_part, "original module (cells)", source.key),
        ),
        source=source.key,
        second_life="module",
    )
    return _rated_power(spec, 0.5, 1.0)


def _remanufactured(source: ModelSpec) -> ModelSpec:
    """The remanufacturer's battery: weak modules or cells replaced, a new BMS, rated at
    90 % of the original (Art. 3(32))."""
    return replace(
        source,
        key=f"rc-{source.key}",
        maker="remanufacturer",
        item="20" + source.item[2:],
        name=f"ReCell RC-{source.key.upper()} remanufactured battery ({source.chemistry}, "
        f"from {source.name.split(' (')[0]})",
        plant="ReCell works, Brno, CZ",
        cell_resistance=round(source.cell_resistance * 1.2, 3),
        capacity_rating=0.9,
        usable=source.usable,
        power=(int(round(source.power[0] * 0.92, -1)), source.power[1]),
        round_trip=(round(source.round_trip[0] - 1.0, 1), round(source.round_trip[1] - 1.2, 1)),
        cycles=source.cycles // 2,
        warranty="P1Y" if source.category == "LMT" else "P3Y",
        footprint=round(source.footprint * 0.22, 1),
        footprint_shares=(0.55, 0.33, 0.05, 0.07),
        years=round(source.years / 2, 1),
        self_discharge=round(source.self_discharge + 0.3, 1),
        assurances=(),
        parts=(
            (f"RC-{source.key.upper()}-SVC", "remanufacturing service kit", "parts"),
            *source.parts[:1],
            *(((source.module_part, "module", source.key),) if source.modules else ()),
        ),
        source=source.key,
        second_life="remanufactured",
    )


MODELS: tuple[ModelSpec, ...] = (
    *ORIGINALS,
    *(_repurposed(m) for m in ORIGINALS if m.category == "EV"),
    *(_module(m) for m in ORIGINALS if m.modules),
    *(_remanufactured(m) for m in ORIGINALS),
)
"""Every model the demo publishes: the originals, then the second-life products."""
_MODELS_BY_KEY = {m.key: m for m in MODELS}


def model(key: str) -> ModelSpec:
    """The model ``key``."""
    return _MODELS_BY_KEY[key]


# -- a model's publication ---------------------------------------------------------------

_END_USER: Mapping[str, tuple[str, str, str]] = {
    "EV": (
        "Follow the vehicle's charging advice: charge to 80 % for daily driving, avoid leaving "
        "the vehicle full or empty for weeks and park in the shade in hot weather. A battery "
        "kept this way lasts longer and can have a second life.",
        "Never dispose of a traction battery with household or bulky waste. When the vehicle "
        "is scrapped or the battery replaced, your dealer or an authorised treatment "
        "facility takes it back free of charge.",
        "Collected batteries are tested: those fit for it are re-used, remanufactured or "
        "repurposed as stationary storage; the others are recycled to recover lithium, "
        "nickel, cobalt, copper and aluminium.",
    ),
    "industrial": (
        "Operate the system within the temperature and state-of-charge limits of its "
        "installation manual and keep its firmware up to date; the monitoring reports the "
        "state of health so that weak modules are serviced before they fail.",
        "At the end of its life the producer takes the battery back free of charge "
        "(Art. 61 of Regulation (EU) 2023/1542): never dismantle the cabinet or dispose of "
        "it or its modules with other waste.",
        "Returned batteries are dismantled by a permitted treatment facility: healthy modules "
        "are prepared for a second life, the rest is recycled to recover lithium, copper, "
        "aluminium and steel.",
    ),
    "LMT": (
        "Store the battery indoors at 10 to 25 °C and about half charged when you do not "
        "ride for weeks, use only the supplied charger and never leave it in a hot car: it "
        "keeps its range for longer.",
        "Never put the battery in household waste: bicycle dealers and municipal collection "
        "points take it back free of charge. Tape over the contacts before you hand it in.",
        "Collected batteries are checked: those in good condition are re-used or re-celled, "
        "the others are recycled to recover cobalt, nickel, lithium and copper.",
    ),
}
_SAFETY: Mapping[str, tuple[str, ...]] = {
    "EV": (
        "Work on the pack only de-energised: open the service disconnect and wait 10 minutes "
        "before removing the cover; wear class 0 insulating gloves.",
        "Store damaged packs outdoors, at least 5 m from buildings, and watch their "
        "temperature for 48 hours.",
    ),
    "industrial": (
        "Open the cabinet only after isolating it at the DC disconnect and confirming zero "
        "voltage at every module string.",
        "Keep the cabinet's fire suppression armed during service; a module that vents is "
        "moved outdoors in a steel container.",
    ),
    "LMT": (
        "Do not open, puncture or short-circuit the battery; a swollen or dropped battery is "
        "kept outdoors on a non-flammable surface and handed in as damaged.",
        "Charge only on a non-flammable surface and not unattended overnight.",
    ),
}
_PART_SOURCES = {
    "parts": "https://parts.{domain}/{key}",
    "service": "{name}, {address}",
}


def _part_source(spec: ModelSpec, where: str) -> str:
    if where not in _PART_SOURCES:  # a part of another model: its maker's spare parts
        return _part_source(model(where), "parts")
    maker = actor(spec.maker)
    domain = maker.email.split("@", 1)[1]
    return _PART_SOURCES[where].format(
        domain=domain, key=spec.key, name=maker.name, address=maker.address
    )


def _footprint(spec: ModelSpec) -> dict[str, Any]:
    """The carbon footprint per functional unit (kg CO2e per kWh delivered over the service
    life) by life-cycle stage; the stages add up to the total."""
    absolute = spec.footprint * spec.energy
    per_unit = absolute / spec.lifetime_energy
    stages = [round(per_unit * share, 5) for share in spec.footprint_shares]
    maker = actor(spec.maker)
    domain = maker.email.split("@", 1)[1]
    return {
        "perFunctionalUnit": round(sum(stages), 5),
        "rawMaterialAcquisition": stages[0],
        "production": stages[1],
        "distribution": stages[2],
        "endOfLife": stages[3],
        "performanceClass": spec.performance_class,
        "studyUrl": f"https://www.{domain}/sustainability/carbon-footprint-{spec.key}.pdf",
        "absolute": round(absolute, 1),
        "label": digest(f"carbon footprint label {spec.key} class {spec.performance_class}"),
    }


def _symbols(spec: ModelSpec) -> list[dict[str, str]]:
    symbols = [
        {
            "symbol": "separate-collection",
            "meaning": "Crossed-out wheeled bin: do not dispose of with household waste; "
            "return to a separate collection point.",
            "image": digest("symbol: crossed-out wheeled bin (Annex VI part B)"),
        },
        {
            "symbol": "carbon-footprint-class",
            "meaning": f"Carbon footprint performance class {spec.performance_class} (Art. 7(2)).",
            "image": digest(f"carbon footprint label {spec.key} class {spec.performance_class}"),
        },
        {
            "symbol": "CE",
            "meaning": "CE marking: the battery conforms to Regulation (EU) 2023/1542.",
            "image": digest("symbol: CE marking"),
        },
    ]
    if spec.extra_symbol is not None:
        symbols.append({"symbol": "other", "meaning": spec.extra_symbol})
    return symbols


def model_record(spec: ModelSpec, did: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The public fields and disclosures of the v2 ``BatteryModelPublished`` of ``spec``,
    published by ``did``."""
    maker = actor(spec.maker)
    domain = maker.email.split("@", 1)[1]
    low, nominal, high = spec.voltage
    energy = spec.energy
    resistance: dict[str, float] = {
        "cell": spec.cell_resistance,
        "pack": spec.pack_resistance,
    }
    if spec.modules:
        resistance["module"] = spec.module_resistance
    document = f"{spec.name} ({maker.name})"
    public: dict[str, Any] = {
        "gtin": spec.gtin,
        "modelName": spec.name,
        "manufacturer": {
            "id": did,
            "name": maker.name,
            "address": maker.address,
            "contact": _contact(maker),
        },
        "category": spec.category,
        "chemistry": spec.chemistry,
        "manufacturedAt": spec.plant,
        "mass": spec.mass,
        "warrantyPeriod": spec.warranty,
        "symbols": _symbols(spec),
        "carbonFootprint": _footprint(spec),
        "dueDiligenceReport": {
            "url": f"https://www.{domain}/sustainability/due-diligence-2026.pdf",
            "hash": digest(f"supply chain due diligence report 2026, {maker.name}"),
        },
        **({"thirdPartyAssurances": list(spec.assurances)} if spec.assurances else {}),
        "criticalRawMaterials": list(spec.critical),
        "hazardousSubstances": [
            {"name": name, "cas": cas, "hazardClass": hazard, "impact": impact}
            for name, cas, hazard, impact in spec.hazardous
        ],
        "recycledContent": {
            "preConsumer": dict(spec.recycled[0]),
            "postConsumer": dict(spec.recycled[1]),
        },
        "renewableContent": spec.renewable,
        "endUserInformation": dict(
            zip(
                ("wastePrevention", "separateCollection", "collectionAndTreatment"),
                _END_USER[spec.category],
                strict=True,
            )
        ),
        "ratedCapacity": spec.capacity,
        **(
            {"certifiedUsableEnergy": round(energy * spec.usable, 1)}
            if spec.usable is not None
            else {}
        ),
        "ratedEnergy": round(energy, 3 if energy < 10 else 1),
        "voltage": {"minimum": low, "nominal": nominal, "maximum": high},
        "power": {
            "original": spec.power[0],
            "maximumPermitted": spec.power[1],
            "nominalToEnergyRatio": round(spec.power[0] / (energy * 1000), 2),
        },
        "roundTripEfficiency": {
            "initial": spec.round_trip[0],
            "at50PercentCycleLife": spec.round_trip[1],
        },
        "internalResistance": resistance,
        "expectedLifetime": {
            "cycles": spec.cycles,
            "referenceTest": spec.reference_test,
            "cRate": spec.c_rate,
        },
        "capacityThresholdForExhaustion": spec.threshold,
        "idleTemperatureRange": {"lower": spec.idle[0], "upper": spec.idle[1]},
        "extinguishingAgents": list(spec.extinguishing),
        "declarationOfConformity": {
            "hash": digest(f"EU declaration of conformity {document}"),
            "url": f"https://www.{domain}/compliance/declaration-of-conformity-{spec.key}.pdf",
            "title": f"EU declaration of conformity, {spec.name.split(' (')[0]}",
        },
    }
    composition = [
        {
            "material": material,
            **({"cas": cas} if cas is not None else {}),
            "component": part,
            "mass": round(kg, 2),
            "massFraction": round(kg / spec.mass * 100, 2),
        }
        for material, cas, part, kg in spec.composition
    ]
    parts = [
        {"partNumber": number, "name": name, "source": _part_source(spec, where)}
        for number, name, where in spec.parts
    ]
    if spec.modules:
        parts.insert(
            0,
            {
                "partNumber": spec.module_part,
                "name": f"module {spec.module_series}S{spec.parallel}P",
                "source": _part_source(spec, "parts"),
            },
        )
    circularity = {
        "composition": composition,
        "partNumbers": parts,
        "dismantling": [
            {
                "type": kind,
                "hash": digest(f"{title} {document}"),
                "title": f"{spec.name.split(' (')[0]}: {title}",
            }
            for kind, title in (
                ("dismantling-manual", "removal and disassembly manual, rev. C"),
                ("exploded-diagram", "exploded view of pack and modules"),
                ("disassembly-sequence", "disassembly sequence"),
                ("fastenings", "fastenings and torque values"),
                ("tools", "tools list"),
            )
        ],
        "safety": {
            "measures": list(_SAFETY[spec.category]),
            "documents": [
                {
                    "type": kind,
                    "hash": digest(f"{title} {document}"),
                    "title": title,
                }
                for kind, title in (
                    ("safety-data-sheet", "Safety data sheet"),
                    ("emergency-response", "Emergency response guide"),
                    ("safety-instructions", "Handling, storage and transport instructions"),
                )
            ],
        },
    }
    capacity_fade, power_fade, resistance_increase = spec.fades
    performance = {
        "capacityFade": capacity_fade,
        "powerFade": power_fade,
        "roundTripEfficiencyFade": round(2 * (spec.round_trip[0] - spec.round_trip[1]), 1),
        "internalResistanceIncrease": resistance_increase,
        "expectedLifetimeYears": spec.years,
        "initialSelfDischargeRate": spec.self_discharge,
    }
    compliance = {"complianceReports": [digest(f"{title} {document}") for title in spec.compliance]}
    return public, {
        "circularity": circularity,
        "compliance": compliance,
        "performance": performance,
    }
