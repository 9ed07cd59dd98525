"""``bpl init``, ``actor``, ``record new``, ``submit``, ``chain``, ``audit``: refusals and
offline signing (the happy path runs as the README's dismantler session)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from cli.main import app
from ledger.core import grading
from ledger.core.access import OPERATOR_READER, PUBLIC, Reader
from ledger.facade import Ledger

runner = CliRunner()
PASSPORT = "urn:bpl:passport:7c9e6679-7425-40de-944b-e07fc1f90ae7"


def bpl(*args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ledger with a registered manufacturer (maker.json) and an unregistered key."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    data = tmp_path / "home"
    assert bpl("init", "--data-dir", data).exit_code == 0
    for name in ("maker", "stranger"):
        assert bpl("keys", "new", "--out", tmp_path / f"{name}.json").exit_code == 0
    maker = json.loads(bpl("keys", "show", "--json", tmp_path / "maker.json").stdout)["id"]
    added = bpl(
        "actor",
        "add",
        "--data-dir",
        data,
        "--did",
        maker,
        "--role",
        "manufacturer",
        "--name",
        "Volta",
    )
    assert added.exit_code == 0, added.output
    (tmp_path / "maker.did").write_text(maker)
    return data


def new_record(home: Path, key: str, *fields: str, options: tuple[str | Path, ...] = ()) -> Any:
    args = [*(f"--set={f}" for f in fields), *options]
    return bpl(
        "record",
        "new",
        "StatusChange",
        "--passport",
        PASSPORT,
        "--key",
        home.parent / f"{key}.json",
        "--data-dir",
        home,
        *args,
    )


def new_offline(tmp_path: Path, kind: str, *args: str | Path) -> Any:
    """``bpl record new KIND`` by the maker at sequence 1, signed offline (the position
    given), with ``args``."""
    return bpl(
        "record",
        "new",
        kind,
        "--passport",
        PASSPORT,
        "--key",
        tmp_path / "maker.json",
        "--sequence",
        "1",
        "--previous",
        "sha256:" + "a" * 64,
        *args,
    )


def test_init_refuses_an_existing_ledger(home: Path) -> None:
    again = bpl("init", "--data-dir", home)
    assert again.exit_code == 2
    assert "exists" in again.stderr


def test_a_refused_record_exits_1_with_its_rule(home: Path, tmp_path: Path) -> None:
    record = bpl(
        "record",
        "new",
        "StatusChange",
        "--passport",
        PASSPORT,
        "--key",
        tmp_path / "stranger.json",
        "--sequence",
        "1",
        "--previous",
        "sha256:" + "0" * 64,
        "--set",
        "status=waste",
    )
    assert record.exit_code == 0, record.output
    path = tmp_path / "status.json"
    path.write_text(record.stdout)
    before = bpl("log", "checkpoint", "--data-dir", home).stdout
    refused = bpl("submit", path, "--data-dir", home)
    assert refused.exit_code == 1
    assert f"refused: sequence: {PASSPORT} has no records yet" in refused.stderr
    assert bpl("log", "checkpoint", "--data-dir", home).stdout == before  # nothing stored


def test_unknown_fields_and_missing_positions_exit_2(home: Path, tmp_path: Path) -> None:
    unknown = new_record(home, "maker", "colour=blue")
    assert unknown.exit_code == 2
    assert "StatusChange has no field 'colour'" in unknown.stderr
    no_previous = bpl(
        "record",
        "new",
        "StatusChange",
        "--passport",
        PASSPORT,
        "--key",
        tmp_path / "maker.json",
        "--sequence",
        "3",
    )
    assert no_previous.exit_code == 2
    assert "--previous" in no_previous.stderr


def test_offline_signing_and_countersigning_a_submission(home: Path, tmp_path: Path) -> None:
    maker = (tmp_path / "maker.did").read_text()
    made = new_offline(
        tmp_path,
        "CustodyTransfer",
        "--set",
        f"from={maker}",
        "--set",
        "to=did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        "--set",
        "reason=sale",
    )
    assert made.exit_code == 0, made.output
    submission = json.loads(made.stdout)
    assert "reason" not in json.dumps(submission["record"])  # restricted: in the disclosure
    assert submission["disclosures"][0]["reason"] == "sale"
    path = tmp_path / "transfer.json"
    path.write_text(made.stdout)
    countersigned = bpl("sign", "--key", tmp_path / "stranger.json", path)
    assert countersigned.exit_code == 0, countersigned.output
    both = json.loads(countersigned.stdout)
    assert len(both["record"]["proof"]) == 2
    assert both["disclosures"] == submission["disclosures"]
    path.write_text(countersigned.stdout)
    assert bpl("verify", path).exit_code == 0


def test_chain_and_audit(home: Path) -> None:
    missing = bpl("chain", PASSPORT, "--verify", "--data-dir", home)
    assert missing.exit_code == 1
    assert f"no such passport or chain: {PASSPORT} has no records" in missing.stderr
    audit = bpl("audit", "--data-dir", home, "--json")
    assert audit.exit_code == 0, audit.output
    assert json.loads(audit.stdout)["ok"] is True
    human = bpl("audit", "--data-dir", home)
    assert human.stdout.startswith("audit ok: 2 records")


def test_chain_and_audit_from_a_database_url_alone(home: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{home / 'ledger.db'}"
    maker = (tmp_path / "maker.did").read_text()
    audit = bpl("audit", "--database-url", url, "--json")
    assert audit.exit_code == 0, audit.output
    assert json.loads(audit.stdout) == json.loads(bpl("audit", "--data-dir", home, "--json").stdout)
    chain = bpl("chain", maker, "--verify", "--database-url", url, "--json")
    assert chain.exit_code == 0, chain.output
    assert json.loads(chain.stdout)["records"] == 1
    listed = bpl("chain", maker, "--database-url", url)
    assert json.loads(listed.stdout) == json.loads(bpl("chain", maker, "--data-dir", home).stdout)


def test_database_url_refusals(home: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{home / 'ledger.db'}"
    both = bpl("audit", "--database-url", url, "--data-dir", home)
    assert both.exit_code == 2
    assert "not both" in both.stderr
    path_only = bpl("chain", PASSPORT, "--database-url", str(home / "ledger.db"))
    assert path_only.exit_code == 2
    assert "takes a URL" in path_only.stderr
    missing = bpl("audit", "--database-url", f"sqlite:///{tmp_path / 'none.db'}")
    assert missing.exit_code == 2
    assert "no database file" in missing.stderr
    assert not (tmp_path / "none.db").exists()


def policy_document(**changes: Any) -> dict[str, Any]:
    """A ledger's own grading policy (docs/grading.md), with ``changes``."""
    return {
        "id": "acme-strict",
        "version": "2025.1",
        "stateOfHealth": ["soce"],
        "grades": [
            {"grade": "reuse", "minSoh": 85},
            {"grade": "repurpose", "minSoh": 65},
            {"grade": "recycle"},
        ],
        "knockOuts": [],
    } | changes


