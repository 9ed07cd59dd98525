"""Talking to a bpl service (``--server URL``): requests signed with the actor's key file
(RFC 9421, :mod:`signing.http_signatures`; ADR 0021), and the service's RFC 9457 problems
shown as the command line shows a local refusal: a refused record exits 1 with its rule
(2 for input that is no record), the same ``--json`` shape, the chain's head for a stale
record; a passport the service does not hold exits 1; a service that cannot be reached,
or that refuses the credential, exits 2.

Loaded only when a verb is given ``--server`` (httpx and the signatures are 0.5 s of
imports a local verb does without); :data:`ServerOption` lives here for the verbs to
declare the option, so the modules below are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, NoReturn
from urllib.parse import quote, urlsplit

import typer

from cli.errors import FAILED, UNUSABLE, fail, refuse
from ledger.errors import RecordRejected, StaleRecord
from signing import json_input
from signing.errors import SigningError

if TYPE_CHECKING:
    import httpx

    from signing.keys import KeyPair

ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        metavar="URL",
        help="Talk to the bpl service at URL instead of a local ledger.",
    ),
]
ServerKeyOption = Annotated[
    str | None,
    typer.Option(
        "--key",
        "-k",
        metavar="FILE",
        help="With --server: sign the requests with this actor's key file.",
    ),
]
TAG = "bpl"
"""The application tag of bpl's request signatures (passport.http_signatures.TAG)."""
TIMEOUT_SECONDS = 60.0
MAX_BATCH = 1000
"""The most records the service takes in one ``POST /records/batch``."""
PROBLEM_TYPES = ("application/problem+json", "application/json")


def _signer(key: KeyPair) -> httpx.Auth:
    """An httpx auth that signs every request with the actor's key: method, authority,
    path, query, and the body's digest when there is one."""
    import httpx  # noqa: PLC0415 (on demand: see the module's docstring)

    from signing.http_signatures import HTTPSignatureError, sign_request  # noqa: PLC0415

    class Signer(httpx.Auth):
        requires_request_body = True

        def auth_flow(
            self, request: httpx.Request
        ) -> Generator[httpx.Request, httpx.Response, None]:
            headers: dict[str, str] = {}
            body = request.content if request.method not in ("GET", "HEAD") else None
            try:
                sign_request(request.method, str(request.url), headers, body, key, tag=TAG)
            except HTTPSignatureError as exc:
                fail(str(exc))
            request.headers.update(headers)
            yield request

    return Signer()


class Server:
    """One bpl service, with the key (if any) that signs what is sent to it."""

    def __init__(self, url: str, key: KeyPair | None = None) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            fail(f"--server takes the service's URL (https://host[:port]), not {url!r}")
        import httpx  # noqa: PLC0415 (on demand: see the module's docstring)

        self.url = url.rstrip("/")
        self.errors = httpx.HTTPError
        self.client = httpx.Client(
            base_url=self.url,
            auth=None if key is None else _signer(key),
            timeout=TIMEOUT_SECONDS,
            follow_redirects=False,
            headers={"Accept": "application/json"},
        )

    def close(self) -> None:
        self.client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        params: dict[str, Any] | None = None,
    ) -> httpx.Response:
        """The service's response; exit 2 if it cannot be reached."""
        try:
            return self.client.request(
                method,
                path,
                content=body,
                params=params,
                headers={"Content-Type": "application/json"} if body is not None else None,
            )
        except self.errors as exc:
            fail(f"cannot reach {self.url}: {exc}")

    def json(self, response: httpx.Response) -> Any:
        """A successful response's JSON; a problem is a refusal (:func:`problem`)."""
        if response.status_code >= 400:
            problem(self.url, response)
        try:
            return json_input.parse(response.content)
        except SigningError as exc:
            fail(f"{self.url} answered {response.status_code} with no JSON: {exc}")

    def head(self, subject: str) -> tuple[int, str | None]:
        """The position the next record of chain ``subject`` takes, as the service says."""
        response = self.request("GET", f"/subjects/{quote(subject, safe=':')}/head")
        if response.status_code == 404:
            found = _problem_body(response)
            following = found.get("next") if found else None
            if isinstance(following, dict) and following.get("sequence") == 0:
                return 0, None
        body = self.json(response)
        following = body.get("next") if isinstance(body, dict) else None
        if (
            not isinstance(following, dict)
            or not isinstance(following.get("sequence"), int)
            or not isinstance(following.get("previous"), str)
        ):
            fail(f"{self.url} answered no chain position for {subject}")
        return following["sequence"], following["previous"]

    def records(self, passport: str) -> Iterator[dict[str, Any]]:
        """A passport's records (public parts), page after page."""
        after = -1
        while True:
            response = self.request(
                "GET",
                f"/passports/{quote(passport, safe=':')}/records",
                params={"after": after, "limit": MAX_BATCH},
            )
            page = self.json(response)
            items = page.get("items") if isinstance(page, dict) else None
            if not isinstance(items, list):
                fail(f"{self.url} answered no page of records")
            for item in items:
                yield item["record"]
            if not page.get("next") or not items:
                return
            after = items[-1]["record"]["credentialSubject"]["sequence"]


@contextmanager
def server(url: str, key: KeyPair | None = None) -> Iterator[Server]:
    connection = Server(url, key)
    try:
        yield connection
    finally:
        connection.close()


def problem_index(response: httpx.Response) -> int | None:
    """The index a batch's problem names (the refused record's position), if any."""
    found = _problem_body(response) or {}
    index = found.get("index")
    return index if isinstance(index, int) and not isinstance(index, bool) else None


def _problem_body(response: httpx.Response) -> dict[str, Any] | None:
    media = response.headers.get("content-type", "").split(";")[0].strip()
    if media not in PROBLEM_TYPES:
        return None
    try:
        body = json_input.parse(response.content)
    except SigningError:
        return None
    return body if isinstance(body, dict) else None


def problem(
    url: str, response: httpx.Response, *, source: tuple[str, int] | None = None
) -> NoReturn:
    """Exit as the command line does for the same refusal made locally: a record refused
    with a rule through :func:`cli.errors.refuse` (exit 1, or 2 for rules ``parse`` and
    ``size``; ``source``: where the record came from, its index among many); a passport
    or record the service does not hold exits 1; anything else exits 2 with the
    service's detail."""
    body = _problem_body(response) or {}
    detail = str(body.get("detail") or response.reason_phrase or "no detail")
    rule = body.get("rule")
    index = body.get("index") if isinstance(body.get("index"), int) else None
    if isinstance(rule, str):
        head = body.get("head") if isinstance(body.get("head"), dict) else None
        exc: RecordRejected
        if response.status_code == 409 and head is not None:
            exc = StaleRecord(
                detail,
                head_sequence=head.get("sequence"),
                head_hash=head.get("recordHash"),
                index=index,
            )
        else:
            exc = RecordRejected(rule, detail, index=index)
        refuse(exc, source=source)
    title = body.get("title") or response.reason_phrase
    code = FAILED if response.status_code == 404 else UNUSABLE
    fail(f"{url}: {response.status_code} {title}: {detail}", code)
