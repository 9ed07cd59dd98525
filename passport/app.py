"""The verification service: ``create_app(ledger)`` builds the FastAPI application.

Routes (docs/service.md): records in (``POST /records``, ``POST /records/batch``) and
out (``GET /records/{hash}``), passports (``GET /passports/{id}`` in JSON-LD or HTML,
their records in pages, their verification report), battery models by GTIN, the log as
C2SP tlog-tiles (``/log/...``) and the GS1 Digital Link resolver (``/01/...``).

Every error is RFC 9457 problem details (:mod:`passport.problems`); a request's reader
comes from its signature by a registered actor's key (:mod:`passport.http_signatures`)
or its bearer token (:mod:`passport.tokens`); neither: the public. A bad credential is
refused before anything is looked up. Restricted data reaches a response only through
``Ledger.disclosures(hash, reader)`` (:mod:`passport.views`), and every such read is
recorded (:mod:`passport.access_log`). Run it with uvicorn's factory mode: ``bpl serve``
(docs/service.md).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import quote

import orjson
from cachetools import LRUCache
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ledger.core import access, records
from ledger.core.access import Reader
from ledger.defaults import default_data_dir
from ledger.errors import LedgerError, RecordRejected, StaleRecord, StoreError
from ledger.facade import Ledger, Receipt
from ledger.log import checkpoint
from passport import (
    access_log,
    chain_routes,
    http_signatures,
    i18n,
    log_http,
    negotiation,
    resolver,
    views,
)
from passport.bundle_routes import install as install_bundles
from passport.documents_routes import install as install_documents
from passport.head_options import HeadAndOptions
from passport.label_routes import install as install_labels
from passport.openapi_problems import install as install_openapi_problems
from passport.openapi_problems import problem_responses
from passport.problems import Problem
from passport.tokens import TokenError, TokenStore
from passport.vc_api import install as install_vc_api
from signing import json_input, proofs
from signing.errors import SigningError

logger = logging.getLogger("passport")

MAX_BODY_BYTES = 1024 * 1024
"""A single submission's body (the command line's limit too)."""
MAX_BATCH_BODY_BYTES = 32 * 1024 * 1024
MAX_BATCH_RECORDS = 1000
MAX_ENTRY_BYTES = log_http.MAX_ENTRY_BYTES
"""A record's canonical bytes are a log entry: at most 65,535 (ADR 0017)."""
PAGE_DEFAULT = 100
PAGE_MAX = 1000
ACTOR_CACHE_SECONDS = 5.0
PUBLIC_MAX_AGE = 60
PUBLIC_PAGES = 512
"""Passports (page or JSON-LD, per language) kept as the public sees them, until the log
grows."""
CHECKPOINT_MAX_AGE = 5
IMMUTABLE = "public, max-age=31536000, immutable"
JSON_TYPES = ("application/json", "application/ld+json", "application/vc+ld+json")
PASSPORT_TYPES = ("application/ld+json", "application/json", "text/html")
MODEL_TYPES = ("application/json", "text/html")
_RECORD_HASH = re.compile(r"sha256:[0-9a-f]{64}")
_GTIN = re.compile(r"[0-9]{14}")
_MAX_ID = 512


def json_response(
    content: Any,
    status: int = 200,
    *,
    media_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
) -> Response:
    return Response(
        orjson.dumps(content), status_code=status, media_type=media_type, headers=headers
    )


