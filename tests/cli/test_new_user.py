"""Issue 15: the command line as a new user meets it. Each test names its item."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import typer.main
from typer.core import TyperGroup, TyperOption
from typer.testing import CliRunner

from cli import output
from cli.main import app
from ledger import demo
from ledger.datadir import DataDir
from ledger.errors import StoreError
from ledger.facade import Ledger
from tests.cli import v2_data
from tests.ledger.conftest import POSTGRES_ADMIN_URL

runner = CliRunner()


def bpl(*args: str | Path, input: str | None = None, env: dict[str, str] | None = None) -> Any:
    return runner.invoke(app, [str(a) for a in args], input=input, env=env, catch_exceptions=False)


@pytest.fixture(autouse=True)
def _no_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)


def missing_postgres_database() -> str:
    """The URL of a database the test PostgreSQL server does not have."""
    if os.environ.get("BPL_TEST_SKIP_POSTGRES"):
        pytest.skip("BPL_TEST_SKIP_POSTGRES is set")
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/bpl_test_no_such_database"


# --- 1: a failed init or demo leaves nothing it created -------------------------------------


@pytest.mark.parametrize("verb", [("init",), ("demo", "--batteries", "1")])
@pytest.mark.parametrize("existing", [False, True], ids=["new-dir", "existing-dir"])
def test_a_failed_init_leaves_nothing_and_a_retry_succeeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, verb: tuple[str, ...], existing: bool
) -> None:
    """DATABASE_URL naming a PostgreSQL database that does not exist: init used to leave
    operator.json behind, and every retry was refused ("operator.json exists")."""
    home = tmp_path / "home"
    if existing:
        home.mkdir(mode=0o700)
        (home / "notes.txt").write_text("mine")
    monkeypatch.setenv("DATABASE_URL", missing_postgres_database())
    failed = bpl(*verb, "--data-dir", home)
    assert failed.exit_code == 2, failed.output
    assert "does not exist" in failed.stderr
    if existing:
        assert [p.name for p in home.iterdir()] == ["notes.txt"]
    else:
        assert not home.exists()
    monkeypatch.delenv("DATABASE_URL")
    retried = bpl(*verb, "--data-dir", home)
    assert retried.exit_code == 0, retried.output


def test_init_failing_after_the_log_key_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure once log.key, log.pub, log.json and the database exist (the operator's
    registration): all of them are removed, not only operator.json."""

    def lost(*_args: Any, **_kwargs: Any) -> Any:
        raise StoreError("connection lost")

    home = tmp_path / "home"
    with monkeypatch.context() as patch:
        patch.setattr(Ledger, "register_actor", lost)
        failed = bpl("init", "--data-dir", home)
    assert failed.exit_code == 2
    assert failed.stderr == "bpl: connection lost\n"
    assert not home.exists()
    assert bpl("init", "--data-dir", home).exit_code == 0
    again = bpl("init", "--data-dir", home)  # a ledger that exists is never touched
    assert again.exit_code == 2
    assert again.stderr == f"bpl: {home} already holds a ledger (log.key exists)\n"
    assert {p.name for p in home.iterdir()} >= {"operator.json", "log.key", "ledger.db"}


def test_a_failed_demo_run_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*_args: Any, **_kwargs: Any) -> Any:
        raise StoreError("disk full")

    home = tmp_path / "demo"
    with monkeypatch.context() as patch:
        patch.setattr(demo, "run_demo", refused)
        failed = bpl("demo", "--data-dir", home, "--batteries", "1")
    assert failed.exit_code == 1
    assert "demo: disk full" in failed.stderr
    assert not home.exists()
    made = bpl("demo", "--data-dir", home, "--batteries", "1")
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["audit"]["ok"] is True


# --- 2: the hint of a missing ledger names `bpl init` ------------------------------------


READ_VERBS = [
    ("chain", "urn:bpl:passport:x"),
    ("chain", "urn:bpl:passport:x", "--verify"),
    ("audit",),
    ("policy", "list"),
    ("policy", "show", "bpl-default", "1"),
    ("log", "checkpoint"),
    ("log", "audit"),
    ("log", "prove-inclusion", "--index", "0"),
    ("log", "prove-consistency", "--old", "0"),
]


