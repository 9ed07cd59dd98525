"""The ledger's rows (records, disclosures, chain heads, actors, keys) in SQL.

:class:`LedgerView` is what the append rules read inside one write transaction: it loads
the rows a batch needs in a handful of queries (``IN`` lists), keeps the batch's own
effects on top, and writes them back a statement a table (:class:`ledger.storage.rows.Rows`,
each engine's way through its driver). Plain driver SQL throughout:
SQLAlchemy's statement machinery cost more per record than the database work.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from ledger.core.admission import Checked
from ledger.core.battery_id import BatteryIdError, parse_battery_id
from ledger.core.rules import Actor, Effects, Head, Key, Registration
from ledger.errors import LedgerError
from ledger.storage import policy_rows as policy_store
from ledger.storage.database import DRIVERS, driver_for
from ledger.storage.rows import Rows


class Sql:
    """The ledger's statements, written with ``?`` markers, on one engine: its driver's
    parameter style and lists (:mod:`ledger.storage.driver`)."""

    def __init__(self, dialect: sa.Dialect) -> None:
        self._driver = driver_for(dialect)

    def __call__(self, statement: str) -> str:
        return self._driver.sql(statement)

    def rows_in(
        self,
        connection: sa.Connection,
        statement: str,
        values: Iterable[str | int],
        kind: str = "text",
    ) -> list[Any]:
        """Rows of ``statement`` (ending in ``IN``) for every value (of PostgreSQL type
        ``kind``): on PostgreSQL one ``= ANY(array)`` query (one plan, whatever the count);
        on SQLite ``IN`` lists, in chunks under its parameter limit."""
        values = list(dict.fromkeys(values))
        if not values:
            return []
        return self._driver.rows_in(connection, statement, values, kind)

    def records_at(
        self, connection: sa.Connection, columns: str, positions: Iterable[tuple[str, int]]
    ) -> list[Any]:
        """``columns`` of the records at chain positions ``(subject_id, sequence)``."""
        positions = list(dict.fromkeys(positions))
        if not positions:
            return []
        statement = f"SELECT {columns} FROM ledger_records WHERE (subject_id, sequence) IN "  # noqa: S608
        return self._driver.pairs_in(connection, statement, positions, ("text", "bigint"))


HASH_KEY_EPOCH_BITS = 16
"""Leaves ``[e << 16, (e + 1) << 16)`` share epoch ``e`` in :func:`hash_key`."""
_HASH_KEY_PREFIX_BITS = 40
_RECORD_HASH = re.compile(r"sha256:[0-9a-f]{64}")


def hash_key(leaf_index: int, record_hash: str) -> int:
    """A record's ``hash_key``: its leaf's epoch above the first 40 bits of its record hash.

    Indexed, it keeps a batch's inserts within the current epoch's part of the B-tree (the
    records of one epoch are at most 65,536 keys), where an index on the hash itself takes
    them all over; a hash is then found with one seek per epoch (:func:`find_record`).
    Positive as a signed 64-bit integer up to leaf 2**39."""
    prefix = int(record_hash[7 : 7 + _HASH_KEY_PREFIX_BITS // 4], 16)
    return (leaf_index >> HASH_KEY_EPOCH_BITS) << _HASH_KEY_PREFIX_BITS | prefix


def find_record(connection: sa.Connection, columns: str, record_hash: str) -> Any | None:
    """``columns`` of the record with this hash, or None (also for a malformed hash)."""
    if _RECORD_HASH.fullmatch(record_hash) is None:
        return None
    last = connection.exec_driver_sql("SELECT max(leaf_index) FROM ledger_records").scalar()
    if last is None:
        return None
    epochs = range((int(last) >> HASH_KEY_EPOCH_BITS) + 1)
    keys = [hash_key(epoch << HASH_KEY_EPOCH_BITS, record_hash) for epoch in epochs]
    for row in Sql(connection.dialect).rows_in(
        connection,
        f"SELECT record_hash, {columns} FROM ledger_records WHERE hash_key IN ",  # noqa: S608
        keys,
        "bigint",
    ):
        if row[0] == record_hash:
            return row[1:]
    return None


CHAIN_CONSTRAINT = "uq_ledger_chain"
"""The unique (subject_id, sequence) constraint of ``ledger_records``: one record a chain
position, the database's own guard against a fork."""


