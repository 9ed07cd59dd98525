"""``python -m passport``: the token verbs, and the factory uvicorn's workers call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ledger.facade import Ledger
from passport import app as service_app
from passport.__main__ import main
from signing import keys


def test_token_verbs_and_the_factory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = tmp_path / "data"
    monkeypatch.setenv("BPL_DATA_DIR", str(directory))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    operator = keys.generate()
    Ledger.init(directory, operator, origin="main.bpl.example/log").close()
    assert main(["token", "issue", operator.did, "--label", "ops"]) == 0
    issued = json.loads(capsys.readouterr().out)
    assert issued["did"] == operator.did and issued["token"].startswith("bpl_")
    assert main(["token", "list"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["id"] == issued["id"] and "token" not in listed
    assert main(["token", "issue", "nobody"]) == 2

    application = service_app.from_environment()
    with TestClient(application) as client:
        assert client.get("/log/checkpoint").text.startswith("main.bpl.example/log\n")
        bearer = {"Authorization": f"Bearer {issued['token']}"}
        assert client.get("/log/checkpoint", headers=bearer).status_code == 200
        assert main(["token", "revoke", issued["id"]]) == 0
        assert client.get("/log/checkpoint", headers=bearer).status_code == 401
    application.state.ledger.close()
    assert main(["token", "revoke", issued["id"]]) == 1
