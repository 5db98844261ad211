"""The access policy: who may see or change what, and when. Every router and service asks this module;
nothing else compares role strings.

Three layers, read top to bottom:

1. **Actions by role** (``ROLE_ACTIONS``) — what each role does, and the scope that carries it
   (``ACTION_SCOPE``). A client's token holds scopes; its agency's *current* roles bound them.
2. **When** (``AGREEMENT_ALLOWS``) — one table of agreement state × action. ``Y`` allowed, ``N`` refused
   (``agreement-expired`` / ``agreement-not-active``), ``X`` only on cases in a region whose extension still
   runs (``netral agreements extend``): everything such a case needs to reach a terminal state, the
   reporter's answer included, and nothing more.
3. **Which rows and which fields** — one row filter per resource (``cases_readable``, ``reports_readable``,
   ``information_requests_readable``, ``events_readable``, ``evidence_readable``): an object the caller may not
   see does not exist for it (404, not 403); one response schema per role (``case_view``).

The README's "Who sees what" and agreement state table are this module in prose.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, false, or_, true
from sqlmodel import col, select

from app.access.roles import (
    ADMIN,
    AUDIT_READ,
    CASES_READ,
    CASES_WRITE,
    IDENTITY_READ,
    REPORTS_READ,
    REPORTS_WRITE,
    SANCTIONS_WRITE,
    Role,
)
from app.agreements.models import Agreement, AgreementExtension, AgreementState
from app.cases.models import CaseFile, CaseStatus, InformationRequest
from app.cases.schemas import CaseForAuthority, CaseForObserver
from app.core.errors import AgreementExpired, NotFound
from app.events.models import FeedEvent
from app.evidence.models import EvidenceBlob, EvidenceLink
from app.reports.models import Report


class Action(StrEnum):
    submit_report = "submit_report"
    answer_information_request = "answer_information_request"
    read_own_reports = "read_own_reports"
    read_cases = "read_cases"
    work_case = "work_case"  # transitions, information requests
    record_sanction = "record_sanction"
    read_reporter_identity = "read_reporter_identity"
    read_audit = "read_audit"
    administer = "administer"


A = Action
ACTION_SCOPE: dict[Action, str] = {
    A.submit_report: REPORTS_WRITE,
    A.answer_information_request: REPORTS_WRITE,
    A.read_own_reports: REPORTS_READ,
    A.read_cases: CASES_READ,
    A.work_case: CASES_WRITE,
    A.record_sanction: SANCTIONS_WRITE,
    A.read_reporter_identity: IDENTITY_READ,
    A.read_audit: AUDIT_READ,
    A.administer: ADMIN,
}

ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.reporter: frozenset({A.submit_report, A.answer_information_request, A.read_own_reports}),
    Role.case_authority: frozenset({A.read_cases, A.work_case, A.record_sanction, A.read_reporter_identity}),
    Role.observer: frozenset({A.read_cases}),
    Role.auditor: frozenset({A.read_audit}),
    Role.operator: frozenset({A.administer}),
}


class When(StrEnum):
    yes = "Y"
    no = "N"
    extended_region = "X"


Y, N, X = When.yes, When.no, When.extended_region
S = AgreementState
_STATES = (S.none, S.pending, S.active, S.wind_down, S.expired, S.purged)
# fmt: off
_TABLE: dict[Action, tuple[When, ...]] = {
    #                               none pending active wind_down expired purged
    A.submit_report:               (N,   N,      Y,     N,        N,      N),
    A.answer_information_request:  (N,   N,      Y,     Y,        X,      X),
    A.read_own_reports:            (N,   N,      Y,     Y,        X,      X),
    A.read_cases:                  (N,   N,      Y,     Y,        Y,      Y),
    A.work_case:                   (N,   N,      Y,     Y,        X,      X),
    A.record_sanction:             (N,   N,      Y,     Y,        X,      X),
    A.read_reporter_identity:      (N,   N,      Y,     Y,        X,      X),
    A.read_audit:                  (Y,   Y,      Y,     Y,        Y,      Y),
    A.administer:                  (Y,   Y,      Y,     Y,        Y,      Y),
}
# fmt: on
AGREEMENT_ALLOWS: dict[AgreementState, dict[Action, When]] = {
    state: {action: row[i] for action, row in _TABLE.items()} for i, state in enumerate(_STATES)
}

# A case in one of these states still has work ahead of it.
FINAL_STATES = frozenset({CaseStatus.closed, CaseStatus.not_proven, CaseStatus.rejected, CaseStatus.referred_bawaslu})
OPEN_STATES = frozenset(set(CaseStatus) - FINAL_STATES)


def allowed(state: AgreementState, role: Role, action: Action) -> When:
    """The whole rule for (agreement state × role × action)."""
    return AGREEMENT_ALLOWS[state][action] if action in ROLE_ACTIONS[role] else N


# ---- the agreement in force for a caller -----------------------------------------------------------------


@dataclass(frozen=True)
class AgreementStatus:
    """The agreement that governs an agency now, its state, and the region extensions still running."""

    agreement: Agreement | None
    state: AgreementState
    extensions: tuple[AgreementExtension, ...] = ()

    def extended(self, region_code: str) -> bool:
        """A code covers itself and every code below it (32 covers 32.73 and 32.73.01)."""
        return any(region_code == e.region_code or region_code.startswith(e.region_code + ".") for e in self.extensions)

    def allows(self, action: Action, region_code: str | None = None) -> bool:
        when = AGREEMENT_ALLOWS[self.state][action]
        if when == X:
            return bool(self.extensions) if region_code is None else self.extended(region_code)
        return when == Y

    @property
    def wind_down_until(self) -> datetime | None:
        a = self.agreement
        return None if a is None else a.valid_until + timedelta(days=a.wind_down_days)

    @property
    def retention_until(self) -> datetime | None:
        a = self.agreement
        return None if a is None else a.valid_until + timedelta(days=a.retention_days)

    def scopes(self) -> frozenset[str]:
        """Scopes the agreement lets the token endpoint grant and a request use now (``X`` actions count
        while any extension runs; each object is then checked against its region)."""
        return frozenset(scope for action, scope in ACTION_SCOPE.items() if self.allows(action))


@dataclass(frozen=True)
class Principal:
    """Who is calling, as of this request: the token's claims checked against the client's and the agency's
    state *now*, so disabling a client or moving a role bites on the very next request."""

    client_id: str
    agency_id: Any
    agency_code: str
    roles: frozenset[str]
    scopes: frozenset[str]
    scopes_before_agreement: frozenset[str]  # what token, client and roles allow, before the agreement clock
    token_id: str
    token_expires_at: datetime
    agreement: AgreementStatus = field(compare=False)
    # (agreement id, agency id, agency code, role held from, until) of every case-authority role held by a
    # party of the caller's agreements: routing decides from these at any instant (app/cases/routing.py).
    case_authorities: tuple[tuple[Any, Any, str, datetime, datetime | None], ...] = field(default=(), compare=False)

    def has_role(self, role: Role) -> bool:
        return role.value in self.roles


def require(principal: Principal, action: Action, *, region_code: str | None = None) -> None:
    """Refuse (403 ``agreement-expired``) what the agreement no longer allows this caller, for this region."""
    if not principal.agreement.allows(action, region_code):
        raise refusal(principal.agreement, region_code=region_code)


def refusal(status: AgreementStatus, *, region_code: str | None = None) -> AgreementExpired:
    if status.state in (S.none, S.pending):
        return AgreementExpired(
            "No cooperation agreement is in force for your agency yet.", slug="agreement-not-active"
        )
    until = status.agreement.valid_until.isoformat() if status.agreement else "?"
    where = f" for cases in region {region_code}" if region_code else ""
    return AgreementExpired(
        f"The agreement is {status.state.value} (valid until {until}); it no longer allows this{where}."
    )


# ---- row filters: one per resource -----------------------------------------------------------------------


def _in_regions(column: Any, extensions: Iterable[AgreementExtension]) -> ColumnElement[bool]:
    return or_(
        false(), *(or_(column == e.region_code, col(column).startswith(e.region_code + ".")) for e in extensions)
    )


def _region_scope(principal: Principal, action: Action, region_column: Any) -> ColumnElement[bool]:
    """All rows while the agreement allows ``action`` outright; only extended regions' rows under ``X``."""
    when = AGREEMENT_ALLOWS[principal.agreement.state][action]
    if when == X:
        return _in_regions(region_column, principal.agreement.extensions)
    return true() if when == Y else false()


