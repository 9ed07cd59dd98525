"""The reads the verification service and the passport pages need: passports by battery,
manufacturer and custodian, a chain a page at a time, a record by hash where the log holds
it, and the actors with their keys (the facade, :class:`ledger.facade.Ledger`, opens the
connection; these write the SQL).

Pages are keyset pages (``after`` the last key seen, at most ``limit`` rows), so a page
costs one index seek whatever its position, and a passport page of a chain with a million
records is as quick as the first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ledger.core.battery_id import BatteryIdError, parse_battery_id
from ledger.core.rules import Head
from ledger.errors import LedgerError
from ledger.storage.ledger_rows import HEAD_COLUMNS, RECORD_LEAVES, Sql, find_record, head_from_row

MAX_PAGE = 1000
"""The most rows one page holds."""


@dataclass(frozen=True)
class Passport:
    """A passport as the lookups give it: its identity (from its PassportIssued record)
    and its chain's current head (status, custodian, whether it is closed)."""

    subject_id: str
    battery_id: str
    manufacturer: str
    issued_leaf: int
    head: Head
    model_id: str | None = None
    """The battery model a v2 passport names (None for v1)."""
    gtin: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.subject_id,
            "batteryId": self.battery_id,
            "model": self.model_id,
            "gtin": self.gtin,
            "manufacturer": self.manufacturer,
            "issuedLeaf": self.issued_leaf,
            "predecessors": list(self.head.predecessors),
            "sequence": self.head.sequence,
            "custodian": self.head.custodian,
            "status": self.head.status,
            "closed": self.head.closed,
        }


@dataclass(frozen=True)
class ActorKeys:
    """A registered actor, its roles and its keys (with whether each is revoked)."""

    did: str
    roles: tuple[str, ...]
    keys: tuple[tuple[str, bool], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.did,
            "roles": list(self.roles),
            "keys": [{"id": key, "revoked": revoked} for key, revoked in self.keys],
        }


def check_page(limit: int) -> None:
    """Refuse a page size outside ``1..MAX_PAGE`` (a LedgerError naming the bounds)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise LedgerError(f"a page holds 1 to {MAX_PAGE} rows, not {limit!r}")


_PASSPORT = "p.subject_id, p.battery_id, p.manufacturer, p.issued_leaf, p.model_id, p.gtin, " + (
    ", ".join(f"h.{column}" for column in HEAD_COLUMNS.split(", "))
)
_PASSPORTS = "ledger_passports p JOIN ledger_heads h ON h.subject_id = p.subject_id"


def _passports(
    connection: sa.Connection, where: str, parameters: tuple[Any, ...]
) -> list[Passport]:
    rows = connection.exec_driver_sql(
        Sql(connection.dialect)(f"SELECT {_PASSPORT} FROM {_PASSPORTS} WHERE {where}"),  # noqa: S608
        parameters,
    )
    return [
        Passport(row[0], row[1], row[2], int(row[3]), head_from_row(row[6:]), row[4], row[5])
        for row in rows
    ]


def passports_by_battery(connection: sa.Connection, battery_id: str) -> list[Passport]:
    """Every passport of one battery, oldest first: a v2 passport whose battery id is the
    same battery (another resolver host, the GTIN-13 form: docs/battery-ids.md), or one
    whose id is written exactly so (v1 ids were free text). A battery has one live
    passport; re-used, it gets a successor for the same id."""
    try:
        key = parse_battery_id(battery_id).key
    except BatteryIdError:
        key = None
    return _passports(
        connection,
        "(p.battery_id = ? OR p.battery_key = ?) ORDER BY p.issued_leaf",
        (battery_id, key),
    )


def passport(connection: sa.Connection, subject_id: str) -> Passport | None:
    """One passport by its id, or None."""
    found = _passports(connection, "p.subject_id = ?", (subject_id,))
    return found[0] if found else None


@dataclass(frozen=True)
class BatteryHistory:
    """A battery's passports: the live one, every one issued for it (a re-used battery
    gets a successor for the same id), and those of the batteries it was made from (a
    module's pack, the packs combined into it), found through ``predecessors``."""

    battery_id: str
    current: Passport | None
    passports: tuple[Passport, ...]
    ancestors: tuple[Passport, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "batteryId": self.battery_id,
            "current": self.current.subject_id if self.current else None,
            "passports": [p.to_dict() for p in self.passports],
            "ancestors": [p.to_dict() for p in self.ancestors],
        }


def battery_history(connection: sa.Connection, battery_id: str) -> BatteryHistory:
    """:class:`BatteryHistory` of one battery id (every list empty for an unknown one)."""
    own = passports_by_battery(connection, battery_id)
    live = [p for p in own if not p.head.closed]
    seen = {p.subject_id for p in own}
    ancestors: list[Passport] = []
    waiting = [pid for p in own for pid in p.head.predecessors]
    while waiting:
        subject_id = waiting.pop(0)
        if subject_id in seen:
            continue
        seen.add(subject_id)
        found = passport(connection, subject_id)
        if found is not None:
            ancestors.append(found)
            waiting += found.head.predecessors
    return BatteryHistory(battery_id, live[-1] if live else None, tuple(own), tuple(ancestors))


def passports_by_gtin(
    connection: sa.Connection, gtin: str, after: str | None, limit: int
) -> list[Passport]:
    """A page of the v2 passports of batteries with this GTIN-14, by passport id."""
    check_page(limit)
    return _passports(
        connection,
        "p.gtin = ? AND p.subject_id > ? ORDER BY p.subject_id LIMIT ?",
        (gtin, after or "", limit),
    )


@dataclass(frozen=True)
class Model:
    """A battery model: who published it, where its first record is, its current head."""

    model_id: str
    gtin: str | None
    publisher: str
    published_leaf: int
    head: Head

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.model_id,
            "gtin": self.gtin,
            "publisher": self.publisher,
            "publishedLeaf": self.published_leaf,
            "revision": self.head.sequence,
            "record": self.head.record_hash,
        }