def is_chain_collision(error: BaseException) -> bool:
    """Whether ``error`` is the database refusing a record at a chain position another
    record holds (:data:`CHAIN_CONSTRAINT`), and not any other failure: SQLAlchemy's
    IntegrityError of a unique violation of that constraint, as one of the drivers
    recognises it (PostgreSQL names the constraint, SQLite its two columns)."""
    if not isinstance(error, sa.exc.IntegrityError):
        return False
    return any(
        driver.is_unique_violation(
            error, CHAIN_CONSTRAINT, "ledger_records", ("subject_id", "sequence")
        )
        for driver in DRIVERS.values()
    )


def head_from_row(row: Any) -> Head:
    """A :class:`Head` from a ``ledger_heads`` row (in :data:`HEAD_COLUMNS` order)."""
    subject_id, sequence, record_hash, kind, custodian, status, closed, state = row
    if state == _EMPTY_STATE:  # the usual head: its defaults, without parsing (0.6 us)
        return Head(subject_id, int(sequence), record_hash, kind, custodian, status, bool(closed))
    extra = orjson.loads(state)
    return Head(
        subject_id,
        int(sequence),
        record_hash,
        kind,
        custodian,
        status,
        bool(closed),
        tuple(extra.get("predecessors", ())),
        dict(extra.get("openShipments", {})),
    )


HEAD_COLUMNS = "subject_id, sequence, record_hash, kind, custodian, status, closed, state"

RECORD_LEAVES = "ledger_records r JOIN log_leaves l ON l.idx = r.leaf_index"
"""Records (``r``) with their bytes, the log's leaves (``l``): a ``FROM`` clause."""


KNOWN_LIMIT = 250_000
"""Most heads, actors and keys a ledger keeps between commits (beyond: it reloads)."""


@dataclass
class Known:
    """The heads, actors and keys (or their absence) a ledger's last commit read or wrote,
    and the log size that commit left. They are the database's as long as the log is still
    at that size: every commit of any writer appends to the log under its sequencer lock,
    so an unchanged size means no one else committed since."""

    size: int
    heads: dict[str, Head | None]
    actors: dict[str, Actor | None]
    keys: dict[str, Key | None]
    has_actors: bool | None


