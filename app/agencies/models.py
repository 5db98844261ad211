import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from app.access.roles import Role
from app.core.db import UTCDateTime

__all__ = ["Agency", "AgencyRole", "Role"]


class Agency(SQLModel, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    code: str = Field(max_length=32, unique=True, description="Short code, e.g. APTIKA, KASN, BKN")
    name: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)


class AgencyRole(SQLModel, table=True):
    """A role held by an agency over a period: roles pass to successors (KASN → BKN) by closing one row
    and opening another, so history stays readable."""

    __tablename__ = "agency_role"

    id: int | None = Field(default=None, primary_key=True)
    agency_id: uuid.UUID = Field(foreign_key="agency.id", index=True)
    role: str = Field(max_length=32)
    valid_from: datetime = Field(sa_type=UTCDateTime)
    valid_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