def models(
    connection: sa.Connection, *, gtin: str | None = None, model_id: str | None = None
) -> list[Model]:
    """The battery models with this GTIN, or the one with this id, oldest first."""
    column, value = ("m.gtin", gtin) if model_id is None else ("m.model_id", model_id)
    heads = ", ".join(f"h.{c}" for c in HEAD_COLUMNS.split(", "))
    rows = connection.exec_driver_sql(
        Sql(connection.dialect)(
            f"SELECT m.model_id, m.gtin, m.publisher, m.published_leaf, {heads} "  # noqa: S608
            "FROM ledger_models m JOIN ledger_heads h ON h.subject_id = m.model_id "
            f"WHERE {column} = ? ORDER BY m.published_leaf"
        ),
        (value,),
    )
    return [Model(r[0], r[1], r[2], int(r[3]), head_from_row(r[4:])) for r in rows]


def passports_by_manufacturer(
    connection: sa.Connection, did: str, after: str | None, limit: int
) -> list[Passport]:
    """A page of the passports a manufacturer issued, by passport id."""
    check_page(limit)
    return _passports(
        connection,
        "p.manufacturer = ? AND p.subject_id > ? ORDER BY p.subject_id LIMIT ?",
        (did, after or "", limit),
    )


def passports_by_custodian(
    connection: sa.Connection, did: str, after: str | None, limit: int
) -> list[Passport]:
    """A page of the passports an actor holds now (its chain's head names it custodian)."""
    check_page(limit)
    return _passports(
        connection,
        "h.custodian = ? AND h.subject_id > ? ORDER BY h.subject_id LIMIT ?",
        (did, after or "", limit),
    )


def chain_page(
    connection: sa.Connection, subject_id: str, after: int, limit: int
) -> list[dict[str, Any]]:
    """A page of a chain's signed records (public parts), from sequence ``after + 1``."""
    check_page(limit)
    rows = connection.exec_driver_sql(
        Sql(connection.dialect)(
            f"SELECT l.data FROM {RECORD_LEAVES} WHERE r.subject_id = ? "  # noqa: S608
            "AND r.sequence > ? ORDER BY r.sequence LIMIT ?"
        ),
        (subject_id, after, limit),
    )
    return [json.loads(row[0]) for row in rows]


def record_by_hash(connection: sa.Connection, record_hash: str) -> tuple[int, bytes] | None:
    """The leaf index and bytes of the record with this hash, or None."""
    found = find_record(connection, "leaf_index", record_hash)
    if found is None:
        return None
    data = connection.exec_driver_sql(
        Sql(connection.dialect)("SELECT data FROM log_leaves WHERE idx = ?"), (found[0],)
    ).scalar_one()
    return int(found[0]), bytes(data)


def actors(connection: sa.Connection, did: str | None = None) -> list[ActorKeys]:
    """The registered actors (or the one ``did``), by DID, with their keys."""
    sql = Sql(connection.dialect)
    where, parameters = ("WHERE did = ?", (did,)) if did is not None else ("", ())
    found = {
        row[0]: json.loads(row[1])
        for row in connection.exec_driver_sql(
            sql(f"SELECT did, roles FROM ledger_actors {where} ORDER BY did"),  # noqa: S608
            parameters,
        )
    }
    keys: dict[str, list[tuple[str, bool]]] = {}
    key_where = "WHERE actor = ?" if did is not None else ""
    for key, actor, revoked in connection.exec_driver_sql(
        sql(f"SELECT key, actor, revoked FROM ledger_keys {key_where} ORDER BY key"),  # noqa: S608
        parameters,
    ):
        keys.setdefault(actor, []).append((key, bool(revoked)))
    return [
        ActorKeys(actor, tuple(sorted(roles)), tuple(keys.get(actor, ())))
        for actor, roles in found.items()
    ]