class LedgerView:
    """The rules' view of the ledger in one write transaction (see the module doc).

    ``known``: what the previous commit left (:class:`Known`), when the caller has checked
    that the log is still at its size; the view then takes its dicts over and loads only
    what they lack."""

    def __init__(self, connection: sa.Connection, known: Known | None = None) -> None:
        self._connection = connection
        self._sql = Sql(connection.dialect)
        self._stored: set[str] = set()
        self._taken: set[tuple[str, int]] = set()
        self._heads: dict[str, Head | None] = known.heads if known else {}
        self._actors: dict[str, Actor | None] = known.actors if known else {}
        self._keys: dict[str, Key | None] = known.keys if known else {}
        self._has_actors: bool | None = known.has_actors if known else None
        self._changed_heads: dict[str, Head] = {}
        self._new_heads: set[str] = set()
        self._new_actors: dict[str, Actor] = {}
        self._changed_keys: dict[str, Key] = {}
        self._new_keys: set[str] = set()
        self._policies: dict[tuple[str, str], Registration | None] = {}
        self._new_policies: list[Registration] = []
        self._batteries: dict[str, list[str]] = {}
        self._reads_allowed = True

    @contextmanager
    def without_reads(self) -> Iterator[None]:
        """A block in which the view must not read the database (it raises LedgerError
        instead): while a pipeline's writes are in flight, a read through SQLAlchemy would
        not see its rows. Everything the block needs must be prefetched."""
        self._reads_allowed = False
        try:
            yield
        finally:
            self._reads_allowed = True

    def _check_reads_allowed(self, what: str) -> None:
        if not self._reads_allowed:
            raise LedgerError(f"internal: {what} not prefetched before the batch's writes")

    # -- loading ---------------------------------------------------------------------

    def prefetch(
        self,
        subjects: Iterable[str],
        keys: Iterable[str],
        positions: Iterable[tuple[str, int, str]] = (),
    ) -> None:
        """Load in bulk what a batch will ask for: heads, keys and their actors, and which
        of the records at ``positions`` (subject, sequence, record hash) are stored.

        A record can only be stored where its chain already reaches: its position is
        looked up only then (a new record's position is past its head), and a stored
        record is found by position, not by hash (ADR 0010). A position reached that holds
        another record is taken (:meth:`claims_taken_position`)."""
        query = self._sql.rows_in
        connection = self._connection
        positions = list(positions)
        wanted = [s for s in (*subjects, *(p[0] for p in positions)) if s not in self._heads]
        if wanted:
            self._check_reads_allowed("chain heads")
        self._heads.update(dict.fromkeys(wanted))
        for row in query(
            connection,
            f"SELECT {HEAD_COLUMNS} FROM ledger_heads WHERE subject_id IN ",  # noqa: S608
            wanted,
        ):
            self._heads[row[0]] = head_from_row(row)
        reached = []
        for subject_id, sequence, record_hash in positions:
            head = self._heads[subject_id]
            if head is not None and sequence <= head.sequence:
                reached.append((subject_id, sequence, record_hash))
        if reached:
            self._check_reads_allowed("stored records")
            self._stored.update(
                row[0]
                for row in self._sql.records_at(
                    connection, "record_hash", [(s, n) for s, n, _ in reached]
                )
            )
            self._taken.update((s, n) for s, n, h in reached if h not in self._stored)
        wanted = [k for k in keys if k not in self._keys]
        if wanted:
            self._check_reads_allowed("keys")
        self._keys.update(dict.fromkeys(wanted))
        for key, actor, revoked in query(
            connection, "SELECT key, actor, revoked FROM ledger_keys WHERE key IN ", wanted
        ):
            self._keys[key] = Key(key, actor, bool(revoked))
        owners = [k.actor for k in self._keys.values() if k is not None]
        self._load_actors(owners)

    def prefetch_batteries(self, batteries: Iterable[str]) -> None:
        """Load the passports issued for these canonical battery keys, and their heads:
        what the one-live-passport rule of a batch's v2 PassportIssued records reads."""
        wanted = [b for b in dict.fromkeys(batteries) if b not in self._batteries]
        if not wanted:
            return
        self._check_reads_allowed("passports by battery")
        for battery in wanted:
            self._batteries[battery] = []
        found = self._sql.rows_in(
            self._connection,
            "SELECT battery_key, subject_id, issued_leaf FROM ledger_passports "
            "WHERE battery_key IN ",
            wanted,
        )
        for battery, subject_id, _ in sorted(found, key=lambda row: int(row[2])):
            self._batteries[battery].append(subject_id)  # in log order, as the audit's
        self.prefetch([s for ids in self._batteries.values() for s in ids], ())

    def _load_actors(self, dids: Iterable[str]) -> None:
        wanted = [d for d in dids if d not in self._actors]
        if wanted:
            self._check_reads_allowed("actors")
        self._actors.update(dict.fromkeys(wanted))
        for did, roles in self._sql.rows_in(
            self._connection, "SELECT did, roles FROM ledger_actors WHERE did IN ", wanted
        ):
            self._actors[did] = Actor(did, frozenset(json.loads(roles)))

    def is_stored(self, record_hash: str) -> bool:
        """Whether the ledger held this record before the batch (after :meth:`prefetch`)."""
        return record_hash in self._stored

    def claims_taken_position(self) -> bool:
        """Whether a record :meth:`prefetch` looked up claims a chain position that holds
        another record (one its client built on a head since moved on, by another writer
        perhaps): the sequence rule refuses it, and the database its row."""
        return bool(self._taken)

    # -- the rules' View protocol ----------------------------------------------------

    def head(self, subject_id: str) -> Head | None:
        if subject_id not in self._heads:
            self.prefetch([subject_id], ())
        return self._heads[subject_id]

    def actor(self, did: str) -> Actor | None:
        if did not in self._actors:
            self._load_actors([did])
        return self._actors[did]

    def key(self, key: str) -> Key | None:
        if key not in self._keys:
            self.prefetch((), [key])
        return self._keys[key]

    def policy(self, key: tuple[str, str]) -> Registration | None:
        if key not in self._policies:
            self._check_reads_allowed("grading policies")
            self._policies[key] = policy_store.registration(self._connection, key)
        return self._policies[key]

    def passports_of(self, battery: str) -> list[str]:
        if battery not in self._batteries:
            self.prefetch_batteries([battery])
        return self._batteries[battery]

    def has_actors(self) -> bool:
        if self._has_actors is None:
            self._check_reads_allowed("whether actors exist")
            row = self._connection.exec_driver_sql("SELECT 1 FROM ledger_actors LIMIT 1").first()
            self._has_actors = row is not None
        return self._has_actors or bool(self._new_actors)

    # -- writing ---------------------------------------------------------------------

    def apply(self, effects: Effects) -> None:
        """Take one accepted record's effects into the view."""
        head = effects.head
        if self.head(head.subject_id) is None and head.subject_id not in self._changed_heads:
            self._new_heads.add(head.subject_id)
        self._heads[head.subject_id] = head
        self._changed_heads[head.subject_id] = head
        for actor in effects.actors:
            self._actors[actor.did] = actor
            self._new_actors[actor.did] = actor
        for key in effects.keys:
            if self.key(key.key) is None and key.key not in self._changed_keys:
                self._new_keys.add(key.key)
            self._keys[key.key] = key
            self._changed_keys[key.key] = key
        for registration in effects.policies:
            self._policies[registration.policy_id, registration.version] = registration
            self._new_policies.append(registration)
        if effects.battery is not None:
            self.passports_of(effects.battery).append(head.subject_id)

    def known(self, size: int) -> Known | None:
        """What this view holds once its transaction committed, leaving the log at
        ``size`` (None when it holds more than :data:`KNOWN_LIMIT` entries)."""
        if len(self._heads) + len(self._actors) + len(self._keys) > KNOWN_LIMIT:
            return None
        has_actors = True if self._new_actors else self._has_actors
        return Known(size, self._heads, self._actors, self._keys, has_actors)

    def flush(self) -> None:
        """Write the batch's effects (inside the caller's transaction)."""
        self.flush_heads()
        connection = self._connection
        _ACTORS.insert(
            connection,
            [actor_row(a) for a in self._new_actors.values()],
        )
        changed = self._changed_keys.values()
        _KEYS.insert(
            connection, [(k.key, k.actor, k.revoked) for k in changed if k.key in self._new_keys]
        )
        _KEYS.upsert(
            connection,
            "key",
            [(k.key, k.actor, k.revoked) for k in changed if k.key not in self._new_keys],
        )
        policy_store.write_registrations(connection, self._new_policies)

    def flush_heads(self) -> None:
        """Write the chain heads changed since the last flush (inside the caller's
        transaction): a batch may write its heads in parts."""
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        for subject_id, head in self._changed_heads.items():
            values = head_row(head)
            (inserts if subject_id in self._new_heads else updates).append(values)
        _HEADS.insert(self._connection, inserts)
        _HEADS.upsert(self._connection, "subject_id", updates)
        self._new_heads.difference_update(self._changed_heads)
        self._changed_heads = {}


