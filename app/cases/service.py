"""Cases: opening or joining, the lifecycle table, optimistic updates, information requests, sanctions."""

import functools
import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import bindparam, insert, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from app.access import policy
from app.access.policy import Action, Principal
from app.cases.models import CaseFile, CaseStatus, CaseStatusChange, InformationRequest, SanctionOutcome
from app.catalogues.data import SANCTIONS_BY_CODE, SANCTIONS_VERSION
from app.core import programs
from app.core.db import detached, upsert
from app.core.errors import (
    Conflict,
    FieldError,
    NotFound,
    PreconditionFailed,
    ProblemError,
    ValidationProblem,
)
from app.core.programs import Program, Step
from app.events import service as events
from app.reports.models import Report

S = CaseStatus
ALLOWED_TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    S.submitted: frozenset({S.screening}),
    S.screening: frozenset({S.needs_info, S.clarification, S.rejected, S.referred_bawaslu}),
    S.needs_info: frozenset({S.screening}),
    S.clarification: frozenset({S.assessment}),
    S.assessment: frozenset({S.not_proven, S.recommendation_issued}),
    S.recommendation_issued: frozenset({S.sanction_reported}),
    S.sanction_reported: frozenset({S.closed}),
    S.not_proven: frozenset({S.closed}),
    S.rejected: frozenset({S.closed}),
    S.referred_bawaslu: frozenset({S.closed}),
    S.closed: frozenset(),
}
# Moves that belong to the information-request exchange, not to the transitions endpoint.
VIA_INFORMATION_REQUEST = {(S.screening, S.needs_info), (S.needs_info, S.screening)}
SANCTION_STATES = frozenset({S.recommendation_issued, S.sanction_reported})
OPEN_STATES = policy.OPEN_STATES


class InvalidTransition(ProblemError):
    slug, status = "invalid-transition", 409


class SanctionNotAllowed(ProblemError):
    """A sanction outcome recorded in a state that takes none (not a lifecycle move)."""

    slug, status = "sanction-not-allowed", 409


def dedupe_key(asn_identifier: str, content_url: str) -> str:
    return hashlib.sha256(f"{asn_identifier}\n{content_url}".encode()).hexdigest()


def open_or_join(dialect: str, *, new_case: CaseFile, now: datetime) -> Program[tuple[CaseFile, bool]]:
    """One statement: insert the case, or — same ASN and URL, the unique ``dedupe_key`` decides, under
    concurrency too — join the existing one, bumping its version (another writer's join is no conflict, so
    unconditionally). A new case is the only one whose version is 1 after this."""
    rows = yield Step(_open_or_join(dialect), {**new_case.model_dump(), "joined_at": now})
    case = detached(CaseFile, rows[0])
    return case, case.version != 1


@functools.cache
def _open_or_join(dialect: str) -> Any:
    table = CaseFile.__table__  # type: ignore[attr-defined]
    return (
        upsert(table, dialect)
        .on_conflict_do_update(
            index_elements=["dedupe_key"], set_={"version": table.c.version + 1, "updated_at": bindparam("joined_at")}
        )
        .returning(*table.c)
    )


def record_status(
    session: Session,
    case: CaseFile,
    *,
    from_status: str | None,
    to_status: str,
    reason: str,
    principal: Principal,
    now: datetime,
) -> None:
    programs.run(
        session,
        status_program(
            session.info,
            case.id,
            from_status=from_status,
            to_status=to_status,
            reason=reason,
            actor=(principal.agency_id, principal.client_id),
            now=now,
        ),
    )


def status_program(
    info: dict[str, Any],
    case_id: uuid.UUID,
    *,
    from_status: str | None,
    to_status: str,
    reason: str,
    actor: tuple[uuid.UUID, str],
    now: datetime,
) -> Program[None]:
    """A status change on record: its history row (``actor``: agency id and client id), and its feed event
    queued in the unit of work."""
    yield _history(
        case_id=case_id,
        from_status=from_status,
        to_status=to_status,
        reason=reason,
        actor_agency_id=actor[0],
        actor_client_id=actor[1],
        at=now,
    )
    events.queue(info, "case.status_changed", case_id=case_id, now=now, from_status=from_status, to_status=to_status)


_HISTORY_COLUMNS = ("case_id", "from_status", "to_status", "reason", "actor_agency_id", "actor_client_id", "at")
_INSERT_HISTORY = insert(CaseStatusChange.__table__).values(  # type: ignore[attr-defined]
    {name: bindparam(name) for name in _HISTORY_COLUMNS}
)


def _history(**row: Any) -> Step:
    """The status-history row, as one prebuilt insert: no ORM object, so a push or a transition has nothing
    left for the unit of work's flush (bench/README.md, fifth pass)."""
    return Step(_INSERT_HISTORY, row, returns=False)


ADMINISTRATIVE_CLOSURE = "administrative closure"


