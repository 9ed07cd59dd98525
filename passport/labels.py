"""Printable crate labels: a battery's QR code, its ids, chemistry and mass, and the
dangerous-goods marks of its open shipment, as PDF (fpdf2).

A label is glued to a crate in a yard, where anyone reads it: it prints **public data
only**, read from the records' public parts (never from a disclosure), so it is the same
for every reader (ADR 0019). What it prints:

- the QR code (:func:`passport.qr.target`: the battery's GS1 Digital Link at the
  service's resolver), drawn as vector rectangles;
- the battery id and the passport id in text; the model's name and chemistry (the v2
  model record the passport names, or a v1 passport's own fields) and the battery's mass;
- from the **latest shipment still open** (a ``Shipment`` no ``ShipmentReceived`` has
  closed) in record format v2: the UN number (12 mm high, as ADR 5.2.1.1 asks of
  packages), the proper shipping name (with ``WASTE`` in front for waste, as the shipper
  wrote it), a class 9 hazard label (the lithium battery model 9A), the marks ADR's
  special provisions require (SP 376 ``DAMAGED/DEFECTIVE LITHIUM ION BATTERIES``, SP 377
  ``LITHIUM BATTERIES FOR DISPOSAL``/``... FOR RECYCLING``) and those the record lists,
  the packing instruction, the tunnel code, the shipment and crate ids. A v1 shipment keeps
  these in a restricted disclosure: its label says so and prints none of them.

One label is :data:`LABEL_W` x :data:`LABEL_H` mm (four to an A4 sheet, laid out as
Avery L7169 and compatible sheets, and within a 100 x 150 mm thermal label). The PDF is
deterministic (its date is that of the newest record printed), so equal labels are
equal bytes and rendered PDFs are cached by their content.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from fpdf import FPDF

from ledger.core.battery_id import parse_battery_id
from ledger.facade import Ledger
from passport import qr, views

FONTS: Final = Path(__file__).parent / "fonts"
FONT: Final = "DejaVuSansCondensed"
LABEL_W: Final = 99.1
LABEL_H: Final = 139.0
SHEET: Final = "A4"
SHEET_ORIGINS: Final = ((4.65, 9.5), (106.25, 9.5), (4.65, 148.5), (106.25, 148.5))
"""Where the four labels of an A4 sheet start (mm): Avery L7169's layout."""
MAX_SHEET_LABELS: Final = 100
"""Labels in one sheet request (25 pages)."""
QR_LEVEL: Final = "Q"
"""Crates get dirty: a quarter of a label's code may be lost and it still scans."""
QR_SIDE: Final = 44.0
UN_CAP_HEIGHT: Final = 12.0
"""mm: ADR 5.2.1.1 wants the UN number at least 12 mm high on packages over 30 kg."""
_CAP: Final = 0.729
"""DejaVu's capital height, in ems."""
_PT: Final = 25.4 / 72
_MARKS: Final = {
    376: {
        "UN3480": "DAMAGED/DEFECTIVE LITHIUM ION BATTERIES",
        "UN3481": "DAMAGED/DEFECTIVE LITHIUM ION BATTERIES",
        "UN3090": "DAMAGED/DEFECTIVE LITHIUM METAL BATTERIES",
        "UN3091": "DAMAGED/DEFECTIVE LITHIUM METAL BATTERIES",
    },
}
"""The mark a special provision requires, by UN number (SP 376)."""
_SP377_MARKS: Final = ("LITHIUM BATTERIES FOR DISPOSAL", "LITHIUM BATTERIES FOR RECYCLING")


@dataclass(frozen=True, slots=True)
class DangerousGoods:
    """The public dangerous-goods particulars of an open v2 shipment, as printed."""

    un_number: str
    proper_shipping_name: str
    special_provisions: tuple[int, ...]
    packing_instruction: str
    marks: tuple[str, ...]
    tunnel_code: str | None

    @property
    def waste(self) -> bool:
        """Waste, as ADR 5.4.1.1.3 has the shipper write it: ``WASTE`` before the name."""
        return self.proper_shipping_name.upper().startswith("WASTE ")


