"""GET /log/proof/inclusion and /log/proof/consistency on both engines, each proof checked
by an RFC 9162 verifier written here (section 2.1.3.2 and 2.1.4.2) against the signed
checkpoint that comes with it, which is checked with the log's verifier key alone."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledger.core import records
from ledger.errors import LogError
from passport.app import IMMUTABLE
from signing import note
from tests.passport.conftest import Service
from tests.passport.helpers import logged
from tests.passport.shared_service import (  # noqa: F401 (fixtures)
    read_only_service,
    read_only_sqlite,
)


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(leaf_hash: bytes, index: int, size: int, path: list[bytes]) -> bytes:
    """RFC 9162 2.1.3.2: the root an inclusion proof leads to (ValueError if malformed)."""
    if index >= size:
        raise ValueError("index beyond the tree")
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            raise ValueError("proof too long")
        if fn % 2 == 1 or fn == sn:
            r = node(p, r)
            while fn % 2 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("proof too short")
    return r


def roots_from_consistency(
    first: int, second: int, first_root: bytes, path: list[bytes]
) -> tuple[bytes, bytes]:
    """RFC 9162 2.1.4.2 for 0 < first < second: the two roots a consistency proof gives."""
    if first & (first - 1) == 0:
        path = [first_root, *path]
    fn, sn = first - 1, second - 1
    while fn % 2 == 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ValueError("proof too long")
        if fn % 2 == 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while fn % 2 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("proof too short")
    return fr, sr


def consistent(
    first: int, second: int, first_root: bytes, second_root: bytes, path: list[bytes]
) -> bool:
    """Whether ``path`` proves the tree (second, second_root) extends (first, first_root)."""
    return roots_from_consistency(first, second, first_root, path) == (first_root, second_root)


def signed_tree(service: Service, text: str) -> tuple[int, bytes]:
    """(size, root) of a checkpoint, once its signature checks with the log's key."""
    body = note.verify(text, [service.ledger.verifier_key])
    origin, size, root = body.split("\n")[:3]
    assert origin == service.ledger.log.origin
    return int(size), base64.b64decode(root)


def checkpoint_sizes(service: Service) -> list[int]:
    """The tree sizes the log signed a checkpoint for (probed: one per committed batch)."""
    found = []
    for size in range(service.ledger.log.size() + 1):
        try:
            service.ledger.log.checkpoint_at(size)
        except LogError:  # no checkpoint for that size
            continue
        found.append(size)
    return found


@pytest.fixture(scope="module")
def sizes(read_only_sqlite: Service) -> list[int]:  # noqa: F811 (the fixture imported)
    found = checkpoint_sizes(read_only_sqlite)
    assert len(found) >= 4 and found[0] == 0 and found[-1] == read_only_sqlite.ledger.log.size()
    return found


