from sqlmodel import Session

from app.agencies.models import Agency
from app.agencies.schemas import AgreementNow, AgreementSummary, ExtensionOut, Me
from app.agreements.service import AgreementStatus
from app.auth.deps import AnyPrincipal
from app.core import routes
from app.core.deps import NowDep
from app.core.errors import problem_responses
from app.unit_of_work import SessionDep

router = routes.router(prefix="/api/v1", tags=["identity"])


def agreement_summary(status: AgreementStatus) -> AgreementSummary:
    a = status.agreement
    return AgreementSummary(
        code=a.code if a else None,
        title=a.title if a else None,
        state=status.state.value,
        valid_from=a.valid_from if a else None,
        valid_until=a.valid_until if a else None,
        wind_down_until=status.wind_down_until,
        retention_until=status.retention_until,
        is_demo=a.is_demo if a else False,
    )


def _agency_name(session: Session, agency_id: object) -> str:
    agency = session.get(Agency, agency_id)
    return agency.name if agency else ""


@router.get(
    "/me",
    operation_id="get_me",
    summary="Who am I: agency, roles, scopes in force, agreement state",
    response_model=Me,
    responses=problem_responses(401, 403),
)
def get_me(principal: AnyPrincipal, session: SessionDep) -> Me:
    return Me(
        client_id=principal.client_id,
        agency_code=principal.agency_code,
        agency_name=_agency_name(session, principal.agency_id),
        roles=sorted(principal.roles),
        scopes=sorted(principal.scopes),
        token_id=principal.token_id,
        token_expires_at=principal.token_expires_at,
        agreement=agreement_summary(principal.agreement),
    )


@router.get(
    "/agreement",
    operation_id="get_agreement",
    response_model=AgreementNow,
    summary="The agreement that applies to your agency now: state, dates, days left, extensions",
    responses=problem_responses(401),
)
def get_agreement(principal: AnyPrincipal, now: NowDep) -> AgreementNow:
    status = principal.agreement
    summary = agreement_summary(status)
    days_left = (status.agreement.valid_until - now).days if status.agreement else None
    return AgreementNow(
        **summary.model_dump(),
        days_left=days_left,
        running_extensions=[
            ExtensionOut(region_code=e.region_code, valid_until=e.valid_until, reason=e.reason)
            for e in status.extensions
        ],
    )
