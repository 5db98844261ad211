"""``Idempotency-Key`` on creates: a retry returns the first response; the same key with another body is 422.

Records live in the database, so the guarantee holds across server processes. The first request reserves
the key by inserting its record in the request's own transaction; a concurrent request with the same key
waits on the unique index (PostgreSQL) or on the write lock (SQLite) until the first commits, then replays.
"""

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from sqlalchemy import UniqueConstraint, bindparam, update
from sqlmodel import Field, Session, SQLModel, select

from app.core.db import UTCDateTime, insert_for
from app.core.errors import ProblemError

REPLAY_HEADER = "Idempotent-Replayed"


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("client_id", "key", name="uq_idempotency_record_client_id_key"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: str = Field(max_length=64)
    key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)
    status_code: int
    response_body: str
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


class IdempotencyKeyReused(ProblemError):
    slug, status = "idempotency-key-reused", 422


IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Unique per create; a retry with the same key returns the first response",
    ),
]
OptionalIdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Optional; when given, a retry with the same key returns the first response",
    ),
]


def _fingerprint(operation: str, payload: Any) -> str:
    canonical = json.dumps([operation, payload], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def execute(
    session: Session,
    *,
    client_id: str,
    key: str | None,
    operation: str,
    payload: Any,
    now: datetime,
    produce: Callable[[], tuple[int, dict[str, Any]]],
) -> JSONResponse:
    if key is None:
        status, body = produce()
        return JSONResponse(body, status_code=status)
    fingerprint = _fingerprint(operation, payload)
    reserved = _reserve(session, client_id=client_id, key=key, fingerprint=fingerprint, now=now)
    if reserved is None:
        stored = _stored(session, client_id, key)
        assert stored is not None  # the conflicting insert committed before ours went on
        return _replay(stored, fingerprint)
    status, body = produce()
    session.connection().execute(
        _RECORD_RESPONSE, {"record_id": reserved, "status_code": status, "response_body": json.dumps(body)}
    )
    return JSONResponse(body, status_code=status)


def _stored(session: Session, client_id: str, key: str) -> IdempotencyRecord | None:
    query = select(IdempotencyRecord).where(IdempotencyRecord.client_id == client_id, IdempotencyRecord.key == key)
    return session.exec(query.execution_options(populate_existing=True)).first()


def _reserve(session: Session, *, client_id: str, key: str, fingerprint: str, now: datetime) -> int | None:
    """Insert the record (status 0 = in progress) in one statement; ``None`` when the key is taken. A
    concurrent first request with the same key holds the unique index entry until it commits: this insert
    waits for it, then finds the conflict (PostgreSQL; on SQLite the write lock serialises them)."""
    connection = session.connection()
    reserved = connection.execute(
        _reserve_statement(connection.dialect.name),
        {"client_id": client_id, "key": key, "request_hash": fingerprint, "created_at": now},
    ).scalar_one_or_none()
    return None if reserved is None else int(reserved)


@functools.cache
def _reserve_statement(dialect: str) -> Any:
    table = IdempotencyRecord.__table__  # type: ignore[attr-defined]
    return (
        insert_for(dialect)(table)
        .values(
            client_id=bindparam("client_id"),
            key=bindparam("key"),
            request_hash=bindparam("request_hash"),
            status_code=0,
            response_body="",
            created_at=bindparam("created_at"),
        )
        .on_conflict_do_nothing(index_elements=["client_id", "key"])
        .returning(table.c.id)
    )


_RECORD_RESPONSE = (
    update(IdempotencyRecord.__table__)  # type: ignore[attr-defined]
    .where(IdempotencyRecord.__table__.c.id == bindparam("record_id"))  # type: ignore[attr-defined]
    .values(status_code=bindparam("status_code"), response_body=bindparam("response_body"))
)


def _replay(stored: IdempotencyRecord, fingerprint: str) -> JSONResponse:
    if stored.request_hash != fingerprint:
        raise IdempotencyKeyReused("This Idempotency-Key was already used with a different request.")
    return JSONResponse(
        json.loads(stored.response_body), status_code=stored.status_code, headers={REPLAY_HEADER: "true"}
    )
