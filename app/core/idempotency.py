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
from sqlalchemy import UniqueConstraint, bindparam, select, update
from sqlmodel import Field, Session, SQLModel

from app.core import programs
from app.core.db import UTCDateTime, insert_for
from app.core.errors import ProblemError
from app.core.programs import Program, Step

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
    """``guarded`` on a session, around work done through that session."""
    return programs.run(
        session,
        guarded(
            session.get_bind().dialect.name,
            client_id=client_id,
            key=key,
            operation=operation,
            payload=payload,
            now=now,
            produce=programs.call(produce),
        ),
    )


def guarded(
    dialect: str,
    *,
    client_id: str,
    key: str | None,
    operation: str,
    payload: Any,
    now: datetime,
    produce: Program[tuple[int, dict[str, Any]]],
) -> Program[JSONResponse]:
    """The create's own work (``produce``: status and body) behind its key, as a program
    (app/core/programs.py): a first request reserves the key, works, and stores its answer; a retry replays
    the stored answer without working."""
    if key is None:
        status, body = yield from produce
        return JSONResponse(body, status_code=status)
    fingerprint = _fingerprint(operation, payload)
    reserved = yield Step(
        _reserve_statement(dialect),
        {"client_id": client_id, "key": key, "request_hash": fingerprint, "created_at": now},
    )
    if not reserved:  # the conflicting insert committed before ours went on
        stored = yield Step(_STORED, {"client_id": client_id, "key": key})
        return _replay(stored[0], fingerprint)
    status, body = yield from produce
    yield Step(
        _RECORD_RESPONSE,
        {"record_id": reserved[0]["id"], "status_code": status, "response_body": json.dumps(body)},
        returns=False,
    )
    return JSONResponse(body, status_code=status)


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


_TABLE = IdempotencyRecord.__table__  # type: ignore[attr-defined]
_STORED = select(_TABLE.c.request_hash, _TABLE.c.status_code, _TABLE.c.response_body).where(
    _TABLE.c.client_id == bindparam("client_id"), _TABLE.c.key == bindparam("key")
)


def _replay(stored: dict[str, Any], fingerprint: str) -> JSONResponse:
    if stored["request_hash"] != fingerprint:
        raise IdempotencyKeyReused("This Idempotency-Key was already used with a different request.")
    return JSONResponse(
        json.loads(stored["response_body"]), status_code=stored["status_code"], headers={REPLAY_HEADER: "true"}
    )
