from datetime import datetime

from pydantic import BaseModel, Field


class AgreementSummary(BaseModel):
    code: str | None
    title: str | None
    state: str = Field(description="none, pending, active, wind_down, expired or purged")
    valid_from: datetime | None
    valid_until: datetime | None
    wind_down_until: datetime | None
    retention_until: datetime | None
    is_demo: bool = False


class ExtensionOut(BaseModel):
    region_code: str
    valid_until: datetime
    reason: str


class AgreementNow(AgreementSummary):
    days_left: int | None = Field(description="Days until valid_until (negative once it has passed)")
    running_extensions: list[ExtensionOut]


class Me(BaseModel):
    client_id: str
    agency_code: str
    agency_name: str
    roles: list[str]
    scopes: list[str] = Field(description="Scopes in force for this request (token ∩ client ∩ roles ∩ agreement)")
    token_id: str
    token_expires_at: datetime
    agreement: AgreementSummary
