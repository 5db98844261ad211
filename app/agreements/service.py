"""What the agreement allows at a given moment. Pure computation over stored dates and an injected
``now``: no scheduled job is needed for the service to refuse what the agreement no longer allows."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session, col, select

from app.agreements.models import Agreement, AgreementExtension, AgreementParty
from app.auth import scopes


class AgreementState(StrEnum):
    none = "none"
    pending = "pending"
    active = "active"
    wind_down = "wind_down"
    expired = "expired"
    purged = "purged"


@dataclass(frozen=True)
class AgreementStatus:
    agreement: Agreement | None
    state: AgreementState
    extensions: tuple[AgreementExtension, ...] = ()  # those still running now

    @property
    def exchange_open(self) -> bool:
        """New reports and new cases: only while active."""
        return self.state == AgreementState.active

    def case_work_open(self, region_code: str) -> bool:
        """Work on existing cases: while active, during the wind-down, and afterwards for cases in a region
        whose extension still runs (a code covers itself and every code below it)."""
        if self.state in (AgreementState.active, AgreementState.wind_down):
            return True
        return any(region_code == e.region_code or region_code.startswith(e.region_code + ".") for e in self.extensions)

    @property
    def wind_down_until(self) -> datetime | None:
        a = self.agreement
        return None if a is None else a.valid_until + timedelta(days=a.wind_down_days)

    @property
    def retention_until(self) -> datetime | None:
        a = self.agreement
        return None if a is None else a.valid_until + timedelta(days=a.retention_days)


# Read access and audit outlive the exchange; operator work is never blocked by the agreement.
_SCOPES_BY_STATE: dict[AgreementState, frozenset[str]] = {
    AgreementState.none: frozenset({scopes.AUDIT_READ, scopes.ADMIN}),
    AgreementState.pending: frozenset({scopes.AUDIT_READ, scopes.ADMIN}),
    AgreementState.active: frozenset(scopes.ALL_SCOPES),
    AgreementState.wind_down: frozenset(
        {
            scopes.REPORTS_READ,
            scopes.REPORTS_WRITE,  # to answer information requests; new reports are refused (exchange_open)
            scopes.CASES_READ,
            scopes.CASES_WRITE,
            scopes.SANCTIONS_WRITE,
            scopes.IDENTITY_READ,
            scopes.AUDIT_READ,
            scopes.ADMIN,
        }
    ),
    AgreementState.expired: frozenset({scopes.CASES_READ, scopes.AUDIT_READ, scopes.ADMIN}),
    AgreementState.purged: frozenset({scopes.CASES_READ, scopes.AUDIT_READ, scopes.ADMIN}),
}


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
    query = (
        select(Agreement)
        .join(AgreementParty, col(AgreementParty.agreement_id) == col(Agreement.id))
        .where(AgreementParty.agency_id == agency_id)
        .order_by(col(Agreement.valid_until).desc())
    )
    candidates = [(state_of(a, now), a) for a in session.exec(query)]
    if not candidates:
        return AgreementStatus(None, AgreementState.none)
    state, agreement = min(candidates, key=lambda pair: _PREFERENCE.index(pair[0]))
    running = session.exec(
        select(AgreementExtension).where(
            AgreementExtension.agreement_id == agreement.id, col(AgreementExtension.valid_until) > now
        )
    ).all()
    return AgreementStatus(agreement, state, tuple(running))


CASE_WORK_SCOPES = frozenset({scopes.CASES_READ, scopes.CASES_WRITE, scopes.SANCTIONS_WRITE, scopes.IDENTITY_READ})


def scopes_allowed(status: AgreementStatus) -> frozenset[str]:
    allowed = _SCOPES_BY_STATE[status.state]
    if status.extensions and status.state in (AgreementState.expired, AgreementState.purged):
        allowed = allowed | CASE_WORK_SCOPES  # each case write still checks its region (case_work_open)
    return allowed


def inherit_parties(session: Session, *, source_id: object, successor_id: object) -> None:
    """A successor agency steps into every agreement its predecessor is party to (KASN → BKN)."""
    held = set(session.exec(select(AgreementParty.agreement_id).where(AgreementParty.agency_id == successor_id)))
    for agreement_id in session.exec(select(AgreementParty.agreement_id).where(AgreementParty.agency_id == source_id)):
        if agreement_id not in held:
            session.add(AgreementParty(agreement_id=agreement_id, agency_id=successor_id))
    session.flush()


def extend(session: Session, agreement: Agreement, *, region_code: str, valid_until: datetime, reason: str) -> None:
    session.add(
        AgreementExtension(agreement_id=agreement.id, region_code=region_code, valid_until=valid_until, reason=reason)
    )
    session.flush()