class _BodyLimit:
    """Refuses a request whose declared body is over its route's limit with a 413 before
    the route runs (the routes that read bodies count what actually arrives too)."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] == "http":
            limit = body_limit(scope.get("path", ""))
            for name, value in scope.get("headers", []):
                if name == b"content-length":
                    declared = value.decode("latin-1").strip()
                    if not declared.isdigit() or int(declared) > limit:
                        problem = (
                            too_large(limit)
                            if declared.isdigit()
                            else Problem(400, "invalid-request", "Content-Length is not a number")
                        )
                        await problem.response(scope.get("path"))(scope, receive, send)
                        return
        await self.app(scope, receive, send)


def body_limit(path: str) -> int:
    return MAX_BATCH_BODY_BYTES if path == "/records/batch" else MAX_BODY_BYTES


def too_large(limit: int) -> Problem:
    return Problem(413, "body-too-large", f"the request body is over {limit} bytes", limit=limit)


async def read_body(request: Request) -> bytes:
    """The request's body, refused with a 413 once it passes the route's limit."""
    limit = body_limit(request.url.path)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def check_json_type(request: Request) -> None:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media and media not in JSON_TYPES:
        raise Problem(
            415, "unsupported-media-type", f"send JSON ({', '.join(JSON_TYPES)}), not {media}"
        )


def refused(exc: RecordRejected) -> Problem:
    """The problem a refused record is answered with: 409 for a stale position (with the
    chain's head to build on), 400 for a body that is no record at all, else 422."""
    extra: dict[str, Any] = {"rule": exc.rule}
    if exc.index is not None:
        extra["index"] = exc.index
    if isinstance(exc, StaleRecord):
        extra["head"] = {"sequence": exc.head_sequence, "recordHash": exc.head_hash}
        return Problem(409, "stale-record", exc.detail, members=extra)
    if exc.rule == "parse":
        return Problem(400, "invalid-record", exc.detail, members=extra)
    return Problem(422, "record-refused", exc.detail, members=extra)


def entry_size_problem(submission: Mapping[str, Any], index: int | None = None) -> Problem | None:
    """A record too large to be a log entry (ADR 0017), or None (also when it is no record:
    the ledger words that)."""
    record = submission.get("record", submission)
    if not isinstance(record, dict):
        return None
    try:
        size = len(records.canonical(record))
    except SigningError:
        return None
    if size <= MAX_ENTRY_BYTES:
        return None
    extra = {} if index is None else {"index": index}
    return Problem(
        422,
        "record-refused",
        f"the record is {size} bytes in canonical form (at most {MAX_ENTRY_BYTES}: a log "
        "entry's length is a uint16)",
        rule="size",
        members=extra,
    )


def parse_submission(body: bytes) -> dict[str, Any]:
    try:
        return json_input.parse_object(body)
    except SigningError as exc:
        raise Problem(400, "invalid-record", f"not a JSON record: {exc}", rule="parse") from None


class Readers:
    """Who a request reads as. A request signed by a registered actor's key (RFC 9421,
    :mod:`passport.http_signatures`) reads as that actor; a bearer token (browser
    sessions, :mod:`passport.tokens`) as its actor, narrowed by the token's roles if it
    names any; either with the roles the ledger gives the actor now (actor lookups kept
    :data:`ACTOR_CACHE_SECONDS`). Neither: the public. A bad credential is a 401 here, in
    the dependency every route runs first, before anything is looked up."""

    def __init__(self, ledger: Ledger, tokens: TokenStore | None) -> None:
        self.ledger = ledger
        self.tokens = tokens
        self.signatures = http_signatures.Signatures(ledger)
        self._lock = threading.Lock()
        self._actors: dict[str, tuple[float, frozenset[str] | None]] = {}

    def _actor_roles(self, did: str) -> frozenset[str] | None:
        now = time.monotonic()
        with self._lock:
            cached = self._actors.get(did)
        if cached is not None and now - cached[0] < ACTOR_CACHE_SECONDS:
            return cached[1]
        actor = self.ledger.actor(did)
        roles = None if actor is None else frozenset(actor.roles)
        with self._lock:
            if len(self._actors) > 10_000:
                self._actors.clear()
            self._actors[did] = (now, roles)
        return roles

    async def __call__(self, request: Request) -> Reader:
        signed = any(name in request.headers for name in http_signatures.HEADERS)
        header = request.headers.get("authorization")
        if signed and header is not None:
            raise http_signatures.refuse("send a signature or a bearer token, not both")
        if signed:
            reader, key_id = await self._signed(request)
            credential = f"signature {key_id}"
        elif header is not None:
            reader, token_id = await run_in_threadpool(self._bearer, header)
            credential = f"token {token_id}"
        else:
            return access.PUBLIC
        request.state.authenticated = True
        access_log.attribute(reader, credential)
        return reader

    async def _signed(self, request: Request) -> tuple[Reader, str]:
        """The reader of a signed request. Its body is read here (within the route's
        limit) to check its digest, and kept for the route."""
        scope = request.scope
        url = http_signatures.request_url(
            scope.get("scheme", "http"),
            scope.get("headers", []),
            scope.get("raw_path") or quote(scope.get("path", "/")).encode("latin-1"),
            scope.get("query_string", b""),
        )
        body = await read_body(request)
        request._body = body  # Starlette's own cache: the route reads the body again
        lines = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers", [])]
        return await run_in_threadpool(self.signatures.reader, request.method, url, lines, body)

    def _bearer(self, header: str) -> tuple[Reader, str]:
        scheme, _, token = header.partition(" ")
        challenge = {"WWW-Authenticate": 'Bearer realm="bpl", error="invalid_token"'}
        if scheme.lower() != "bearer" or not token.strip():
            raise Problem(
                401, "invalid-token", "send Authorization: Bearer <token>", headers=challenge
            )
        if self.tokens is None:
            raise Problem(401, "invalid-token", "this service issues no tokens", headers=challenge)
        try:
            entry = self.tokens.lookup(token.strip())
        except TokenError as exc:
            logger.error("token file: %s", exc)
            raise Problem(503, "unavailable", "tokens cannot be checked now") from None
        if entry is None:
            raise Problem(
                401, "invalid-token", "the token is unknown, revoked or expired", headers=challenge
            )
        roles = self._actor_roles(entry.did)
        if roles is None:
            raise Problem(
                401, "invalid-token", "the token's actor is not registered", headers=challenge
            )
        reader = Reader.of_actor(entry.did, roles)
        if entry.roles is not None:
            reader = Reader(reader.roles & entry.roles, entry.did)
        return reader, entry.token_id


READER_VARY = http_signatures.READER_VARY


def reader_headers(request: Request, *, vary: str = READER_VARY) -> dict[str, str]:
    """Caching for a response that depends on who reads it: ``vary`` names every request
    header it depends on (by default the reader's)."""
    if getattr(request.state, "authenticated", False):
        cache = "private, no-cache"
    else:
        cache = f"public, max-age={PUBLIC_MAX_AGE}"
    return {"Cache-Control": cache, "Vary": vary}


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def check_id(value: str, what: str) -> None:
    if not value or len(value) > _MAX_ID or not value.isprintable():
        raise Problem(404, "not-found", f"no {what} with that id")


def receipt_body(receipt: Receipt, base: str) -> dict[str, Any]:
    return {**receipt.to_dict(), "href": f"{base}/records/{receipt.record_hash}"}


def page_language(request: Request) -> str:
    """The language of an HTML page: ``?lang=``, else ``Accept-Language`` (passport.i18n)."""
    try:
        return i18n.choose(request.query_params.get("lang"), request.headers.get("accept-language"))
    except i18n.LanguageError as exc:
        raise Problem(400, "invalid-request", str(exc)) from None


def page_headers(headers: Mapping[str, str], lang: str) -> dict[str, str]:
    """An HTML page's headers: its language, and Accept-Language among what it varies on."""
    return {**headers, "Content-Language": lang, "Vary": f"{headers['Vary']}, Accept-Language"}


def render_passport(
    ledger: Ledger,
    templates: i18n.Pages,
    view: views.PassportView,
    reader: Reader,
    media: str,
    lang: str,
    lang_query: str,
    base: str,
) -> bytes:
    """A passport as ``media``: its HTML page in ``lang``, or its JSON-LD document."""
    document = view.document(base)
    if media != "text/html":
        return orjson.dumps(document)
    return templates.render(
        lang,
        "passport.html",
        view=view,
        doc=document,
        page=views.passport_page(ledger, view, reader, base),
        actors=actor_names(ledger),
        base=base,
        lang_query=lang_query,
    ).encode()


def passport_headers(headers: Mapping[str, str], lang: str) -> Mapping[str, str]:
    """A passport's headers: a page's (``lang`` given) or the JSON-LD document's."""
    return page_headers(headers, lang) if lang else headers


def model_page(
    ledger: Ledger, templates: i18n.Pages, request: Request, gtin: str, reader: Reader
) -> HTMLResponse:
    """``/models/{gtin}`` as an HTML page in the request's language."""
    lang = page_language(request)
    base = base_url(request)
    page = templates.render(
        lang,
        "model.html",
        gtin=gtin,
        models=views.models_page(ledger, gtin, reader),
        actors=actor_names(ledger),
        base=base,
    )
    headers = {
        **reader_headers(request, vary=f"Accept, {READER_VARY}"),
        "Link": f'<{base}/models/{gtin}>; rel="alternate"; type="application/json"',
    }
    return HTMLResponse(page, headers=page_headers(headers, lang))


def create_app(
    ledger: Ledger,
    *,
    tokens: TokenStore | None = None,
    access: access_log.AccessLog | None = None,
    title: str = "bpl verification service",
) -> FastAPI:
    """The service over ``ledger`` (a :class:`ledger.facade.Ledger`, opened writable to
    accept records). ``tokens``: the bearer tokens the operator issued (none: readers
    authenticate by signing their requests only); ``access``: where every restricted read
    is recorded (:mod:`passport.access_log`; none: not recorded)."""
    readers = Readers(ledger, tokens)
    reader_dependency = Depends(readers)
    app = FastAPI(
        title=title,
        summary="Battery passports as signed, hash-chained verifiable credentials on a "
        "transparency log",
        dependencies=[reader_dependency],
    )
    app.state.ledger = ledger
    templates = i18n.Pages()
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "HEAD", "POST", "OPTIONS"],
        allow_headers=[
            "Authorization",
            "Content-Type",
            "Accept",
            "Signature",
            "Signature-Input",
            "Content-Digest",
        ],
        expose_headers=["Link", "Location", "Vary"],
    )
    app.add_middleware(_BodyLimit)
    access_log.install(app, ledger, access)
    _install_error_handlers(app)
    _record_routes(app, ledger, reader_dependency)
    _passport_routes(app, ledger, reader_dependency, templates)
    _model_routes(app, ledger, reader_dependency, templates)
    _log_routes(app, ledger)
    _resolver_routes(app, ledger)
    install_vc_api(app, ledger, reader_dependency)
    install_bundles(app, ledger, reader_dependency)
    install_documents(app)
    install_openapi_problems(app)
    app.add_middleware(HeadAndOptions)
    chain_routes.install(app, ledger)
    install_labels(app, ledger)
    return app


