import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class Report(SQLModel, table=True):
    """A content report pushed by a reporter agency. ``reference`` is the reporter's own id for it: unique
    per agency, the anchor that makes a resend harmless."""

    __table_args__ = (UniqueConstraint("agency_id", "reference", name="uq_report_agency_id_reference"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    agency_id: uuid.UUID = Field(foreign_key="agency.id", index=True)
    client_id: str = Field(max_length=64)
    reference: str = Field(max_length=100)
    case_id: uuid.UUID = Field(foreign_key="case_file.id", index=True)
    joined_existing_case: bool = False
    content_url: str = Field(max_length=2048)
    platform: str = Field(max_length=20)
    content_kind: str = Field(max_length=20)
    captured_at: datetime = Field(sa_type=UTCDateTime)
    excerpt: str | None = Field(default=None, max_length=4000)
    category: str = Field(max_length=40)
    engagement_action: str | None = Field(default=None, max_length=10)
    asn_name: str = Field(max_length=200)
    asn_identifier: str = Field(max_length=21, index=True)
    asn_identifier_kind: str = Field(max_length=8)
    asn_instansi: str = Field(max_length=300)
    asn_jabatan: str | None = Field(default=None, max_length=300)
    region_code: str = Field(max_length=13)
    source: str = Field(max_length=24)
    reporter_identity_sealed: str | None = Field(default=None, description="AES-GCM; see app/reports/identity.py")
    reporter_identity_key_id: str | None = Field(default=None, max_length=32)
    received_at: datetime = Field(sa_type=UTCDateTime, index=True)
