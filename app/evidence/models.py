import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime


class EvidenceBlob(SQLModel, table=True):
    """A stored file, addressed by its SHA-256: the hash is the record, so later tampering is detectable."""

    __tablename__ = "evidence_blob"

    sha256: str = Field(primary_key=True, max_length=64)
    size: int
    media_type: str = Field(max_length=100)
    uploaded_by_agency_id: uuid.UUID = Field(foreign_key="agency.id", index=True)
    uploaded_at: datetime = Field(sa_type=UTCDateTime)
    purged_at: datetime | None = Field(
        default=None, sa_type=UTCDateTime, description="When the retention purge deleted the file; the hash stays"
    )


class EvidenceLink(SQLModel, table=True):
    """Evidence attached to a report, or to an answer to an information request."""

    __tablename__ = "evidence_link"

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(foreign_key="evidence_blob.sha256", index=True)
    kind: str = Field(max_length=20)
    filename: str | None = Field(default=None, max_length=255)
    report_id: uuid.UUID | None = Field(default=None, foreign_key="report.id", index=True)
    information_request_id: uuid.UUID | None = Field(default=None, foreign_key="information_request.id", index=True)