def _record_routes(app: FastAPI, ledger: Ledger, reader_dependency: Any) -> None:
    # -- records in ----------------------------------------------------------------

    @app.post("/records", status_code=201, tags=["records"])
    async def submit(request: Request) -> Response:
        """Append one signed record (or ``{"record", "disclosures"}``): 201 with its
        receipt; 200 with the existing receipt for a record already stored; 409 for a
        stale chain position (with the head); 422 for a refused record (with the rule)."""
        check_json_type(request)
        submission = parse_submission(await read_body(request))
        if (problem := entry_size_problem(submission)) is not None:
            raise problem
        try:
            receipt = await run_in_threadpool(ledger.append, submission)
        except RecordRejected as exc:
            raise refused(exc) from None
        base = base_url(request)
        status = 201 if receipt.appended else 200
        return json_response(
            receipt_body(receipt, base),
            status,
            headers={"Location": f"{base}/records/{receipt.record_hash}"},
        )

    @app.post("/records/batch", status_code=201, tags=["records"])
    async def submit_batch(request: Request) -> Response:
        """Append up to 1,000 records in order, all or nothing (``Ledger.append_many``):
        one refused record refuses the batch (its ``index`` and ``rule`` in the problem)
        and nothing of it is stored. 201 if anything was appended, 200 if every record
        was stored already."""
        check_json_type(request)
        body = await read_body(request)
        try:
            items = json_input.parse(body, max_bytes=MAX_BATCH_BODY_BYTES)
        except SigningError as exc:
            raise Problem(400, "invalid-record", f"not JSON: {exc}", rule="parse") from None
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            raise Problem(400, "invalid-record", "a batch is a JSON array of records", rule="parse")
        if not items:
            raise Problem(400, "invalid-record", "the batch is empty", rule="parse")
        if len(items) > MAX_BATCH_RECORDS:
            raise Problem(
                413, "batch-too-large", f"a batch holds at most {MAX_BATCH_RECORDS} records"
            )
        for index, item in enumerate(items):
            if (problem := entry_size_problem(item, index)) is not None:
                raise problem
        try:
            receipts = await run_in_threadpool(ledger.append_many, items)
        except RecordRejected as exc:
            raise refused(exc) from None
        base = base_url(request)
        appended = sum(1 for receipt in receipts if receipt.appended)
        return json_response(
            {
                "atomic": True,
                "appended": appended,
                "receipts": [receipt_body(receipt, base) for receipt in receipts],
            },
            201 if appended else 200,
        )

    # -- records out ---------------------------------------------------------------

    @app.get("/records/{record_hash}", tags=["records"])
    def get_record(
        record_hash: str, request: Request, reader: Reader = reader_dependency
    ) -> Response:
        """A record by hash: its leaf index and inclusion proof in the tree of the latest
        signed checkpoint, and the disclosures the reader may read."""
        if not _RECORD_HASH.fullmatch(record_hash):
            raise Problem(
                400, "invalid-request", "a record hash is sha256: and 64 lowercase hex digits"
            )
        stored = ledger.record(record_hash)
        if stored is None:
            raise Problem(404, "not-found", "the ledger holds no record with that hash")
        shown = ledger.disclosures(record_hash, reader)
        digests = views.subject(stored.record).get("disclosures") or {}
        body = {
            "recordHash": record_hash,
            "leafHash": stored.inclusion.leaf_hash.hex(),
            **stored.to_dict(),
            "disclosures": shown,
            "withheld": sorted(set(digests) - set(shown)),
        }
        return json_response(body, headers=reader_headers(request))


