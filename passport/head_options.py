"""HEAD on every GET route, OPTIONS on every route, for the whole application at once.

FastAPI registers a GET route for GET alone, so a HEAD request would be a 405 (RFC 9110
section 9.3.2: a server that serves GET should serve HEAD). :class:`HeadAndOptions`
answers a HEAD request as the same request with GET, with the same status and headers
(``Content-Length`` included: that of the body a GET gets) and no body. A plain OPTIONS
request (not a CORS preflight, which the CORS middleware answers) gets 204 with the
``Allow`` header of the routes at that path; a 405 names HEAD and OPTIONS in ``Allow``
wherever GET is allowed. Routes that answer HEAD or OPTIONS themselves (the resolver)
still do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

Message = MutableMapping[str, Any]


class HeadAndOptions:
    """The ASGI middleware described above (outermost, so every route is covered)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "OPTIONS" and not _is_preflight(scope):
            registered = _allowed_methods(scope, explicit=True)
            if registered and "OPTIONS" not in registered:
                await _no_content(send, _allowed_methods(scope))
                return
        if method == "HEAD" and "HEAD" not in _allowed_methods(scope, explicit=True):
            await self.app({**scope, "method": "GET"}, receive, _without_body(send))
            return
        await self.app(scope, receive, _allow_with_head(send))


def _is_preflight(scope: Scope) -> bool:
    return any(name == b"access-control-request-method" for name, _ in scope["headers"])


def _allowed_methods(scope: Scope, *, explicit: bool = False) -> set[str]:
    """The methods of the routes matching the request's path (with HEAD and OPTIONS where
    GET is, unless ``explicit``: then only what routes register themselves)."""
    app = scope.get("app")
    router = getattr(app, "router", None)
    found: set[str] = set()
    for route in getattr(router, "routes", ()):
        methods = getattr(route, "methods", None)
        if not methods:
            continue
        match, _ = route.matches({**scope, "method": "GET"})
        if match is not Match.NONE:
            found.update(methods)
    if found and not explicit:
        found.add("OPTIONS")
        if "GET" in found:
            found.add("HEAD")
    return found


def _allow_value(methods: set[str]) -> str:
    order = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    return ", ".join(sorted(methods, key=lambda m: (order.index(m) if m in order else 99, m)))


async def _no_content(send: Send, allowed: set[str]) -> None:
    headers = [(b"allow", _allow_value(allowed).encode()), (b"content-length", b"0")]
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def _without_body(send: Send) -> Callable[[Message], Awaitable[None]]:
    """``send`` for a HEAD request: the start as it is, the body swallowed."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            await _allow_with_head(send)(message)
        elif message["type"] == "http.response.body":
            if not message.get("more_body", False):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        else:
            await send(message)

    return sending


def _allow_with_head(send: Send) -> Callable[[Message], Awaitable[None]]:
    """``send`` that adds HEAD and OPTIONS to a 405's ``Allow`` where it names GET."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start" and message.get("status") == 405:
            headers = []
            for name, value in message.get("headers", []):
                if name.lower() == b"allow":
                    methods = {m.strip() for m in value.decode("latin-1").split(",") if m.strip()}
                    if "GET" in methods:
                        methods |= {"HEAD", "OPTIONS"}
                    headers.append((name, _allow_value(methods).encode("latin-1")))
                else:
                    headers.append((name, value))
            message = {**message, "headers": headers}
        await send(message)

    return sending
