"""The verification service's speed, each figure beside its in-process baseline of the
same run (issue 17).

- ``POST /records/batch``: batches of 500 realistic v2 DiagnosticTest submissions (graded,
  a dozen measures and the Annex VII part B history, as bench/bench_ledger.py builds
  them) sent as JSON to a real uvicorn server, against ``Ledger.append_many`` of as many
  such batches in this process, both on the same ledger one after the other. Target: at
  least 60 % of in-process ``append_many``.
- ``POST /records``: one record a request, from ``--callers`` concurrent keep-alive
  clients (httpx, in this process: the load generator shares the machine's cores with
  the server), to a server with ``--workers`` uvicorn workers. Target: at least 1,000/s
  with 2 workers on PostgreSQL.
- ``GET /passports/{id}`` (the HTML page) of a passport with 100 records, on a ledger
  that already holds ``--stored`` records; and a GS1 Digital Link resolver redirect
  (``GET /01/{gtin}/21/{serial}``, not followed). Medians and ranges of ``--reads``
  sequential requests. Targets: a page under 20 ms at the median with 1,000,000 records
  stored; a redirect under 5 ms.

Single POSTs come from wrk (Debian's ``wrk``) when it is installed, else from httpx in this
process (which then shares the cores with the server and measures much lower).

The server is ``uvicorn --factory passport.app:from_environment`` over the bench's data
directory (what ``bpl serve`` runs), started after the in-process phase has closed its
ledger. Run: ``.venv/bin/python bench/bench_service.py [--database sqlite|postgresql]
[--records 6000] [--stored 100000] [--workers 2] [--callers 32] [--reads 300]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parent))

import httpx
import orjson
from bench_ledger import BATCH, chained_tests, issued, new_ledger, tested

BATCH_TARGET = 0.60
SINGLE_TARGET = 1_000
PAGE_TARGET_MS = 20.0
REDIRECT_TARGET_MS = 5.0
PAGE_RECORDS = 100


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """A uvicorn server over ``directory`` in a process of its own."""

    def __init__(self, directory: Path, workers: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "BPL_DATA_DIR": str(directory)}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "passport.app:from_environment",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env=env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/log/checkpoint", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def batches(items: list[bytes]) -> list[list[bytes]]:
    return [items[first : first + BATCH] for first in range(0, len(items), BATCH)]


def body_of(batch: list[bytes]) -> bytes:
    return b"[" + b",".join(batch) + b"]"


AFRESH = 20
"""Pages timed afresh: each after an append, which makes the public's page again."""


def fresh_pages(client: httpx.Client, path: str, appends: list[bytes]) -> tuple[float, ...]:
    """The median, fastest and slowest time of the page made afresh: after each of
    ``appends`` (the log grew, so the public's kept page is made again, ADR 0022)."""
    times = []
    for body in appends:
        posted = client.post("/records", content=body, headers={"Content-Type": "application/json"})
        assert posted.status_code == 201, posted.text[:300]
        started = time.perf_counter()
        response = client.get(path, headers={"Accept": "text/html"})
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    times.sort()
    return statistics.median(times), times[0], times[-1]


