"""The log over HTTP as C2SP tlog-tiles, checked by a client written here from the spec
(https://c2sp.org/tlog-tiles, RFC 6962/9162) that holds only the log's public key: it
verifies the checkpoint's signature, rebuilds the root from the tiles, reads a record from
its entry bundle and proves its inclusion from the tiles alone."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core import records
from ledger.log import merkle
from passport import log_http
from signing import keys, note
from tests.hypothesis_profiles import examples
from tests.passport.conftest import Service
from tests.passport.test_records_api import post, registration

WIDTH = 256


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def index_path(n: int) -> str:
    digits = f"{n:03d}"
    digits = digits.zfill((len(digits) + 2) // 3 * 3)
    groups = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


class TileClient:
    """A tlog-tiles client: the log's verifier key and HTTP, nothing else."""

    def __init__(self, http: TestClient, verifier_key: str) -> None:
        self.http = http
        self.key = verifier_key
        text = http.get("/log/checkpoint").text
        body = note.verify(text, [verifier_key])  # raises unless the log signed it
        lines = body.split("\n")
        self.origin, self.size, self.root = lines[0], int(lines[1]), base64.b64decode(lines[2])
        self._tiles: dict[tuple[int, int], bytes] = {}

    def tile(self, level: int, index: int) -> bytes:
        """Tile ``index`` of ``level`` as this checkpoint needs it: full, or the partial
        tile of width floor(size / 256**level) mod 256 at the right edge."""
        if (level, index) not in self._tiles:
            complete = self.size // WIDTH**level
            if (index + 1) * WIDTH <= complete:
                path, width = f"/log/tile/{level}/{index_path(index)}", WIDTH
            else:
                width = complete % WIDTH
                path = f"/log/tile/{level}/{index_path(index)}.p/{width}"
            response = self.http.get(path)
            assert response.status_code == 200, (path, response.text)
            assert len(response.content) == 32 * width
            self._tiles[level, index] = response.content
        return self._tiles[level, index]

    def hash_at(self, height: int, index: int) -> bytes:
        """MTH(D[index 2^height : (index+1) 2^height]): from the tile at level height // 8,
        hashing up height % 8 levels."""
        level, rise = divmod(height, 8)
        first = index << rise
        tile = self.tile(level, first // WIDTH)
        offset = first % WIDTH
        layer = [tile[32 * i : 32 * i + 32] for i in range(offset, offset + (1 << rise))]
        while len(layer) > 1:
            layer = [node(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
        return layer[0]

    def mth(self, start: int, end: int) -> bytes:
        n = end - start
        if n & (n - 1) == 0 and start % n == 0:
            return self.hash_at(n.bit_length() - 1, start // n)
        k = 1 << ((n - 1).bit_length() - 1)
        return node(self.mth(start, start + k), self.mth(start + k, end))

    def path(self, m: int, start: int, end: int) -> list[bytes]:
        """RFC 6962 PATH(m, D[start:end]), leaf to root."""
        n = end - start
        if n == 1:
            return []
        k = 1 << ((n - 1).bit_length() - 1)
        if m < k:
            return [*self.path(m, start, start + k), self.mth(start + k, end)]
        return [*self.path(m - k, start + k, end), self.mth(start, start + k)]

    def entry(self, index: int) -> bytes:
        bundle_index, offset = divmod(index, WIDTH)
        if (bundle_index + 1) * WIDTH <= self.size:
            path = f"/log/tile/entries/{index_path(bundle_index)}"
        else:
            path = f"/log/tile/entries/{index_path(bundle_index)}.p/{self.size % WIDTH}"
        data: bytes = self.http.get(path).content
        entries: list[bytes] = []
        position = 0
        while position < len(data):
            (length,) = struct.unpack(">H", data[position : position + 2])
            entries.append(data[position + 2 : position + 2 + length])
            position += 2 + length
        return entries[offset]


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, path: list[bytes], root: bytes
) -> bool:
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def test_a_client_with_only_the_key_checks_a_receipt(service: Service) -> None:
    submission = registration(service.operator, keys.generate().did)
    receipt = post(service, "/records", submission).json()
    client = TileClient(service.client, service.ledger.verifier_key)
    assert client.origin == service.ledger.log.origin
    assert client.size > WIDTH  # full level-0 tiles and a level-1 tile
    assert client.mth(0, client.size) == client.root
    index = receipt["leafIndex"]
    entry = client.entry(index)
    assert entry == records.canonical(submission["record"])
    leaf_hash = hashlib.sha256(b"\x00" + entry).digest()
    assert leaf_hash == client.hash_at(0, index)
    assert verify_inclusion(
        leaf_hash, index, client.size, client.path(index, 0, client.size), client.root
    )
    for other in (0, 1, WIDTH - 1, WIDTH, client.size - 1):
        other_hash = hashlib.sha256(b"\x00" + client.entry(other)).digest()
        proof = client.path(other, 0, client.size)
        assert verify_inclusion(other_hash, other, client.size, proof, client.root)
        assert not verify_inclusion(other_hash, other ^ 1, client.size, proof, client.root)


def test_tiles_are_immutable_and_the_checkpoint_is_not(sqlite_service: Service) -> None:
    client = sqlite_service.client
    checkpoint = client.get("/log/checkpoint")
    assert checkpoint.headers["content-type"] == "text/plain; charset=utf-8"
    assert checkpoint.headers["cache-control"] == "public, max-age=5"
    tile = client.get("/log/tile/0/000")
    assert tile.status_code == 200 and len(tile.content) == 32 * WIDTH
    assert tile.headers["content-type"] == "application/octet-stream"
    assert "immutable" in tile.headers["cache-control"]
    assert client.get("/log/tile/0/000.p/7").content == tile.content[: 32 * 7]
    size = int(checkpoint.text.split("\n")[1])
    beyond = index_path(size // WIDTH + 1)
    for path, status in (
        (f"/log/tile/0/{beyond}", 404),
        (f"/log/tile/entries/{beyond}", 404),
        ("/log/tile/9/000", 404),
        ("/log/tile/0/0", 400),
        ("/log/tile/0/x000/001", 400),
        ("/log/tile/64/000", 400),
        ("/log/tile/0/000.p/0", 400),
        ("/log/tile/0/000.p/256", 400),
        ("/log/tile/01/000", 400),
        ("/log/tile/entries", 400),
    ):
        response = client.get(path)
        assert response.status_code == status, path
        assert response.headers["content-type"] == "application/problem+json"


@settings(max_examples=examples(60), deadline=None)
@given(st.integers(1, 5), st.integers(1, 300), st.data())
def test_node_hashes_from_inclusion_proofs(height: int, size: int, data: st.DataObject) -> None:
    """Every complete node's hash, read off inclusion proofs (the service's way of making
    higher tiles from the ledger's public reads), is the subtree's root."""
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    count = size >> height
    if count == 0:
        return
    wanted = data.draw(st.lists(st.integers(0, count - 1), min_size=1, max_size=8))

    def prove(indexes: object, tree_size: int) -> list[list[bytes]]:
        return [merkle.inclusion_proof(leaves[:tree_size], i) for i in indexes]  # type: ignore[attr-defined]

    found = log_http.node_hashes(prove, lambda s: merkle.root(leaves[:s]), height, wanted, size)
    assert found == [merkle.root(leaves[i << height : (i + 1) << height]) for i in wanted]


@pytest.mark.parametrize("index", [0, 1, 999, 1000, 1234067, 10**9])
def test_tile_paths_round_trip(index: int) -> None:
    assert log_http.encode_index(index) == index_path(index)
    parsed = log_http.parse_tile_path(f"3/{index_path(index)}.p/9")
    assert (parsed.level, parsed.index, parsed.width) == (3, index, 9)
