from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, text
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime

# SQLite auto-numbers only an INTEGER PRIMARY KEY (its rowid); elsewhere a 64-bit identity.
RowId = BigInteger().with_variant(Integer(), "sqlite")


class AuditEvent(SQLModel, table=True):
    """One row per request that reaches the service, and per operator action.

    Written unchained (``seq``, ``prev_hash``, ``hash`` empty) in the request's own transaction, then sealed:
    whoever holds the chain head's lock gives every committed unsealed row, in ``id`` order, its ``seq`` and
    ``hash = SHA-256(prev_hash ‖ canonical row)``. Database triggers refuse DELETE and TRUNCATE, and every
    UPDATE except that one sealing of an unsealed row."""

    __tablename__ = "audit_event"
    # The rows waiting for the sealer, and only those (the sealer's query costs the same at any size).
    __table_args__ = (
        Index("ix_audit_event_unsealed", "id", postgresql_where=text("seq IS NULL"), sqlite_where=text("seq IS NULL")),
    )

    id: int | None = Field(default=None, sa_column=Column(RowId, primary_key=True, autoincrement=True))
    seq: int | None = Field(default=None, sa_column=Column(BigInteger, unique=True, nullable=True))
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
    prev_hash: str | None = Field(default=None, max_length=64)
    hash: str | None = Field(default=None, max_length=64, unique=True)


class AuditHead(SQLModel, table=True):
    """The chain's head: one row, locked by whoever seals (and by whoever signs a checkpoint)."""

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
    event_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))


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


class RateWindow(SQLModel, table=True):
    """Requests counted per (scope, key, short window) in the database, so every server process sees the
    same counts. ``refused:<reason>`` scopes count refusals that get no audit row of their own (before
    authentication, or beyond a rate limit): when a window closes, the sweeper writes one summary row for it
    into the audit chain and deletes it (app/audit/flood.py)."""

    __tablename__ = "rate_window"

    scope: str = Field(max_length=40, primary_key=True)
    key: str = Field(max_length=100, primary_key=True)
    window_start: datetime = Field(sa_type=UTCDateTime, primary_key=True, index=True)
    count: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: int
