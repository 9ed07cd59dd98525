"""``GET /subjects/{id}/head``: where a chain stands, for a client signing its next record.

``bpl record new --server`` builds a record at the position this answers (the sequence
after the head and the head's hash as ``previous``), as it would from a local ledger's
``Ledger.next_position``. A passport's or an actor's chain: the head's sequence and hash
are on the public log, so this needs no reader and shows nothing restricted (never the
head's ``status``).
"""

from __future__ import annotations

import orjson
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ledger.facade import Ledger
from passport.problems import Problem

_MAX_ID = 512


def install(app: FastAPI, ledger: Ledger) -> None:
    @app.get("/subjects/{subject_id}/head", tags=["records"])
    async def subject_head(subject_id: str) -> Response:
        """The head of a passport's or an actor's chain: ``sequence`` and ``recordHash``
        of its latest record, and the ``next`` position a new record takes; 404 for a
        chain without records (its first record takes sequence 0, no previous)."""
        if not subject_id or len(subject_id) > _MAX_ID or not subject_id.isprintable():
            raise Problem(404, "not-found", "no chain with that id")
        head = await run_in_threadpool(ledger.head, subject_id)
        if head is None:
            raise Problem(
                404,
                "not-found",
                "no chain with that id: its first record takes sequence 0",
                next={"sequence": 0, "previous": None},
            )
        return Response(
            orjson.dumps(
                {
                    "subject": subject_id,
                    "sequence": head.sequence,
                    "recordHash": head.record_hash,
                    "next": {"sequence": head.sequence + 1, "previous": head.record_hash},
                }
            ),
            media_type="application/json",
            headers={"Cache-Control": "no-cache"},
        )