@dataclass(frozen=True, slots=True)
class Shipment:
    shipment_id: str
    crate_ids: tuple[str, ...]
    dangerous_goods: DangerousGoods | None
    """None for a v1 shipment (its particulars are restricted there)."""


@dataclass(frozen=True, slots=True)
class Label:
    """Everything one label prints (public data only): hashable, the render cache's key."""

    passport_id: str
    battery_id: str | None
    qr_data: str
    model_name: str | None
    chemistry: str | None
    mass: float | None
    shipment: Shipment | None
    as_of: str
    """The newest record's validFrom: the PDF's date."""


def read_label(ledger: Ledger, passport_id: str, base: str) -> Label | None:
    """The label of ``passport_id`` (None if there is no such passport), from the public
    parts of its records and of the model record it names; ``base``: the service's URL."""
    if not passport_id.startswith(views.PASSPORT_PREFIX) or ledger.head(passport_id) is None:
        return None
    chain, _ = views.read_chain(ledger, passport_id)
    if not chain or views.kind_of(chain[0]) != "PassportIssued":
        return None
    issued = views.subject(chain[0])
    battery_id = _text(issued.get("batteryId"))
    model = _model(ledger, issued)
    chemistry = model.get("chemistry") if model else issued.get("chemistry")
    mass = issued.get("mass")
    return Label(
        passport_id=passport_id,
        battery_id=battery_id,
        qr_data=base + qr_path(ledger, passport_id, battery_id),
        model_name=_text(model.get("modelName")) if model else None,
        chemistry=_text(chemistry),
        mass=float(mass) if isinstance(mass, int | float) and not isinstance(mass, bool) else None,
        shipment=open_shipment(chain),
        as_of=max(str(record.get("validFrom", "")) for record in chain),
    )


def qr_path(ledger: Ledger, passport_id: str, battery_id: str | None) -> str:
    """The path a passport's code leads to at the service: the battery's Digital Link when
    the resolver finds this passport by it (as :mod:`passport.resolver` looks it up: by the
    canonical GS1 key), else the passport's own page."""
    path = qr.target(battery_id, passport_id, "")
    if battery_id is not None and path.startswith("/01/"):
        key = parse_battery_id(battery_id).key
        history = ledger.battery_history(key)
        if any(passport.subject_id == passport_id for passport in history.passports):
            return path
    return qr.target(None, passport_id, "")


def battery_of(ledger: Ledger, passport_id: str) -> tuple[bool, str | None]:
    """Whether ``passport_id`` is a passport here, and its battery id."""
    if not passport_id.startswith(views.PASSPORT_PREFIX):
        return False, None
    first = ledger.chain_page(passport_id, limit=1)
    if not first or views.kind_of(first[0]) != "PassportIssued":
        return False, None
    return True, _text(views.subject(first[0]).get("batteryId"))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _model(ledger: Ledger, issued: Mapping[str, Any]) -> dict[str, Any] | None:
    named = issued.get("model")
    if not isinstance(named, dict) or not isinstance(named.get("record"), str):
        return None
    return _model_data(ledger, named["record"])


_MODELS: dict[str, dict[str, Any]] = {}


def _model_data(ledger: Ledger, record_hash: str) -> dict[str, Any] | None:
    """A model record's public fields (kept: a record never changes under its hash)."""
    found = _MODELS.get(record_hash)
    if found is None:
        stored = ledger.record(record_hash)
        if stored is None:
            return None
        found = views.subject(stored.record)
        if len(_MODELS) >= 1024:
            _MODELS.clear()
        _MODELS[record_hash] = found
    return found


def open_shipment(chain: Sequence[Mapping[str, Any]]) -> Shipment | None:
    """The latest shipment of a chain that no ``ShipmentReceived`` has closed, from the
    records' public parts."""
    open_: dict[str, Mapping[str, Any]] = {}
    for record in chain:
        kind = views.kind_of(record)
        fields = views.subject(record)
        shipment_id = fields.get("shipmentId")
        if not isinstance(shipment_id, str):
            continue
        if kind == "Shipment":
            open_.pop(shipment_id, None)
            open_[shipment_id] = record
        elif kind == "ShipmentReceived":
            open_.pop(shipment_id, None)
    if not open_:
        return None
    shipment_id, record = list(open_.items())[-1]
    fields = views.subject(record)
    crates = fields.get("crateIds")
    crate_ids = tuple(c for c in crates if isinstance(c, str)) if isinstance(crates, list) else ()
    goods = fields.get("dangerousGoods")
    return Shipment(
        shipment_id,
        crate_ids,
        dangerous_goods(goods) if isinstance(goods, dict) else None,
    )


