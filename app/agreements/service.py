"""What the agreement allows at a given moment. Pure computation over stored dates and an injected
``now``: no scheduled job is needed for the service to refuse what the agreement no longer allows."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from app.access.policy import AgreementStatus
from app.agreements.models import Agreement, AgreementExtension, AgreementParty, AgreementState

__all__ = ["AgreementState", "AgreementStatus", "governing", "state_of"]


def state_of(agreement: Agreement, now: datetime) -> AgreementState:
    if now < agreement.valid_from:
        return AgreementState.pending
    if now < agreement.valid_until:
        return AgreementState.active
    if now < agreement.valid_until + timedelta(days=agreement.wind_down_days):
        return AgreementState.wind_down
    if now < agreement.valid_until + timedelta(days=agreement.retention_days):
        return AgreementState.expired
    return AgreementState.purged


_PREFERENCE = [
    AgreementState.active,
    AgreementState.wind_down,
    AgreementState.pending,
    AgreementState.expired,
    AgreementState.purged,
]


def governing(session: Session, *, agency_id: object, now: datetime) -> AgreementStatus:
    """The agreement that applies to an agency now: an active one over one winding down, over one not yet
    in force, over ended ones; among equals the latest ``valid_until``."""
    agreements, extensions = load_for_agency(session, agency_id=agency_id)
    return governing_from(agreements, extensions, now=now)


def load_for_agency(
    session: Session, *, agency_id: object
) -> tuple[tuple[Agreement, ...], tuple[AgreementExtension, ...]]:
    """Every agreement the agency is party to, latest ``valid_until`` first, and all their extensions: what
    ``governing_from`` decides from at any instant (so a cached copy answers for any ``now``)."""
    query = (
        select(Agreement)
        .join(AgreementParty, col(AgreementParty.agreement_id) == col(Agreement.id))
        .where(AgreementParty.agency_id == agency_id)
        .order_by(col(Agreement.valid_until).desc())
    )
    agreements = tuple(session.exec(query))
    if not agreements:
        return (), ()
    extensions = session.exec(
        select(AgreementExtension).where(col(AgreementExtension.agreement_id).in_([a.id for a in agreements]))
    ).all()
    return agreements, tuple(extensions)


def governing_from(
    agreements: tuple[Agreement, ...], extensions: tuple[AgreementExtension, ...], *, now: datetime
) -> AgreementStatus:
    candidates = [(state_of(a, now), a) for a in agreements]
    if not candidates:
        return AgreementStatus(None, AgreementState.none)
    state, agreement = min(candidates, key=lambda pair: _PREFERENCE.index(pair[0]))
    running = tuple(e for e in extensions if e.agreement_id == agreement.id and e.valid_until > now)
    return AgreementStatus(agreement, state, running)


def inherit_parties(session: Session, *, source_id: uuid.UUID, successor_id: uuid.UUID) -> list[str]:
    """A successor agency steps into every agreement its predecessor is party to (KASN → BKN). Returns the
    codes of the agreements it joined."""
    held = set(session.exec(select(AgreementParty.agreement_id).where(AgreementParty.agency_id == successor_id)))
    joined = []
    for agreement in session.exec(
        select(Agreement)
        .join(AgreementParty, col(AgreementParty.agreement_id) == col(Agreement.id))
        .where(AgreementParty.agency_id == source_id)
    ):
        if agreement.id not in held:
            session.add(AgreementParty(agreement_id=agreement.id, agency_id=successor_id))
            joined.append(agreement.code)
    session.flush()
    return joined


def extend(session: Session, agreement: Agreement, *, region_code: str, valid_until: datetime, reason: str) -> None:
    session.add(
        AgreementExtension(agreement_id=agreement.id, region_code=region_code, valid_until=valid_until, reason=reason)
    )
    session.flush()


class AgreementError(ValueError):
    pass


def party_codes(session: Session, agreement: Agreement) -> list[str]:
    from app.agencies.models import Agency

    query = (
        select(Agency.code)
        .join(AgreementParty, col(AgreementParty.agency_id) == col(Agency.id))
        .where(AgreementParty.agreement_id == agreement.id)
        .order_by(col(Agency.code))
    )
    return list(session.exec(query))


def add_party(session: Session, *, agreement_code: str, agency: Any) -> None:
    agreement = session.exec(select(Agreement).where(Agreement.code == agreement_code)).first()
    if agreement is None:
        raise AgreementError(f"no agreement {agreement_code!r}")
    if session.get(AgreementParty, (agreement.id, agency.id)) is not None:
        raise AgreementError(f"{agency.code} is a party to {agreement_code} already")
    session.add(AgreementParty(agreement_id=agreement.id, agency_id=agency.id))
    session.flush()
