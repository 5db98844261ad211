import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class CaseStatus(StrEnum):
    submitted = "submitted"
    screening = "screening"
    needs_info = "needs_info"
    clarification = "clarification"
    assessment = "assessment"
    not_proven = "not_proven"
    recommendation_issued = "recommendation_issued"
    sanction_reported = "sanction_reported"
    closed = "closed"
    rejected = "rejected"
    referred_bawaslu = "referred_bawaslu"


class CaseFile(SQLModel, table=True):
    """A case: one or more reports about the same ASN and the same (normalised) content URL."""

    __tablename__ = "case_file"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    dedupe_key: str = Field(max_length=64, unique=True, description="SHA-256 of ASN identifier and normalised URL")
    status: str = Field(max_length=32, index=True)
    custodian_agency_id: uuid.UUID = Field(foreign_key="agency.id", index=True)
    category: str = Field(max_length=40, index=True)
    platform: str = Field(max_length=20, index=True)
    region_code: str = Field(max_length=13, index=True)
    content_url: str = Field(max_length=2048)
    asn_identifier: str = Field(max_length=21, index=True)
    opened_at: datetime = Field(sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    recommended_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = 1


class CaseStatusChange(SQLModel, table=True):
    __tablename__ = "case_status_change"

    id: int | None = Field(default=None, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="case_file.id", index=True)
    from_status: str | None = Field(default=None, max_length=32)
    to_status: str = Field(max_length=32)
    reason: str = Field(max_length=2000)
    actor_agency_id: uuid.UUID = Field(foreign_key="agency.id")
    actor_client_id: str = Field(max_length=64)
    at: datetime = Field(sa_type=UTCDateTime)


class InformationRequest(SQLModel, table=True):
    """The case authority asks the reporter of one report for information or content verification; only that
    reporter's agency sees and answers it (other reporters on the same case do not)."""

    __tablename__ = "information_request"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="case_file.id", index=True)
    report_id: uuid.UUID = Field(foreign_key="report.id", description="the report it asks about")
    addressed_agency_id: uuid.UUID = Field(foreign_key="agency.id", index=True)
    question: str = Field(max_length=4000)
    requested_by_agency_id: uuid.UUID = Field(foreign_key="agency.id")
    requested_at: datetime = Field(sa_type=UTCDateTime)
    answer_note: str | None = Field(default=None, max_length=4000)
    answered_by_agency_id: uuid.UUID | None = Field(default=None, foreign_key="agency.id")
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SanctionOutcome(SQLModel, table=True):
    __tablename__ = "sanction_outcome"
    __table_args__ = (UniqueConstraint("case_id", "track", "code", name="uq_sanction_outcome_case_track_code"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="case_file.id", index=True)
    track: str = Field(max_length=24)
    code: str = Field(max_length=40)
    level: str = Field(max_length=24)
    catalogue_version: str = Field(max_length=16)
    legal_basis: str = Field(max_length=500)
    decided_by: str = Field(max_length=300, description="The PPK who imposed it")
    decree_number: str = Field(max_length=100)
    decree_date: date
    note: str | None = Field(default=None, max_length=2000)
    recorded_by_agency_id: uuid.UUID = Field(foreign_key="agency.id")
    recorded_at: datetime = Field(sa_type=UTCDateTime)