def median_ms(client: httpx.Client, path: str, reads: int, **headers: str) -> tuple[float, ...]:
    """The median, 10th and 90th percentile of ``reads`` sequential requests, and the
    first request's time (what the service made afresh: a page is kept for the public
    after its first request until the log grows, ADR 0022)."""
    times = []
    for _ in range(reads):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code < 400, (path, response.status_code, response.text[:300])
    first = times[0]
    times.sort()
    return statistics.median(times), times[len(times) // 10], times[-len(times) // 10], first


WRK_SCRIPT = """
bodies = {}
for line in io.lines("%s") do bodies[#bodies + 1] = line end
i = 0
request = function()
  i = i + 1
  return wrk.format("POST", "/records", {["Content-Type"] = "application/json"}, bodies[i])
end
"""


def wrk_singles(url: str, bodies: list[bytes], callers: int) -> tuple[float, str] | None:
    """``POST /records`` from wrk (Debian's ``wrk``: a C load generator that leaves the
    cores to the server), one distinct record a request, for as long as the records
    last at up to 1,500/s; None without wrk."""
    if shutil.which("wrk") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        lines = Path(tmp) / "bodies.txt"
        lines.write_bytes(b"\n".join(bodies) + b"\n")
        script = Path(tmp) / "post.lua"
        script.write_text(WRK_SCRIPT % lines)
        seconds = max(1, len(bodies) // 1500)
        out = subprocess.run(
            ["wrk", "-t1", f"-c{callers}", f"-d{seconds}s", "-s", str(script), url],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    if requests > len(bodies):
        raise RuntimeError(f"wrk sent {requests} requests for {len(bodies)} records: more records")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise RuntimeError(f"{bad.group(1)} requests refused: {out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return rate, "wrk"


async def post_singles(url: str, bodies: list[bytes], callers: int) -> float:
    queue = list(reversed(bodies))
    limits = httpx.Limits(max_connections=callers, max_keepalive_connections=callers)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:

        async def caller() -> None:
            while queue:
                body = queue.pop()
                response = await client.post(
                    "/records", content=body, headers={"Content-Type": "application/json"}
                )
                assert response.status_code == 201, response.text[:300]

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(callers)))
        return len(bodies) / (time.perf_counter() - started)


def fill(ledger: Any, maker: Any, lab: Any, model_record: str, first: int, records: int) -> None:
    """Append about ``records`` more (passports and a test each), as a busy service's
    ledger would hold."""
    done = 0
    while done < records:
        more = max(1, min(records - done, 20 * BATCH) // 2)
        names = [f"urn:bpl:passport:{uuid.UUID(int=first + n)}" for n in range(more)]
        firsts = [issued(p, first + n, maker, model_record) for n, p in enumerate(names)]
        for batch in batches([orjson.dumps(g) for g in firsts]):
            ledger.append_many(batch)
        seconds = [tested(p, g, lab, n) for n, (p, g) in enumerate(zip(names, firsts, strict=True))]
        for batch in batches(seconds):
            ledger.append_many(batch)
        first += more
        done += 2 * more
        print(f"  ... {done:,} of {records:,} records added", file=sys.stderr)


def run(args: argparse.Namespace, location: Path) -> None:
    label = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"
    count = args.records
    ledger, maker, lab, model_record = new_ledger(location)
    names = [f"urn:bpl:passport:{uuid.UUID(int=n)}" for n in range(3 * count + 1)]
    genesis = [issued(p, n, maker, model_record) for n, p in enumerate(names)]
    for batch in batches([orjson.dumps(g) for g in genesis]):
        ledger.append_many(batch)
    tests = [tested(p, g, lab, n) for n, (p, g) in enumerate(zip(names, genesis, strict=True))]
    in_process, over_http = tests[:count], tests[count : 2 * count]
    singles = tests[2 * count : 3 * count - AFRESH]
    growing = tests[3 * count - AFRESH : 3 * count]  # one append before each fresh page
    long_life = [orjson.dumps(t) for t in chained_tests(genesis[-1], lab, PAGE_RECORDS - 1)]
    for batch in batches(long_life):
        ledger.append_many(batch)
    fill(ledger, maker, lab, model_record, len(names), args.stored - 3 * count - PAGE_RECORDS)
    started = time.perf_counter()
    for batch in batches(in_process):
        ledger.append_many(batch)
    batched = count / (time.perf_counter() - started)
    stored = ledger.log.size()
    ledger.close()

    server = Server(location, args.workers)
    try:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            started = time.perf_counter()
            for batch in batches(over_http):
                response = client.post(
                    "/records/batch", content=body_of(batch),
                    headers={"Content-Type": "application/json"},
                )  # fmt: skip
                assert response.status_code == 201, response.text[:300]
            http_batched = count / (time.perf_counter() - started)
            by_wrk = wrk_singles(server.url, singles, args.callers)
            if by_wrk is None:
                single, generator = (
                    asyncio.run(post_singles(server.url, singles, args.callers)),
                    "httpx",
                )
            else:
                single, generator = by_wrk
            passport = genesis[-1]["record"]["credentialSubject"]
            page = median_ms(client, f"/passports/{passport['id']}", args.reads, Accept="text/html")
            json_ld = median_ms(
                client, f"/passports/{passport['id']}", args.reads, Accept="application/ld+json"
            )
            gtin, serial = passport["batteryId"].split("/01/")[1].split("/21/")
            redirect = median_ms(client, f"/01/{gtin}/21/{serial}", args.reads)
            afresh = fresh_pages(client, f"/passports/{passport['id']}", growing)
    finally:
        server.stop()
    load = Path("/proc/loadavg").read_text().split()[0]
    ratio = http_batched / batched
    print(
        f"{label}: passport page ({PAGE_RECORDS} records), HTML, made afresh after an append: "
        f"median {afresh[0]:.1f} ms (fastest {afresh[1]:.1f}, slowest {afresh[2]:.1f}; "
        f"{AFRESH} pages) (target {PAGE_TARGET_MS:g} ms: "
        f"{'met' if afresh[0] <= PAGE_TARGET_MS else 'NOT met'})"
    )
    print(
        f"{label}: POST /records/batch {http_batched:8,.0f} records/s, {ratio:.1%} of in-process "
        f"append_many at {batched:,.0f}/s (target {BATCH_TARGET:.0%}: "
        f"{'met' if ratio >= BATCH_TARGET else 'NOT met'}); batches of {BATCH}; load {load}"
    )
    print(
        f"{label}: POST /records       {single:8,.0f} records/s from {args.callers} callers "
        f"({generator}), "
        f"{args.workers} workers (target {SINGLE_TARGET:,}/s: "
        f"{'met' if single >= SINGLE_TARGET else 'NOT met'})"
    )
    for name, (median, low, high, first), target in (
        (f"passport page ({PAGE_RECORDS} records), HTML", page, PAGE_TARGET_MS),
        (f"passport ({PAGE_RECORDS} records), JSON-LD", json_ld, PAGE_TARGET_MS),
        ("resolver redirect", redirect, REDIRECT_TARGET_MS),
    ):
        print(
            f"{label}: {name}: median {median:.2f} ms (p10 {low:.2f}, p90 {high:.2f}; the "
            f"first, made afresh: {first:.1f} ms) with "
            f"{stored:,} records stored (target {target:g} ms: "
            f"{'met' if median <= target else 'NOT met'})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "BPL_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    parser.add_argument("--records", type=int, default=6_000)
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--callers", type=int, default=32)
    parser.add_argument("--reads", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.database == "sqlite":
            os.environ.pop("DATABASE_URL", None)
            run(args, Path(tmp) / "ledger")
            return
        import psycopg  # noqa: PLC0415

        name = f"bpl_bench_service_{os.getpid()}"
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            os.environ["DATABASE_URL"] = args.postgres.rsplit("/", 1)[0] + "/" + name
            run(args, Path(tmp) / "ledger")
        finally:
            os.environ.pop("DATABASE_URL", None)
            with psycopg.connect(args.postgres, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
