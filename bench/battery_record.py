"""A realistic battery diagnostic record, shared by the benchmarks.

The record is a W3C VC 2.0 credential whose ``credentialSubject`` carries one diagnostic
reading of an EV battery pack: the kind of document the ledger signs and verifies on every
append. It mixes what makes canonicalization expensive: nested objects and arrays, many
short strings, ints, and floats of every shape JCS formats differently from Python
(integral ``12000.0``, small ``0.0312``, tiny ``1e-7``), plus a few non-ASCII strings.
Scripts import it by path: ``sys.path.insert(0, str(Path(__file__).parent))`` then
``from battery_record import sample_record``.
"""

from __future__ import annotations

from typing import Any


def sample_record() -> dict[str, Any]:
    """Return a fresh ~1.7 KB battery diagnostic credential (about 60 leaf values)."""
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://w3id.org/security/data-integrity/v2",
        ],
        "id": "urn:uuid:3f1c2a9e-7b4d-4e8a-9c21-5d6e7f8a9b0c",
        "type": ["VerifiableCredential", "BatteryDiagnosticCredential"],
        "issuer": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "validFrom": "2025-03-14T09:26:53Z",
        "credentialSubject": {
            "id": "urn:bpl:battery:DE-BAT-2024-000418",
            "batteryId": "DE-BAT-2024-000418",
            "sequence": 1842,
            "previousHash": (
                "sha256:9f2b5c0e1d7a4c3b8e6f0a2d4c6e8a0b1c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f"
            ),
            "manufacturer": "Nordvolt Zellwerk GmbH",
            "site": "Göteborg-Torslanda",
            "chemistry": "NMC811",
            "model": "NV-PACK-96S2P",
            "soce": 87.5,
            "soh": 94.25,
            "ratedCapacityAh": 210.0,
            "remainingCapacityAh": 197.93,
            "ratedEnergyWh": 82000.0,
            "remainingEnergyWh": 77285,
            "cycleCount": 412,
            "internalResistanceOhm": 0.0312,
            "selfDischargeRatePerDay": 1e-7,
            "powerFadePercent": 3.8,
            "capacityFadePercent": 5.75,
            "nominalVoltageV": 355.2,
            "maxCellDeltaMv": 12,
            "chargeThroughputAh": 12000.0,
            "temperaturesC": {"min": 18.4, "max": 31.9, "mean": 24.65, "ambient": 21},
            "cellVoltagesV": [3.702, 3.698, 3.705, 3.7, 3.691, 3.709, 3.703, 3.697],
            "modules": [
                {"index": 1, "serial": "MOD-A1-7731", "tempC": 24.1, "soh": 95.0},
                {"index": 2, "serial": "MOD-A2-7732", "tempC": 25.3, "soh": 93.5},
            ],
            "measurement": {
                "method": "EIS at 1 kHz, 25 °C ± 2",
                "operator": "Åsa Lindqvist",
                "calibrated": True,
                "instrument": {"make": "Hioki", "model": "BT4560", "firmware": "v1.04"},
                "uncertainty": 0.0025,
            },
            "events": [
                {"code": "OVT-WARN", "count": 2, "lastSeen": "2025-02-28T17:03:11Z"},
                {"code": "DEEP-DISCH", "count": 0, "lastSeen": "2024-11-02T06:40:00Z"},
            ],
            "carbonFootprintKgCO2ePerKWh": 61.3,
            "recycledContent": {"cobalt": 0.16, "lithium": 0.06, "nickel": 0.06},
            "notes": "Pack inspected; no swelling, seals intact. Next check due at 500 cycles.",
        },
    }
