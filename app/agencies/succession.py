"""Succession (KASN → BKN): the role and the custody of open cases move together, in one transaction."""

from datetime import datetime

from sqlmodel import Session, col, select

from app.agencies import service as agencies
from app.agencies.models import Agency, Role
from app.cases.models import CaseFile
from app.cases.service import OPEN_STATES
from app.events import service as events


def transfer_role(session: Session, *, role: Role, source: Agency, successor: Agency, now: datetime) -> int:
    """Returns how many open cases changed custodian."""
    agencies.transfer_role(session, role=role, source=source, successor=successor, now=now)
    if role != Role.case_authority:
        return 0
    open_cases = session.exec(
        select(CaseFile).where(
            CaseFile.custodian_agency_id == source.id, col(CaseFile.status).in_([s.value for s in OPEN_STATES])
        )
    ).all()
    for case in open_cases:
        case.custodian_agency_id = successor.id
        case.version += 1
        case.updated_at = now
        session.add(case)
        events.record(
            session,
            "case.custody_transferred",
            case_id=case.id,
            now=now,
            from_agency=source.code,
            to_agency=successor.code,
        )
    session.flush()
    return len(open_cases)
