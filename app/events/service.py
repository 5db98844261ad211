"""The change feed. Plain auto-increment ids commit out of order (id 7 can commit before id 6, and a poller
that saw 7 would skip 6 forever). Here an event gets its ``position`` as the last act before its
transaction commits, by incrementing the one ``feed_counter`` row: that row lock is held until commit, so
positions are handed out and become visible in commit order, without gaps (a rolled-back transaction
rolls back its increment too). Pollers read ``position > cursor``: never a miss, never a repeat."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.auth.service import Principal
from app.events.models import FeedCounter, FeedEvent
from app.reports.models import Report

PENDING = "netral.pending_events"


@dataclass
class PendingEvent:
    kind: str
    case_id: uuid.UUID
    report_id: uuid.UUID | None
    report_agency_id: uuid.UUID | None
    data: dict[str, Any]
    occurred_at: datetime


def record(
    session: Session, kind: str, *, case_id: uuid.UUID, now: datetime, report: Report | None = None, **data: Any
) -> None:
    """Queue an event; it is written, with its position, when the transaction commits."""
    session.info.setdefault(PENDING, []).append(
        PendingEvent(
            kind=kind,
            case_id=case_id,
            report_id=report.id if report else None,
            report_agency_id=report.agency_id if report else None,
            data={k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in data.items()},
            occurred_at=now,
        )
    )


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    pending: list[PendingEvent] = session.info.pop(PENDING, [])
    if not pending:
        return
    last = session.execute(
        update(FeedCounter)
        .where(col(FeedCounter.id) == 1)
        .values(last_position=FeedCounter.last_position + len(pending))  # type: ignore[operator]
        .returning(FeedCounter.last_position)  # type: ignore[arg-type]
    ).scalar_one()
    first = last - len(pending) + 1
    for offset, item in enumerate(pending):
        session.add(
            FeedEvent(
                position=first + offset,
                kind=item.kind,
                case_id=item.case_id,
                report_id=item.report_id,
                report_agency_id=item.report_agency_id,
                data=item.data,
                occurred_at=item.occurred_at,
            )
        )
    session.flush()


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(PENDING, None)


def readable(principal: Principal):  # type: ignore[no-untyped-def]
    """Events the caller may see: a reporter only those of cases holding its reports (and, for report
    events, only its own reports); case authority, observer and auditor see all (no personal data is in
    an event)."""
    query = select(FeedEvent)
    if principal.roles & {"case_authority", "observer", "auditor"}:
        return query
    own_cases = sa_select(Report.case_id).where(Report.agency_id == principal.agency_id)
    return query.where(col(FeedEvent.case_id).in_(own_cases)).where(
        or_(col(FeedEvent.report_agency_id).is_(None), col(FeedEvent.report_agency_id) == principal.agency_id)
    )


def page(session: Session, principal: Principal, *, after: int, limit: int) -> list[FeedEvent]:
    query = readable(principal).where(col(FeedEvent.position) > after).order_by(col(FeedEvent.position)).limit(limit)
    return list(session.exec(query))