def dangerous_goods(goods: Mapping[str, Any]) -> DangerousGoods:
    """What a label prints of a shipment's public ``dangerousGoods``: the marks its
    special provisions require added to those it lists (the UN number is printed apart)."""
    un_number = str(goods.get("unNumber", ""))
    provisions = tuple(
        sorted(p for p in goods.get("specialProvisions") or () if isinstance(p, int))
    )
    listed = [str(m) for m in goods.get("marks") or () if isinstance(m, str)]
    marks: list[str] = []
    for provision in provisions:
        required = _MARKS.get(provision, {}).get(un_number)
        if required is not None:
            marks.append(required)
    marks += [m for m in listed if m.replace(" ", "") != un_number]
    tunnel = goods.get("tunnelCode")
    return DangerousGoods(
        un_number=un_number,
        proper_shipping_name=str(goods.get("properShippingName", "")),
        special_provisions=provisions,
        packing_instruction=str(goods.get("packingInstruction", "")),
        marks=tuple(dict.fromkeys(marks)),
        tunnel_code=tunnel if isinstance(tunnel, str) and tunnel != "-" else None,
    )


# -- the PDF --------------------------------------------------------------------------------


def label_pdf(label: Label) -> bytes:
    """One label on a page of its own size."""
    return _render((label,), sheet=False)


def sheet_pdf(labels: Sequence[Label]) -> bytes:
    """Labels four to an A4 page, in order."""
    return _render(tuple(labels), sheet=True)


def etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


@lru_cache(maxsize=256)
def _render(labels: tuple[Label, ...], *, sheet: bool) -> bytes:
    pdf = FPDF(unit="mm", format=SHEET if sheet else (LABEL_W, LABEL_H))
    pdf.set_auto_page_break(auto=False)
    pdf.set_margin(0)
    # Parsed anew for every document: fpdf2 subsets a font in place when it writes one.
    pdf.add_font(FONT, "", FONTS / f"{FONT}.ttf")
    pdf.add_font(FONT, "B", FONTS / f"{FONT}-Bold.ttf")
    pdf.set_title("Battery passport crate labels" if sheet else "Battery passport crate label")
    pdf.set_creator("bpl")
    pdf.set_creation_date(_date(max(label.as_of for label in labels)))
    for index, label in enumerate(labels):
        if sheet:
            if index % len(SHEET_ORIGINS) == 0:
                pdf.add_page()
            x, y = SHEET_ORIGINS[index % len(SHEET_ORIGINS)]
        else:
            pdf.add_page()
            x, y = 0.0, 0.0
        _draw(pdf, label, x, y)
    return bytes(pdf.output())


