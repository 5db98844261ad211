"""Appending to the hash chain, and verifying it.

Canonical encoding of a row (what an auditor re-implements): the JSON object of the row's fields except
``hash`` and ``prev_hash``, with keys sorted, no whitespace (``separators=(",", ":")``), UTF-8, times as
ISO 8601 in UTC with microseconds (``2024-06-03T09:00:00.000000+00:00``). Then
``hash = hex(SHA-256(prev_hash_hex_ascii ‖ canonical_bytes))``; the first row's ``prev_hash`` is 64 zeros.

Ordering: the appender locks the single ``audit_head`` row, so rows are chained in commit order; this
serialises the tail of every transaction (measured against a background sealer in a later step, #4).
"""

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, update
from sqlmodel import Session, col, select

from app.audit.checkpoints import format_time
from app.audit.models import AuditEvent, AuditHead, AuditObject

MAX_OBJECT_ID = 200


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
    fields = {k: v for k, v in row.items() if k not in ("hash", "prev_hash")}
    fields["at"] = format_time(fields["at"])
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, row: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(row)).hexdigest()


def append(session: Session, entry: AuditEntry) -> AuditEvent:
    head = session.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
    row = {
        "seq": head.seq + 1,
        "at": entry.at,
        "request_id": entry.request_id,
        "agency": entry.agency,
        "client_id": entry.client_id,
        "token_id": entry.token_id,
        "roles": entry.roles,
        "action": entry.action,
        "object_ids": entry.object_ids or {},
        "outcome": entry.outcome,
        "status": entry.status,
        "client_ip": entry.client_ip,
        "body_sha256": entry.body_sha256,
    }
    digest = chain_hash(head.hash, row)
    event = AuditEvent(**row, prev_hash=head.hash, hash=digest)
    session.add(event)
    session.execute(update(AuditHead).where(col(AuditHead.id) == 1).values(seq=row["seq"], hash=digest))
    session.flush()
    values = sorted(object_values(row["object_ids"]))
    if values:
        session.execute(insert(AuditObject), [{"value": v, "seq": row["seq"]} for v in values])
    return event


def note(session: Session, name: str, ids: Iterable[object]) -> None:
    """Names objects the request's transaction read or wrote, for its audit row's ``object_ids``."""
    objects = session.info.setdefault("audit_objects", {})
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
    """A row as exported and verified: the stored fields, ``at`` in the canonical text form."""
    row = event.model_dump()
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
        after = page[-1].seq


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
        named = select(AuditObject.seq).where(col(AuditObject.value).in_(filters.object_ids))
        query = query.where(col(AuditEvent.seq).in_(named))
    return list(session.exec(query.order_by(col(AuditEvent.seq)).limit(limit)))


def seq_span(session: Session, since: datetime | None, until: datetime | None) -> tuple[int, int | None]:
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
    return int(low), int(high)
