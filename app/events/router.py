import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from app.access.policy import Principal
from app.access.roles import AUDIT_READ, CASES_READ, REPORTS_READ
from app.audit import service as audit
from app.auth.deps import requires_any
from app.core import routes
from app.core.errors import problem_responses
from app.core.pagination import Cursor, Limit, decode_position, encode_cursor
from app.events import service
from app.unit_of_work import SessionDep

router = routes.router(prefix="/api/v1", tags=["events"])


class EventOut(BaseModel):
    position: int
    kind: str = Field(
        examples=[
            "report.received",
            "report.linked_to_case",
            "case.status_changed",
            "case.information_requested",
            "case.information_answered",
            "case.sanction_recorded",
        ]
    )
    case_id: uuid.UUID
    report_id: uuid.UUID | None
    data: dict[str, Any]
    occurred_at: datetime


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str = Field(description="Poll again with after=next_cursor; unchanged when nothing is new")


@router.get(
    "/events",
    operation_id="list_events",
    response_model=EventPage,
    summary="What changed since your last cursor, in commit order (never a miss, never a repeat)",
    responses=problem_responses(401, 403, 422),
)
def list_events(
    principal: Annotated[Principal, requires_any(REPORTS_READ, CASES_READ, AUDIT_READ)],
    session: SessionDep,
    after: Cursor = None,
    limit: Limit = 100,
) -> EventPage:
    position = decode_position(after, name="after")
    rows = service.page(session, principal, after=position, limit=limit)
    last = rows[-1].position if rows else position
    audit.note(session, "case_ids", [r.case_id for r in rows])
    return EventPage(
        items=[EventOut.model_validate(r, from_attributes=True) for r in rows], next_cursor=encode_cursor(last)
    )