def test_policy_add_and_list(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "strict.json"
    path.write_text(json.dumps(policy_document(), indent=2))
    added = bpl("policy", "add", path, "--data-dir", home, "--json")
    assert added.exit_code == 0, added.output
    shown = json.loads(added.stdout)
    assert shown == {
        "id": "acme-strict",
        "version": "2025.1",
        "digest": grading.load_policy(path).digest,
    }
    # On the log, signed by the operator; the same file again appends nothing.
    chain = bpl("chain", "urn:bpl:grading-policy:acme-strict", "--data-dir", home)
    assert chain.exit_code == 0, chain.output
    [registration] = json.loads(chain.stdout)
    assert registration["type"] == ["VerifiableCredential", "GradingPolicyRegistered"]
    assert registration["credentialSubject"]["digest"] == shown["digest"]
    again = bpl("policy", "add", path, "--data-dir", home, "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == shown
    assert (
        len(
            json.loads(
                bpl("chain", "urn:bpl:grading-policy:acme-strict", "--data-dir", home).stdout
            )
        )
        == 1
    )
    assert bpl("audit", "--data-dir", home).exit_code == 0

    listed = bpl("policy", "list", "--data-dir", home, "--json")
    assert listed.exit_code == 0, listed.output
    policies = json.loads(listed.stdout)
    assert [(p["id"], p["version"], p["bundled"]) for p in policies] == [
        ("bpl-default", "1", True),
        ("acme-strict", "2025.1", False),
    ]
    assert policies[0]["digest"] == grading.load_policy().digest
    assert policies[0]["registeredAt"] is None and policies[1]["registeredAt"]
    assert policies[1]["digest"] == shown["digest"]
    url = f"sqlite:///{home / 'ledger.db'}"
    assert json.loads(bpl("policy", "list", "--database-url", url, "--json").stdout) == policies
    lines = bpl("policy", "list", "--data-dir", home).stdout.splitlines()
    assert lines[0] == f"bpl-default 1 {policies[0]['digest']} bundled"
    assert lines[1].startswith(f"acme-strict 2025.1 {shown['digest']} registered 20")


def test_policy_add_refusals(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "strict.json"
    path.write_text(json.dumps(policy_document()))
    assert bpl("policy", "add", path, "--data-dir", home).exit_code == 0
    digest = grading.load_policy(path).digest
    path.write_text(json.dumps(policy_document(grades=[{"grade": "recycle"}])))
    changed = bpl("policy", "add", path, "--data-dir", home)
    assert changed.exit_code == 1
    assert "refused: grading policy acme-strict version 2025.1 is registered" in changed.stderr
    assert digest in changed.stderr and grading.load_policy(path).digest in changed.stderr
    path.write_text(json.dumps(policy_document(id="bpl-default", version="2")))
    reserved = bpl("policy", "add", path, "--data-dir", home)
    assert reserved.exit_code == 1
    assert "id bpl-default is reserved" in reserved.stderr
    path.write_text(json.dumps(policy_document(stateOfHealth=["damaged"])))
    invalid = bpl("policy", "add", path, "--data-dir", home)
    assert invalid.exit_code == 2
    assert "$.stateOfHealth[0]: 'damaged' is not a measure of kind amount" in invalid.stderr
    missing = bpl("policy", "add", tmp_path / "absent.json", "--data-dir", home)
    assert missing.exit_code == 2
    assert "cannot read it" in missing.stderr
    listed = json.loads(bpl("policy", "list", "--data-dir", home, "--json").stdout)
    assert [p["digest"] for p in listed][1:] == [digest]  # nothing else stored


BASE_MEASURES = (
    "testedOn=2031-05-02",
    "method=bms-readout",
    "soce=90",
    "damaged=false",
    "accidents=0",
    "overchargeEvents=0",
    "cellSohSpread=2",
)
"""A test's date, method and measures: reuse under bpl-default."""


def diagnostic(
    tmp_path: Path,
    *fields: str,
    base: tuple[str, ...] = BASE_MEASURES,
    options: tuple[str, ...] = (),
) -> Any:
    """``bpl record new DiagnosticTest`` (signed offline) with ``fields`` besides ``base``."""
    return new_offline(
        tmp_path,
        "DiagnosticTest",
        *(f"--set={field}" for field in base),
        *(f"--set={field}" for field in fields),
        *options,
    )


def measures(made: Any) -> dict[str, Any]:
    assert made.exit_code == 0, made.output
    disclosed: dict[str, Any] = json.loads(made.stdout)["disclosures"][0]
    return disclosed


def test_record_new_grades_a_diagnostic_test(home: Path, tmp_path: Path) -> None:
    """Without a grade, the record gets the one its policy gives, the reasons on stderr;
    the policy's digest is filled in (ADR 0012). Default: bpl-default version 1."""
    default = grading.load_policy()
    graded = diagnostic(tmp_path)
    assert measures(graded)["grade"] == "reuse"
    assert measures(graded)["gradingPolicy"] == grading.policy_ref(default)
    assert "graded reuse under bpl-default version 1: soce 90 % >= reuse threshold" in (
        graded.stderr
    )
    path = tmp_path / "strict.json"
    path.write_text(json.dumps(policy_document(grades=[{"grade": "recycle"}])))
    strict = json.dumps({"id": "acme-strict", "version": "2025.1"})
    local = ("--data-dir", home)
    unknown = diagnostic(tmp_path, f"gradingPolicy={strict}", options=local)
    assert unknown.exit_code == 2
    assert "acme-strict version 2025.1 is neither bundled with bpl nor registered" in (
        unknown.stderr
    )
    assert bpl("policy", "add", path, "--data-dir", home).exit_code == 0
    registered = measures(diagnostic(tmp_path, f"gradingPolicy={strict}", options=local))
    assert registered["grade"] == "recycle"
    assert registered["gradingPolicy"] == grading.policy_ref(grading.load_policy(path))
    other = json.dumps(dict(grading.policy_ref(default), digest="sha256:" + "b" * 64))
    mismatch = diagnostic(tmp_path, f"gradingPolicy={other}")
    assert mismatch.exit_code == 2
    assert "the digest given is not that of the policy known here" in mismatch.stderr
    unmeasured = diagnostic(tmp_path, base=("method=bms-readout",))
    assert unmeasured.exit_code == 2
    assert "grading under bpl-default version 1" in unmeasured.stderr


def test_record_new_keeps_a_given_grade(home: Path, tmp_path: Path) -> None:
    """A grade given is kept (the ledger judges it): the policy's digest is filled in, or
    kept as given when given too, for policies this machine does not know (offline)."""
    given = measures(diagnostic(tmp_path, "grade=repurpose"))
    assert given["grade"] == "repurpose"  # not what the policy gives: the ledger refuses it
    assert given["gradingPolicy"] == grading.policy_ref(grading.load_policy())
    elsewhere = {"id": "acme-strict", "version": "2025.1", "digest": "sha256:" + "b" * 64}
    offline = diagnostic(
        tmp_path,
        "grade=reuse",
        f"gradingPolicy={json.dumps(elsewhere)}",
        options=("--data-dir", tmp_path / "none"),
    )
    assert measures(offline)["gradingPolicy"] == elsewhere


def test_a_lab_grades_offline_under_the_policy_the_ledger_shows(home: Path, tmp_path: Path) -> None:
    """``bpl policy show`` prints a policy's document, bundled or registered; a lab grades
    under that file with ``bpl record new --policy``, no ledger at hand, and the record
    carries the registered digest."""
    bundled = bpl("policy", "show", "bpl-default", "1", "--data-dir", home)
    assert bundled.exit_code == 0, bundled.output
    assert json.loads(bundled.stdout) == json.loads(grading.read_policy()[1])
    path = tmp_path / "strict.json"
    path.write_text(json.dumps(policy_document(), indent=2))
    registered = json.loads(bpl("policy", "add", path, "--data-dir", home, "--json").stdout)
    shown = bpl("policy", "show", "acme-strict", "2025.1", "--data-dir", home)
    assert shown.exit_code == 0, shown.output
    copy = tmp_path / "lab-copy.json"
    copy.write_text(shown.stdout)
    assert grading.load_policy(copy).digest == registered["digest"]
    graded = diagnostic(tmp_path, options=("--policy", copy, "--data-dir", tmp_path / "none"))
    assert measures(graded)["grade"] == "reuse"  # 90 % >= 85 %
    assert measures(graded)["gradingPolicy"] == {
        "id": "acme-strict",
        "version": "2025.1",
        "digest": registered["digest"],
    }
    other = json.dumps({"id": "bpl-default", "version": "1"})
    mismatch = diagnostic(tmp_path, f"gradingPolicy={other}", options=("--policy", copy))
    assert mismatch.exit_code == 2
    assert "gradingPolicy names bpl-default version 1, but --policy is acme-strict" in (
        mismatch.stderr
    )
    unknown = bpl("policy", "show", "acme-strict", "9", "--data-dir", home)
    assert unknown.exit_code == 1
    assert "no grading policy acme-strict version 9 here" in unknown.stderr
    not_a_test = new_record(home, "maker", "status=waste", options=("--policy", copy))
    assert not_a_test.exit_code == 2
    assert "--policy is for DiagnosticTest records" in not_a_test.stderr


STORAGE_MODULES = ("sqlalchemy", "sqlmodel", "alembic", "psycopg", "ledger.storage.database")

OFFLINE_SESSION = """
import json, sys
from cli.main import main

work = sys.argv[1]

def bpl(*args):
    sys.argv = ["bpl", *args]
    try:
        main()
    except SystemExit as exit:
        assert not exit.code, (args, exit.code)

bpl("keys", "new", "--out", work + "/key.json")
bpl("record", "new", "StatusChange", "--passport", "urn:bpl:passport:x", "--key",
    work + "/key.json", "--sequence", "1", "--previous", "sha256:" + "0" * 64,
    "--set", "status=waste")
print(json.dumps([name for name in STORAGE if name in sys.modules]), file=sys.stderr)
"""


def test_offline_verbs_start_without_the_storage_code(tmp_path: Path) -> None:
    """A dismantler's offline verbs (a key, a record signed with an explicit position) never
    load SQLAlchemy, Alembic or psycopg: ``bpl`` starts in a third of the time."""
    code = f"STORAGE = {STORAGE_MODULES!r}\n{OFFLINE_SESSION}"
    ran = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stderr.strip().splitlines()[-1]) == []
    printed = ran.stdout[ran.stdout.index("{") :]  # after the key's lines
    assert json.loads(printed)["record"]["credentialSubject"]["sequence"] == 1


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("UPDATE ledger_actors SET roles = '[\"operator\"'", "the stored actor did:key:"),
        ("UPDATE ledger_heads SET state = '{not json'", "the stored head of did:key:"),
    ],
    ids=["actor-roles", "head-state"],
)
def test_audit_names_a_malformed_stored_value_and_exits_1(
    home: Path, statement: str, named: str
) -> None:
    """Issue 14, item 5: bad JSON in a stored row is a finding (exit 1, the row named),
    not "internal error (JSONDecodeError)" with exit 2."""
    engine = sa.create_engine(f"sqlite:///{home / 'ledger.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql(statement)
    engine.dispose()
    audit = bpl("audit", "--data-dir", home)
    assert audit.exit_code == 1, audit.output
    assert named in audit.stderr + audit.stdout
    assert "internal error" not in audit.stderr


def test_actor_add_person_keeps_the_persons_details_off_the_log(home: Path, tmp_path: Path) -> None:
    """A private person is registered under a pseudonymous DID: name, address and contact
    go into the business disclosure, read by the person, market surveillance, the
    Commission and the operator (ADR 0016); the public record holds none of them."""
    made = bpl("keys", "new", "--out", tmp_path / "person.json", "--json")
    person = json.loads(made.stdout)["id"]
    added = bpl(
        "actor", "add", "--data-dir", home, "--did", person, "--role", "legitimate-interest",
        "--person", "--name", "Jan Kowalski", "--address", "ul. Polna 3, 44-100 Gliwice, PL",
        "--contact", "jan.kowalski@mail.example", "--contact", "+48 601 234 567", "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    receipt = json.loads(added.stdout)
    assert set(receipt) == {
        "recordHash",
        "subject",
        "sequence",
        "leafIndex",
        "treeSize",
        "leafHash",
        "checkpoint",
        "inclusionProof",
    }
    assert (receipt["subject"], receipt["sequence"], receipt["leafIndex"]) == (person, 0, 2)
    [record] = json.loads(bpl("chain", person, "--data-dir", home).stdout)
    subject = record["credentialSubject"]
    assert subject["entity"] == "person" and set(subject["disclosures"]) == {"business"}
    assert not {"name", "address", "contact"} & set(subject)
    public = json.dumps(record)
    # The phone number in both its typed and its normalised form: a bare "601" also occurs,
    # by chance, in hashes and DIDs.
    for secret in ("Kowalski", "Polna", "601 234 567", "+48601234567", "mail.example"):
        assert secret not in public, secret
    ledger = Ledger.open(home, writable=False)
    try:
        leaves = b"".join(ledger.log.leaves(0, ledger.log.size()))
        assert b"Kowalski" not in leaves and b"Volta" in leaves  # an organisation's: public
        business = ledger.disclosures(receipt["recordHash"], OPERATOR_READER)["business"]
        assert {k: v for k, v in business.items() if k != "salt"} == {
            "group": "business",
            "name": "Jan Kowalski",
            "address": "ul. Polna 3, 44-100 Gliwice, PL",
            "contact": {"email": "jan.kowalski@mail.example", "phone": "+48601234567"},
        }
        assert set(ledger.disclosures(receipt["recordHash"], Reader(did=person))) == {"business"}
        for reader in (PUBLIC, Reader(frozenset({"legitimate-interest"}))):
            assert ledger.disclosures(receipt["recordHash"], reader) == {}
    finally:
        ledger.engine.dispose()
    other = json.loads(bpl("keys", "new", "--out", tmp_path / "other.json", "--json").stdout)
    human = bpl(
        "actor", "add", "--data-dir", home, "--did", other["id"], "--role", "legitimate-interest",
        "--person", "--name", "Ana Silva",
    )  # fmt: skip
    assert human.exit_code == 0, human.output
    assert human.stdout.startswith(f"registered {other['id']} (legitimate-interest): record ")


def test_actor_add_organisation_details_are_public(home: Path, tmp_path: Path) -> None:
    made = bpl("keys", "new", "--out", tmp_path / "yard.json", "--json")
    yard = json.loads(made.stdout)["id"]
    added = bpl(
        "actor", "add", "--data-dir", home, "--did", yard, "--role", "dismantler",
        "--name", "Yard Recovery Ltd", "--address", "Dock Road, Liverpool L20 1AB, UK",
        "--contact", "https://yard.example", "--contact", "info@yard.example",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    [record] = json.loads(bpl("chain", yard, "--data-dir", home).stdout)
    subject = record["credentialSubject"]
    assert (subject["entity"], subject["name"], subject["address"]) == (
        "organisation",
        "Yard Recovery Ltd",
        "Dock Road, Liverpool L20 1AB, UK",
    )
    assert subject["contact"] == {"url": "https://yard.example", "email": "info@yard.example"}
    assert "disclosures" not in subject


@pytest.mark.parametrize(
    ("contacts", "message"),
    [
        (("Liverpool",), "--contact 'Liverpool': give an e-mail address, a web address"),
        (("0151 555 0199",), "--contact '0151 555 0199': give an e-mail address"),
        (("a@x.example", "b@x.example"), "--contact: two email values ('a@x.example', "),
    ],
)
def test_actor_add_refuses_a_contact_it_cannot_place(
    home: Path, tmp_path: Path, contacts: tuple[str, ...], message: str
) -> None:
    before = bpl("log", "checkpoint", "--data-dir", home).stdout
    args = [arg for contact in contacts for arg in ("--contact", contact)]
    maker = (tmp_path / "maker.did").read_text()
    refused = bpl(
        "actor", "add", "--data-dir", home, "--did", maker, "--role", "dismantler", "--name", "Y",
        *args,
    )  # fmt: skip
    assert refused.exit_code == 2, refused.output
    assert refused.stderr.startswith(f"bpl: {message}")
    assert bpl("log", "checkpoint", "--data-dir", home).stdout == before  # nothing appended


DOCUMENT = (
    f"documentHash=sha256:{'c' * 64}",
    "mediaType=application/pdf",
    "title=EU declaration of conformity, Volta VC-82",
)


def test_record_new_discloses_a_declaration_of_conformity_as_public(tmp_path: Path) -> None:
    """The EU declaration of conformity is public (Annex XIII point 1(r)): with
    --disclose-as public its type and title are in clear, and there is no disclosure;
    a document of a restricted type is refused in clear."""
    assert bpl("keys", "new", "--out", tmp_path / "maker.json").exit_code == 0
    fields = (*DOCUMENT, "documentType=declaration-of-conformity")
    public = new_offline(
        tmp_path, "DocumentAttached", *(f"--set={f}" for f in fields), "--disclose-as", "public"
    )
    assert public.exit_code == 0, public.output
    made = json.loads(public.stdout)
    subject = made["record"]["credentialSubject"]
    assert subject["documentType"] == "declaration-of-conformity"
    assert subject["title"] == "EU declaration of conformity, Volta VC-82"
    assert "disclosures" not in subject and made["disclosures"] == []
    restricted = new_offline(
        tmp_path, "DocumentAttached", *(f"--set={f}" for f in fields), "--disclose-as", "compliance"
    )
    assert restricted.exit_code == 0, restricted.output
    hidden = json.loads(restricted.stdout)
    assert "documentType" not in hidden["record"]["credentialSubject"]
    assert set(hidden["record"]["credentialSubject"]["disclosures"]) == {"compliance"}
    assert hidden["disclosures"][0]["documentType"] == "declaration-of-conformity"
    report = (*DOCUMENT, "documentType=test-report")
    refused = new_offline(
        tmp_path, "DocumentAttached", *(f"--set={f}" for f in report), "--disclose-as", "public"
    )
    assert refused.exit_code == 2
    assert refused.stderr.startswith('bpl: DocumentAttached: documentType: "test-report" is not')
    unknown = new_offline(
        tmp_path, "DocumentAttached", *(f"--set={f}" for f in fields), "--disclose-as", "secret"
    )
    assert unknown.exit_code == 2
    assert "--disclose-as: one of public, " in unknown.stderr