def _passport_routes(
    app: FastAPI, ledger: Ledger, reader_dependency: Any, templates: i18n.Pages
) -> None:
    # -- passports -----------------------------------------------------------------
    public_pages: LRUCache[tuple[Any, ...], bytes] = LRUCache(PUBLIC_PAGES)
    """Passports as the public sees them: a function of the log's state, so kept for
    anonymous readers until the log grows (any append may change a passport, its model,
    its successors, an actor's name or the seal's checkpoint). An entitled reader's page
    is made afresh, so that each restricted read is recorded (passport.access_log)."""

    def passport_or_404(passport_id: str, reader: Reader) -> views.PassportView:
        check_id(passport_id, "passport")
        found = views.passport_view(ledger, passport_id, reader)
        if found is None:
            raise Problem(404, "not-found", "no passport with that id")
        return found

    @app.get(
        "/passports/{passport_id}",
        tags=["passports"],
        responses={200: {"content": {t: {} for t in PASSPORT_TYPES}}},
    )
    def get_passport(
        passport_id: str, request: Request, reader: Reader = reader_dependency
    ) -> Response:
        """The passport: its state derived from its chain, its model's data, the
        disclosures the reader may read; JSON-LD (``application/ld+json``, or
        ``application/json``) or an HTML page, as ``Accept`` asks (406 otherwise)."""
        media = negotiation.choose(request.headers.get("accept"), PASSPORT_TYPES)
        if media is None:
            raise Problem(
                406,
                "not-acceptable",
                f"this resource is {', '.join(PASSPORT_TYPES)}",
                headers={"Vary": "Accept"},
            )
        base = base_url(request)
        own = f"{base}/passports/{quote(passport_id, safe=':')}"
        headers = {
            **reader_headers(request, vary=f"Accept, {READER_VARY}"),
            "Link": ", ".join(
                f'<{own}>; rel="alternate"; type="{t}"' for t in PASSPORT_TYPES if t != media
            ),
        }
        lang = page_language(request) if media == "text/html" else ""
        lang_query = f"?lang={lang}" if "lang" in request.query_params else ""
        key = None
        if reader == access.PUBLIC:  # see public_pages
            key = (passport_id, media, lang, lang_query, base, ledger.log.size())
            if (cached := public_pages.get(key)) is not None:
                return Response(cached, media_type=media, headers=passport_headers(headers, lang))
        view = passport_or_404(passport_id, reader)
        body = render_passport(ledger, templates, view, reader, media, lang, lang_query, base)
        if key is not None:
            public_pages[key] = body
        return Response(body, media_type=media, headers=passport_headers(headers, lang))

    @app.get("/passports/{passport_id}/records", tags=["passports"])
    def passport_records(
        passport_id: str,
        request: Request,
        after: int = -1,
        limit: int = PAGE_DEFAULT,
        reader: Reader = reader_dependency,
    ) -> Response:
        """A page of the passport's records (from sequence ``after + 1``), each with the
        disclosures the reader may read; ``next`` links the following page."""
        check_id(passport_id, "passport")
        if not 1 <= limit <= PAGE_MAX or not -1 <= after < 2**62:
            raise Problem(
                400, "invalid-request", f"limit is 1 to {PAGE_MAX}, after -1 or a sequence"
            )
        if not passport_id.startswith(views.PASSPORT_PREFIX) or ledger.head(passport_id) is None:
            raise Problem(404, "not-found", "no passport with that id")
        listed = [
            views.ChainEntry(r.record, r.record_hash, r.disclosures)
            for r in ledger.chain_page_as(passport_id, reader, after=after, limit=limit)
        ]
        base = base_url(request)
        own = f"{base}/passports/{quote(passport_id, safe=':')}/records"
        last = listed[-1].record.get("credentialSubject", {}).get("sequence") if listed else None
        body = {
            "passport": passport_id,
            "items": [{**entry.summary(), "record": entry.record} for entry in listed],
            "next": f"{own}?after={last}&limit={limit}" if len(listed) == limit else None,
        }
        return json_response(body, headers=reader_headers(request))

    @app.get("/passports/{passport_id}/verify", tags=["passports"])
    def verify_passport(
        passport_id: str, request: Request, reader: Reader = reader_dependency
    ) -> Response:
        """A report the client can check itself: every record with its proofs' results,
        leaf index and inclusion proof, the chain's links and the disclosures' digests,
        against one signed checkpoint (and the log's verifier key)."""
        view = passport_or_404(passport_id, reader)
        return json_response(verification(ledger, view), headers=reader_headers(request))


