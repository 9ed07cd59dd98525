"""The routes of QR codes and crate labels (docs/labels.md).

``GET /passports/{id}/qr.svg`` and ``qr.png`` (``size``, ``ec``), ``GET
/passports/{id}/label.pdf`` and ``GET /labels.pdf?passport=...`` (a sheet). What they
answer is public data only and the same for every reader (ADR 0019): :func:`install` takes
no reader, so no route here can depend on one. Responses carry a strong ``ETag`` (304 to
``If-None-Match``) and ``Cache-Control: public``.

A passport's code never changes (its battery id is in its first record), so the path it
leads to is kept per passport once found; a cached code then costs no database read.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Annotated, Final, Literal
from urllib.parse import quote

from fastapi import FastAPI, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ledger.facade import Ledger
from passport import labels, qr
from passport.problems import Problem

QR_MAX_AGE: Final = 86400
LABEL_MAX_AGE: Final = 60
"""A label shows the open shipment: it may change with the next record."""
_MAX_ID: Final = 512
_TARGETS_KEPT: Final = 65536


class _Targets:
    """Passport id -> the path its code leads to (LRU; only passports that exist)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._lock = threading.Lock()
        self._paths: OrderedDict[str, str] = OrderedDict()

    def cached(self, passport_id: str) -> str | None:
        with self._lock:
            path = self._paths.get(passport_id)
            if path is not None:
                self._paths.move_to_end(passport_id)
            return path

    def find(self, passport_id: str) -> str | None:
        """Looked up in the ledger (blocking: run it in a thread)."""
        exists, battery_id = labels.battery_of(self.ledger, passport_id)
        if not exists:
            return None
        path = labels.qr_path(self.ledger, passport_id, battery_id)
        with self._lock:
            self._paths[passport_id] = path
            if len(self._paths) > _TARGETS_KEPT:
                self._paths.popitem(last=False)
        return path


def _check_id(passport_id: str) -> None:
    if not passport_id or len(passport_id) > _MAX_ID or not passport_id.isprintable():
        raise Problem(404, "not-found", "no passport with that id")


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _answer(request: Request, body: bytes, media_type: str, etag: str, max_age: int) -> Response:
    """The body with its ETag and public caching, or 304 if the client holds it."""
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
    wanted = request.headers.get("if-none-match", "")
    if etag in (tag.strip() for tag in wanted.split(",")) or wanted.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _bad(message: str, parameter: str) -> Problem:
    return Problem(400, "invalid-request", message, parameter=parameter)


def _level(ec: str) -> qr.Level:
    try:
        return qr.level(ec)
    except qr.QrError as exc:
        raise _bad(str(exc), "ec") from None


def _read(ledger: Ledger, passport_id: str, base: str) -> labels.Label:
    """A passport's label, or a 404 naming the passport (blocking: run it in a thread)."""
    _check_id(passport_id)
    found = labels.read_label(ledger, passport_id, base)
    if found is None:
        raise Problem(404, "not-found", f"no passport {passport_id}", passport=passport_id)
    return found


def install(app: FastAPI, ledger: Ledger) -> None:
    """Add the QR and label routes to the service over ``ledger``."""
    targets = _Targets(ledger)

    async def code_data(request: Request, passport_id: str) -> str:
        _check_id(passport_id)
        path = targets.cached(passport_id)
        if path is None:
            path = await run_in_threadpool(targets.find, passport_id)
        if path is None:
            raise Problem(404, "not-found", "no passport with that id")
        return _base(request) + path

    async def code(
        request: Request, passport_id: str, form: Literal["svg", "png"], ec: str, size: int
    ) -> Response:
        """The passport's QR code in ``form``: from the cache, or made in a worker thread
        (tens of milliseconds)."""
        chosen = _level(ec)
        data = await code_data(request, passport_id)
        try:
            rendered = qr.cached(form, data, chosen, size)
            if rendered is None:
                make = qr.svg if form == "svg" else qr.png
                rendered = await run_in_threadpool(make, data, chosen, size)
        except qr.QrError as exc:
            raise _bad(str(exc), "size") from None
        return _answer(request, rendered.body, rendered.media_type, rendered.etag, QR_MAX_AGE)

    @app.get(
        "/passports/{passport_id}/qr.svg",
        tags=["labels"],
        responses={200: {"content": {"image/svg+xml": {}}}},
    )
    async def qr_svg(
        passport_id: str,
        request: Request,
        size: Annotated[int, Query(description="Printed width and height, mm (10 to 1000).")] = (
            qr.SVG_DEFAULT
        ),
        ec: Annotated[str, Query(description="Error correction: L, M, Q or H.")] = (
            qr.DEFAULT_LEVEL
        ),
    ) -> Response:
        """The passport's QR code as vector SVG: the battery's GS1 Digital Link at this
        service's resolver (for a non-GS1 battery id, the passport's page)."""
        return await code(request, passport_id, "svg", ec, size)

    @app.get(
        "/passports/{passport_id}/qr.png",
        tags=["labels"],
        responses={200: {"content": {"image/png": {}}}},
    )
    async def qr_png(
        passport_id: str,
        request: Request,
        size: Annotated[int, Query(description="Width and height, pixels (64 to 4096).")] = (
            qr.PNG_DEFAULT
        ),
        ec: Annotated[str, Query(description="Error correction: L, M, Q or H.")] = (
            qr.DEFAULT_LEVEL
        ),
    ) -> Response:
        """The passport's QR code as PNG, ``size`` pixels square, whole pixels per module."""
        return await code(request, passport_id, "png", ec, size)

    @app.get(
        "/passports/{passport_id}/label.pdf",
        tags=["labels"],
        responses={200: {"content": {"application/pdf": {}}}},
    )
    async def label_pdf(passport_id: str, request: Request) -> Response:
        """A printable crate label (PDF, 99.1 x 139 mm): QR code, battery and passport
        ids, chemistry, mass and the open shipment's dangerous-goods marks; public data
        only, the same for every reader."""
        label = await run_in_threadpool(_read, ledger, passport_id, _base(request))
        body = await run_in_threadpool(labels.label_pdf, label)
        response = _answer(request, body, "application/pdf", labels.etag(body), LABEL_MAX_AGE)
        name = quote(passport_id.rsplit(":", 1)[-1], safe="")
        response.headers["Content-Disposition"] = f'inline; filename="label-{name}.pdf"'
        return response

    @app.get(
        "/labels.pdf",
        tags=["labels"],
        responses={200: {"content": {"application/pdf": {}}}},
    )
    async def sheet_pdf(
        request: Request,
        passport: Annotated[
            list[str],
            Query(description=f"Passport ids, 1 to {labels.MAX_SHEET_LABELS}, in print order."),
        ],
    ) -> Response:
        """Crate labels four to an A4 page (Avery L7169 layout), one per ``passport``
        given (an id given twice prints twice)."""
        if not 1 <= len(passport) <= labels.MAX_SHEET_LABELS:
            raise Problem(
                400,
                "invalid-request",
                f"give 1 to {labels.MAX_SHEET_LABELS} passports",
                parameter="passport",
                limit=labels.MAX_SHEET_LABELS,
            )
        base = _base(request)

        def read_all() -> list[labels.Label]:
            return [_read(ledger, passport_id, base) for passport_id in passport]

        found = await run_in_threadpool(read_all)
        body = await run_in_threadpool(labels.sheet_pdf, found)
        response = _answer(request, body, "application/pdf", labels.etag(body), LABEL_MAX_AGE)
        response.headers["Content-Disposition"] = 'inline; filename="labels.pdf"'
        return response
