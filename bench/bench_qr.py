"""QR codes and labels: a cached QR code per request through the service, and what it is
made of (issue 17: a cached QR under 1 ms).

- ``GET /passports/{id}/qr.svg`` and ``qr.png`` through the whole ASGI application (its
  middleware, the reader dependency, the route) with httpx's ``ASGITransport``: no
  network and no server, so the figure is the service's own cost. The code is cached
  after the first request; each run times ``--requests`` sequential requests.
- the bare cache lookup (``passport.qr.cached``);
- the floor of any route of the service: ``GET /log/key`` (a constant body) the same way;
- for reference, a code made anew (cache cleared) and a label PDF (rendered, then cached).

Medians of each run, then the median and range over ``--runs`` runs, with the load
average. Run: ``.venv/bin/python bench/bench_qr.py [--runs 5] [--requests 500]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

import httpx

from ledger.demo import run_demo
from ledger.facade import Ledger
from passport import labels, qr
from passport.app import create_app
from signing import keys

TARGET_MS = 1.0
ORIGIN = "passport.bench.example/log"


async def request_times(client: httpx.AsyncClient, path: str, requests: int) -> list[float]:
    """Milliseconds of each of ``requests`` sequential GETs (each must answer 200)."""
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = await client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code} {response.text}")
    return times


def summary(medians: list[float], unit: str = "ms") -> str:
    return (
        f"median {statistics.median(medians):.3f} {unit} "
        f"(runs {min(medians):.3f} to {max(medians):.3f})"
    )


def bare(function: object, args: tuple[object, ...], calls: int) -> float:
    """Microseconds a call of ``function(*args)`` takes, over ``calls`` calls."""
    started = time.perf_counter()
    for _ in range(calls):
        function(*args)  # type: ignore[operator]
    return (time.perf_counter() - started) / calls * 1e6


async def run(args: argparse.Namespace, directory: Path) -> None:
    os.environ.pop("DATABASE_URL", None)
    operator = keys.generate()
    ledger = Ledger.init(directory / "data", operator, origin=ORIGIN)
    try:
        run_demo(ledger, operator, batteries=5, seed=2027)
        passport = next(
            found.subject_id
            for actor in ledger.actors()
            for found in ledger.passports_by_manufacturer(actor.did)
        )
        app = create_app(ledger)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://bench.example") as c:
            svg_path = f"/passports/{passport}/qr.svg"
            png_path = f"/passports/{passport}/qr.png?size=512&ec=Q"
            label_path = f"/passports/{passport}/label.pdf"
            started = time.perf_counter()
            await request_times(c, label_path, 1)
            label_first = (time.perf_counter() - started) * 1000
            figures: dict[str, list[float]] = {"svg": [], "png": [], "label": [], "floor": []}
            for _ in range(args.runs):
                for name, path in (("svg", svg_path), ("png", png_path)):
                    figures[name].append(
                        statistics.median(await request_times(c, path, args.requests))
                    )
                figures["label"].append(statistics.median(await request_times(c, label_path, 20)))
                figures["floor"].append(
                    statistics.median(await request_times(c, "/log/key", args.requests))
                )
        data = f"https://bench.example/01/{'0' * 13}1/21/X"
        qr.svg(data, "M", 30)
        qr.png(data, "Q", 512)
        lookups = {
            name: [bare(function, call, 100_000) for _ in range(args.runs)]
            for name, function, call in (
                ("svg", qr.cached, ("svg", data, "M", 30)),
                ("png", qr.cached, ("png", data, "Q", 512)),
            )
        }
        fresh = []
        for _ in range(args.runs):
            qr.clear_cache()
            started = time.perf_counter()
            qr.svg(data, "M", 30)
            fresh.append((time.perf_counter() - started) * 1000)
        label_cached = figures["label"]
        label_render = []
        for _ in range(max(2, args.runs // 2)):
            found = labels.read_label(ledger, passport, "https://bench.example")
            assert found is not None
            labels._render.cache_clear()
            started = time.perf_counter()
            labels.label_pdf(found)
            label_render.append((time.perf_counter() - started) * 1000)
    finally:
        ledger.close()
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"load average {load}; {args.runs} runs of {args.requests} requests (ASGI, in-process)")
    for name in ("svg", "png"):
        met = "met" if statistics.median(figures[name]) < TARGET_MS else "NOT met"
        print(
            f"GET qr.{name} (cached): {summary(figures[name])}; "
            f"target under {TARGET_MS:g} ms: {met}"
        )
        print(f"  the cache lookup alone: {summary(lookups[name], 'us')}")
    print(
        "the service's floor, GET /log/key (middleware, reader dependency, a constant): "
        f"{summary(figures['floor'])}"
    )
    print(f"a code made anew (SVG, cache cleared): {summary(fresh)}")
    print(
        f"GET label.pdf: first {label_first:.1f} ms (fonts, render); cached "
        f"{summary(label_cached)}; rendering alone {summary(label_render)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-qr-") as directory:
        asyncio.run(run(args, Path(directory)))


if __name__ == "__main__":
    main()