def _model_routes(
    app: FastAPI, ledger: Ledger, reader_dependency: Any, templates: i18n.Pages
) -> None:
    @app.get(
        "/models/{gtin}",
        tags=["passports"],
        responses={200: {"content": {t: {} for t in MODEL_TYPES}}},
    )
    def get_models(gtin: str, request: Request, reader: Reader = reader_dependency) -> Response:
        """The battery models published under a GTIN-14: each one's current record,
        public data and the disclosures the reader may read; JSON, or an HTML page for
        browsers (``Accept``; 406 for anything else)."""
        media = negotiation.choose(request.headers.get("accept"), MODEL_TYPES)
        if media is None:
            raise Problem(
                406, "not-acceptable", "this resource is JSON or HTML", headers={"Vary": "Accept"}
            )
        if not _GTIN.fullmatch(gtin):
            raise Problem(400, "invalid-request", "a GTIN here is 14 digits")
        found = ledger.models_by_gtin(gtin)
        if not found:
            raise Problem(404, "not-found", "no battery model with that GTIN")
        if media == "text/html":
            return model_page(ledger, templates, request, gtin, reader)
        items = []
        for model in found:
            stored = ledger.record(model.head.record_hash)
            record = stored.record if stored else {}
            items.append(
                {
                    **model.to_dict(),
                    "data": {
                        k: v
                        for k, v in views.subject(record).items()
                        if k not in ("sequence", "previous")
                    },
                    "disclosures": ledger.disclosures(model.head.record_hash, reader),
                }
            )
        headers = {
            **reader_headers(request, vary=f"Accept, {READER_VARY}"),
            "Link": f'<{base_url(request)}/models/{gtin}>; rel="alternate"; type="text/html"',
        }
        return json_response({"gtin": gtin, "models": items}, headers=headers)


