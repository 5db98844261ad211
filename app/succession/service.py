"""Succession (KASN → BKN, UU 20/2023): one operator action moves, in one transaction, the role, the agreement
parties, the custody of open cases and their feed events; the action's audit row names every case it moved.

The one place a role changes hands: the CLI (``netral agencies transfer-role``) calls ``transfer_role``.
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.access.policy import OPEN_STATES
from app.agencies import service as agencies
from app.agencies.models import Agency, AgencyRole, Role
from app.agreements import service as agreements
from app.audit import service as audit
from app.cases.models import CaseFile
from app.events import service as events


@dataclass
class Succession:
    role: Role
    source: str
    successor: str
    agreements_joined: list[str] = field(default_factory=list)
    cases_moved: list[CaseFile] = field(default_factory=list)


def transfer_role(session: Session, *, role: Role, source: Agency, successor: Agency, now: datetime) -> Succession:
    """Close the source's role and open it for the successor at ``now`` (the next request of either agency
    sees it, tokens already issued included: scopes are re-checked per request); the successor joins every
    agreement of the source; for the case authority, every open case the source holds passes to the
    successor, with a ``case.custody_transferred`` event each."""
    if source.id == successor.id:
        raise agencies.AgencyError("an agency cannot succeed itself")
    done = Succession(role=role, source=source.code, successor=successor.code)
    _move_role(session, role=role, source=source, successor=successor, now=now)
    done.agreements_joined = agreements.inherit_parties(session, source_id=source.id, successor_id=successor.id)
    if role == Role.case_authority:
        done.cases_moved = _move_custody(session, source=source, successor=successor, now=now)
    audit.note(session, "case_ids", [c.id for c in done.cases_moved])
    session.flush()
    return done


def _move_role(session: Session, *, role: Role, source: Agency, successor: Agency, now: datetime) -> None:
    held = session.exec(
        select(AgencyRole).where(
            AgencyRole.agency_id == source.id, AgencyRole.role == role.value, agencies.current(now)
        )
    ).all()
    if not held:
        raise agencies.AgencyError(f"{source.code} does not hold the role {role.value}")
    for row in held:
        row.valid_until = now
        session.add(row)
    if role.value not in agencies.current_roles(session, agency_id=successor.id, now=now):
        session.add(AgencyRole(agency_id=successor.id, role=role.value, valid_from=now))


def _move_custody(session: Session, *, source: Agency, successor: Agency, now: datetime) -> list[CaseFile]:
    open_cases = list(
        session.exec(
            select(CaseFile)
            .where(CaseFile.custodian_agency_id == source.id, col(CaseFile.status).in_([s.value for s in OPEN_STATES]))
            .order_by(col(CaseFile.id))  # one lock order, as every other writer of case rows
        )
    )
    if not open_cases:
        return []
    session.execute(
        update(CaseFile)
        .where(col(CaseFile.id).in_([c.id for c in open_cases]))
        .values(custodian_agency_id=successor.id, version=CaseFile.version + 1, updated_at=now)
    )
    for case in open_cases:
        events.record(
            session,
            "case.custody_transferred",
            case_id=case.id,
            now=now,
            from_agency=source.code,
            to_agency=successor.code,
        )
    return open_cases