def close_administratively(session: Session, case: CaseFile, *, reason: str, now: datetime) -> None:
    """The end of the data's life: a case still open when its agreement no longer allows work on it is closed
    by the service, with the reason on record (actor: the custodian agency, client ``operator``), so it is
    purged with the rest instead of outliving its purpose."""
    from_status = case.status
    bump(
        session,
        case,
        expected_version=case.version,
        values={"status": S.closed.value, "closed_at": now, "updated_at": now},
    )
    programs.run(
        session,
        status_program(
            session.info,
            case.id,
            from_status=from_status,
            to_status=S.closed.value,
            reason=reason,
            actor=(case.custodian_agency_id, "operator"),
            now=now,
        ),
    )


def get_readable(session: Session, principal: Principal, case_id: uuid.UUID) -> CaseFile:
    case = session.exec(policy.cases_readable(principal).where(CaseFile.id == case_id)).first()
    if case is None:
        raise NotFound("No such case.")
    return case


def get_case(session: Session, case_id: uuid.UUID) -> CaseFile:
    case = session.get(CaseFile, case_id)
    assert case is not None  # callers hold a row that references it
    return case


def get_in_custody(
    session: Session, principal: Principal, case_id: uuid.UUID, *, action: Action = Action.work_case
) -> CaseFile:
    """Only the custodian agency works on a case (404 to anyone else), and only while the agreement (or its
    extension for the case's region) allows ``action``."""
    case = policy.in_custody(principal, session.get(CaseFile, case_id))
    policy.require(principal, action, region_code=case.region_code)
    return case


def in_custody(
    dialect: str, principal: Principal, case_id: uuid.UUID, *, action: Action = Action.work_case
) -> Program[CaseFile]:
    """``get_in_custody`` as a program (app/core/programs.py)."""
    rows = yield Step(_CASE_BY_ID, {"case_id": case_id})
    case = policy.in_custody(principal, detached(CaseFile, rows[0]) if rows else None)
    policy.require(principal, action, region_code=case.region_code)
    return case


def transition(
    session: Session,
    case: CaseFile,
    *,
    to: CaseStatus,
    reason: str,
    expected_version: int,
    principal: Principal,
    now: datetime,
    via_information_request: bool = False,
) -> CaseFile:
    """``transition_program`` on the session, for a case it holds: ``case`` becomes the row as stored."""
    session.flush()  # what the session holds goes first, as its autoflush would send it
    moved = programs.run(
        session,
        transition_program(
            session.info,
            case,
            to=to,
            reason=reason,
            expected_version=expected_version,
            principal=principal,
            now=now,
            via_information_request=via_information_request,
        ),
    )
    _hold(case, moved)
    return case


def transition_program(
    info: dict[str, Any],
    case: CaseFile,
    *,
    to: CaseStatus,
    reason: str,
    expected_version: int,
    principal: Principal,
    now: datetime,
    via_information_request: bool = False,
) -> Program[CaseFile]:
    """A lifecycle move: the rules, the compare-and-set, the history row and the feed event. Returns the case
    as stored after the move."""
    current = CaseStatus(case.status)
    if to not in ALLOWED_TRANSITIONS[current]:
        allowed = ", ".join(sorted(ALLOWED_TRANSITIONS[current])) or "none (final state)"
        raise InvalidTransition(f"A case in {current} cannot move to {to}. Allowed: {allowed}.")
    if (current, to) in VIA_INFORMATION_REQUEST and not via_information_request:
        raise InvalidTransition(f"{current} → {to} happens through an information request and its answer.")
    values: dict[str, object] = {"status": to.value, "version": expected_version + 1, "updated_at": now}
    if to == S.recommendation_issued:
        values["recommended_at"] = now
    if to == S.closed:
        values["closed_at"] = now
    moved = yield from bump_program(case, expected_version=expected_version, values=values)
    yield from status_program(
        info,
        case.id,
        from_status=current.value,
        to_status=to.value,
        reason=reason,
        actor=(principal.agency_id, principal.client_id),
        now=now,
    )
    return moved


def bump(session: Session, case: CaseFile, *, expected_version: int, values: dict[str, object]) -> None:
    """``bump_program`` on the session, for a case it holds: ``case`` becomes the row as stored."""
    session.flush()  # what the session holds goes first, as its autoflush would send it
    _hold(case, programs.run(session, bump_program(case, expected_version=expected_version, values=values)))


def bump_program(case: CaseFile, *, expected_version: int, values: dict[str, object]) -> Program[CaseFile]:
    """Compare-and-set on ``version``: of two writers holding the same ETag exactly one succeeds. One prebuilt
    UPDATE … RETURNING that sets every column a case's life changes (the ones not in ``values`` to what
    ``case`` holds: the version check makes sure that is what is stored)."""
    unknown = set(values) - set(_BUMPED)
    if unknown:
        raise ValueError(f"bump sets only {_BUMPED}, not {sorted(unknown)}")
    new = {f"new_{name}": values.get(name, getattr(case, name)) for name in _BUMPED}
    new["new_version"] = values.get("version", expected_version + 1)
    rows = yield Step(_BUMP, {"case_id": case.id, "expected_version": expected_version, **new})
    if not rows:
        raise PreconditionFailed("The case changed since you read it; fetch it again for a fresh ETag.")
    return detached(CaseFile, rows[0])