def _log_routes(app: FastAPI, ledger: Ledger) -> None:
    # -- the log as C2SP tlog-tiles ------------------------------------------------------

    def text(description: str) -> dict[int | str, Any]:
        return {200: {"description": description, "content": {"text/plain": {}}}}

    @app.get("/log/checkpoint", tags=["log"], responses=text("A C2SP signed note"))
    def log_checkpoint() -> Response:
        """The latest signed checkpoint (a C2SP signed note)."""
        return Response(
            ledger.log.checkpoint(),
            media_type="text/plain; charset=utf-8",
            headers={"Cache-Control": f"public, max-age={CHECKPOINT_MAX_AGE}"},
        )

    @app.get("/log/key", tags=["log"], responses=text("A C2SP note verifier key"))
    def log_key() -> Response:
        """The log's note verifier key (check it against the one the operator publishes)."""
        return Response(ledger.verifier_key + "\n", media_type="text/plain; charset=utf-8")

    @app.get(
        "/log/tile/{tile:path}",
        tags=["log"],
        responses={
            200: {"description": "Tile bytes", "content": {"application/octet-stream": {}}},
            **problem_responses(400, 404),
        },
    )
    def log_tile(tile: str) -> Response:
        """A hash tile ``<L>/<N>[.p/<W>]`` or entry bundle ``entries/<N>[.p/<W>]``."""
        try:
            wanted = log_http.parse_tile_path(tile)
        except log_http.TilePathError as exc:
            raise Problem(400, "invalid-tile-path", str(exc)) from None
        size = ledger.log.size()
        try:
            if wanted.level is None:
                data = log_http.entry_bundle(ledger.log, wanted, size)
            else:
                data = log_http.tile_bytes(ledger.log, wanted, size)
        except log_http.EntryTooLarge as exc:
            raise Problem(
                404,
                "entry-too-large",
                f"leaf {exc.leaf_index} is {exc.length} bytes, more than an entry bundle can "
                "hold (ADR 0017): read it at /records/{hash}",
            ) from None
        if data is None:
            raise Problem(404, "not-found", "the log holds no such tile (yet)")
        return Response(
            data, media_type="application/octet-stream", headers={"Cache-Control": IMMUTABLE}
        )

    # -- proofs, for trees the log signed ------------------------------------------------

    def leaf_of_record(record_hash: str) -> int | None:
        stored = ledger.record(record_hash)
        return None if stored is None else stored.leaf_index

    def proof_response(size_given: bool, compute: Callable[[], dict[str, Any]]) -> Response:
        try:
            body = compute()
        except log_http.ProofRequestError as exc:
            slug = "invalid-request" if exc.status == 400 else "not-found"
            raise Problem(exc.status, slug, exc.message) from None
        cache = IMMUTABLE if size_given else f"public, max-age={CHECKPOINT_MAX_AGE}"
        return json_response(body, headers={"Cache-Control": cache})

    proof_errors = problem_responses(400, 404)

    @app.get("/log/proof/inclusion", tags=["log"], responses=proof_errors)
    def log_inclusion_proof(
        hash: str | None = None,
        index: str | None = None,
        size: str | None = None,
    ) -> Response:
        """The RFC 9162 inclusion proof of one leaf, named by ``hash`` (a record hash
        ``sha256:...`` or a leaf hash in hex) or ``index``, in the tree of ``size`` leaves
        (default: the latest checkpoint's), with the checkpoint the log signed for it."""

        def compute() -> dict[str, Any]:
            leaf_index, leaf_hash = log_http.leaf_request(hash, index, leaf_of_record)
            tree = log_http.parse_count(size, "size")
            return log_http.inclusion(ledger.log, leaf_index, leaf_hash, tree)

        return proof_response(size is not None, compute)

    @app.get("/log/proof/consistency", tags=["log"], responses=proof_errors)
    def log_consistency_proof(first: str, second: str | None = None) -> Response:
        """The RFC 9162 consistency proof from the tree of ``first`` leaves to that of
        ``second`` (default: the latest checkpoint's), both trees the log signed, with
        both checkpoints."""

        def compute() -> dict[str, Any]:
            old = log_http.parse_count(first, "first")
            assert old is not None
            return log_http.consistency(ledger.log, old, log_http.parse_count(second, "second"))

        return proof_response(second is not None, compute)


