"""``GET /passports/{id}/bundle[?since=SIZE]``: a passport's offline evidence bundle.

The bundle (:mod:`ledger.bundle`, docs/bundles.md) holds every record of the passport and
of its predecessors and successors, the models, policies and actor chains they depend
on, each record's inclusion proof in the tree of one signed checkpoint, and the
disclosures the request's reader may read (``Ledger.disclosures``, so each restricted read
is recorded as every other route's). ``since`` adds the consistency proof from a tree size
the holder verified before. ``bpl verify bundle.json --log-key KEY`` checks it offline.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from starlette.responses import Response

from ledger import bundle
from ledger.core.access import Reader
from ledger.facade import Ledger
from passport.http_signatures import READER_VARY
from passport.problems import Problem

PUBLIC_MAX_AGE = 60
"""Seconds a public bundle may be cached (as the service's other public reads)."""
_MAX_ID = 512


def headers(request: Request, passport_id: str) -> dict[str, str]:
    """A bundle depends on who reads it: private to a token's holder, public otherwise."""
    authenticated = getattr(request.state, "authenticated", False)
    safe = "".join(ch if ch.isalnum() or ch in "-." else "-" for ch in passport_id)[-64:]
    return {
        "Cache-Control": "private, no-cache"
        if authenticated
        else f"public, max-age={PUBLIC_MAX_AGE}",
        "Vary": READER_VARY,
        "Content-Disposition": f'attachment; filename="bundle-{safe}.json"',
    }


def install(app: FastAPI, ledger: Ledger, reader_dependency: Any) -> None:
    """Add the bundle route to ``app`` (readers from ``reader_dependency``)."""

    @app.get(
        "/passports/{passport_id}/bundle",
        tags=["passports"],
        responses={
            400: {"description": "a since beyond the tree"},
            404: {"description": "no such passport"},
        },
    )
    def get_bundle(
        passport_id: str,
        request: Request,
        since: int | None = None,
        reader: Reader = reader_dependency,
    ) -> Response:
        """The passport's offline evidence bundle as the reader may see it; ``since``: a
        tree size the holder verified before (adds the consistency proof from it)."""
        if not passport_id or len(passport_id) > _MAX_ID or not passport_id.isprintable():
            raise Problem(404, "not-found", "no passport with that id")
        if since is not None and since < 0:
            raise Problem(400, "invalid-request", "since is a tree size: 0 or more")
        try:
            built = bundle.build(ledger, passport_id, reader, since=since)
        except bundle.PassportNotFoundError:
            raise Problem(404, "not-found", "no passport with that id") from None
        except bundle.BundleError as exc:
            raise Problem(400, "invalid-request", str(exc)) from None
        return Response(
            orjson.dumps(built),
            media_type="application/json",
            headers=headers(request, passport_id),
        )