@pytest.mark.parametrize("verb", [*READ_VERBS, ("submit", "-"), ("actor", "add")])
def test_no_ledger_says_bpl_init(tmp_path: Path, verb: tuple[str, ...]) -> None:
    """It said "no log in DIR: run `bpl log init` first": a dead end for a ledger user
    (a bare log has no operator, no actors)."""
    args = ["--did", "did:key:z6Mk", "--role", "dismantler", "--name", "Y"] if "add" in verb else []
    result = bpl(*verb, *args, "--data-dir", tmp_path / "none", input="{}")
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"bpl: no ledger in {tmp_path / 'none'}: `bpl init` creates one (`bpl log init`: a "
        "bare transparency log)\n"
    )
    assert not (tmp_path / "none").exists()


# --- 3: a read-only verb creates nothing ------------------------------------------------


@pytest.fixture
def log_files_only(tmp_path: Path) -> Path:
    """A data directory with a ledger's files (log key, settings, operator key) and no
    database: the ledger was made with $DATABASE_URL set, which is now unset."""
    made = tmp_path / "made"
    assert bpl("init", "--data-dir", made).exit_code == 0
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    for name in ("log.json", "log.key", "log.pub", "operator.json"):
        (home / name).write_bytes((made / name).read_bytes())
        (home / name).chmod(0o600)
    return home


@pytest.mark.parametrize("verb", READ_VERBS)
def test_a_read_verb_without_a_database_creates_none(
    log_files_only: Path, verb: tuple[str, ...]
) -> None:
    """It created an empty ledger.db (schema and all), and `bpl audit` then reported "the
    log issued no checkpoint for size 0", which reads like tampering."""
    result = bpl(*verb, "--data-dir", log_files_only)
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"bpl: no ledger in {log_files_only}: its log's files are there but no database "
        f"({log_files_only / 'ledger.db'}); set $DATABASE_URL if the ledger keeps its database "
        "elsewhere\n"
    )
    assert sorted(p.name for p in log_files_only.iterdir()) == [
        "log.json",
        "log.key",
        "log.pub",
        "operator.json",
    ]