def _resolver_routes(app: FastAPI, ledger: Ledger) -> None:
    # -- the GS1 Digital Link resolver --------------------------------------------------

    @app.get("/.well-known/gs1resolver", tags=["resolver"])
    def gs1resolver(request: Request) -> Response:
        return json_response(resolver.well_known(base_url(request)))

    async def resolve(request: Request) -> Response:
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": "GET, HEAD, OPTIONS"})
        link = resolver.parse(request)
        found = await run_in_threadpool(resolver.target, ledger, link)
        if found is None:
            raise Problem(404, "not-found", "no battery or battery model with that identifier")
        path, what = found
        base = base_url(request)
        wants_linkset = negotiation.choose(
            request.headers.get("accept"), (resolver.LINKSET_TYPE,)
        ) is not None and resolver.LINKSET_TYPE in request.headers.get("accept", "")
        link_type = dict(link.other_params).get("linkType")
        if wants_linkset or link_type is not None:
            return json_response(
                resolver.linkset(base, link, path, what),
                media_type=resolver.LINKSET_TYPE,
                headers={"Vary": "Accept"},
            )
        query = request.url.query
        location = base + path + (f"?{query}" if query else "")
        return RedirectResponse(
            location,
            status_code=307,
            headers={
                "Vary": "Accept",
                "Cache-Control": "no-cache",
                "Link": f'<{link.canonical(base)}>; rel="owl:sameAs"',
            },
        )

    for key in resolver.PRIMARY_KEYS:
        path = f"/{key}/{{rest:path}}"
        app.add_api_route(
            path,
            resolve,
            methods=["GET"],
            tags=["resolver"],
            include_in_schema=key == "01",
            name=f"resolve_{key}",
        )
        app.add_api_route(path, resolve, methods=["HEAD", "OPTIONS"], include_in_schema=False)