def _hold(case: CaseFile, stored: CaseFile) -> None:
    for name in CaseFile.model_fields:  # the row as stored, without a second read
        set_committed_value(case, name, getattr(stored, name))


_CASES = CaseFile.__table__  # type: ignore[attr-defined]
_CASE_BY_ID = sa.select(_CASES).where(_CASES.c.id == bindparam("case_id"))
_BUMPED = ("status", "version", "updated_at", "recommended_at", "closed_at")
_BUMP = (
    update(_CASES)
    .where(_CASES.c.id == bindparam("case_id"), _CASES.c.version == bindparam("expected_version"))
    .values({name: bindparam(f"new_{name}") for name in _BUMPED})
    .returning(*_CASES.c)
)


def overdue_before(now: datetime, follow_up_days: int) -> datetime:
    return now - timedelta(days=follow_up_days)


def is_overdue(status: str, recommended_at: datetime | None, *, now: datetime, follow_up_days: int) -> bool:
    return (
        status == S.recommendation_issued
        and recommended_at is not None
        and recommended_at < overdue_before(now, follow_up_days)
    )


def request_information(
    session: Session,
    case: CaseFile,
    *,
    question: str,
    report_id: uuid.UUID | None,
    expected_version: int,
    principal: Principal,
    now: datetime,
) -> InformationRequest:
    report = _report_asked_about(session, case, report_id)
    transition(
        session,
        case,
        to=S.needs_info,
        reason=question[:2000],
        expected_version=expected_version,
        principal=principal,
        now=now,
        via_information_request=True,
    )
    info = InformationRequest(
        case_id=case.id,
        report_id=report.id,
        addressed_agency_id=report.agency_id,
        question=question,
        requested_by_agency_id=principal.agency_id,
        requested_at=now,
    )
    session.add(info)
    session.flush()
    events.record(
        session, "case.information_requested", case_id=case.id, report=report, now=now, information_request_id=info.id
    )
    return info


def _report_asked_about(session: Session, case: CaseFile, report_id: uuid.UUID | None) -> Report:
    query = select(Report).where(Report.case_id == case.id)
    if report_id is not None:
        query = query.where(Report.id == report_id)
    report = session.exec(query.order_by(col(Report.received_at), col(Report.id))).first()
    if report is None:
        raise ValidationProblem(
            "That report is not on this case.",
            errors=[FieldError(pointer="/body/report_id", detail="not on this case")],
        )
    return report


def answer_information(
    session: Session, info: InformationRequest, *, note: str, principal: Principal, now: datetime
) -> CaseFile:
    if info.answered_at is not None:
        raise Conflict("This information request has been answered already.")
    case = session.get(CaseFile, info.case_id)
    assert case is not None
    info.answer_note, info.answered_at, info.answered_by_agency_id = note, now, principal.agency_id
    session.add(info)
    transition(
        session,
        case,
        to=S.screening,
        reason="information provided by the reporter",
        expected_version=case.version,
        principal=principal,
        now=now,
        via_information_request=True,
    )
    report = session.get(Report, info.report_id)
    events.record(
        session, "case.information_answered", case_id=case.id, report=report, now=now, information_request_id=info.id
    )
    return case


def record_sanction(
    session: Session, case: CaseFile, *, fields: dict[str, Any], principal: Principal, now: datetime
) -> SanctionOutcome:
    if case.status not in SANCTION_STATES:
        raise SanctionNotAllowed(
            f"Sanction outcomes are recorded in {', '.join(sorted(SANCTION_STATES))}; this case is {case.status}."
        )
    entry = SANCTIONS_BY_CODE[str(fields["code"])]
    if entry.track != fields["track"]:
        raise ValidationProblem(
            "The sanction code does not belong to that track.",
            errors=[FieldError(pointer="/body/code", detail=f"{entry.code} is on the {entry.track} track")],
        )
    duplicate = session.exec(
        select(SanctionOutcome).where(
            SanctionOutcome.case_id == case.id, SanctionOutcome.track == entry.track, SanctionOutcome.code == entry.code
        )
    ).first()
    if duplicate is not None:
        raise Conflict("That sanction is already recorded on this case.")
    outcome = SanctionOutcome(
        case_id=case.id,
        level=entry.level,
        catalogue_version=SANCTIONS_VERSION,
        recorded_by_agency_id=principal.agency_id,
        recorded_at=now,
        **fields,
    )
    session.add(outcome)
    bump(session, case, expected_version=case.version, values={"updated_at": now})
    events.record(
        session,
        "case.sanction_recorded",
        case_id=case.id,
        now=now,
        sanction_id=outcome.id,
        track=entry.track.value,
        code=entry.code,
    )
    return outcome
