"""The command line talks to the service: ``bpl record new --server`` (the position from
the service), ``bpl submit --server`` and ``bpl chain --server`` against a real uvicorn
server, each request signed with the actor's key; the service's refusals exit as local
ones do. ``bpl serve`` as a process, ``bpl token`` and ``bpl access-log``."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cli.main import app
from ledger.demo import _Demo
from ledger.facade import Ledger
from passport import app as service_app
from signing import keys
from tests.passport.conftest import SEED, Service, make_service

runner = CliRunner()
DOCUMENT = (
    f"--set=documentHash=sha256:{'d' * 64}",
    "--set=mediaType=application/pdf",
    "--set=title=EU declaration of conformity",
    "--set=documentType=declaration-of-conformity",
    "--disclose-as",
    "public",
)


def bpl(*args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Served:
    service: Service
    url: str
    home: Path

    def key_file(self, did: str) -> Path:
        """A key file of the demo actor ``did`` (written once)."""
        path = self.home / f"{did.rsplit(':', 1)[1][:16]}.json"
        if not path.exists():
            found = {k.did: k for k in _Demo(self.service.operator, 0, SEED).keys.values()}
            keys.save(found[did], path)
        return path


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """The demo service on a real uvicorn server, on a free port, in a thread."""
    home = tmp_path_factory.mktemp(f"server-{request.param}")
    for service in make_service(home, request.param):
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(service.client.app, host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        try:
            yield Served(service, f"http://127.0.0.1:{port}", home)
        finally:
            server.should_exit = True
            thread.join(timeout=30)


def live_passport(served: Served) -> tuple[str, str]:
    """A live passport held by a demo actor (not the operator), and its custodian."""
    demo_dids = {k.did for k in _Demo(served.service.operator, 0, SEED).keys.values()}
    for passport in dict.fromkeys(_passport_ids(served)):
        head = served.service.ledger.head(passport)
        if head and not head.closed and head.custodian in demo_dids:
            return passport, head.custodian
    raise AssertionError("no live passport in the demo")


def _passport_ids(served: Served) -> Iterator[str]:
    for leaf in served.service.ledger.log.leaves(0, served.service.ledger.log.size()):
        subject = json.loads(leaf)["credentialSubject"]["id"]
        if subject.startswith("urn:bpl:passport:"):
            yield subject


def new_record(served: Served, passport: str, key: Path, *extra: str) -> Any:
    return bpl(
        "record", "new", "DocumentAttached", "--passport", passport, "--key", key,
        "--server", served.url, *DOCUMENT, *extra,
    )  # fmt: skip


def test_record_new_submit_and_chain_through_the_service(served: Served, tmp_path: Path) -> None:
    passport, custodian = live_passport(served)
    key = served.key_file(custodian)
    before = served.service.ledger.head(passport)
    assert before is not None
    made = new_record(served, passport, key)
    assert made.exit_code == 0, made.output
    submission = json.loads(made.stdout)
    subject = submission["record"]["credentialSubject"]
    assert (subject["sequence"], subject["previous"]) == (before.sequence + 1, before.record_hash)
    file = tmp_path / "document.json"
    file.write_text(made.stdout)
    a_second = new_record(served, passport, key)  # the same position: stale once one is in
    (tmp_path / "stale.json").write_text(a_second.stdout)

    submitted = bpl("submit", file, "--server", served.url, "--key", key)
    assert submitted.exit_code == 0, submitted.output
    receipt = json.loads(submitted.stdout)
    head = served.service.ledger.head(passport)
    assert head is not None and receipt["recordHash"] == head.record_hash
    assert "href" not in receipt and {"leafIndex", "checkpoint", "inclusionProof"} <= set(receipt)
    again = bpl("submit", file, "--server", served.url)  # stored already: its receipt again
    assert again.exit_code == 0 and json.loads(again.stdout)["recordHash"] == receipt["recordHash"]

    stale = bpl("submit", tmp_path / "stale.json", "--server", served.url, "--json")
    assert stale.exit_code == 1, stale.output
    error = json.loads(stale.stdout)["error"]
    assert error["rule"] == "sequence" and error["exitCode"] == 1
    assert error["head"] == {"sequence": head.sequence, "recordHash": head.record_hash}

    chain = bpl("chain", passport, "--server", served.url, "--key", key)
    assert chain.exit_code == 0, chain.output
    assert json.loads(chain.stdout) == served.service.ledger.chain(passport)


def test_refusals_exit_as_local_ones(served: Served, tmp_path: Path) -> None:
    passport, _ = live_passport(served)
    stranger = tmp_path / "stranger.json"
    assert bpl("keys", "new", "--out", stranger).exit_code == 0
    made = new_record(served, passport, served.key_file(live_passport(served)[1]))
    record = json.loads(made.stdout)
    forged = tmp_path / "forged.json"
    record["record"]["credentialSubject"]["title"] = "changed after signing"
    forged.write_text(json.dumps(record))
    refused = bpl("submit", forged, "--server", served.url, "--json")
    assert refused.exit_code == 1, refused.output
    assert json.loads(refused.stdout)["error"]["rule"] == "proof"

    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    assert bpl("submit", garbage, "--server", served.url).exit_code == 2

    unknown = bpl("chain", "urn:bpl:passport:00000000-0000-4000-8000-000000000000",
                  "--server", served.url)  # fmt: skip
    assert unknown.exit_code == 1, unknown.output
    not_registered = bpl("chain", passport, "--server", served.url, "--key", stranger)
    assert not_registered.exit_code == 2
    assert "401" in not_registered.stderr and "not accepted" in not_registered.stderr
    nobody = bpl("chain", passport, "--server", f"http://127.0.0.1:{free_port()}")
    assert nobody.exit_code == 2 and "cannot reach" in nobody.stderr
    assert bpl("chain", passport, "--server", "ftp://example.org").exit_code == 2


def test_many_submissions_go_in_batches(served: Served, tmp_path: Path) -> None:
    passport, custodian = live_passport(served)
    key = served.key_file(custodian)
    first = json.loads(new_record(served, passport, key).stdout)
    lines = tmp_path / "many.jsonl"
    lines.write_text(json.dumps(first) + "\n")
    submitted = bpl("submit", lines, "--server", served.url, "--key", key)
    assert submitted.exit_code == 0, submitted.output
    assert len(submitted.stdout.splitlines()) == 1
    second = json.loads(new_record(served, passport, key).stdout)
    rival = json.loads(new_record(served, passport, key, "--set=title=another").stdout)
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(second) + "\n" + json.dumps(rival) + "\n")
    head = served.service.ledger.head(passport)
    refused = bpl("submit", broken, "--server", served.url, "--json")
    assert refused.exit_code == 1, refused.output
    error = json.loads(refused.stdout)["error"]
    assert (error["source"], error["index"], error["rule"]) == (f"{broken} line 2", 1, "sequence")
    assert served.service.ledger.head(passport) == head  # all or nothing: none appended


def test_restricted_reads_through_the_service_are_in_the_access_log(served: Served) -> None:
    """A signed read of restricted data is recorded; bpl access-log prints it."""
    service = served.service
    passport = next(_passport_ids(served))
    key = service.role_keys["market-surveillance"]
    path = served.home / "authority.json"
    if not path.exists():
        keys.save(key, path)
    assert bpl("chain", passport, "--server", served.url, "--key", path).exit_code == 0
    data_dir = served.home / "data"
    printed = bpl("access-log", "--data-dir", data_dir, "--json", "--since", "2000-01-01")
    assert printed.exit_code == 0, printed.output
    entries = [json.loads(line) for line in printed.stdout.splitlines()]
    assert entries[-1]["reader"] == key.did
    assert entries[-1]["path"] == f"/passports/{passport}/records"
    human = bpl("access-log", "--data-dir", data_dir)
    assert key.did in human.stdout.splitlines()[-1]
    assert bpl("access-log", "--data-dir", data_dir, "--since", "yesterday").exit_code == 2


def test_bpl_serve_runs_the_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)  # the module's PostgreSQL service sets it
    directory = tmp_path / "data"
    empty = bpl("serve", "--data-dir", directory)
    assert empty.exit_code == 2 and "bpl init" in empty.stderr and "bpl demo" in empty.stderr
    Ledger.init(directory, keys.generate(), origin="serve.bpl.example/log").close()
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "serve", "--data-dir", directory, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/log/checkpoint", timeout=5)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "bpl serve did not answer"
                time.sleep(0.1)
        assert answer.status_code == 200
        assert answer.text.startswith("serve.bpl.example/log\n")
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_token_verbs_and_the_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """bpl token issues, lists and revokes the tokens the factory's service reads."""
    directory = tmp_path / "data"
    monkeypatch.setenv("BPL_DATA_DIR", str(directory))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    operator = keys.generate()
    Ledger.init(directory, operator, origin="main.bpl.example/log").close()
    issued = bpl("token", "issue", operator.did, "--label", "ops")
    assert issued.exit_code == 0, issued.output
    token = json.loads(issued.stdout)
    assert token["did"] == operator.did and token["token"].startswith("bpl_")
    listed = bpl("token", "list")
    assert listed.exit_code == 0
    entry = json.loads(listed.stdout)
    assert entry["id"] == token["id"] and "token" not in entry
    assert token["token"] not in listed.stdout
    assert bpl("token", "issue", "nobody").exit_code == 2
    assert bpl("token", "issue", operator.did, "--days", "400").exit_code == 2
    assert oct((directory / "tokens.json").stat().st_mode & 0o777) == "0o600"

    application = service_app.from_environment()
    with TestClient(application) as client:
        assert client.get("/log/checkpoint").text.startswith("main.bpl.example/log\n")
        bearer = {"Authorization": f"Bearer {token['token']}"}
        assert client.get("/log/checkpoint", headers=bearer).status_code == 200
        assert bpl("token", "revoke", token["id"]).exit_code == 0
        assert client.get("/log/checkpoint", headers=bearer).status_code == 401
    application.state.ledger.close()
    gone = bpl("token", "revoke", token["id"])
    assert gone.exit_code == 1 and json.loads(gone.stdout.splitlines()[0]) == {"revoked": 0}
