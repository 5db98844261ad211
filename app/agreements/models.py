import uuid
from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class AgreementState(StrEnum):
    none = "none"  # the agency is party to no agreement
    pending = "pending"  # before valid_from
    active = "active"
    wind_down = "wind_down"  # valid_until .. + wind_down_days
    expired = "expired"  # .. + retention_days
    purged = "purged"  # after retention: personal data is purged


class Agreement(SQLModel, table=True):
    """A cooperation agreement (PKS) as data: its validity window decides what the service allows."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    title: str = Field(max_length=300)
    valid_from: datetime = Field(sa_type=UTCDateTime)
    valid_until: datetime = Field(sa_type=UTCDateTime)
    wind_down_days: int = Field(default=0, ge=0)
    retention_days: int = Field(default=365, ge=0)
    is_demo: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime)


class AgreementParty(SQLModel, table=True):
    __tablename__ = "agreement_party"

    agreement_id: uuid.UUID = Field(foreign_key="agreement.id", primary_key=True)
    agency_id: uuid.UUID = Field(foreign_key="agency.id", primary_key=True)


class AgreementExtension(SQLModel, table=True):
    """Keeps one region's cases open past ``valid_until`` (e.g. a court-ordered re-vote, PSU)."""

    __tablename__ = "agreement_extension"

    id: int | None = Field(default=None, primary_key=True)
    agreement_id: uuid.UUID = Field(foreign_key="agreement.id", index=True)
    region_code: str = Field(max_length=13)
    valid_until: datetime = Field(sa_type=UTCDateTime)
    reason: str = Field(max_length=300)
