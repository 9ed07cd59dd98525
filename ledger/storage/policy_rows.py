"""The grading policies registered with a ledger (table ``ledger_grading_policies``, ADR 0009).

A registered policy is content-addressed and immutable per version: its row holds the
policy document's JCS text and its digest (``GradingPolicy.digest``), and an (id, version)
never gets other content. The ids of the policies bundled with bpl are reserved: those are
known to every ledger and never stored. Each row is written with the operator-signed
``GradingPolicyRegistered`` record that registers it on the log (ADR 0013), whose hash it
keeps; rows from before (``record_hash`` NULL) are off the log. Rows are read back checked
as the audit checks them (:func:`row_problem`); a row that fails, or is off the log, is left
out (so a record naming it is refused) and the audit names it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ledger.core import grading
from ledger.core.admission import bundled_policies
from ledger.core.grading import GradingError, GradingPolicy
from ledger.core.rules import Registration
from ledger.errors import PolicyConflictError

_COLUMNS = "policy_id, version, digest, document, registered_at, record_hash"
_DATETIME = sa.DateTime(timezone=True)


@dataclass(frozen=True)
class KnownPolicy:
    """A policy a ledger knows: bundled with bpl (``registered_at`` is None) or registered."""

    policy: GradingPolicy
    registered_at: datetime | None

    @property
    def bundled(self) -> bool:
        return self.registered_at is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.policy.id,
            "version": self.policy.version,
            "digest": self.policy.digest,
            "bundled": self.bundled,
            "registeredAt": None if self.registered_at is None else self.registered_at.isoformat(),
        }


def to_register(engine: Engine, policy: GradingPolicy) -> bool:
    """Whether ``policy`` still needs its GradingPolicyRegistered record: False if it is
    bundled or already on the log with the same digest. Raises PolicyConflictError for
    other content under a registered (id, version), or an id reserved for the bundled
    policies: a released version never changes."""
    if _reserved(policy):
        return False
    with engine.connect() as connection:
        known = registration(connection, (policy.id, policy.version))
    if known is None:
        return True
    if known.digest != policy.digest:
        raise PolicyConflictError(
            f"grading policy {policy.id} version {policy.version} is registered with digest "
            f"{known.digest}; this one has digest {policy.digest}: a released version never "
            "changes (give the new content a new version)"
        )
    return known.record_hash is None


def registration(connection: sa.Connection, key: tuple[str, str]) -> Registration | None:
    """The stored registration of policy ``key`` (id, version), on the log or not."""
    row = connection.execute(
        sa.text(
            "SELECT digest, record_hash FROM ledger_grading_policies "
            "WHERE policy_id = :id AND version = :v"
        ),
        {"id": key[0], "v": key[1]},
    ).first()
    return None if row is None else Registration(key[0], key[1], str(row[0]), row[1])


def write_registrations(connection: sa.Connection, registrations: list[Registration]) -> None:
    """Store the rows of registrations the rules accepted (in the transaction of their
    records); a row registered before registrations were records gets its record."""
    if not registrations:
        return
    connection.execute(
        sa.text(
            f"INSERT INTO ledger_grading_policies ({_COLUMNS}) "  # noqa: S608 (constant)
            "VALUES (:id, :version, :digest, :document, :at, :record_hash) "
            "ON CONFLICT (policy_id, version) DO UPDATE SET record_hash = excluded.record_hash, "
            "registered_at = excluded.registered_at"
        ).bindparams(sa.bindparam("at", type_=_DATETIME)),
        [
            {
                "id": r.policy_id,
                "version": r.version,
                "digest": r.digest,
                "document": r.document.decode("utf-8"),
                "at": registration_time(r.registered_at),
                "record_hash": r.record_hash,
            }
            for r in registrations
        ],
    )


def registration_time(valid_from: str) -> datetime:
    """A registration's time, in UTC: its record's ``validFrom`` (RFC 3339, signed by the
    operator), so that the stored ``registered_at`` is derived from the log."""
    return datetime.fromisoformat(valid_from).astimezone(UTC)


def stored_registrations(
    engine: Engine,
) -> dict[tuple[str, str], tuple[str, str | None, datetime | None]]:
    """Every stored row's digest, record hash and registration time (None if not a time),
    by (id, version): for the audit."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT policy_id, version, digest, record_hash, registered_at "
                "FROM ledger_grading_policies"
            )
        )
        return {(row[0], row[1]): (row[2], row[3], _moment(row[4])) for row in rows}


def _reserved(policy: GradingPolicy) -> bool:
    """Whether ``policy`` is a bundled one (True); raises for other content under a
    bundled policy's id."""
    bundled = bundled_policies()
    same = bundled.get((policy.id, policy.version))
    if same is not None:
        if same.digest != policy.digest:
            raise PolicyConflictError(
                f"grading policy {policy.id} version {policy.version} is bundled with bpl with "
                f"digest {same.digest}; this one has digest {policy.digest}: a released "
                "version never changes (give yours another id)"
            )
        return True
    versions = sorted(version for id_, version in bundled if id_ == policy.id)
    if versions:
        raise PolicyConflictError(
            f"grading policy id {policy.id} is reserved for the policies bundled with bpl "
            f"(version {', '.join(versions)}); this one, version {policy.version}, has digest "
            f"{policy.digest}: give yours another id"
        )
    return False


