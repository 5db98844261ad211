import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from app.catalogues.data import ENGAGEMENT_ACTIONS, VIOLATIONS
from app.core.clock import UtcDatetime
from app.reports.fields import ContentUrl, Nip, RegionCode

ViolationCode = StrEnum("ViolationCode", {v.code: v.code for v in VIOLATIONS})  # type: ignore[misc]
EngagementAction = StrEnum("EngagementAction", {a: a for a in ENGAGEMENT_ACTIONS})  # type: ignore[misc]


class Platform(StrEnum):
    facebook = "facebook"
    instagram = "instagram"
    x = "x"
    tiktok = "tiktok"
    youtube = "youtube"
    whatsapp = "whatsapp"
    other = "other"


class ContentKind(StrEnum):
    post = "post"
    comment = "comment"
    share = "share"
    like = "like"
    follow = "follow"
    group_membership = "group_membership"
    photo = "photo"
    video = "video"
    story = "story"
    profile = "profile"
    other = "other"


class Source(StrEnum):
    monitoring = "monitoring"
    public_complaint = "public_complaint"
    asn_self_report = "asn_self_report"
    bawaslu_referral = "bawaslu_referral"


Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Text300 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        """PostgreSQL cannot store U+0000 in text: refused here, with its field, never stripped silently."""
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text may not contain the NUL character (U+0000)")
        return value


class AsnIn(Strict):
    name: Text200
    nip: Nip | None = Field(None, description="NIP PNS, 18 digits (structure checked)")
    ni_pppk: Annotated[str, StringConstraints(pattern=r"^[0-9]{18}$", max_length=18)] | None = Field(
        None, description="NI PPPK"
    )
    instansi: Text300
    jabatan: Text300 | None = None
    region_code: RegionCode

    @model_validator(mode="after")
    def _one_identifier(self) -> "AsnIn":
        if (self.nip is None) == (self.ni_pppk is None):
            raise ValueError("give exactly one of nip or ni_pppk")
        return self

    @property
    def identifier(self) -> tuple[str, str]:
        return ("nip", self.nip) if self.nip else ("ni_pppk", self.ni_pppk or "")


class PublicReporterIn(Strict):
    """A member of the public who complained. Confidential: sealed at rest, shown only to `identity:read`."""

    name: Text200
    contact: Text200 | None = None


class EvidenceRef(Strict):
    sha256: Sha256 = Field(description="Of a file uploaded with POST /api/v1/evidence by the same agency")
    kind: Literal["screenshot", "archived_page", "video", "other"]
    filename: Annotated[str, StringConstraints(max_length=255)] | None = None


class ReportIn(Strict):
    reference: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:/-]{1,100}$", max_length=100)] = Field(
        description="The reporter's own id for this report; unique per agency"
    )
    content_url: ContentUrl = Field(description="Normalised on receipt; never fetched by the service")
    platform: Platform
    content_kind: ContentKind
    captured_at: UtcDatetime
    excerpt: Annotated[str, StringConstraints(max_length=4000)] | None = None
    category: ViolationCode
    engagement_action: EngagementAction | None = Field(
        None, description="Required for engage_campaign_account: post, comment, share, like, follow or join"
    )
    asn: AsnIn
    source: Source
    public_reporter: PublicReporterIn | None = None
    evidence: list[EvidenceRef] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _engagement(self) -> "ReportIn":
        engaged = self.category == "engage_campaign_account"
        if engaged != (self.engagement_action is not None):
            raise ValueError("engagement_action is required for engage_campaign_account and only for it")
        return self


class ReportBatchIn(Strict):
    items: list[ReportIn] = Field(min_length=1, description="At most NETRAL_BATCH_MAX_ITEMS (default 100)")


class EvidenceOut(BaseModel):
    sha256: str
    kind: str
    filename: str | None
    size: int
    media_type: str


class SanctionOut(BaseModel):
    id: uuid.UUID
    track: str
    code: str
    level: str
    catalogue_version: str
    legal_basis: str
    decided_by: str
    decree_number: str
    decree_date: str
    note: str | None
    recorded_at: datetime


class CaseStatusForReporter(BaseModel):
    id: uuid.UUID
    status: str
    joined_existing_case: bool = Field(description="True when this report joined a case opened earlier")
    updated_at: datetime
    outcome: list[SanctionOut]
    open_information_requests: list[uuid.UUID]


class AsnOut(BaseModel):
    name: str
    identifier: str
    identifier_kind: str
    instansi: str
    jabatan: str | None
    region_code: str


class ReportOut(BaseModel):
    """What the reporter sees of its own report."""

    id: uuid.UUID
    reference: str
    content_url: str
    platform: str
    content_kind: str
    captured_at: datetime
    excerpt: str | None
    category: str
    engagement_action: str | None
    asn: AsnOut
    source: str
    has_public_reporter: bool
    evidence: list[EvidenceOut]
    received_at: datetime
    case: CaseStatusForReporter


class ReportPage(BaseModel):
    items: list[ReportOut]
    next_cursor: str | None


class ReportBatchOut(BaseModel):
    items: list[ReportOut]
