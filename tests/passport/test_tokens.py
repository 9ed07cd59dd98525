"""Bearer tokens: stored hashed in a 0600 file, expiring, revocable, narrowing the actor's
roles and never widening them; a bad token is refused before anything is looked up."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from passport.tokens import TokenError, TokenStore, digest
from tests.passport.conftest import Service
from tests.passport.helpers import chains


def test_tokens_are_stored_hashed_in_a_0600_file(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    token, entry = store.issue("did:key:z6Mkexample", roles=["commission"], label="ec")
    assert token.startswith("bpl_") and len(token) == 47
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    text = store.path.read_text()
    assert token not in text and digest(token) in text
    assert store.lookup(token) == entry
    assert store.lookup(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert store.lookup("not a token") is None


def test_expired_and_revoked_tokens_are_refused(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    token, entry = store.issue("did:key:z6Mkexample", days=1)
    assert store.lookup(token, now=datetime.now(UTC) + timedelta(days=2)) is None
    other, _ = store.issue("did:key:z6Mkother")
    assert store.revoke(entry.token_id) == 1
    assert store.lookup(token) is None and store.lookup(other) is not None
    # Another process's store (a worker) sees the change on its next lookup.
    assert TokenStore(store.path).lookup(other) is not None


def test_a_file_others_may_read_is_refused(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    token, _ = store.issue("did:key:z6Mkexample")
    os.chmod(store.path, 0o644)
    with pytest.raises(TokenError, match="chmod 600"):
        TokenStore(store.path).lookup(token)


def test_what_cannot_be_issued(tmp_path: Path) -> None:
    store = TokenStore(tmp_path / "tokens.json")
    with pytest.raises(TokenError):
        store.issue("someone")
    with pytest.raises(TokenError):
        store.issue("did:key:z6Mkexample", roles=["god"])
    with pytest.raises(TokenError):
        store.issue("did:key:z6Mkexample", days=0)
    (tmp_path / "bad.json").write_text(json.dumps({"format": 1, "tokens": {"x": {}}}))
    os.chmod(tmp_path / "bad.json", 0o600)
    with pytest.raises(TokenError):
        TokenStore(tmp_path / "bad.json").entries()


def test_a_bad_token_is_refused_before_any_lookup(sqlite_service: Service) -> None:
    """Whatever the path (a passport, an unknown one, the resolver), a bad credential is a
    401, so that nobody probes for ids with one."""
    client = sqlite_service.client
    for path in (
        "/passports/urn:bpl:passport:00000000-0000-4000-8000-000000000000",
        "/records/sha256:" + "0" * 64,
        "/01/09506000134352/21/X1",
        "/log/checkpoint",
    ):
        for header in (
            "Bearer bpl_" + "A" * 43,
            "Bearer nonsense",
            "Basic dXNlcjpwYXNz",
            "Bearer ",
        ):
            response = client.get(path, headers={"Authorization": header}, follow_redirects=False)
            assert response.status_code == 401, (path, header)
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert response.headers["content-type"] == "application/problem+json"


def test_a_token_narrows_its_actors_roles_and_never_widens_them(sqlite_service: Service) -> None:
    service = sqlite_service
    store = service.tokens
    operator = service.role_dids["operator"]
    narrowed, _ = store.issue(operator, roles=["commission"])
    widened, _ = store.issue(service.role_dids["commission"], roles=["legitimate-interest"])
    unregistered, _ = store.issue("did:key:z6MkunregisteredActor")
    pid = next(p for p, chain in chains(service.ledger).items() if len(chain) > 3)

    def state(token: str) -> dict[str, object]:
        response = service.client.get(
            f"/passports/{pid}", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text
        return dict(response.json()["state"])

    assert "status" in state(service.role_tokens["operator"])
    assert "status" not in state(narrowed)  # the operator narrowed to the Commission
    assert "status" not in state(widened)  # the Commission is no legitimate interest
    response = service.client.get(
        f"/passports/{pid}", headers={"Authorization": f"Bearer {unregistered}"}
    )
    assert response.status_code == 401