def _date(value: str) -> datetime:
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        return datetime(2000, 1, 1, tzinfo=UTC)
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def _draw(pdf: FPDF, label: Label, x: float, y: float) -> None:
    """One label with its top left corner at (x, y)."""
    right = x + LABEL_W - 5
    pdf.set_draw_color(0)
    pdf.set_line_width(0.4)
    pdf.rect(x + 2.5, y + 2.5, LABEL_W - 5, LABEL_H - 5)
    pdf.set_text_color(0)
    pdf.set_font(FONT, "B", 10)
    pdf.text(x + 5, y + 8.5, "BATTERY PASSPORT")
    _qr(pdf, label.qr_data, x + 3.5, y + 10)
    goods = label.shipment.dangerous_goods if label.shipment else None
    if goods is not None:
        _class_9(pdf, x + 74, y + 33, 20.5)
    else:
        pdf.set_font(FONT, "", 7.5)
        pdf.set_xy(x + 50, y + 16)
        pdf.multi_cell(
            right - x - 50,
            3.6,
            "Scan the code: the battery's passport, its records and their proofs.",
        )
    top = y + 58
    top = _field(pdf, "Battery id", label.battery_id or "-", x + 5, top, right)
    top = _field(pdf, "Passport", label.passport_id, x + 5, top, right)
    if label.model_name:
        top = _field(pdf, "Model", label.model_name, x + 5, top, right)
    middle = x + 5 + (right - x - 5) / 2
    mass = f"{label.mass:g} kg" if label.mass is not None else "-"
    _field(pdf, "Chemistry", label.chemistry or "-", x + 5, top, middle - 2)
    top = _field(pdf, "Mass", mass, middle, top, right)
    pdf.set_line_width(0.3)
    pdf.line(x + 5, top + 1, right, top + 1)
    if label.shipment is None:
        pdf.set_font(FONT, "", 7.5)
        pdf.text(x + 5, top + 6, "No open shipment: no dangerous-goods marks.")
    elif goods is None:
        pdf.set_font(FONT, "", 7.5)
        pdf.set_xy(x + 5, top + 3)
        pdf.multi_cell(
            right - x - 5,
            3.6,
            f"Shipment {label.shipment.shipment_id}: its dangerous-goods particulars are "
            "not public (record format v1); see the transport document.",
        )
    else:
        _goods(pdf, goods, label.shipment, x + 5, top + 2, right)
    pdf.set_font(FONT, "", 5.5)
    pdf.set_text_color(80)
    host = urlsplit(label.qr_data).netloc
    pdf.text(x + 5, y + LABEL_H - 5.5, f"Public ledger data as of {label.as_of[:10]} · {host}")
    pdf.set_text_color(0)


def _qr(pdf: FPDF, data: str, x: float, y: float) -> None:
    """The code as filled rectangles (vector), one per horizontal run of dark modules,
    written as one path (``rect`` per run took 100 ms a label)."""
    modules = qr.matrix(data, QR_LEVEL)
    unit = QR_SIDE / (len(modules) + 2 * qr.QUIET_ZONE)
    pdf.set_fill_color(255)
    pdf.rect(x, y, QR_SIDE, QR_SIDE, style="F")
    pdf.set_fill_color(0)
    k, page_h = pdf.k, pdf.h
    left = x + qr.QUIET_ZONE * unit
    top = y + qr.QUIET_ZONE * unit
    operators = [
        f"{(left + start * unit) * k:.3f} {(page_h - top - row * unit) * k:.3f} "
        f"{length * unit * k:.3f} {-unit * k:.3f} re"
        for row, modules_row in enumerate(modules)
        for start, length in qr.runs(modules_row)
    ]
    pdf._out("\n".join([*operators, "f"]))  # fpdf2 writes paths no faster way


def _fit(pdf: FPDF, text: str, width: float, size: float, minimum: float, bold: bool) -> list[str]:
    """Set the largest font size down to ``minimum`` at which ``text`` fits ``width``; the
    lines to print (split by characters when even the smallest is too wide)."""
    style = "B" if bold else ""
    while size > minimum:
        pdf.set_font(FONT, style, size)
        if pdf.get_string_width(text) <= width:
            return [text]
        size -= 0.5
    pdf.set_font(FONT, style, minimum)
    lines: list[str] = []
    line = ""
    for char in text:
        if line and pdf.get_string_width(line + char) > width:
            lines.append(line)
            line = ""
        line += char
    return [*lines, line]


def _field(pdf: FPDF, caption: str, value: str, x: float, y: float, right: float) -> float:
    """A caption and its value below it; returns where the next field starts."""
    pdf.set_font(FONT, "", 6)
    pdf.set_text_color(80)
    pdf.text(x, y + 2.2, caption.upper())
    pdf.set_text_color(0)
    lines = _fit(pdf, value, right - x, 9, 5.5, bold=True)
    step = pdf.font_size * 1.15
    for number, line in enumerate(lines[:4]):
        pdf.text(x, y + 2.2 + step * (number + 1), line)
    return y + 3.4 + step * min(len(lines), 4)


