"""QR codes of battery passports: what they encode, and the code as SVG, PNG or modules.

A battery's QR code carries its **GS1 Digital Link URI at this service's resolver**
(``https://HOST/01/<GTIN-14>/21/<serial>``), not a passport's URL: the resolver sends a
scan to the battery's *live* passport, so a label printed before a successor was issued
(a re-used battery, the same id) still leads to the right page. A battery id in another
form (``25S...``, ISO/IEC 15459 outside GS1, or a v1 free-text id) has no resolver path:
its code carries the passport's own URL, whose page links the successors (docs/labels.md).

The codes are made by the ``qrcode`` package (its matrix); the SVG is drawn here as one
path of whole-module runs (vector, no raster, crisp at any size), the PNG with Pillow at a
whole number of pixels per module. Everything is cached in-process by content and
parameters (an LRU of :data:`CACHE_SIZE` codes): a cached code costs a dictionary lookup.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal, cast
from urllib.parse import quote

import qrcode
from PIL import Image
from qrcode import constants

from ledger.core.battery_id import BatteryIdError, parse_battery_id

Level = Literal["L", "M", "Q", "H"]
LEVELS: Final[dict[str, int]] = {
    "L": constants.ERROR_CORRECT_L,
    "M": constants.ERROR_CORRECT_M,
    "Q": constants.ERROR_CORRECT_Q,
    "H": constants.ERROR_CORRECT_H,
}
"""Error-correction levels: about 7, 15, 25 and 30 % of the code may be lost."""
DEFAULT_LEVEL: Final = "M"
QUIET_ZONE: Final = 4
"""Light modules around the code, as ISO/IEC 18004 requires."""
PNG_SIZES: Final = (64, 4096)
"""A PNG's width and height in pixels, at least and at most."""
PNG_DEFAULT: Final = 512
SVG_SIZES: Final = (10, 1000)
"""An SVG's printed width and height in millimetres, at least and at most."""
SVG_DEFAULT: Final = 30
CACHE_SIZE: Final = 2048

Matrix = tuple[tuple[bool, ...], ...]


class QrError(ValueError):
    """A parameter no code can be made with (the service answers 400)."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """A code's bytes, media type and strong ETag (a digest of the bytes)."""

    body: bytes
    media_type: str
    etag: str