def proof(client: TestClient, path: str) -> dict[str, Any]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def test_inclusion_by_index_record_hash_and_leaf_hash(
    read_only_service: Service,  # noqa: F811
) -> None:
    service = read_only_service
    leaves = logged(service.ledger)
    latest, _ = signed_tree(service, service.ledger.log.checkpoint())
    for index in (0, 1, len(leaves) // 2, len(leaves) - 1):
        record_hash = records.record_hash(leaves[index])
        leaf_hash = hashlib.sha256(b"\x00" + records.canonical(leaves[index])).digest()
        for query in (f"index={index}", f"hash={record_hash}", f"hash={leaf_hash.hex()}"):
            body = proof(service.client, f"/log/proof/inclusion?{query}")
            size, root = signed_tree(service, body["checkpoint"])
            assert body["treeSize"] == size == latest and body["leafIndex"] == index
            assert body["leafHash"] == leaf_hash.hex()
            path = [bytes.fromhex(h) for h in body["hashes"]]
            assert root_from_inclusion(leaf_hash, index, size, path) == root
            assert root_from_inclusion(bytes(32), index, size, path) != root


def test_inclusion_in_an_older_signed_tree(
    read_only_sqlite: Service,  # noqa: F811
    sizes: list[int],
) -> None:
    service = read_only_sqlite
    size = sizes[len(sizes) // 2]
    leaf = logged(service.ledger)[size - 1]
    response = service.client.get(f"/log/proof/inclusion?index={size - 1}&size={size}")
    assert response.headers["cache-control"] == IMMUTABLE
    body = response.json()
    signed_size, root = signed_tree(service, body["checkpoint"])
    assert signed_size == size == body["treeSize"]
    leaf_hash = hashlib.sha256(b"\x00" + records.canonical(leaf)).digest()
    path = [bytes.fromhex(h) for h in body["hashes"]]
    assert root_from_inclusion(leaf_hash, size - 1, size, path) == root
    latest = service.client.get("/log/proof/inclusion?index=0")
    assert latest.headers["cache-control"] == "public, max-age=5"


def test_consistency_between_signed_trees(read_only_service: Service) -> None:  # noqa: F811
    service = read_only_service
    sizes = checkpoint_sizes(service)
    pairs = [(sizes[1], sizes[-1]), (sizes[1], sizes[2]), (sizes[2], sizes[-2])]
    pairs += [(sizes[-1], sizes[-1]), (0, sizes[3])]
    for first, second in pairs:
        body = proof(service.client, f"/log/proof/consistency?first={first}&second={second}")
        old_size, old_root = signed_tree(service, body["oldCheckpoint"])
        new_size, new_root = signed_tree(service, body["newCheckpoint"])
        assert (body["oldSize"], body["newSize"]) == (old_size, new_size) == (first, second)
        path = [bytes.fromhex(h) for h in body["hashes"]]
        if first in (0, second):
            assert path == []
            continue
        assert consistent(first, second, old_root, new_root, path)
        assert not consistent(first, second, bytes(32), new_root, path)
        assert not consistent(first, second, old_root, bytes(32), path)
    latest = proof(service.client, f"/log/proof/consistency?first={sizes[1]}")
    assert latest["newSize"] == service.ledger.log.size()


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("inclusion", 400),
        ("inclusion?index=0&hash=" + "0" * 64, 400),
        ("inclusion?index=-1", 400),
        ("inclusion?index=01", 400),
        ("inclusion?index=1e3", 400),
        ("inclusion?index=99999999999999999999", 400),
        ("inclusion?hash=sha256:" + "A" * 64, 400),
        ("inclusion?hash=xyz", 400),
        ("inclusion?index=0&size=abc", 400),
        ("inclusion?hash=sha256:" + "0" * 64, 404),
        ("inclusion?hash=" + "0" * 64, 404),
        ("inclusion?index=100000", 404),
        ("inclusion?index=0&size=100000", 404),
        ("inclusion?index=5&size=0", 404),
        ("consistency", 400),
        ("consistency?first=x", 400),
        ("consistency?first=10&second=5", 400),
        ("consistency?first=0&second=100000", 404),
        ("consistency?first=100000", 404),
    ],
)
def test_bad_parameters(
    read_only_sqlite: Service,  # noqa: F811
    query: str,
    status: int,
) -> None:
    response = read_only_sqlite.client.get(f"/log/proof/{query}")
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_a_size_without_a_checkpoint_is_404(
    read_only_sqlite: Service,  # noqa: F811
    sizes: list[int],
) -> None:
    unsigned = next(s for s in range(1, sizes[-1]) if s not in sizes)
    for path in (
        f"/log/proof/inclusion?index=0&size={unsigned}",
        f"/log/proof/consistency?first={unsigned}",
        f"/log/proof/consistency?first=0&second={unsigned}",
    ):
        response = read_only_sqlite.client.get(path)
        assert response.status_code == 404
        assert "no checkpoint" in response.json()["detail"]
