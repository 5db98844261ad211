"""Writing audit rows, sealing them into the hash chain, and reading them back.

Canonical encoding of a row (what an auditor re-implements): the JSON object of the fields in ``HASHED``
(every stored field except the insertion ``id``, ``prev_hash`` and ``hash``), keys sorted, no whitespace
(``separators=(",", ":")``), UTF-8 (non-ASCII kept), ``at`` as ISO 8601 in UTC with microseconds
(``2024-06-03T09:00:00.000000+00:00``). Then ``hash = hex(SHA-256(prev_hash_hex_ascii ‖ canonical_bytes))``;
the first row's ``prev_hash`` is 64 zeros.

Two steps, measured against holding one lock across every commit (README, ``bench/audit_append.py``):
1. ``append`` writes the row unchained, in the caller's transaction: a write and its audit row commit
   together, and no lock is shared between requests, so PostgreSQL can group their commits.
2. ``seal`` runs after that commit, in a short transaction of its own: it takes the chain lock and gives
   every committed unsealed row, in insertion order, its ``seq``, ``prev_hash`` and ``hash``. A write waits
   for its own row's seal before it answers (so its ``Audit-Receipt`` names a row in the chain); whoever
   holds the lock seals the rows of everyone who committed meanwhile, in one batch. Reads and refusals do
   not wait: the next seal takes them along, or a server's sweep (``app.audit.sealer``) within 0.25 s, or
   an auditor's read of the log, which seals first.
"""

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, String, bindparam, func, insert, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session, col, select

from app.audit.checkpoints import format_time
from app.audit.models import AuditEvent, AuditHead, AuditObject
from app.core import programs
from app.core.adb import AsyncPostgres
from app.core.db import autocommit
from app.core.programs import Program, Step

MAX_OBJECT_ID = 200
NOTED = "audit_objects"  # the key of a unit of work's ``info`` that names the objects its audit row lists
EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]
HEAD = AuditHead.__table__  # type: ignore[attr-defined]
OBJECTS = AuditObject.__table__  # type: ignore[attr-defined]
SEAL_BATCH = 5000
CHAIN_LOCK = 0x4E455452414C  # "NETRAL": the advisory lock key that orders sealing and checkpoints
HASHED = (
    "seq",
    "at",
    "request_id",
    "agency",
    "client_id",
    "token_id",
    "roles",
    "action",
    "object_ids",
    "outcome",
    "status",
    "client_ip",
    "body_sha256",
)


@dataclass
class AuditEntry:
    action: str
    outcome: str
    status: int
    at: datetime
    request_id: str | None = None
    agency: str | None = None
    client_id: str | None = None
    token_id: str | None = None
    roles: str | None = None
    object_ids: dict[str, Any] | None = None
    client_ip: str | None = None
    body_sha256: str | None = None


def canonical(row: dict[str, Any]) -> bytes:
    fields = {k: row[k] for k in HASHED}
    fields["at"] = format_time(fields["at"])
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, row: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(row)).hexdigest()


def row_fields(entry: AuditEntry) -> dict[str, Any]:
    """The hashed fields of a row as stored, before the chain gives it a ``seq``."""
    fields = {name: getattr(entry, name) for name in HASHED if name != "seq"}
    fields["object_ids"] = entry.object_ids or {}
    return fields


_UNSEALED = tuple(name for name in HASHED if name != "seq")
# Built once: a statement made per call spends more time in SQLAlchemy's construction and cache-key code
# than PostgreSQL spends running it (bench/README.md).
_INSERT_EVENT = insert(EVENTS).values({name: bindparam(name) for name in _UNSEALED}).returning(EVENTS.c.id)
_INSERT_OBJECTS = insert(OBJECTS).values(value=bindparam("value"), event_id=bindparam("event_id"))
_EVENT_CTE = _INSERT_EVENT.cte("audit_row")
_INSERT_EVENT_AND_OBJECTS = select(_EVENT_CTE.c.id).add_cte(
    insert(OBJECTS)
    .from_select(
        ["value", "event_id"],
        select(func.unnest(bindparam("object_values", type_=ARRAY(String))), _EVENT_CTE.c.id),
    )
    .cte("audit_index")
)


def append(session: Session, entry: AuditEntry) -> int:
    """The row, unsealed, in the caller's transaction (and its object index). Returns its insertion id."""
    return programs.run(session, append_program(session.get_bind().dialect.name, entry))