class _Cache:
    """Rendered codes by (format, data, level, size), least recently used dropped first.
    Unlike :func:`functools.lru_cache` it can be asked without rendering (:func:`cached`),
    so the service renders a new code in a worker thread and answers a cached one on the
    event loop."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, str, str, int], Rendered] = OrderedDict()

    def get(self, key: tuple[str, str, str, int]) -> Rendered | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[str, str, str, int], value: Rendered) -> None:
        with self._lock:
            self._items[key] = value
            if len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_CODES = _Cache(CACHE_SIZE)


def cached(kind: Literal["svg", "png"], data: str, ec: Level, size: int) -> Rendered | None:
    """A code rendered already (by :func:`svg` or :func:`png`), or None."""
    return _CODES.get((kind, data, ec, size))


def clear_cache() -> None:
    """Forget every code (the benchmark measures a code made anew)."""
    _CODES.clear()
    matrix.cache_clear()


def target(battery_id: str | None, passport_id: str, base: str) -> str:
    """The URL a passport's QR code carries: the battery's Digital Link at ``base`` (this
    service's resolver, no trailing slash) for a GS1 id; else the passport's own page."""
    if battery_id is not None:
        try:
            parsed = parse_battery_id(battery_id)
        except BatteryIdError:
            parsed = None
        if parsed is not None and parsed.gtin is not None and parsed.serial is not None:
            return f"{base}/01/{parsed.gtin}/21/{quote(parsed.serial, safe='')}"
    return f"{base}/passports/{quote(passport_id, safe=':')}"


def level(value: str) -> Level:
    """An error-correction level from a parameter (``L``, ``M``, ``Q`` or ``H``, any case)."""
    upper = value.upper()
    if upper not in LEVELS:
        raise QrError(f"error correction is L, M, Q or H, not {value!r}")
    return cast(Level, upper)


@lru_cache(maxsize=CACHE_SIZE)
def matrix(data: str, ec: Level) -> Matrix:
    """The code's dark modules, row by row, without the quiet zone (smallest version
    that holds ``data`` at level ``ec``)."""
    code = qrcode.QRCode(error_correction=LEVELS[ec], border=0)
    code.add_data(data.encode("utf-8"))
    try:
        code.make(fit=True)
    except qrcode.exceptions.DataOverflowError:
        raise QrError(f"{len(data)} bytes do not fit in a QR code at level {ec}") from None
    return tuple(tuple(bool(cell) for cell in row) for row in code.get_matrix())


def runs(row: tuple[bool, ...]) -> list[tuple[int, int]]:
    """The dark runs of a row: (first column, length)."""
    found: list[tuple[int, int]] = []
    start = None
    for column, dark in enumerate((*row, False)):
        if dark and start is None:
            start = column
        elif not dark and start is not None:
            found.append((start, column - start))
            start = None
    return found


def _etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def svg(data: str, ec: Level = DEFAULT_LEVEL, size_mm: int = SVG_DEFAULT) -> Rendered:
    """The code as SVG: ``size_mm`` wide and high when printed, a viewBox in modules, one
    path of horizontal runs on a white square (the quiet zone included). Cached."""
    found = cached("svg", data, ec, size_mm)
    if found is not None:
        return found
    if not SVG_SIZES[0] <= size_mm <= SVG_SIZES[1]:
        raise QrError(f"an SVG's size is {SVG_SIZES[0]} to {SVG_SIZES[1]} mm, not {size_mm}")
    modules = matrix(data, ec)
    side = len(modules) + 2 * QUIET_ZONE
    path = "".join(
        f"M{start + QUIET_ZONE} {y + QUIET_ZONE}h{length}v1h-{length}z"
        for y, row in enumerate(modules)
        for start, length in runs(row)
    )
    text = (
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{size_mm}mm" '
        f'height="{size_mm}mm" viewBox="0 0 {side} {side}" shape-rendering="crispEdges" '
        f'role="img" aria-label="QR code: {_escape(data)}">'
        f"<title>{_escape(data)}</title>"
        f'<rect width="{side}" height="{side}" fill="#fff"/>'
        f'<path d="{path}" fill="#000"/></svg>'
    )
    body = text.encode("utf-8")
    rendered = Rendered(body, "image/svg+xml", _etag(body))
    _CODES.put(("svg", data, ec, size_mm), rendered)
    return rendered


def png(data: str, ec: Level = DEFAULT_LEVEL, size_px: int = PNG_DEFAULT) -> Rendered:
    """The code as a 1-bit PNG of exactly ``size_px`` square: a whole number of pixels per
    module (the largest that fits with the quiet zone), the rest added to the margin.
    Cached."""
    found = cached("png", data, ec, size_px)
    if found is not None:
        return found
    if not PNG_SIZES[0] <= size_px <= PNG_SIZES[1]:
        raise QrError(f"a PNG's size is {PNG_SIZES[0]} to {PNG_SIZES[1]} pixels, not {size_px}")
    modules = matrix(data, ec)
    count = len(modules)
    scale = size_px // (count + 2 * QUIET_ZONE)
    if scale < 1:
        raise QrError(
            f"this code has {count} modules and its quiet zone {2 * QUIET_ZONE}: "
            f"it needs at least {count + 2 * QUIET_ZONE} pixels"
        )
    small = Image.new("1", (count, count), 1)
    small.putdata([0 if dark else 1 for row in modules for dark in row])
    image = Image.new("1", (size_px, size_px), 1)
    offset = (size_px - count * scale) // 2
    image.paste(
        small.resize((count * scale, count * scale), Image.Resampling.NEAREST), (offset,) * 2
    )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    body = out.getvalue()
    rendered = Rendered(body, "image/png", _etag(body))
    _CODES.put(("png", data, ec, size_px), rendered)
    return rendered


def _escape(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )
