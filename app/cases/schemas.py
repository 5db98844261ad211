import datetime as dt
import uuid
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from app.cases.models import CaseStatus
from app.catalogues.data import SANCTIONS, Track
from app.reports.schemas import AsnOut, EvidenceOut, SanctionOut, Strict

SanctionCode = StrEnum("SanctionCode", {s.code: s.code for s in SANCTIONS})  # type: ignore[misc]


class ReportInCase(BaseModel):
    """A report as the observer sees it: never the identity of a member of the public."""

    id: uuid.UUID
    reporter_agency: str
    reference: str
    content_kind: str
    captured_at: dt.datetime
    excerpt: str | None
    engagement_action: str | None
    source: str
    received_at: dt.datetime
    asn: AsnOut
    evidence: list[EvidenceOut]


class ReportInCaseForAuthority(ReportInCase):
    has_public_reporter: bool = Field(description="Read it with identity:read (every read is audited)")


class InformationRequestInCase(BaseModel):
    id: uuid.UUID
    report_id: uuid.UUID = Field(description="The report asked about; its reporter is the one asked")
    question: str
    requested_at: dt.datetime
    answered_at: dt.datetime | None
    answer_note: str | None


class CaseView(BaseModel):
    id: uuid.UUID
    status: CaseStatus
    custodian_agency: str
    category: str
    platform: str
    region_code: str
    content_url: str
    asn_identifier: str
    opened_at: dt.datetime
    updated_at: dt.datetime
    recommended_at: dt.datetime | None
    closed_at: dt.datetime | None
    overdue: bool = Field(description="Recommendation issued and the PPK's follow-up deadline has passed")
    version: int
    sanctions: list[SanctionOut]
    information_requests: list[InformationRequestInCase]


VIEW_DESCRIPTION = "Which view this is: a response validates against exactly one of the views (discriminator)"


class CaseForObserver(CaseView):
    view: Literal["observer"] = Field("observer", description=VIEW_DESCRIPTION)
    reports: list[ReportInCase]


class CaseForAuthority(CaseView):
    view: Literal["authority"] = Field("authority", description=VIEW_DESCRIPTION)
    reports: list[ReportInCaseForAuthority]


class CasePageForAuthority(BaseModel):
    view: Literal["authority"] = Field("authority", description=VIEW_DESCRIPTION)
    items: list[CaseForAuthority]
    next_cursor: str | None


class CasePageForObserver(BaseModel):
    view: Literal["observer"] = Field("observer", description=VIEW_DESCRIPTION)
    items: list[CaseForObserver]
    next_cursor: str | None


class TransitionIn(Strict):
    to: CaseStatus
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class StatusChangeOut(BaseModel):
    from_status: str | None
    to_status: str
    reason: str
    actor_agency: str
    at: dt.datetime


class HistoryOut(BaseModel):
    items: list[StatusChangeOut]


class InformationRequestIn(Strict):
    question: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
    report_id: uuid.UUID | None = Field(
        None,
        description="The report asked about: its reporter alone sees and answers the request. Default: the "
        "report that opened the case.",
    )


class SanctionIn(Strict):
    track: Track
    code: SanctionCode
    legal_basis: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    decided_by: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)] = Field(
        description="The PPK who imposed it"
    )
    decree_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = Field(
        description="Nomor SK"
    )
    decree_date: dt.date = Field(description="Tanggal SK")
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class ReporterIdentityOut(BaseModel):
    report_id: uuid.UUID
    name: str
    contact: str | None