_EMPTY_STATE = orjson.dumps(Head("", 0, "", "").to_state(), option=orjson.OPT_SORT_KEYS).decode()


def head_row(head: Head) -> tuple[Any, ...]:
    """The ``ledger_heads`` row of a head (:data:`HEAD_COLUMNS`): what the audit expects
    stored, value for value."""
    return (
        head.subject_id,
        head.sequence,
        head.record_hash,
        head.kind,
        head.custodian,
        head.status,
        head.closed,
        _state_text(head),
    )


def actor_row(actor: Actor) -> tuple[str, str]:
    """The ``ledger_actors`` row of an actor: its roles as a sorted JSON list."""
    return (actor.did, json.dumps(sorted(actor.roles)))


def _state_text(head: Head) -> str:
    """The ``state`` column of a head: its JSON text, usually that of no predecessors and
    no open shipment (a constant, not dumped for every record)."""
    if not head.predecessors and not head.open_shipments:
        return _EMPTY_STATE
    return orjson.dumps(head.to_state(), option=orjson.OPT_SORT_KEYS).decode()


_RECORDS = Rows(
    "ledger_records",
    (
        ("leaf_index", "bigint"),
        ("record_hash", "text"),
        ("hash_key", "bigint"),
        ("subject_id", "text"),
        ("sequence", "bigint"),
        ("kind", "text"),
        ("issuer", "text"),
    ),
)
_DISCLOSURES = Rows(
    "ledger_disclosures", (("leaf_index", "bigint"), ("grp", "text"), ("body", "bytea"))
)
_HEADS = Rows(
    "ledger_heads",
    (
        ("subject_id", "text"),
        ("sequence", "bigint"),
        ("record_hash", "text"),
        ("kind", "text"),
        ("custodian", "text"),
        ("status", "text"),
        ("closed", "boolean"),
        ("state", "text"),
    ),
)
_PASSPORTS = Rows(
    "ledger_passports",
    (
        ("subject_id", "text"),
        ("battery_id", "text"),
        ("manufacturer", "text"),
        ("issued_leaf", "bigint"),
        ("battery_key", "text"),
        ("gtin", "text"),
        ("model_id", "text"),
    ),
)
_MODELS = Rows(
    "ledger_models",
    (
        ("model_id", "text"),
        ("gtin", "text"),
        ("publisher", "text"),
        ("published_leaf", "bigint"),
    ),
)
_ACTORS = Rows("ledger_actors", (("did", "text"), ("roles", "text")))
_KEYS = Rows("ledger_keys", (("key", "text"), ("actor", "text"), ("revoked", "boolean")))


