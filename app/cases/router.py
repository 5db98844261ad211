import uuid
from typing import Annotated

from fastapi import Header, Query, Request, Response
from sqlalchemy import and_, or_
from sqlmodel import col, select

from app.access import policy
from app.access.policy import Action, Principal
from app.access.roles import CASES_READ, CASES_WRITE, IDENTITY_READ, SANCTIONS_WRITE
from app.agencies.models import Agency
from app.auth.deps import requires
from app.cases import loading, service, views
from app.cases.models import CaseFile, CaseStatus, CaseStatusChange
from app.cases.schemas import (
    CaseForAuthority,
    CaseForObserver,
    CasePageForAuthority,
    CasePageForObserver,
    HistoryOut,
    InformationRequestIn,
    InformationRequestInCase,
    ReporterIdentityOut,
    SanctionIn,
    StatusChangeOut,
    TransitionIn,
)
from app.core import idempotency, routes
from app.core.clock import UtcDatetime
from app.core.deps import NowDep, SettingsDep, now_of, runtime_of
from app.core.errors import NotFound, PreconditionFailed, PreconditionRequired, problem_responses
from app.core.pagination import Cursor, Limit, decode_time_id, encode_time_id
from app.core.programs import Program
from app.core.text import NO_CONTROL_CHARACTERS
from app.reports import identity
from app.reports.models import Report
from app.reports.schemas import Platform, SanctionOut, ViolationCode
from app.reports.service import sanction_out
from app.unit_of_work import SessionDep, WorkDep

router = routes.router(prefix="/api/v1/cases", tags=["cases"])

CaseReader = Annotated[Principal, requires(CASES_READ)]
CaseWriter = Annotated[Principal, requires(CASES_WRITE)]
SanctionWriter = Annotated[Principal, requires(SANCTIONS_WRITE)]
IdentityReader = Annotated[Principal, requires(IDENTITY_READ)]
IfMatch = Annotated[str | None, Header(alias="If-Match", description="The case's ETag, from GET /cases/{id}")]

CASE_VIEW = {
    "description": "The case authority's view (CaseForAuthority) or the observer's (CaseForObserver)",
    "content": {
        "application/json": {
            "schema": {
                "oneOf": [
                    {"$ref": "#/components/schemas/CaseForAuthority"},
                    {"$ref": "#/components/schemas/CaseForObserver"},
                ]
            }
        }
    },
}


def etag(case_id: uuid.UUID, version: int) -> str:
    return f'"{case_id}.{version}"'


def expected_version(case: CaseFile, if_match: str | None) -> int:
    if not if_match:
        raise PreconditionRequired("Send If-Match with the case's ETag.")
    if if_match.strip() not in (etag(case.id, case.version), "*"):
        raise PreconditionFailed("The case changed since you read it; fetch it again for a fresh ETag.")
    return case.version