def registered(engine: Engine) -> list[KnownPolicy]:
    """The policies registered on the log whose rows pass :func:`row_problem`, by id and
    version."""
    with engine.connect() as connection:
        rows = _rows(connection, "WHERE record_hash IS NOT NULL ORDER BY policy_id, version", {})
    return [
        KnownPolicy(policy, _moment(row.registered_at))  # a time: _checked passed
        for row in rows
        if (policy := _checked(row)[0]) is not None
    ]


def find(engine: Engine, key: tuple[str, str]) -> GradingPolicy | None:
    """The policy ``key`` (id, version) registered on the log, if its row passes
    :func:`row_problem`."""
    row = _row(engine, key)
    return None if row is None else _checked(row)[0]


def document(engine: Engine, key: tuple[str, str]) -> bytes | None:
    """The JCS bytes of the registered policy ``key`` (id, version), if its row passes
    :func:`row_problem`: the content its digest is of, for those who grade under it."""
    row = _row(engine, key)
    if row is None or _checked(row)[0] is None:
        return None
    return str(row.document).encode("utf-8")


def _row(engine: Engine, key: tuple[str, str]) -> Any | None:
    with engine.connect() as connection:
        rows = _rows(
            connection,
            "WHERE policy_id = :id AND version = :v AND record_hash IS NOT NULL",
            {"id": key[0], "v": key[1]},
        )
    return rows[0] if rows else None


def audited(engine: Engine) -> tuple[dict[tuple[str, str], GradingPolicy], str | None]:
    """For the audit: the bundled and registered policies, and why the first stored row
    that fails :func:`row_problem`, or is off the log, does (None: all pass)."""
    policies = bundled_policies()
    with engine.connect() as connection:
        for row in _rows(connection, "ORDER BY policy_id, version", {}):
            policy, problem = _checked(row)
            if policy is not None and row.record_hash is None:
                problem = (
                    "it is not on the log (registered before registrations were records, "
                    "migration 0007): register it again with bpl policy add"
                )
            if policy is None or problem is not None:
                return policies, f"grading policy {row.policy_id} version {row.version}: {problem}"
            policies[(policy.id, policy.version)] = policy
    return policies, None


def row_problem(row: Any) -> str | None:
    """Why a stored policy row is not what it claims, or None: its document must hash to its
    digest (so it is the registered content, in JCS form) and be a valid policy of the row's
    id and version, under an id not reserved for the bundled policies."""
    return _checked(row)[1]


def _checked(row: Any) -> tuple[GradingPolicy, None] | tuple[None, str]:
    """The policy of a stored row, or why the row fails (see :func:`row_problem`)."""
    key = (row.policy_id, row.version)
    if any(key[0] == id_ for id_, _ in bundled_policies()) or _moment(row.registered_at) is None:
        return None, (
            "its id is reserved for the policies bundled with bpl"
            if _moment(row.registered_at) is not None
            else f"its stored registration time is not a time: {str(row.registered_at)[:40]!r}"
        )
    data = row.document.encode("utf-8")
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    if digest != row.digest:
        return None, (
            f"its stored document has digest {digest}, not its stored digest {row.digest} "
            "(altered after registration)"
        )
    try:
        policy = grading.parse_policy(data, f"{key[0]} version {key[1]} (stored)")
    except GradingError as exc:
        return None, f"its stored document is not a valid policy ({exc})"
    if (policy.id, policy.version) != key:
        return None, f"its stored document is policy {policy.id} version {policy.version}"
    if policy.digest != row.digest:
        return None, "its stored document is not in canonical (JCS) form"
    return policy, None


def _rows(connection: sa.Connection, where: str, params: Mapping[str, str]) -> list[Any]:
    """Rows as stored: ``registered_at`` is read by :func:`_moment` (SQLite keeps any text
    there, which SQLAlchemy's date type would fail on while reading the rows)."""
    statement = sa.text(f"SELECT {_COLUMNS} FROM ledger_grading_policies {where}")  # noqa: S608
    return list(connection.execute(statement, params))


def _moment(stored: Any) -> datetime | None:
    """A row's registration time in UTC, or None if the stored value is not a time: as
    PostgreSQL returns it, or as SQLite keeps it (ISO text without zone, written in UTC)."""
    if isinstance(stored, str):
        try:
            stored = datetime.fromisoformat(stored)
        except ValueError:
            return None
    if not isinstance(stored, datetime):
        return None
    return stored if stored.tzinfo is not None else stored.replace(tzinfo=UTC)
