"""Case routing: who takes custody of a new case.

The rule: the custodian is the party of the reporter's governing agreement (the one ``agreements.governing``
picks) that holds the ``case_authority`` role now. Exactly one such party is a correct configuration. None, or
two (say KASN and BKN both left holding the role after a half-done succession), is a configuration error: the
report is refused with ``routing-not-configured`` naming the agreement and the candidates, and the operator
sees the same problem in ``netral agreements show`` and ``/readyz``. Never a silent choice.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from app.access.policy import Principal
from app.access.roles import Role
from app.agencies.models import Agency, AgencyRole
from app.agencies.service import current
from app.agreements import service as agreements
from app.agreements.models import Agreement, AgreementParty, AgreementState
from app.core.errors import ProblemError


class RoutingNotConfigured(ProblemError):
    slug, status = "routing-not-configured", 503


@dataclass(frozen=True)
class Routing:
    agreement: str
    candidates: tuple[str, ...]  # agency codes

    @property
    def problem(self) -> str | None:
        if len(self.candidates) == 1:
            return None
        if not self.candidates:
            return f"agreement {self.agreement}: no party holds the case_authority role; new cases have no custodian"
        listed = ", ".join(self.candidates)
        return f"agreement {self.agreement}: several parties hold the case_authority role ({listed}); choose one"


def routing_of(session: Session, agreement: Agreement, *, now: datetime) -> Routing:
    holders = session.exec(
        select(Agency)
        .join(AgreementParty, col(AgreementParty.agency_id) == col(Agency.id))
        .join(AgencyRole, col(AgencyRole.agency_id) == col(Agency.id))
        .where(AgreementParty.agreement_id == agreement.id, AgencyRole.role == Role.case_authority.value, current(now))
        .order_by(col(Agency.code))
    ).all()
    return Routing(agreement=agreement.code, candidates=tuple(dict.fromkeys(a.code for a in holders)))


def custodian_for(principal: Principal, *, now: datetime) -> uuid.UUID:
    """The custodian of a case the caller opens now, decided from the caller's cached authorisation data
    (``Principal.case_authorities``): no query."""
    agreement = principal.agreement.agreement
    if agreement is None:
        raise RoutingNotConfigured("Your agency is not a party to any agreement; no case authority can be found.")
    holders = {
        code: agency_id
        for agreement_id, agency_id, code, since, until in principal.case_authorities
        if agreement_id == agreement.id and since <= now and (until is None or until > now)
    }
    routing = Routing(agreement=agreement.code, candidates=tuple(sorted(holders)))
    if routing.problem:
        raise RoutingNotConfigured(f"Reports cannot be routed: {routing.problem}. The operator has been told.")
    return uuid.UUID(str(holders[routing.candidates[0]]))


def problems(session: Session, *, now: datetime) -> list[str]:
    """Routing problems of every agreement that still takes reports or case work."""
    found = []
    for agreement in session.exec(select(Agreement).order_by(col(Agreement.valid_from))):
        if agreements.state_of(agreement, now) in (AgreementState.active, AgreementState.wind_down):
            problem = routing_of(session, agreement, now=now).problem
            if problem:
                found.append(problem)
    return found