@router.get(
    "",
    operation_id="list_cases",
    summary="Cases, filtered, oldest first, with keyset cursors",
    responses={
        200: {
            "description": "A page",
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"$ref": "#/components/schemas/CasePageForAuthority"},
                            {"$ref": "#/components/schemas/CasePageForObserver"},
                        ]
                    }
                }
            },
        },
        **problem_responses(401, 403, 422),
    },
)
def list_cases(
    principal: CaseReader,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
    status: Annotated[list[CaseStatus] | None, Query()] = None,
    category: ViolationCode | None = None,
    platform: Platform | None = None,
    region: Annotated[
        str | None,
        Query(
            max_length=13,
            pattern=r"^\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?$",
            description="Kemendagri code; matches it and everything below it",
        ),
    ] = None,
    custodian: Annotated[
        str | None, Query(max_length=32, pattern=NO_CONTROL_CHARACTERS, description="Agency code")
    ] = None,
    opened_from: UtcDatetime | None = None,
    opened_to: UtcDatetime | None = None,
    overdue: bool | None = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> CasePageForAuthority | CasePageForObserver:
    query = policy.cases_readable(principal)
    if status:
        query = query.where(col(CaseFile.status).in_([s.value for s in status]))
    if category:
        query = query.where(CaseFile.category == category)
    if platform:
        query = query.where(CaseFile.platform == platform)
    if region:
        query = query.where(
            or_(col(CaseFile.region_code) == region, col(CaseFile.region_code).startswith(region + "."))
        )
    if custodian:
        query = query.join(Agency, col(Agency.id) == col(CaseFile.custodian_agency_id)).where(
            Agency.code == custodian.upper()
        )
    if opened_from:
        query = query.where(col(CaseFile.opened_at) >= opened_from)
    if opened_to:
        query = query.where(col(CaseFile.opened_at) < opened_to)
    if overdue is not None:
        late = and_(
            col(CaseFile.status) == CaseStatus.recommendation_issued.value,
            col(CaseFile.recommended_at) < service.overdue_before(now, settings.ppk_follow_up_days),
        )
        query = query.where(late if overdue else ~late)
    if cursor:
        at, last_id = decode_time_id(cursor)
        query = query.where(
            or_(col(CaseFile.opened_at) > at, and_(col(CaseFile.opened_at) == at, col(CaseFile.id) > last_id))
        )
    # Only the keys here: the rows themselves come with their children in the view's one statement.
    keys = query.with_only_columns(col(CaseFile.id), col(CaseFile.opened_at))
    found = session.execute(keys.order_by(col(CaseFile.opened_at), col(CaseFile.id)).limit(limit)).all()
    items = views.render(
        session, principal, [case_id for case_id, _ in found], now=now, follow_up_days=settings.ppk_follow_up_days
    )
    next_cursor = encode_time_id(found[-1].opened_at, found[-1].id) if len(found) == limit else None
    page = CasePageForAuthority if policy.sees_authority_view(principal) else CasePageForObserver
    return page(items=items, next_cursor=next_cursor)


@router.get(
    "/{case_id}",
    operation_id="get_case",
    summary="One case, with its ETag",
    responses={200: CASE_VIEW, **problem_responses(401, 403, 404, 422)},
)
async def get_case(
    case_id: uuid.UUID,
    principal: CaseReader,
    session: SessionDep,
    request: Request,
    response: Response,
) -> CaseForAuthority | CaseForObserver:
    # ``async``: the busiest route reads its case on the event loop (``loading.load_from_loop``). Its runtime
    # and time come from the request, not from dependencies: each one FastAPI solves costs more than the
    # read's own rules (bench/README.md, eighth pass).
    runtime, now = runtime_of(request), now_of(request)
    found: list[CaseForAuthority] | list[CaseForObserver] = []
    if policy.reads_cases(principal):
        loaded = await loading.load_from_loop(runtime, session, [case_id])
        found = views.present(
            session.info, principal, [case_id], loaded, now=now, follow_up_days=runtime.settings.ppk_follow_up_days
        )
    if not found:
        raise NotFound("No such case.")
    response.headers["ETag"] = etag(case_id, found[0].version)
    return found[0]


@router.post(
    "/{case_id}/transitions",
    operation_id="transition_case",
    response_model=CaseForAuthority,
    summary="Move a case along the lifecycle (If-Match required)",
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
)
async def transition_case(
    case_id: uuid.UUID,
    payload: TransitionIn,
    principal: CaseWriter,
    work: WorkDep,
    settings: SettingsDep,
    now: NowDep,
    response: Response,
    if_match: IfMatch = None,
) -> CaseForAuthority:
    def program() -> Program[CaseForAuthority]:
        case = yield from service.in_custody(work.dialect, principal, case_id)
        moved = yield from service.transition_program(
            work.info,
            case,
            to=payload.to,
            reason=payload.reason,
            expected_version=expected_version(case, if_match),
            principal=principal,
            now=now,
        )
        loaded = yield from loading.load_program(work.dialect, [moved.id])
        response.headers["ETag"] = etag(moved.id, moved.version)
        (view,) = views.present(
            work.info, principal, [moved.id], loaded, now=now, follow_up_days=settings.ppk_follow_up_days
        )
        return view  # type: ignore[return-value]

    return await work.run(program())


@router.get(
    "/{case_id}/history",
    operation_id="get_case_history",
    response_model=HistoryOut,
    summary="Status history: who, when, from, to, why",
    responses=problem_responses(401, 403, 404, 422),
)
def get_case_history(case_id: uuid.UUID, principal: CaseReader, session: SessionDep) -> HistoryOut:
    case = service.get_readable(session, principal, case_id)
    rows = session.exec(
        select(CaseStatusChange, Agency.code)
        .join(Agency, col(Agency.id) == col(CaseStatusChange.actor_agency_id))
        .where(CaseStatusChange.case_id == case.id)
        .order_by(col(CaseStatusChange.id))
    )
    return HistoryOut(
        items=[
            StatusChangeOut(
                from_status=c.from_status, to_status=c.to_status, reason=c.reason, actor_agency=code, at=c.at
            )
            for c, code in rows
        ]
    )


@router.post(
    "/{case_id}/information-requests",
    operation_id="request_information",
    status_code=201,
    response_model=InformationRequestInCase,
    summary="Ask the reporter for information or verification; the case moves to needs_info",
    responses=problem_responses(401, 403, 404, 409, 412, 422, 428),
)
def request_information(
    case_id: uuid.UUID,
    payload: InformationRequestIn,
    principal: CaseWriter,
    session: SessionDep,
    now: NowDep,
    response: Response,
    if_match: IfMatch = None,
) -> InformationRequestInCase:
    case = service.get_in_custody(session, principal, case_id)
    info = service.request_information(
        session,
        case,
        question=payload.question,
        report_id=payload.report_id,
        expected_version=expected_version(case, if_match),
        principal=principal,
        now=now,
    )
    response.headers["ETag"] = etag(case.id, case.version)
    return InformationRequestInCase.model_validate(info, from_attributes=True)


@router.post(
    "/{case_id}/sanctions",
    operation_id="record_sanction",
    status_code=201,
    response_model=SanctionOut,
    summary="Record a sanction outcome (recommendation_issued or sanction_reported only)",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def record_sanction(
    case_id: uuid.UUID,
    payload: SanctionIn,
    principal: SanctionWriter,
    session: SessionDep,
    now: NowDep,
    key: idempotency.OptionalIdempotencyKey = None,
):
    def produce() -> tuple[int, dict]:
        case = service.get_in_custody(session, principal, case_id, action=Action.record_sanction)
        outcome = service.record_sanction(session, case, fields=payload.model_dump(), principal=principal, now=now)
        return 201, sanction_out(outcome).model_dump(mode="json")

    return idempotency.execute(
        session,
        client_id=principal.client_id,
        key=key,
        now=now,
        produce=produce,
        operation=f"record_sanction:{case_id}",
        payload=payload.model_dump(mode="json"),
    )


@router.get(
    "/{case_id}/reports/{report_id}/reporter-identity",
    operation_id="read_reporter_identity",
    response_model=ReporterIdentityOut,
    summary="Decrypt the identity of the member of the public who reported (audited)",
    responses=problem_responses(401, 403, 404, 422),
)
def read_reporter_identity(
    case_id: uuid.UUID, report_id: uuid.UUID, principal: IdentityReader, session: SessionDep, settings: SettingsDep
) -> ReporterIdentityOut:
    case = service.get_readable(session, principal, case_id)
    policy.require(principal, Action.read_reporter_identity, region_code=case.region_code)
    report = session.exec(select(Report).where(Report.id == report_id, Report.case_id == case_id)).first()
    if report is None or report.reporter_identity_sealed is None or report.reporter_identity_key_id is None:
        raise NotFound("No reporter identity is held for this report.")
    opened = identity.open_sealed(
        settings, report.reporter_identity_sealed, key_id=report.reporter_identity_key_id, context=str(report.id)
    )
    return ReporterIdentityOut(report_id=report.id, name=opened["name"], contact=opened.get("contact"))