@pytest.mark.parametrize("verb", [("audit",), ("chain", "x"), ("log", "checkpoint")])
def test_a_read_verb_on_an_empty_database_writes_nothing_to_it(
    log_files_only: Path,
    empty_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    verb: tuple[str, ...],
) -> None:
    """$DATABASE_URL naming an empty database (SQLite file or PostgreSQL): no schema, no
    identity written into it, and for SQLite no file created."""
    monkeypatch.setenv("DATABASE_URL", empty_database_url)
    result = bpl(*verb, "--data-dir", log_files_only)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"bpl: no ledger in {log_files_only}: ")
    if empty_database_url.startswith("sqlite"):
        assert not Path(empty_database_url.removeprefix("sqlite:///")).exists()
        return
    engine = sa.create_engine(empty_database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        assert sa.inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
    assert "is empty" in result.stderr


# --- 4: disclosures are verified --------------------------------------------------------

PASSPORT = "urn:bpl:passport:5b0e6a1c-2f4d-4e8a-9c3b-7d1e2f3a4b5c"
TEST = (
    "testedOn=2031-05-02",
    "method=bms-readout",
    "soce=84.5",
    "damaged=false",
    "accidents=0",
    "overchargeEvents=0",
    "cellSohSpread=2.0",
)


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return result


def save(path: Path, result: Any) -> Path:
    path.write_text(ok(result).stdout)
    return path


class Session:
    """A ledger (``home``) with a registered manufacturer and dismantler (``maker.json``)
    that published a battery model, issued PASSPORT naming it and tested it (SoCE 84.5):
    its submissions and receipts in ``work``."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.home = work / "home"
        ok(bpl("init", "--data-dir", self.home))
        save(work / "maker.pub.json", bpl("keys", "new", "--out", work / "maker.json", "--json"))
        self.maker = json.loads((work / "maker.pub.json").read_text())["id"]
        roles = ("--role", "manufacturer", "--role", "dismantler")
        ok(self("actor", "add", "--did", self.maker, *roles, "--name", "Volta"))
        (work / "model.json").write_text(json.dumps(v2_data.model(self.maker)))
        published = save(
            work / "model-signed.json",
            self(
                "record",
                "new",
                "BatteryModelPublished",
                "--subject",
                v2_data.MODEL_ID,
                "--key",
                work / "maker.json",
                "--data",
                work / "model.json",
            ),
        )
        model_record = json.loads(ok(self("submit", published)).stdout)["recordHash"]
        battery = v2_data.passport(self.maker, model_record, "SN-0001")
        (work / "battery.json").write_text(json.dumps(battery))
        self.issued = save(
            work / "issued.json", self.new("PassportIssued", "--data", work / "battery.json")
        )
        self.receipt = save(work / "receipt.json", self("submit", self.issued))
        self.test = save(
            work / "test.json", self.new("DiagnosticTest", *(f"--set={f}" for f in TEST))
        )
        save(work / "test-receipt.json", self("submit", self.test))

    def __call__(self, *args: str | Path, input: str | None = None) -> Any:
        return bpl(*args, "--data-dir", self.home, input=input)

    def new(self, kind: str, *args: str | Path, key: str = "maker.json") -> Any:
        return self("record", "new", kind, "--passport", PASSPORT, "--key", self.work / key, *args)


@pytest.fixture
def session(tmp_path: Path) -> Session:
    return Session(tmp_path)


def test_chain_verify_checks_every_stored_disclosure(session: Session) -> None:
    """A stored SoCE changed from 84.5 to 94.5 in ledger_disclosures verified ok."""
    assert json.loads(ok(session("chain", PASSPORT, "--verify", "--json")).stdout)["ok"] is True
    engine = sa.create_engine(f"sqlite:///{session.home / 'ledger.db'}")
    with engine.begin() as connection:
        rows = connection.execute(sa.text("SELECT leaf_index, body FROM ledger_disclosures"))
        [(leaf, body)] = [(leaf, body) for leaf, body in rows if b"84.5" in body]
        connection.execute(
            sa.text("UPDATE ledger_disclosures SET body = :b WHERE leaf_index = :l"),
            {"b": bytes(body).replace(b"84.5", b"94.5"), "l": leaf},
        )
    engine.dispose()
    tampered = session("chain", PASSPORT, "--verify", "--json")
    assert tampered.exit_code == 1, tampered.output
    reason = "disclosure: the 'performance' disclosure does not match its digest in the record"
    assert json.loads(tampered.stdout)["reason"] == reason
    assert tampered.stderr == f"bpl: chain {PASSPORT}: record 1: {reason}\n"


def test_verify_checks_a_submissions_disclosures(session: Session) -> None:
    """`bpl verify` of a submission whose disclosure was altered said "verified"."""
    checked = ok(bpl("verify", session.test))
    assert checked.stderr == "bpl: verified 1 proof and 1 disclosure\n"
    submission = json.loads(session.test.read_text())
    submission["disclosures"][0]["soce"] = 94.5
    altered = bpl("verify", "--json", "-", input=json.dumps(submission))
    assert altered.exit_code == 1
    reason = "disclosures: the 'performance' disclosure does not match its digest in the record"
    assert altered.stderr == f"bpl: {reason}\n"
    report = json.loads(altered.stdout)
    assert report["verified"] is False and report["error"] == reason
    assert report["proofs"][0]["verified"] is True  # the record itself is intact
    submission["disclosures"] = []
    dropped = bpl("verify", "-", input=json.dumps(submission))
    assert dropped.exit_code == 1
    assert "no disclosure for group 'performance'" in dropped.stderr


# --- 5: records signed with an added key ----------------------------------------------------


def test_a_rotated_key_signs_for_its_actor_with_issuer(session: Session) -> None:
    """After `bpl actor add-key` and the old key's revocation, `bpl record new --key
    new.json` made the new key's did:key the issuer, and the ledger refused the record."""
    work = session.work
    new = json.loads(ok(bpl("keys", "new", "--out", work / "new.json", "--json")).stdout)
    added = session("actor", "add-key", "--did", session.maker, "--key", new["id"], "--json")
    assert json.loads(ok(added).stdout)["subject"] == session.maker
    revoked = session(
        "actor",
        "revoke-key",
        "--did",
        session.maker,
        "--key",
        session.maker + "#" + session.maker[8:],
        "--reason",
        "superseded",
    )
    ok(revoked)
    old = save(work / "old.json", session.new("StatusChange", "--set", "status=waste"))
    assert "revoked" in session("submit", old).stderr
    own = save(
        work / "own.json", session.new("StatusChange", "--set", "status=waste", key="new.json")
    )
    refused = session("submit", own)
    assert refused.exit_code == 1
    assert f"not of the issuer {new['id']}" in refused.stderr
    rotated = session.new(
        "StatusChange", "--set", "status=waste", "--issuer", session.maker, key="new.json"
    )
    record = json.loads(ok(rotated).stdout)["record"]
    assert record["issuer"] == session.maker
    assert record["proof"]["verificationMethod"] == new["verificationMethod"]
    path = save(work / "rotated.json", rotated)
    assert json.loads(ok(session("submit", path)).stdout)["sequence"] == 2
    not_a_did = session.new(
        "StatusChange", "--set", "status=waste", "--issuer", "Volta", key="new.json"
    )
    assert not_a_did.exit_code == 2
    assert "--issuer takes the actor's DID" in not_a_did.stderr


# --- 6: help and schema errors say every allowed value --------------------------------------


def test_revoke_key_help_names_the_key_form_and_every_reason(session: Session) -> None:
    shown = " ".join(
        ok(bpl("actor", "revoke-key", "--help", env={"COLUMNS": "200"})).stdout.split()
    )
    assert "its did:key, or its verification method" in shown
    assert "compromised|superseded|retired|unspecified" in shown
    wrong = session(
        "actor", "revoke-key", "--did", session.maker, "--key", session.maker, "--reason", "lost"
    )
    assert wrong.exit_code == 2
    assert "'lost' is not one of 'compromised', 'superseded', 'retired', 'unspecified'" in " ".join(
        wrong.stderr.replace("│", " ").split()
    )
    # The did:key itself is taken (it was refused by the schema: a method URL was needed).
    revoked = session(
        "actor", "revoke-key", "--did", session.maker, "--key", session.maker, "--reason", "retired"
    )
    method = session.maker + "#" + session.maker.removeprefix("did:key:")
    assert ok(revoked).stdout.startswith(f"revoked key {method} of {session.maker} (retired)")


def test_a_schema_refusal_names_every_allowed_value(session: Session) -> None:
    """The validator's message stopped at two values "or 3 other candidates"."""
    made = json.loads(ok(session.new("StatusChange", "--set", "status=waste")).stdout)
    record, [disclosure] = made["record"], made["disclosures"]
    disclosure["status"] = "bogus"  # then digested and signed again, as a careless client would
    canonical = json.dumps(disclosure, sort_keys=True, separators=(",", ":")).encode()
    digest = "sha256:" + hashlib.sha256(canonical).hexdigest()
    record["credentialSubject"]["disclosures"]["performance"] = digest
    del record["proof"]
    path = session.work / "bogus.json"
    path.write_text(json.dumps({"record": record, "disclosures": [disclosure]}))
    save(path, bpl("sign", "--key", session.work / "maker.json", path))
    refused = session("submit", path)
    assert refused.exit_code == 1
    assert refused.stderr == (
        'bpl: refused: schema: StatusChange: $.status: "bogus" is not one of "original", '
        '"repurposed", "re-used", "remanufactured" or "waste"\n'
    )


# --- 7: record new validates against the kind's schema before signing ------------------------


@pytest.mark.parametrize(
    ("kind", "fields", "message"),
    [
        (
            "StatusChange",
            ("status=bogus",),
            'StatusChange: status: "bogus" is not one of "original", "repurposed", "re-used", '
            '"remanufactured" or "waste"',
        ),
        (
            "DiagnosticTest",
            (*(f.replace("2031-05-02", "yesterday") for f in TEST), "grade=reuse"),
            'DiagnosticTest: testedOn: "yesterday" does not match "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"',
        ),
        ("StatusChange", (), "StatusChange: 'status' is required"),
        ("Recycled", ("process=hydrometallurgical",), "Recycled: 'recovered' is required"),
        (
            "CustodyTransfer",
            ("from=Volta", "to=did:key:z6Mk", "reason=sale"),
            'CustodyTransfer: from: "Volta" does not match '
            '"^did:[a-z0-9]+:[A-Za-z0-9._:%-]*[A-Za-z0-9._%-]$"',
        ),
    ],
)
def test_record_new_refuses_what_the_schema_refuses_before_signing(
    tmp_path: Path, kind: str, fields: tuple[str, ...], message: str
) -> None:
    """An offline dismantler learnt of `--set status=bogus` only at submit."""
    ok(bpl("keys", "new", "--out", tmp_path / "key.json"))
    made = bpl(
        "record",
        "new",
        kind,
        "--passport",
        PASSPORT,
        "--key",
        tmp_path / "key.json",
        "--sequence",
        "1",
        "--previous",
        "sha256:" + "a" * 64,
        *(f"--set={field}" for field in fields),
    )
    assert made.exit_code == 2, made.output
    assert made.stdout == ""
    assert made.stderr.splitlines()[-1] == f"bpl: {message}"


# --- 8: an unknown chain is no empty chain ----------------------------------------------------


def test_chain_of_an_unknown_passport_exits_1(session: Session) -> None:
    """`bpl chain UNKNOWN` printed [] and exited 0."""
    unknown = "urn:bpl:passport:00000000-0000-4000-8000-000000000000"
    for args in ((), ("--verify",)):
        result = session("chain", unknown, *args)
        assert result.exit_code == 1, result.output
        assert f"{unknown} has no records" in result.stderr
    listed = json.loads(ok(session("chain", PASSPORT)).stdout)
    assert [r["credentialSubject"]["sequence"] for r in listed] == [0, 1]


# --- 9: a receipt verified offline ----------------------------------------------------------


def test_verify_a_receipt_offline_with_the_log_key(session: Session, tmp_path: Path) -> None:
    """No verb verified the receipt `bpl submit` prints."""
    log_key = session.home / "log.pub"
    receipt = session.receipt
    verified = ok(bpl("verify", receipt, "--log-key", log_key, "--record", session.issued))
    origin = "bpl.localhost/log"
    shown = json.loads(receipt.read_text())
    assert verified.stderr == (
        f"bpl: receipt verified: record {shown['recordHash']} is leaf {shown['leafIndex']} of "
        f"{origin} at size {shown['treeSize']}\n"
    )
    key_text = log_key.read_text().strip()
    report = json.loads(ok(bpl("verify", "--json", receipt, "--log-key", key_text)).stdout)
    assert report == {
        "verified": True,
        "error": None,
        "recordHash": shown["recordHash"],
        "leafIndex": shown["leafIndex"],
        "treeSize": shown["treeSize"],
        "origin": origin,
        "recordChecked": False,
    }

    def refused(changed: dict[str, Any], *args: str | Path) -> str:
        path = tmp_path / "changed.json"
        path.write_text(json.dumps(changed))
        result = bpl("verify", path, "--log-key", log_key, *args)
        assert result.exit_code == 1, result.output
        return str(result.stderr)

    other = session.work / "test.json"  # another record of the ledger
    assert "the record is not the receipt's" in refused(shown, "--record", other)
    proof = [("0" if h[0] != "0" else "1") + h[1:] for h in shown["inclusionProof"]]
    assert "inclusion proof does not verify" in refused({**shown, "inclusionProof": proof})
    assert "inclusion proof does not verify" in refused({**shown, "leafIndex": 0})
    size = shown["treeSize"]
    forged = shown["checkpoint"].replace(f"\n{size}\n", f"\n{size + 1}\n", 1)
    assert forged != shown["checkpoint"]
    assert "checkpoint does not verify" in refused({**shown, "checkpoint": forged})
    elsewhere = tmp_path / "elsewhere"
    ok(bpl("init", "--data-dir", elsewhere))
    result = bpl("verify", receipt, "--log-key", elsewhere / "log.pub")
    assert result.exit_code == 1
    assert "checkpoint does not verify with the log key" in result.stderr

    older = {k: v for k, v in shown.items() if k != "leafHash"}  # a receipt of an older bpl
    path = tmp_path / "older.json"
    path.write_text(json.dumps(older))
    needs = bpl("verify", path, "--log-key", log_key)
    assert needs.exit_code == 2
    assert "no leafHash (an older bpl's): give --record FILE" in needs.stderr
    ok(bpl("verify", path, "--log-key", log_key, "--record", session.issued))
    no_key = bpl("verify", receipt)
    assert no_key.exit_code == 2
    assert "is a receipt: verify it with the log's key, --log-key" in no_key.stderr


# --- 10: every verb's help reads cleanly -----------------------------------------------------


def verbs(group: TyperGroup, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path under ``group``, groups included."""
    found = [path]
    context = typer.Context(group)
    for name in group.list_commands(context):
        command = group.get_command(context, name)  # the root loads its verbs on demand
        if isinstance(command, TyperGroup):
            found += verbs(command, (*path, name))
        else:
            found.append((*path, name))
    return found


ROOT = typer.main.get_command(app)
assert isinstance(ROOT, TyperGroup)
VALUE = re.compile(r"[A-Z][A-Z_]*(=[A-Z]+)?(\|[A-Z-]+)?(\.\.\.)?|[a-z0-9-]+(\|[a-z0-9-]+)+")
"""A value's metavar: FILE, URL=FILE, KEY|FILE, INPUT|-, choices (a|b|c), or one given
one or more times (PASSPORT..., click's own notation)."""


@pytest.mark.parametrize("path", verbs(ROOT), ids=lambda p: " ".join(p) or "bpl")
def test_every_verbs_help_reads_cleanly(path: tuple[str, ...]) -> None:
    """`did:key:` showed as an emoji (rich markup), flags as `--verify <bool>`, usage lines
    mixed {subject}, <str> and FILE, and command lists broke off mid-sentence ("...")."""
    shown = bpl(*path, "--help", env={"COLUMNS": "80"})
    assert shown.exit_code == 0, shown.output
    text = shown.stdout
    assert text.isascii(), text  # no emoji, no box drawing
    assert not re.search(r"<\w+[^>]*>", text), text  # <bool>, <str>, <path>
    usage = text.splitlines()[0]
    assert usage.startswith("Usage: bpl" + "".join(f" {p}" for p in path)), usage
    for token in usage.split()[2 + len(path) :]:
        assert token in ("[OPTIONS]", "COMMAND", "[ARGS]...") or VALUE.fullmatch(token), usage
    for line in text.splitlines()[1:]:
        assert not line.rstrip().endswith("..."), line  # a short help cut off
        assert len(line) <= 80, line
    command = ROOT
    for name in path:
        assert isinstance(command, TyperGroup)
        command = command.get_command(typer.Context(command), name)
    for param in command.params:
        if isinstance(param, TyperOption) and param.is_flag:
            continue
        assert param.metavar and VALUE.fullmatch(param.metavar), (param.name, param.metavar)


def test_did_key_shows_as_text_in_help() -> None:
    shown = bpl("actor", "revoke-key", "--help", env={"COLUMNS": "80"}).stdout
    assert "did:key:z...#z..." in " ".join(shown.split())


# --- 11: output a script can rely on ---------------------------------------------------------


def test_sign_out_writes_whole_or_not_at_all(tmp_path: Path) -> None:
    """`bpl sign ... > out.json` left an empty out.json when signing failed."""
    ok(bpl("keys", "new", "--out", tmp_path / "key.json"))
    doc = tmp_path / "doc.json"
    doc.write_text(json.dumps({"id": "urn:x:1"}))
    out = tmp_path / "signed.json"
    failed = bpl(
        "sign", "--key", tmp_path / "key.json", "--suite", "eddsa-rdfc-2022", doc, "--out", out
    )
    assert failed.exit_code == 2  # nothing the document's @context defines: nothing to sign
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["doc.json", "key.json"]  # no temporary
    signed = ok(bpl("sign", "--key", tmp_path / "key.json", doc, "--out", out))
    assert signed.stdout == ""
    assert json.loads(out.read_text())["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    assert out.stat().st_mode & 0o777 == 0o666 & ~current_umask()
    ok(bpl("keys", "new", "--out", tmp_path / "other.json"))
    ok(bpl("sign", "--key", tmp_path / "other.json", out, "--out", out))  # in place
    assert len(json.loads(out.read_text())["proof"]) == 2
    unwritable = bpl(
        "sign", "--key", tmp_path / "key.json", doc, "--out", tmp_path / "no" / "x.json"
    )
    assert unwritable.exit_code == 2
    assert "cannot write" in unwritable.stderr


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("verb", [("verify",), ("submit", "--data-dir", "unused")])
def test_a_size_error_names_the_real_size(tmp_path: Path, verb: tuple[str, ...]) -> None:
    """It said "document is 1048577 bytes" of a 3,000,000-byte file: what was read."""
    big = tmp_path / "big.json"
    big.write_bytes(b" " * 3_000_000)
    result = bpl(*verb, big)
    assert result.exit_code == 2
    assert result.stderr == f"bpl: {big} is 3000000 bytes; the limit is 1048576\n"
    piped = bpl(*verb, "-", input=" " * 2_000_000)
    assert piped.exit_code == 2
    assert piped.stderr == "bpl: stdin is 2000000 bytes; the limit is 1048576\n"


def test_a_leaf_larger_than_a_document_is_read_whole(tmp_path: Path) -> None:
    """A 2 MiB leaf (the log takes up to 4 MiB) was read as its first 1 MiB and 1 byte:
    its hash was not the leaf's."""
    home = tmp_path / "log"
    ok(bpl("log", "init", "--data-dir", home))
    leaf = tmp_path / "leaf.bin"
    leaf.write_bytes(b"x" * (2 * 1024 * 1024))
    log = DataDir(home).open_log(writable=True)
    log.append([leaf.read_bytes()])
    log.engine.dispose()
    proof = json.loads(ok(bpl("log", "prove-inclusion", "--leaf", leaf, "--data-dir", home)).stdout)
    assert proof["leafIndex"] == 0
    huge = tmp_path / "huge.bin"
    huge.write_bytes(b"x" * (5 * 1024 * 1024))
    refused = bpl("log", "prove-inclusion", "--leaf", huge, "--data-dir", home)
    assert refused.exit_code == 2
    assert refused.stderr == f"bpl: {huge} is 5242880 bytes; the limit is 4194304\n"


def test_sign_refuses_a_key_that_signed_the_document_already(tmp_path: Path) -> None:
    """A proof set with the same key twice was made, and verified."""
    ok(bpl("keys", "new", "--out", tmp_path / "key.json"))
    once = ok(bpl("sign", "--key", tmp_path / "key.json", "-", input='{"id": "urn:x:1"}'))
    twice = bpl("sign", "--key", tmp_path / "key.json", "-", input=once.stdout)
    assert twice.exit_code == 2
    method = json.loads(once.stdout)["proof"]["verificationMethod"]
    assert twice.stderr == (
        f"bpl: stdin already carries a proof by this key ({method}): a proof set takes each "
        "signer once\n"
    )
    submission = json.dumps({"record": json.loads(once.stdout), "disclosures": []})
    again = bpl("sign", "--key", tmp_path / "key.json", "-", input=submission)
    assert again.exit_code == 2
    assert "already carries a proof by this key" in again.stderr


def test_json_refusals_name_the_rule_and_a_stale_records_head(session: Session) -> None:
    """A script read "refused: sequence: ..." from stderr, and the head from nowhere."""
    first = save(session.work / "a.json", session.new("StatusChange", "--set", "status=waste"))
    second = save(session.work / "b.json", session.new("StatusChange", "--set", "status=waste"))
    receipt = json.loads(ok(session("submit", first, "--json")).stdout)
    stale = session("submit", second, "--json")
    assert stale.exit_code == 1
    refusal = json.loads(stale.stdout)
    assert refusal["ok"] is False
    error = refusal["error"]
    assert (error["exitCode"], error["rule"], error["index"]) == (1, "sequence", None)
    assert error["head"] == {"sequence": 2, "recordHash": receipt["recordHash"]}
    assert error["message"] in stale.stderr and stale.stderr.startswith("bpl: refused: sequence:")
    unusable = bpl("audit", "--json", "--data-dir", session.work / "none")
    assert unusable.exit_code == 2
    assert json.loads(unusable.stdout)["error"] == {
        "exitCode": 2,
        "rule": None,
        "message": f"no ledger in {session.work / 'none'}: `bpl init` creates one (`bpl log "
        "init`: a bare transparency log)",
        "head": None,
    }


