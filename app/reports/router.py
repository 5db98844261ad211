import uuid
from datetime import datetime
from typing import Annotated

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.access import policy
from app.access.policy import Action, Principal
from app.access.roles import REPORTS_READ, REPORTS_WRITE
from app.audit import service as audit
from app.auth.deps import requires
from app.cases import service as cases
from app.core import idempotency, routes
from app.core.deps import NowDep, SettingsDep
from app.core.errors import FieldError, ValidationProblem, problem_responses
from app.core.pagination import Cursor, Limit, decode_time_id, encode_time_id
from app.core.programs import Program
from app.reports import service
from app.reports.schemas import EvidenceRef, ReportBatchIn, ReportBatchOut, ReportIn, ReportOut, ReportPage, Strict
from app.unit_of_work import SessionDep, WorkDep

router = routes.router(prefix="/api/v1", tags=["reports"])

Writer = Annotated[Principal, requires(REPORTS_WRITE)]
Reader = Annotated[Principal, requires(REPORTS_READ)]


@router.post(
    "/reports",
    operation_id="submit_report",
    status_code=201,
    response_model=ReportOut,
    summary="Push one suspected-violation report (joins the existing case for the same ASN and URL)",
    responses=problem_responses(401, 403, 409, 422),
)
async def submit_report(
    payload: ReportIn,
    principal: Writer,
    work: WorkDep,
    settings: SettingsDep,
    now: NowDep,
    key: idempotency.IdempotencyKey,
) -> JSONResponse:
    def produce() -> Program[tuple[int, dict]]:
        (report,) = yield from service.submit_program(
            work.dialect, work.info, settings, principal, [payload], now=now, pointer_prefix="/body"
        )
        return 201, report.model_dump(mode="json")

    return await work.run(
        idempotency.guarded(
            work.dialect,
            client_id=principal.client_id,
            key=key,
            now=now,
            produce=produce(),
            operation="submit_report",
            payload=payload.model_dump(mode="json"),
        )
    )


@router.post(
    "/reports:batch",
    operation_id="submit_report_batch",
    status_code=201,
    response_model=ReportBatchOut,
    summary="Push a batch of reports, all or nothing; errors point at the item index",
    responses=problem_responses(401, 403, 409, 422),
)
async def submit_report_batch(
    payload: ReportBatchIn,
    principal: Writer,
    work: WorkDep,
    settings: SettingsDep,
    now: NowDep,
    key: idempotency.IdempotencyKey,
) -> JSONResponse:
    if len(payload.items) > settings.batch_max_items:
        raise ValidationProblem(
            f"A batch holds at most {settings.batch_max_items} reports.",
            errors=[FieldError(pointer="/body/items", detail=f"{len(payload.items)} items")],
        )

    def produce() -> Program[tuple[int, dict]]:
        reports = yield from service.submit_program(
            work.dialect, work.info, settings, principal, payload.items, now=now
        )
        return 201, ReportBatchOut(items=reports).model_dump(mode="json")

    return await work.run(
        idempotency.guarded(
            work.dialect,
            client_id=principal.client_id,
            key=key,
            now=now,
            produce=produce(),
            operation="submit_report_batch",
            payload=payload.model_dump(mode="json"),
        )
    )


@router.get(
    "/reports",
    operation_id="list_reports",
    response_model=ReportPage,
    summary="Your agency's reports, oldest first, with their case status and outcome",
    responses=problem_responses(401, 403, 422),
)
def list_reports(principal: Reader, session: SessionDep, cursor: Cursor = None, limit: Limit = 50) -> ReportPage:
    after = decode_time_id(cursor) if cursor else None
    reports = service.list_own(session, principal, after=after, limit=limit)
    next_cursor = encode_time_id(reports[-1].received_at, reports[-1].id) if len(reports) == limit else None
    return ReportPage(items=service.to_out(session, reports), next_cursor=next_cursor)


@router.get(
    "/reports/{report_id}",
    operation_id="get_report",
    response_model=ReportOut,
    summary="One of your agency's reports",
    responses=problem_responses(401, 403, 404, 422),
)
def get_report(report_id: uuid.UUID, principal: Reader, session: SessionDep) -> ReportOut:
    return service.to_out(session, [service.get_own(session, principal, report_id)])[0]


class InformationRequestOut(BaseModel):
    id: uuid.UUID
    case_id: uuid.UUID
    report_id: uuid.UUID = Field(description="Your report that the case authority asks about")
    question: str
    requested_at: datetime
    answered_at: datetime | None
    answer_note: str | None


class InformationRequestPage(BaseModel):
    items: list[InformationRequestOut]


class AnswerIn(Strict):
    model_config = {"extra": "forbid"}

    note: str = Field(min_length=1, max_length=4000)
    evidence: list[EvidenceRef] = Field(default_factory=list, max_length=20)


@router.get(
    "/information-requests",
    operation_id="list_information_requests",
    response_model=InformationRequestPage,
    summary="Information requests on cases that hold your reports",
    responses=problem_responses(401, 403),
)
def list_information_requests(principal: Reader, session: SessionDep, open_only: bool = True) -> InformationRequestPage:
    query = policy.information_requests_readable(principal)
    rows = [r for r in session.exec(query) if not open_only or r.answered_at is None]
    audit.note(session, "information_request_ids", [r.id for r in rows])
    audit.note(session, "case_ids", [r.case_id for r in rows])
    return InformationRequestPage(items=[InformationRequestOut.model_validate(r, from_attributes=True) for r in rows])


@router.post(
    "/information-requests/{request_id}/answer",
    operation_id="answer_information_request",
    response_model=InformationRequestOut,
    summary="Answer with a note and evidence; the case returns to screening",
    responses=problem_responses(401, 403, 404, 409, 422),
)
def answer_information_request(
    request_id: uuid.UUID, payload: AnswerIn, principal: Writer, session: SessionDep, now: NowDep
) -> InformationRequestOut:
    info = service.get_request_for_reporter(session, principal, request_id)
    case = cases.get_case(session, info.case_id)
    policy.require(principal, Action.answer_information_request, region_code=case.region_code)
    service.attach_answer_evidence(session, principal, info, [(e.sha256, e.kind, e.filename) for e in payload.evidence])
    cases.answer_information(session, info, note=payload.note, principal=principal, now=now)
    return InformationRequestOut.model_validate(info, from_attributes=True)
