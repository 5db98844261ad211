from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from app.agencies.models import Agency, AgencyRole, Role


class AgencyError(ValueError):
    pass


def get_by_code(session: Session, code: str) -> Agency | None:
    return session.exec(select(Agency).where(Agency.code == code.upper())).first()


def require_by_code(session: Session, code: str) -> Agency:
    agency = get_by_code(session, code)
    if agency is None:
        raise AgencyError(f"no agency with code {code!r}")
    return agency


def create(session: Session, *, code: str, name: str, roles: list[Role], now: datetime) -> Agency:
    if get_by_code(session, code) is not None:
        raise AgencyError(f"agency {code!r} exists already")
    agency = Agency(code=code.upper(), name=name, created_at=now)
    session.add(agency)
    session.flush()
    for role in roles:
        session.add(AgencyRole(agency_id=agency.id, role=role.value, valid_from=now))
    session.flush()
    return agency


def current(now: datetime):
    return (col(AgencyRole.valid_from) <= now) & or_(
        col(AgencyRole.valid_until).is_(None), col(AgencyRole.valid_until) > now
    )


def current_roles(session: Session, *, agency_id: object, now: datetime) -> set[str]:
    query = select(AgencyRole.role).where(AgencyRole.agency_id == agency_id, current(now))
    return set(session.exec(query))


def list_all(session: Session, *, now: datetime) -> list[tuple[Agency, set[str]]]:
    agencies = session.exec(select(Agency).order_by(Agency.code)).all()
    return [(a, current_roles(session, agency_id=a.id, now=now)) for a in agencies]
