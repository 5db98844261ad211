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
    at: datetime = Field(sa_type=UTCDateTime)
    request_id: str | None = Field(default=None, max_length=128)
    agency: str | None = Field(default=None, max_length=32)
    client_id: str | None = Field(default=None, max_length=64)
    token_id: str | None = Field(default=None, max_length=128)
    roles: str | None = Field(default=None, max_length=200)
    action: str = Field(max_length=200)
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
