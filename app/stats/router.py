from typing import Annotated

from pydantic import BaseModel
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.access.policy import Principal
from app.access.roles import AUDIT_READ, CASES_READ, REPORTS_READ
from app.agencies.models import Agency
from app.auth.deps import requires_any
from app.cases.models import CaseFile
from app.core import routes
from app.core.errors import problem_responses
from app.reports.models import Report
from app.unit_of_work import SessionDep

router = routes.router(prefix="/api/v1", tags=["stats"])


class Stats(BaseModel):
    """Counts only: no personal data, no case content."""

    cases_total: int
    reports_total: int
    cases_by_status: dict[str, int]
    cases_by_category: dict[str, int]
    cases_by_platform: dict[str, int]
    cases_by_province: dict[str, int]
    cases_by_custodian: dict[str, int]
    reports_by_agency: dict[str, int]


def _counts(session: Session, column) -> dict[str, int]:
    return {str(k): int(v) for k, v in session.exec(select(column, func.count()).group_by(column))}


@router.get(
    "/stats",
    operation_id="get_stats",
    response_model=Stats,
    summary="Counts by status, category, platform, province and agency",
    responses=problem_responses(401, 403),
)
def get_stats(
    _principal: Annotated[Principal, requires_any(CASES_READ, REPORTS_READ, AUDIT_READ)], session: SessionDep
) -> Stats:
    province = func.substr(CaseFile.region_code, 1, 2)
    custodian = session.exec(
        select(Agency.code, func.count())
        .join(CaseFile, col(CaseFile.custodian_agency_id) == col(Agency.id))
        .group_by(Agency.code)
    )
    reporters = session.exec(
        select(Agency.code, func.count()).join(Report, col(Report.agency_id) == col(Agency.id)).group_by(Agency.code)
    )
    by_status = _counts(session, CaseFile.status)
    return Stats(
        cases_total=sum(by_status.values()),
        reports_total=session.exec(select(func.count()).select_from(Report)).one(),
        cases_by_status=by_status,
        cases_by_category=_counts(session, CaseFile.category),
        cases_by_platform=_counts(session, CaseFile.platform),
        cases_by_province=_counts(session, province),
        cases_by_custodian={k: int(v) for k, v in custodian},
        reports_by_agency={k: int(v) for k, v in reporters},
    )