def append_program(dialect: str, entry: AuditEntry) -> Program[int]:
    """``append`` as a program (app/core/programs.py). On PostgreSQL the row and its index go in one
    statement (a data-modifying CTE): one round trip."""
    if dialect == "postgresql":
        rows = yield Step(*_pg_append(entry))
        return int(rows[0]["id"])
    fields = row_fields(entry)
    rows = yield Step(_INSERT_EVENT, fields)
    event_id = int(rows[0]["id"])
    if values := sorted(object_values(fields["object_ids"])):
        yield Step(_INSERT_OBJECTS, [{"value": v, "event_id": event_id} for v in values])
    return event_id


async def append_async(database: AsyncPostgres, entry: AuditEntry) -> int:
    """``append`` in autocommit on the request path's async driver (PostgreSQL), the same one statement."""
    return int(await database.scalar(*_pg_append(entry)))


def _pg_append(entry: AuditEntry) -> tuple[Any, dict[str, Any]]:
    """PostgreSQL's one statement for a row: with its object index when it names objects."""
    fields = row_fields(entry)
    values = sorted(object_values(fields["object_ids"]))
    if values:
        return _INSERT_EVENT_AND_OBJECTS, {**fields, "object_values": values}
    return _INSERT_EVENT, fields


def try_lock_chain(session: Session) -> bool:
    """The chain's lock if free: the elected sealer is whoever holds it; the others skip their turn."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.execute(select(func.pg_try_advisory_xact_lock(CHAIN_LOCK))).scalar_one())


def lock_chain(session: Session) -> None:
    """The chain's lock, held until the caller's transaction ends. On PostgreSQL an advisory lock: unlike a
    row lock it writes nothing, so a waiter that then finds its row already sealed commits without a disk
    flush. On SQLite every write transaction already holds the database's single write lock."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(CHAIN_LOCK)))


def seal(session: Session, *, own_id: int | None = None, locked: bool = False) -> int:
    """Lock the chain and seal committed unsealed rows in insertion order (at most SEAL_BATCH); nothing when
    ``own_id`` was sealed by the previous holder while this one waited. The caller commits. Core statements,
    not ORM objects: this is the one serialised step, so it is kept short, and a session that seals twice
    never reads a stale head from its identity map. Returns how many rows it sealed."""
    if not locked:
        lock_chain(session)
    if own_id is not None and _sealed(session, own_id) is not None:
        return 0
    seq, prev = session.execute(select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1)).one()
    pending = session.execute(
        select(EVENTS.c.id, *(EVENTS.c[name] for name in HASHED if name != "seq"))
        .where(EVENTS.c.seq.is_(None))
        .order_by(EVENTS.c.id)
        .limit(SEAL_BATCH)
    ).mappings()
    updates = []
    for event in pending:
        seq += 1
        digest = chain_hash(prev, {**event, "seq": seq})
        updates.append({"event_id": event["id"], "seq": seq, "prev_hash": prev, "hash": digest})
        prev = digest
    if updates:
        session.execute(
            update(EVENTS)
            .where(EVENTS.c.id == bindparam("event_id"))
            .values(seq=bindparam("seq"), prev_hash=bindparam("prev_hash"), hash=bindparam("hash")),
            updates,
        )
        session.execute(update(HEAD).where(HEAD.c.id == 1).values(seq=seq, hash=prev))
    return len(updates)


def _sealed(session: Session, event_id: int) -> tuple[int, str] | None:
    row = session.execute(select(EVENTS.c.seq, EVENTS.c.hash).where(EVENTS.c.id == event_id)).one()
    return (row.seq, row.hash) if row.seq is not None else None


def seal_through(engine: Engine, event_id: int) -> tuple[int, str]:
    """After the row's own transaction committed: returns its (seq, hash) once it is in the chain. Looks
    first without the lock (another request's seal often took it along); otherwise seals, itself, every
    row committed so far."""
    with Session(engine) as session:
        while True:
            done = _sealed(session, event_id)
            if done is not None:
                return done
            session.rollback()
            seal(session, own_id=event_id)
            session.commit()


def sweep(engine: Engine) -> int:
    """The background sealer's turn, in every server process: one cheap autocommitted look while idle; when
    rows wait, whoever takes the chain lock first seals them all (the others skip, not queue). Returns rows
    sealed (0 also when another process holds the lock)."""
    with autocommit(engine).connect() as connection:
        waiting = connection.execute(select(EVENTS.c.id).where(EVENTS.c.seq.is_(None)).limit(1)).first()
    if waiting is None:
        return 0
    sealed = 0
    with Session(engine) as session:
        while try_lock_chain(session):
            batch = seal(session, locked=True)
            session.commit()
            sealed += batch
            if batch < SEAL_BATCH:
                break
    return sealed