def _goods(
    pdf: FPDF, goods: DangerousGoods, shipment: Shipment, x: float, y: float, right: float
) -> None:
    """The shipment's marks: UN number, class, proper shipping name, the required marks,
    packing instruction, tunnel code, shipment and crate."""
    size = UN_CAP_HEIGHT / _CAP / _PT
    pdf.set_font(FONT, "B", size)
    pdf.text(x, y + UN_CAP_HEIGHT + 1, goods.un_number)
    after = x + pdf.get_string_width(goods.un_number) + 3
    pdf.set_font(FONT, "B", 11)
    pdf.text(after, y + 6, "CLASS 9")
    pdf.set_font(FONT, "", 7)
    details = (
        [f"ADR SP {', '.join(map(str, goods.special_provisions))}"]
        if goods.special_provisions
        else []
    )
    if goods.packing_instruction:
        details.append(f"Packing {goods.packing_instruction}")
    if goods.tunnel_code:
        details.append(f"Tunnel ({goods.tunnel_code})")
    for number, detail in enumerate(details):
        pdf.text(after, y + 9.5 + 3 * number, detail)
    top = y + UN_CAP_HEIGHT + 3
    for line in _fit(pdf, goods.proper_shipping_name, right - x, 10, 6, bold=True):
        top += pdf.font_size * 1.15
        pdf.text(x, top, line)
    top += 1.5
    marks = list(goods.marks)
    if 377 in goods.special_provisions and not any(m in _SP377_MARKS for m in marks):
        marks.append("SP 377: NO DISPOSAL/RECYCLING MARK IN THE RECORD")
    pdf.set_line_width(0.5)
    for mark in marks[:3]:
        lines = _fit(pdf, mark, right - x - 3, 9, 5.5, bold=True)
        height = pdf.font_size * 1.2 * len(lines) + 1.6
        pdf.rect(x, top, right - x, height)
        for number, line in enumerate(lines):
            pdf.text(x + 1.5, top + 0.5 + pdf.font_size * (1.0 + 1.2 * number), line)
        top += height + 1
    crates = ", ".join(shipment.crate_ids)
    pdf.set_font(FONT, "", 6.5)
    where = f"Shipment {shipment.shipment_id}" + (f" · crate {crates}" if crates else "")
    for line in _fit(pdf, where, right - x, 6.5, 5, bold=False)[:2]:
        top += pdf.font_size * 1.2
        pdf.text(x, top + 0.8, line)


def _class_9(pdf: FPDF, cx: float, cy: float, r: float) -> None:
    """A class 9 hazard label for lithium batteries (ADR model No. 9A), ``r`` the half
    diagonal: seven black stripes in the upper half, a battery and an underlined 9."""
    diamond = [(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)]
    pdf.set_fill_color(255)
    pdf.set_draw_color(0)
    pdf.set_line_width(0.3)
    pdf.polygon(diamond, style="DF")
    inner = r * 0.9
    pdf.polygon([(cx, cy - inner), (cx + inner, cy), (cx, cy + inner), (cx - inner, cy)], style="D")
    pdf.set_fill_color(0)
    stripes = 7
    apex = r * 0.8
    width = 2 * apex / (2 * stripes - 1)
    for number in range(stripes):
        left = cx - apex + 2 * number * width
        points = _stripe(cx, cy, apex, left, left + width)
        pdf.polygon(points, style="F")
    body_w, body_h = r * 0.5, r * 0.22
    pdf.set_line_width(0.5)
    pdf.rect(cx - body_w / 2, cy + r * 0.12, body_w, body_h)
    pdf.rect(cx + body_w / 2, cy + r * 0.12 + body_h * 0.3, r * 0.05, body_h * 0.4, style="F")
    pdf.set_font(FONT, "B", r * 1.1)
    nine = pdf.get_string_width("9")
    base = cy + r * 0.66
    pdf.text(cx - nine / 2, base, "9")
    pdf.set_line_width(0.4)
    pdf.line(cx - nine / 2, base + 0.8, cx + nine / 2, base + 0.8)


def _stripe(
    cx: float, cy: float, apex: float, left: float, right: float
) -> list[tuple[float, float]]:
    """One vertical stripe of the upper half, cut by the diamond's upper edges."""
    bottom = cy - apex * 0.05

    def top(at: float) -> float:
        return min(cy - apex + abs(at - cx), bottom)

    points = [(left, bottom), (left, top(left))]
    if left < cx < right:
        points.append((cx, top(cx)))
    points += [(right, top(right)), (right, bottom)]
    return points