def head(connection: sa.Connection, subject_id: str) -> Head | None:
    """The latest state of a passport or actor chain, None if it has no records."""
    row = connection.exec_driver_sql(
        Sql(connection.dialect)(
            f"SELECT {HEAD_COLUMNS} FROM ledger_heads WHERE subject_id = ?"  # noqa: S608
        ),
        (subject_id,),
    ).first()
    return None if row is None else head_from_row(row)


def chain(connection: sa.Connection, subject_id: str) -> list[dict[str, Any]]:
    """A chain's signed records, in order (public parts only)."""
    rows = connection.exec_driver_sql(
        Sql(connection.dialect)(
            f"SELECT l.data FROM {RECORD_LEAVES} WHERE r.subject_id = ? "  # noqa: S608
            "ORDER BY r.sequence"
        ),
        (subject_id,),
    )
    return [json.loads(row[0]) for row in rows]


@dataclass(frozen=True)
class StoredChainRecord:
    """A chain's record as stored: hash, position, leaf, bytes, and its disclosures as
    stored (group label, bytes), for :meth:`ledger.facade.Ledger.verify_chain`."""

    record_hash: str
    sequence: int
    leaf_index: int
    body: bytes
    disclosures: list[tuple[str, bytes]]


def stored_chain(connection: sa.Connection, subject_id: str) -> list[StoredChainRecord]:
    """Every stored record of a chain, by sequence, with its stored disclosures."""
    sql = Sql(connection.dialect)
    stored: dict[int, list[tuple[str, bytes]]] = {}
    for leaf_index, group, body in connection.exec_driver_sql(
        sql(
            "SELECT d.leaf_index, d.grp, d.body FROM ledger_disclosures d JOIN "
            "ledger_records r ON r.leaf_index = d.leaf_index WHERE r.subject_id = ?"
        ),
        (subject_id,),
    ):
        stored.setdefault(int(leaf_index), []).append((str(group), bytes(body)))
    rows = connection.exec_driver_sql(
        sql(
            "SELECT r.record_hash, r.sequence, r.leaf_index, l.data "  # noqa: S608
            f"FROM {RECORD_LEAVES} WHERE r.subject_id = ? ORDER BY r.sequence"
        ),
        (subject_id,),
    )
    return [
        StoredChainRecord(
            record_hash, sequence, int(leaf_index), bytes(data), stored.get(int(leaf_index), [])
        )
        for record_hash, sequence, leaf_index, data in rows
    ]


def chain_page_leaves(
    connection: sa.Connection, subject_id: str, after: int, limit: int
) -> list[tuple[int, str, bytes]]:
    """A page of a chain (from sequence ``after + 1``): each record's leaf index, record
    hash and bytes."""
    check_page(limit)
    rows = connection.exec_driver_sql(
        Sql(connection.dialect)(
            f"SELECT r.leaf_index, r.record_hash, l.data FROM {RECORD_LEAVES} "  # noqa: S608
            "WHERE r.subject_id = ? AND r.sequence > ? ORDER BY r.sequence LIMIT ?"
        ),
        (subject_id, after, limit),
    )
    return [(int(index), str(record_hash), bytes(data)) for index, record_hash, data in rows]


def disclosure_rows_of(
    connection: sa.Connection, leaf_indexes: list[int]
) -> dict[int, list[tuple[str, bytes]]]:
    """The stored disclosures (group label, bytes) of the records at ``leaf_indexes``, by
    leaf index, in one query (a chain's page at once, not a query a record)."""
    found: dict[int, list[tuple[str, bytes]]] = {}
    for index, group, body in Sql(connection.dialect).rows_in(
        connection,
        "SELECT leaf_index, grp, body FROM ledger_disclosures WHERE leaf_index IN ",
        leaf_indexes,
        "bigint",
    ):
        found.setdefault(int(index), []).append((str(group), bytes(body)))
    return found


def disclosure_rows(connection: sa.Connection, leaf_index: int) -> list[tuple[str, bytes]]:
    """The stored disclosures (group label, bytes) of the record at ``leaf_index`` (found
    with :func:`record_by_hash`)."""
    rows = connection.exec_driver_sql(
        Sql(connection.dialect)("SELECT grp, body FROM ledger_disclosures WHERE leaf_index = ?"),
        (leaf_index,),
    )
    return [(str(group), bytes(body)) for group, body in rows]