def seal_pending(engine: Engine) -> int:
    """Seal every row committed so far that nobody waited for (reads, refusals, a process that died between
    commit and seal): the sweep, and the first step of every auditor's read. Returns rows sealed."""
    sealed = 0
    with Session(engine) as session:
        while session.execute(select(EVENTS.c.id).where(EVENTS.c.seq.is_(None)).limit(1)).first() is not None:
            session.rollback()
            batch = seal(session)
            session.commit()
            sealed += batch
            if batch < SEAL_BATCH:
                break
    return sealed


def note(session: Session, name: str, ids: Iterable[object]) -> None:
    """Names objects the request's transaction read or wrote, for its audit row's ``object_ids``."""
    note_in(session.info, name, ids)


def note_in(info: dict[str, Any], name: str, ids: Iterable[object]) -> None:
    """``note`` for a program (app/core/programs.py): in its unit of work's ``info``."""
    objects = info.setdefault(NOTED, {})
    listed = objects.setdefault(name, [])
    seen = set(listed)
    for value in map(str, ids):
        if value not in seen:
            listed.append(value)
            seen.add(value)


def object_values(object_ids: dict[str, Any]) -> set[str]:
    """Every id a row names, flattened (a list read names each listed id)."""
    values: set[str] = set()
    for value in object_ids.values():
        for item in value if isinstance(value, list) else [value]:
            if item not in (None, "") and len(str(item)) <= MAX_OBJECT_ID:
                values.add(str(item))
    return values


def as_export(event: AuditEvent) -> dict[str, Any]:
    """A sealed row as exported and verified: the hashed fields, ``prev_hash`` and ``hash``, ``at`` in the
    canonical text form (the insertion ``id`` is internal and not exported)."""
    row = event.model_dump(exclude={"id"})
    row["at"] = format_time(row["at"])
    return row


def export_line(event: AuditEvent) -> str:
    return json.dumps(as_export(event), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def iter_events(
    session: Session, *, from_seq: int = 1, to_seq: int | None = None, batch: int = 2000
) -> Iterator[AuditEvent]:
    """Rows in chain order, fetched in keyset batches so any range streams in bounded memory."""
    after = from_seq - 1
    while True:
        query = select(AuditEvent).where(col(AuditEvent.seq) > after)
        if to_seq is not None:
            query = query.where(col(AuditEvent.seq) <= to_seq)
        page = list(session.exec(query.order_by(col(AuditEvent.seq)).limit(batch)))
        yield from page
        if len(page) < batch:
            return
        after = page[-1].seq or after


@dataclass
class Filters:
    agency: str | None = None
    client_id: str | None = None
    action: str | None = None
    object_ids: list[str] | None = None  # any of them
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def search(session: Session, filters: Filters, *, after_seq: int = 0, limit: int = 100) -> list[AuditEvent]:
    """Rows matching every filter given, in chain order after ``after_seq`` (a keyset cursor)."""
    query = select(AuditEvent).where(col(AuditEvent.seq) > after_seq)
    for column, value in (
        (AuditEvent.agency, filters.agency),
        (AuditEvent.client_id, filters.client_id),
        (AuditEvent.action, filters.action),
        (AuditEvent.outcome, filters.outcome),
    ):
        if value is not None:
            query = query.where(col(column) == value)
    if filters.since is not None:
        query = query.where(col(AuditEvent.at) >= filters.since)
    if filters.until is not None:
        query = query.where(col(AuditEvent.at) < filters.until)
    if filters.object_ids is not None:
        named = select(AuditObject.event_id).where(col(AuditObject.value).in_(filters.object_ids))
        query = query.where(col(AuditEvent.id).in_(named))
    return list(session.exec(query.order_by(col(AuditEvent.seq)).limit(limit)))


def seq_span(session: Session, since: datetime | None, until: datetime | None) -> tuple[int, int]:
    """The contiguous run of rows that holds every row timed in [since, until). Rows are chained in commit
    order and timed when their request began, so a time range maps to the smallest verifiable seq range
    around it, not to the exact rows (which may interleave)."""
    query = select(func.min(AuditEvent.seq), func.max(AuditEvent.seq))
    if since is not None:
        query = query.where(col(AuditEvent.at) >= since)
    if until is not None:
        query = query.where(col(AuditEvent.at) < until)
    low, high = session.exec(query).one()
    if low is None:
        return 1, 0  # nothing in the range: an empty export
    return int(low), int(high or low)
