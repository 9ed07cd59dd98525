"""v2 record data for the command-line tests, as a user types it into ``bpl record new
--data``: the fields of a full example (tests/schemas/examples/v2), public and restricted
alike (``bpl record new`` splits them as the kind's schema says)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).parents[1] / "schemas" / "examples" / "v2"
BOOKKEEPING = ("id", "sequence", "previous", "disclosures")
MODEL_ID = "https://id.example.com/01/09506000134352"
"""The example model's id: the GS1 Digital Link of its GTIN, without a serial."""
GTIN = "09506000134352"


def fields(kind: str) -> dict[str, Any]:
    """Every field of the v2 example of ``kind``: its public ones and its disclosures'."""
    submission = json.loads((EXAMPLES / f"{kind}.json").read_text(encoding="utf-8"))
    subject = submission["record"]["credentialSubject"]
    found = {name: value for name, value in subject.items() if name not in BOOKKEEPING}
    for disclosure in submission["disclosures"]:
        found |= {k: v for k, v in disclosure.items() if k not in ("salt", "group")}
    return found


def model(manufacturer: str) -> dict[str, Any]:
    """The example battery model (every Annex XIII field), published by ``manufacturer``."""
    data = fields("BatteryModelPublished")
    data["manufacturer"] = {**data["manufacturer"], "id": manufacturer}
    del data["operator"]  # another economic operator's DID, not registered here
    return data


def battery(serial: str, host: str = "id.example.com") -> str:
    """A GS1 Digital Link battery id of the example model's GTIN."""
    return f"https://{host}/01/{GTIN}/21/{serial}"


def passport(manufacturer: str, model_record: str, serial: str) -> dict[str, Any]:
    """A v2 PassportIssued's fields: battery ``serial`` of the example model, naming the
    model's current record."""
    return {
        "batteryId": battery(serial),
        "model": {"id": MODEL_ID, "record": model_record},
        "manufacturer": manufacturer,
        "manufacturedOn": "2026-03-14",
        "mass": 511.9,
        "status": "original",
    }
