"""The change feed. Plain auto-increment ids commit out of order (id 7 can commit before id 6, and a poller
that saw 7 would skip 6 forever). Here an event gets its ``position`` as the last act before its
transaction commits, by incrementing the one ``feed_counter`` row: that row lock is held until commit, so
positions are handed out and become visible in commit order, without gaps (a rolled-back transaction
rolls back its increment too). Pollers read ``position > cursor``: never a miss, never a repeat."""

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, event, insert, text, update
from sqlmodel import Session, col

from app.access import policy
from app.access.policy import Principal
from app.core import programs
from app.core.programs import Program, Step
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
    """Queue an event in the unit of work; ``publish`` writes it, with its position, just before the commit.
    Queued outside any savepoint's reach: a savepoint that rolls back (a dedupe race) cannot take it along."""
    queue(session.info, kind, case_id=case_id, now=now, report=report, **data)


def queue(
    info: dict[str, Any], kind: str, *, case_id: uuid.UUID, now: datetime, report: Report | None = None, **data: Any
) -> None:
    """``record`` for a program (app/core/programs.py): queued in its unit of work's ``info``."""
    info.setdefault(PENDING, []).append(
        PendingEvent(
            kind=kind,
            case_id=case_id,
            report_id=report.id if report else None,
            report_agency_id=report.agency_id if report else None,
            data={k: (str(v) if isinstance(v, uuid.UUID) else v) for k, v in data.items()},
            occurred_at=now,
        )
    )


def publish(session: Session) -> None:
    """Write the queued events with their positions: the unit of work's last write before it commits
    (``app.unit_of_work``)."""
    programs.run(session, publish_program(session.get_bind().dialect.name, session.info))


def publish_program(dialect: str, info: dict[str, Any]) -> Program[None]:
    """Taking the ``feed_counter`` row here, last, is what orders positions by commit; and because every
    other row lock of the transaction was taken before, writers queue on this row in one order and cannot
    deadlock on it."""
    pending: list[PendingEvent] = info.pop(PENDING, [])
    if not pending:
        return
    if dialect == "postgresql":
        rows = json.dumps([_row(i, e) for i, e in enumerate(pending)])
        yield Step(_PG_PUBLISH, {"n": len(pending), "rows": rows}, returns=False)
        return
    taken = yield Step(_TAKE_POSITIONS, {"n": len(pending)})
    first = taken[0]["last_position"] - len(pending) + 1
    yield Step(
        _INSERT_EVENT,
        [
            {
                "position": first + offset,
                "kind": item.kind,
                "case_id": item.case_id,
                "report_id": item.report_id,
                "report_agency_id": item.report_agency_id,
                "data": item.data,
                "occurred_at": item.occurred_at,
            }
            for offset, item in enumerate(pending)
        ],
    )


_COUNTER = FeedCounter.__table__.c  # type: ignore[attr-defined]
_TAKE_POSITIONS = (
    update(FeedCounter.__table__)  # type: ignore[attr-defined]
    .where(_COUNTER.id == 1)
    .values(last_position=_COUNTER.last_position + bindparam("n"))
    .returning(_COUNTER.last_position)
)
_INSERT_EVENT = insert(FeedEvent.__table__)  # type: ignore[attr-defined]


# The counter's increment and the events' insert in one round trip (PostgreSQL).
_PG_PUBLISH = text(
    """
WITH counter AS (
  UPDATE feed_counter SET last_position = last_position + :n WHERE id = 1 RETURNING last_position
)
INSERT INTO feed_event (position, kind, case_id, report_id, report_agency_id, data, occurred_at)
SELECT counter.last_position - :n + 1 + e.ord, e.kind, e.case_id, e.report_id, e.report_agency_id, e.data,
       e.occurred_at
FROM counter, jsonb_to_recordset(CAST(:rows AS jsonb)) AS e(
  ord int, kind text, case_id uuid, report_id uuid, report_agency_id uuid, data json, occurred_at timestamptz)
"""
)


def _row(offset: int, item: PendingEvent) -> dict[str, Any]:
    return {
        "ord": offset,
        "kind": item.kind,
        "case_id": str(item.case_id),
        "report_id": str(item.report_id) if item.report_id else None,
        "report_agency_id": str(item.report_agency_id) if item.report_agency_id else None,
        "data": item.data,
        "occurred_at": item.occurred_at.isoformat(),
    }


def queued(session: Session) -> bool:
    """Whether the unit of work has events to publish."""
    return bool(session.info.get(PENDING))


def discard(session: Session) -> None:
    """The unit of work rolled back: its events never happened."""
    session.info.pop(PENDING, None)


@event.listens_for(Session, "before_commit")
def _refuse_unpublished(session: Session) -> None:
    """A guard, not a writer: a transaction that commits with queued events would lose them silently.
    (Savepoints fire ``before_commit`` too; they are not the unit of work and are let through.)"""
    if session.info.get(PENDING) and not session.in_nested_transaction():
        raise RuntimeError("feed events were queued but not published; commit through app.unit_of_work")


def page(session: Session, principal: Principal, *, after: int, limit: int) -> list[FeedEvent]:
    query = (
        policy.events_readable(principal)
        .where(col(FeedEvent.position) > after)
        .order_by(col(FeedEvent.position))
        .limit(limit)
    )
    return list(session.exec(query))
