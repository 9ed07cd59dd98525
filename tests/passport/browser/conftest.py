"""The browser tests' fixtures: Debian's Chromium driven by Playwright (never a browser
Playwright downloads), one per test session and xdist worker, and the service over the
demo ledgers of tests/passport/conftest.py served by a real uvicorn on a free port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, sync_playwright

from passport.app import create_app
from tests.passport.conftest import Service

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""Chromium's flags: without them it stalls on the closed network (updates, sync)."""
START_SECONDS = 20.0


@dataclass
class Served:
    """The service over a demo ledger at ``url`` (http://127.0.0.1:port)."""

    service: Service
    url: str

    def context(
        self, browser: Browser, role: str | None = None, **options: object
    ) -> BrowserContext:
        """A browser context reading as ``role`` (None: anonymous), by its bearer token."""
        return browser.new_context(
            extra_http_headers=self.service.as_role(role),
            **options,  # type: ignore[arg-type]
        )


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium, one for the session (per xdist worker)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def served(service: Service) -> Iterator[Served]:
    """A real uvicorn serving the service's ledger (each engine) on a free port."""
    yield from serve(service)


@pytest.fixture(scope="module")
def served_sqlite(sqlite_service: Service) -> Iterator[Served]:
    """The same on SQLite alone: for what does not depend on the engine."""
    yield from serve(sqlite_service)


def serve(service: Service) -> Iterator[Served]:
    """Runs uvicorn over ``service``'s ledger in a thread of this process until closed."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(service.ledger, tokens=service.tokens)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield Served(service, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
