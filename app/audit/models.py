from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class AuditEvent(SQLModel, table=True):
    """One row per request that reaches the service, and per operator action. Append-only (database
    triggers refuse UPDATE, DELETE and TRUNCATE); ``hash = SHA-256(prev_hash ‖ canonical row)``."""

    __tablename__ = "audit_event"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    request_id: str | None = Field(default=None, max_length=128)
    agency: str | None = Field(default=None, max_length=32, index=True)
    client_id: str | None = Field(default=None, max_length=64, index=True)
    token_id: str | None = Field(default=None, max_length=128)
    roles: str | None = Field(default=None, max_length=200)
    action: str = Field(max_length=200, index=True)
    object_ids: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    outcome: str = Field(max_length=16)
    status: int
    client_ip: str | None = Field(default=None, max_length=64)
    body_sha256: str | None = Field(default=None, max_length=64)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class AuditHead(SQLModel, table=True):
    """The chain's head: one row, locked by each appender until its transaction commits."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    hash: str = Field(default="0" * 64, max_length=64)


class AuditObject(SQLModel, table=True):
    """Search index: one row per object id an audit row names (``GET /api/v1/audit/events?object_id=``, a
    report's access log, a data subject's access trail). Derived from ``audit_event.object_ids``, which the
    chain covers; written in the same transaction; append-only like the rows it indexes."""

    __tablename__ = "audit_object"

    value: str = Field(max_length=200, primary_key=True)
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))


class AuditCheckpoint(SQLModel, table=True):
    """A signed statement that the chain had ``size`` rows ending in ``head_hash`` at ``time``. Ed25519 over
    the canonical payload ``{size, head_hash, time, prev_checkpoint_hash}``; ``hash`` is the payload's SHA-256,
    the next checkpoint's ``prev_checkpoint_hash``. Append-only."""

    __tablename__ = "audit_checkpoint"

    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    head_hash: str = Field(max_length=64)
    time: datetime = Field(sa_type=UTCDateTime)
    prev_checkpoint_hash: str = Field(max_length=64)
    key_id: str = Field(max_length=64)
    signature: str = Field(max_length=128)
    hash: str = Field(max_length=64, unique=True)
