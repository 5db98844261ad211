import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class FeedEvent(SQLModel, table=True):
    """One change, at a ``position`` assigned in commit order (see app/events/service.py)."""

    __tablename__ = "feed_event"

    position: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    kind: str = Field(max_length=40)
    case_id: uuid.UUID = Field(foreign_key="case_file.id", index=True)
    report_id: uuid.UUID | None = Field(default=None)
    report_agency_id: uuid.UUID | None = Field(default=None, description="whose report it concerns, if any")
    data: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    occurred_at: datetime = Field(sa_type=UTCDateTime)


class FeedCounter(SQLModel, table=True):
    """A single row; incrementing it takes a row lock held until commit, which orders positions by commit."""

    __tablename__ = "feed_counter"

    id: int = Field(default=1, primary_key=True)
    last_position: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