def reads_cases(principal: Principal) -> bool:
    """Case authority and observers read every case; anyone else none (reporters read theirs through their
    reports)."""
    return principal.has_role(Role.case_authority) or principal.has_role(Role.observer)


def cases_readable(principal: Principal):
    """The cases ``reads_cases`` lets the principal read, as a query."""
    return select(CaseFile) if reads_cases(principal) else select(CaseFile).where(false())


def in_custody(principal: Principal, case: CaseFile | None) -> CaseFile:
    """Only the custodian agency changes a case; to anyone else it does not exist (404)."""
    if case is None or not principal.has_role(Role.case_authority) or case.custodian_agency_id != principal.agency_id:
        raise NotFound("No such case in your custody.")
    return case


def reports_readable(principal: Principal):
    """A reporter's query can only ever return its own reports (and, under a region extension, only those on
    cases in an extended region)."""
    query = select(Report).where(Report.agency_id == principal.agency_id)
    if AGREEMENT_ALLOWS[principal.agreement.state][A.read_own_reports] == X:
        query = query.where(_region_scope(principal, A.read_own_reports, Report.region_code))
    return query


def information_requests_readable(principal: Principal):
    """A request is addressed to the reporter of one report; other reporters on the same case never see it."""
    query = select(InformationRequest).where(InformationRequest.addressed_agency_id == principal.agency_id)
    if AGREEMENT_ALLOWS[principal.agreement.state][A.answer_information_request] == X:
        in_region = select(CaseFile.id).where(
            _region_scope(principal, A.answer_information_request, CaseFile.region_code)
        )
        query = query.where(col(InformationRequest.case_id).in_(in_region))
    return query