def insert_records(connection: sa.Connection, first_leaf: int, accepted: Sequence[Checked]) -> None:
    """Insert accepted records, the first at leaf ``first_leaf`` and the others after it,
    with their disclosures, and a lookup row for each new passport."""
    rows: list[tuple[Any, ...]] = []
    disclosures: list[tuple[int, str, bytes]] = []
    passports: list[tuple[Any, ...]] = []
    models: list[tuple[Any, ...]] = []
    for leaf_index, item in enumerate(accepted, first_leaf):
        subject = item.record["credentialSubject"]
        rows.append(
            (
                leaf_index,
                item.record_hash,
                hash_key(leaf_index, item.record_hash),
                subject["id"],
                subject["sequence"],
                item.kind,
                item.record["issuer"],
            )
        )
        disclosures += (
            (leaf_index, group, encoded) for group, encoded in item.disclosure_bytes.items()
        )
        if item.kind == "PassportIssued":
            passports.append(passport_row(item.record, leaf_index))
        elif item.kind == "BatteryModelPublished" and subject["sequence"] == 0:
            models.append(model_row(item.record, leaf_index))
    _RECORDS.insert(connection, rows)
    _DISCLOSURES.insert(connection, disclosures)
    _PASSPORTS.insert(connection, passports)
    _MODELS.insert(connection, models)


def passport_row(record: Mapping[str, Any], leaf_index: int) -> tuple[Any, ...]:
    """The ``ledger_passports`` row of a PassportIssued record at ``leaf_index``: what the
    audit expects stored, value for value. A v2 passport's battery key, GTIN and model
    (ADR 0016); a v1 passport's battery id was free text: none."""
    subject = record["credentialSubject"]
    battery_key = gtin = model_id = None
    model = subject.get("model")
    if isinstance(model, Mapping):  # v2 (the rules checked the id before it was stored)
        model_id = model.get("id")
        try:
            battery = parse_battery_id(subject["batteryId"])
        except BatteryIdError:
            pass  # a row the audit derives from a record the rules refuse: never stored
        else:
            battery_key, gtin = battery.key, battery.gtin
    return (
        subject["id"],
        subject["batteryId"],
        subject["manufacturer"],
        leaf_index,
        battery_key,
        gtin,
        model_id,
    )


def model_row(record: Mapping[str, Any], leaf_index: int) -> tuple[Any, ...]:
    """The ``ledger_models`` row of a model's first BatteryModelPublished record."""
    subject = record["credentialSubject"]
    return (subject["id"], subject.get("gtin"), record["issuer"], leaf_index)
