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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent, AuditHead

GENESIS = "0" * 64


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
    at = fields["at"]
    if isinstance(at, datetime):
        fields["at"] = at.astimezone(UTC).isoformat(timespec="microseconds")
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
    return event


@dataclass
class Verification:
    ok: bool
    rows: int
    first_bad_seq: int | None = None
    reason: str | None = None


def verify_rows(rows: list[dict[str, Any]]) -> Verification:
    prev, expected_seq = GENESIS, 1
    for row in rows:
        if row["seq"] != expected_seq:
            return Verification(False, len(rows), expected_seq, f"row {expected_seq} is missing (found {row['seq']})")
        if row["prev_hash"] != prev or chain_hash(prev, row) != row["hash"]:
            return Verification(False, len(rows), row["seq"], "hash does not match the row and its predecessor")
        prev, expected_seq = row["hash"], expected_seq + 1
    return Verification(True, len(rows))


def export_rows(session: Session) -> list[dict[str, Any]]:
    return [e.model_dump() for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.seq)))]