def events_readable(principal: Principal):
    """Case authority, observers and auditors see every event (no personal data is in one); a reporter only
    events of cases holding its reports, and of those only report events about its own reports."""
    query = select(FeedEvent)
    if principal.roles & {Role.case_authority.value, Role.observer.value, Role.auditor.value}:
        return query
    own_cases = select(Report.case_id).where(Report.agency_id == principal.agency_id)
    return query.where(col(FeedEvent.case_id).in_(own_cases)).where(
        or_(col(FeedEvent.report_agency_id).is_(None), col(FeedEvent.report_agency_id) == principal.agency_id)
    )


def evidence_readable(principal: Principal, sha256: str):
    """The uploader agency, or the case authority for evidence linked to a case."""
    query = select(EvidenceBlob).where(EvidenceBlob.sha256 == sha256)
    if principal.has_role(Role.case_authority):
        linked = select(EvidenceLink.sha256).where(EvidenceLink.sha256 == sha256)
        return query.where(
            or_(EvidenceBlob.uploaded_by_agency_id == principal.agency_id, col(EvidenceBlob.sha256).in_(linked))
        )
    return query.where(EvidenceBlob.uploaded_by_agency_id == principal.agency_id)


# ---- property-level rules: which schema a role sees ------------------------------------------------------


def sees_authority_view(principal: Principal) -> bool:
    return principal.has_role(Role.case_authority)


def case_view(principal: Principal) -> type[CaseForAuthority] | type[CaseForObserver]:
    """The case authority sees reporter agencies and whether a public reporter is on file; observers never
    see any trace of reporter identity."""
    return CaseForAuthority if sees_authority_view(principal) else CaseForObserver