@pytest.mark.parametrize(
    ("verb", "human", "keys"),
    [
        (("audit",), "audit ok: 5 records", {"ok", "records", "recordHash", "reason"}),
        (("chain", PASSPORT, "--verify"), f"chain {PASSPORT}: 2 records verified", {"ok"}),
        (("policy", "list"), "bpl-default 1 sha256:", None),
        (("log", "audit"), "log intact: 5 leaves", {"ok", "origin", "size"}),
    ],
)
def test_reports_are_text_and_json_with_json(
    session: Session, verb: tuple[str, ...], human: str, keys: set[str] | None
) -> None:
    text = ok(session(*verb)).stdout
    assert text.startswith(human)
    shown = json.loads(ok(session(*verb, "--json")).stdout)
    if keys is not None:
        assert keys <= set(shown) and shown["ok"] is True


def test_init_and_actor_add_say_what_they_did(tmp_path: Path) -> None:
    made = ok(bpl("init", "--data-dir", tmp_path / "a")).stdout
    assert made.startswith("operator: did:key:z6Mk") and "\nlog key:  bpl.localhost/log+" in made
    shown = json.loads(ok(bpl("init", "--data-dir", tmp_path / "b", "--json")).stdout)
    assert set(shown) == {"dataDir", "origin", "operator", "logKey"}
    key = json.loads(ok(bpl("keys", "new", "--out", tmp_path / "k.json", "--json")).stdout)["id"]
    args = ("actor", "add", "--did", key, "--role", "recycler", "--name", "R", "--data-dir")
    added = ok(bpl(*args, tmp_path / "a")).stdout
    assert added.startswith(f"registered {key} (recycler): record sha256:")
    receipt = json.loads(ok(bpl(*args, tmp_path / "b", "--json")).stdout)
    assert receipt["subject"] == key and receipt["sequence"] == 0