def verification(ledger: Ledger, view: views.PassportView) -> dict[str, Any]:
    """The verification report of a passport against one signed checkpoint."""
    note = ledger.log.checkpoint()
    head = checkpoint.verify(note, ledger.verifier_key, ledger.log.origin)
    stored = [ledger.record(entry.record_hash) for entry in view.chain]
    indexes = [s.leaf_index if s else 0 for s in stored]
    inclusions = ledger.log.inclusion_proofs(indexes, head.size) if all(stored) else []
    report = ledger.verify_chain(view.passport_id)
    items = []
    previous = None
    for position, entry in enumerate(view.chain):
        fields = views.subject(entry.record)
        item: dict[str, Any] = {
            "recordHash": entry.record_hash,
            "sequence": fields.get("sequence"),
            "kind": entry.kind,
            "issuer": entry.record.get("issuer"),
        }
        item["hashMatches"] = records.record_hash(entry.record) == entry.record_hash
        item["links"] = {
            "previous": fields.get("previous"),
            "matches": fields.get("previous") == previous and fields.get("sequence") == position,
        }
        item["proofs"] = proof_results(entry.record)
        if inclusions:
            inclusion = inclusions[position]
            item["leafIndex"] = inclusion.index
            item["leafHash"] = inclusion.leaf_hash.hex()
            item["inclusionProof"] = [h.hex() for h in inclusion.hashes]
            try:
                inclusion.verify(head.root)
                item["included"] = True
            except LedgerError:
                item["included"] = False
        item["disclosures"] = {
            group: {
                "digest": value,
                "shown": group in entry.disclosures,
                **(
                    {"matches": disclosure_matches(entry, group)}
                    if group in entry.disclosures
                    else {}
                ),
            }
            for group, value in entry.digests.items()
        }
        items.append(item)
        previous = entry.record_hash
    return {
        "passport": view.passport_id,
        "verified": report.ok,
        "report": report.to_dict(),
        "checkpoint": {
            "note": note,
            "origin": head.origin,
            "size": head.size,
            "root": head.root.hex(),
            "verifierKey": ledger.verifier_key,
        },
        "records": items,
        "predecessors": list(view.head.predecessors),
        "successors": view.successors,
        "truncated": view.truncated,
    }


def disclosure_matches(entry: views.ChainEntry, group: str) -> bool:
    """Whether a shown disclosure hashes to the digest its record carries."""
    return records.digest(records.canonical(entry.disclosures[group])) == entry.digests[group]


def proof_results(record: dict[str, Any]) -> list[dict[str, Any]]:
    from ledger.core.contexts import loader  # noqa: PLC0415 (loaded once, then cached)

    try:
        results = proofs.verify_each(record, loader=loader())
    except SigningError as exc:
        return [{"verified": False, "error": str(exc)}]
    return [
        {
            "index": result.index,
            "cryptosuite": result.cryptosuite,
            "verificationMethod": result.verification_method,
            "created": result.created,
            "verified": result.ok,
            **({"error": str(result.error)} if result.error else {}),
        }
        for result in results
    ]


_NAMES: dict[int, tuple[float, dict[str, str]]] = {}


def actor_names(ledger: Ledger) -> dict[str, str]:
    """Registered organisations' public names by DID (kept a minute)."""
    cached = _NAMES.get(id(ledger))
    if cached is not None and time.monotonic() - cached[0] < 60:
        return cached[1]
    names: dict[str, str] = {}
    for actor in ledger.actors():
        first = ledger.chain_page(actor.did, limit=1)
        if first:
            name = views.subject(first[0]).get("name")
            if isinstance(name, str):
                names[actor.did] = name
    _NAMES[id(ledger)] = (time.monotonic(), names)
    return names


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def on_problem(request: Request, exc: Problem) -> Response:
        return exc.response(request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        detail = "no such resource" if exc.status_code == 404 else str(exc.detail)
        headers = dict(exc.headers or {})
        return Problem(exc.status_code, slug, detail, headers=headers).response(request.url.path)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [
            {"loc": [str(part) for part in error.get("loc", ())], "msg": str(error.get("msg"))}
            for error in exc.errors()[:20]
        ]
        return Problem(
            400, "invalid-request", "the request's parameters are not valid", errors=errors
        ).response(request.url.path)

    @app.exception_handler(StoreError)
    async def on_store(request: Request, exc: StoreError) -> Response:
        logger.error("store: %s", exc)
        return Problem(503, "unavailable", "the ledger cannot be read now").response(
            request.url.path
        )

    @app.exception_handler(LedgerError)
    async def on_ledger(request: Request, exc: LedgerError) -> Response:
        return Problem(400, "invalid-request", str(exc)).response(request.url.path)

    @app.exception_handler(Exception)
    async def on_error(request: Request, exc: Exception) -> Response:
        logger.exception("unexpected error on %s", request.url.path)
        return Problem(500, "internal", "the service failed on this request").response(
            request.url.path
        )


def from_environment() -> FastAPI:
    """The service over the ledger in ``$BPL_DATA_DIR`` (default ``~/.local/share/bpl``;
    its database there, or at ``$DATABASE_URL``) with that directory's token file: the
    factory uvicorn's workers call (``uvicorn --factory passport.app:from_environment``,
    what ``bpl serve`` runs)."""
    directory = default_data_dir()
    ledger = Ledger.open(directory)
    return create_app(
        ledger,
        tokens=TokenStore.in_directory(directory),
        access=access_log.AccessLog.in_directory(directory),
    )