def test_a_long_audit_says_so_on_stderr(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    audit = Ledger.audit

    def slow(self: Ledger, **kwargs: Any) -> Any:
        time.sleep(0.3)
        return audit(self, **kwargs)

    monkeypatch.setattr(output, "PROGRESS_SECONDS", 0.05)
    monkeypatch.setattr(Ledger, "audit", slow)
    result = ok(session("audit"))
    lines = result.stderr.splitlines()
    assert lines[0] == "bpl: auditing 5 log entries and every stored row..."
    assert re.fullmatch(r"bpl: done in 0\.\d s", lines[1])
    assert result.stdout.startswith("audit ok")


# --- 12: unusable input exits 2, everywhere --------------------------------------------------


def test_unusable_input_exits_2_everywhere(session: Session, tmp_path: Path) -> None:
    """These exited 1, as if a record or a proof had been checked and refused."""
    not_json = tmp_path / "not.json"
    not_json.write_text("{oops")
    array = tmp_path / "array.json"
    array.write_text("[1, 2]")
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("not a checkpoint\n")
    log_key = session.home / "log.pub"
    proof = save(tmp_path / "proof.json", session("log", "prove-inclusion", "--index", "0"))
    cases = [
        (("submit", not_json), "refused: parse: "),
        (("submit", array), "refused: parse: "),
        (
            ("actor", "add", "--did", "did:key:z6Mk", "--role", "wizard", "--name", "W"),
            "refused: schema: ActorRegistered: $.credentialSubject.roles[0]: ",
        ),
        (("verify", session.receipt, "--log-key", "garbage"), "--log-key holds no log verifier"),
        (("verify", session.receipt, "--log-key", garbage), f"the file {garbage} holds no log"),
        (
            ("log", "verify-inclusion", proof, "--checkpoint", garbage, "--log-key", log_key),
            f"{garbage}: checkpoint signature: malformed note",
        ),
        (
            ("log", "verify-inclusion", proof, "--checkpoint", garbage, "--log-key", "x+y+z"),
            "--log-key holds no log verifier key",
        ),
    ]
    for args, message in cases:
        data_dir = ("--data-dir", session.home) if args[0] in ("submit", "actor") else ()
        result = bpl(*args, *data_dir)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith(f"bpl: {message}"), (args, result.stderr)
    receipt = json.loads(session.receipt.read_text())
    receipt["checkpoint"] = "not a note"
    broken = tmp_path / "receipt.json"
    broken.write_text(json.dumps(receipt))
    result = bpl("verify", broken, "--log-key", log_key)
    assert result.exit_code == 2
    assert "the receipt's checkpoint is no signed note" in result.stderr
