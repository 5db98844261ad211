"""Reports: submission (one or a batch, all-or-nothing), reading back one's own, answering information
requests."""

import functools
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import and_, bindparam, insert, or_
from sqlmodel import Session, col, select

from app.access import policy
from app.access.policy import Action, Principal
from app.audit import service as audit
from app.cases import routing
from app.cases import service as cases
from app.cases.models import CaseFile, CaseStatus, InformationRequest, SanctionOutcome
from app.core.config import Settings
from app.core.db import detached, in_list, upsert
from app.core.errors import Conflict, FieldError, NotFound, ValidationProblem
from app.core.programs import Program, Step
from app.events import service as events
from app.evidence import service as evidence
from app.evidence.models import EvidenceBlob, EvidenceLink
from app.reports import identity
from app.reports.models import Report
from app.reports.schemas import (
    AsnOut,
    CaseStatusForReporter,
    EvidenceOut,
    ReportIn,
    ReportOut,
    SanctionOut,
)


class ReferenceTaken(Conflict):
    pass


def submit_program(
    dialect: str,
    info: dict[str, Any],
    settings: Settings,
    principal: Principal,
    items: list[ReportIn],
    *,
    now: datetime,
    pointer_prefix: str = "/body/items",
) -> Program[list[ReportOut]]:
    """All or nothing: every item is checked before anything is written; any failure rolls back all.
    Returns the reports as their reporter sees them, built from what was written (no read-back). A program
    (app/core/programs.py): the same steps on the session or on the async driver."""
    policy.require(principal, Action.submit_report)
    blobs = yield from _check_batch(dialect, principal, items, pointer_prefix)
    custodian = routing.custodian_for(principal, now=now)
    # Case rows are locked in one order (by dedupe key) by every writer, so two batches that touch the same
    # cases queue behind each other instead of deadlocking; the answer keeps the caller's order.
    order = sorted(range(len(items)), key=lambda i: _dedupe_key(items[i]))
    made = {}
    for i in order:
        made[i] = yield from _submit_one(dialect, info, settings, principal, items[i], custodian=custodian, now=now)
    reports = [made[i] for i in range(len(items))]
    joined_cases = [case.id for r, case, _links in reports if r.joined_existing_case]
    sanctions: dict[uuid.UUID, list] = {}
    if joined_cases:
        rows = yield Step(_sanctions_of(dialect), {"case_ids": joined_cases})
        sanctions = group_by_case(detached(SanctionOutcome, row) for row in rows)
    audit.note_in(info, "report_ids", [r.id for r, _case, _links in reports])
    audit.note_in(info, "case_ids", [case.id for _r, case, _links in reports])
    return [_one(r, case, sanctions.get(case.id, []), [], links, blobs) for r, case, links in reports]


def _dedupe_key(item: ReportIn) -> str:
    return cases.dedupe_key(item.asn.identifier[1], item.content_url)


def _check_batch(
    dialect: str, principal: Principal, items: list[ReportIn], prefix: str
) -> Program[dict[str, EvidenceBlob]]:
    """Every item's problems at once (a reference used before or twice, evidence not the caller's). A single
    report's reference is left to its insert (one statement fewer); a race on it is caught there too."""
    errors: list[FieldError] = []
    seen: set[str] = set()
    references = [item.reference for item in items]
    taken: set[str] = set()
    if len(items) > 1:
        rows = yield Step(_references_taken(dialect), {"agency_id": principal.agency_id, "references": references})
        taken = {row["reference"] for row in rows}
    owned = yield from evidence.owned_blobs_program(
        dialect, principal, [e.sha256 for item in items for e in item.evidence]
    )
    for index, item in enumerate(items):
        at = f"{prefix}/{index}" if len(items) > 1 or prefix.endswith("items") else prefix
        if item.reference in taken:
            errors.append(FieldError(pointer=f"{at}/reference", detail="this reference was used before by your agency"))
        if item.reference in seen:
            errors.append(FieldError(pointer=f"{at}/reference", detail="this reference appears twice in the batch"))
        seen.add(item.reference)
        for n, ref in enumerate(item.evidence):
            if ref.sha256 not in owned:
                errors.append(
                    FieldError(
                        pointer=f"{at}/evidence/{n}/sha256",
                        detail="no evidence with this hash was uploaded by your agency",
                    )
                )
    if taken & set(references):
        raise ReferenceTaken(
            "A report with this reference exists already; use its id or another reference.", errors=errors
        )
    if errors:
        raise ValidationProblem("Some reports cannot be accepted.", errors=errors)
    return owned


def _submit_one(
    dialect: str,
    info: dict[str, Any],
    settings: Settings,
    principal: Principal,
    item: ReportIn,
    *,
    custodian: uuid.UUID,
    now: datetime,
) -> Program[tuple[Report, CaseFile, list[EvidenceLink]]]:
    kind, identifier = item.asn.identifier
    case, joined = yield from cases.open_or_join(
        dialect,
        new_case=detached(
            CaseFile,
            {
                "dedupe_key": _dedupe_key(item),
                "status": CaseStatus.submitted.value,
                "custodian_agency_id": custodian,
                "category": item.category,
                "platform": item.platform,
                "region_code": item.asn.region_code,
                "content_url": item.content_url,
                "asn_identifier": identifier,
                "opened_at": now,
                "updated_at": now,
            },
        ),
        now=now,
    )
    report_id = uuid.uuid4()
    sealed, key_id = (
        identity.seal(settings, item.public_reporter.model_dump(), context=str(report_id))
        if item.public_reporter is not None
        else (None, None)
    )
    report = detached(
        Report,
        {
            "id": report_id,
            "agency_id": principal.agency_id,
            "client_id": principal.client_id,
            "reference": item.reference,
            "case_id": case.id,
            "joined_existing_case": joined,
            "content_url": item.content_url,
            "platform": item.platform,
            "content_kind": item.content_kind,
            "captured_at": item.captured_at,
            "excerpt": item.excerpt,
            "category": item.category,
            "engagement_action": item.engagement_action,
            "asn_name": item.asn.name,
            "asn_identifier": identifier,
            "asn_identifier_kind": kind,
            "asn_instansi": item.asn.instansi,
            "asn_jabatan": item.asn.jabatan,
            "region_code": item.asn.region_code,
            "source": item.source,
            "reporter_identity_sealed": sealed,
            "reporter_identity_key_id": key_id,
            "received_at": now,
        },
    )
    inserted = yield Step(_insert_report_statement(dialect), report.model_dump())
    if not inserted:  # a reference this agency used before (or a concurrent request took) inserts nothing
        raise ReferenceTaken(
            "A report with this reference exists already; use its id or another reference.",
            errors=[FieldError(pointer="/body/reference", detail="this reference was used before by your agency")],
        )
    links = [
        detached(EvidenceLink, {"sha256": e.sha256, "kind": e.kind, "filename": e.filename, "report_id": report.id})
        for e in item.evidence
    ]
    if links:
        yield Step(
            _INSERT_LINKS,
            [{"sha256": x.sha256, "kind": x.kind, "filename": x.filename, "report_id": x.report_id} for x in links],
        )
    if not joined:
        yield from cases.status_program(
            info,
            case.id,
            from_status=None,
            to_status=CaseStatus.submitted.value,
            reason="report received",
            actor=(principal.agency_id, principal.client_id),
            now=now,
        )
    events.queue(info, "report.received", case_id=case.id, report=report, now=now)
    if joined:
        events.queue(info, "report.linked_to_case", case_id=case.id, report=report, now=now)
    return report, case, links


@functools.cache
def _insert_report_statement(dialect: str) -> Any:
    table = Report.__table__  # type: ignore[attr-defined]
    return (
        upsert(table, dialect).on_conflict_do_nothing(index_elements=["agency_id", "reference"]).returning(table.c.id)
    )


_LINK_COLUMNS = ("sha256", "kind", "filename", "report_id")
_INSERT_LINKS = insert(EvidenceLink.__table__).values(  # type: ignore[attr-defined]
    {name: bindparam(name) for name in _LINK_COLUMNS}
)


@functools.cache
def _sanctions_of(dialect: str) -> Any:
    table = SanctionOutcome.__table__  # type: ignore[attr-defined]
    return sa.select(table).where(in_list(table.c.case_id, "case_ids", dialect))


@functools.cache
def _references_taken(dialect: str) -> Any:
    table = Report.__table__  # type: ignore[attr-defined]
    return sa.select(table.c.reference).where(
        table.c.agency_id == bindparam("agency_id"), in_list(table.c.reference, "references", dialect)
    )


def get_own(session: Session, principal: Principal, report_id: uuid.UUID) -> Report:
    report = session.exec(policy.reports_readable(principal).where(Report.id == report_id)).first()
    if report is None:
        raise NotFound("No such report.")
    return report


def list_own(
    session: Session, principal: Principal, *, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[Report]:
    query = policy.reports_readable(principal)
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(col(Report.received_at) > at, and_(col(Report.received_at) == at, col(Report.id) > last_id))
        )
    return list(session.exec(query.order_by(col(Report.received_at), col(Report.id)).limit(limit)))


def get_request_for_reporter(session: Session, principal: Principal, request_id: uuid.UUID) -> InformationRequest:
    info = session.exec(
        policy.information_requests_readable(principal).where(InformationRequest.id == request_id)
    ).first()
    if info is None:
        raise NotFound("No such information request.")
    return info


def attach_answer_evidence(
    session: Session, principal: Principal, info: InformationRequest, refs: list[tuple[str, str, str | None]]
) -> None:
    owned = evidence.owned_blobs(session, principal, [sha for sha, _k, _f in refs])
    missing = [
        FieldError(
            pointer=f"/body/evidence/{i}/sha256", detail="no evidence with this hash was uploaded by your agency"
        )
        for i, (sha, _k, _f) in enumerate(refs)
        if sha not in owned
    ]
    if missing:
        raise ValidationProblem("Unknown evidence.", errors=missing)
    for sha, kind, filename in refs:
        session.add(EvidenceLink(sha256=sha, kind=kind, filename=filename, information_request_id=info.id))


# ---- views -----------------------------------------------------------------------------------------------


def to_out(session: Session, reports: list[Report]) -> list[ReportOut]:
    """Batch-loads what the views need: one query per related table, not per report."""
    case_ids = list({r.case_id for r in reports})
    case_by_id = {c.id: c for c in session.exec(select(CaseFile).where(col(CaseFile.id).in_(case_ids)))}
    sanctions = group_by_case(session.exec(select(SanctionOutcome).where(col(SanctionOutcome.case_id).in_(case_ids))))
    open_requests: dict[uuid.UUID, list[InformationRequest]] = {}
    for info in session.exec(
        select(InformationRequest).where(  # addressed to these reports: not another reporter's on the same case
            col(InformationRequest.report_id).in_([r.id for r in reports]),
            col(InformationRequest.answered_at).is_(None),
        )
    ):
        open_requests.setdefault(info.report_id, []).append(info)
    links, blobs = evidence.links_with_blobs(session, [r.id for r in reports])
    audit.note(session, "report_ids", [r.id for r in reports])
    audit.note(session, "case_ids", [r.case_id for r in reports])
    return [
        _one(r, case_by_id[r.case_id], sanctions.get(r.case_id, []), open_requests.get(r.id, []), links[r.id], blobs)
        for r in reports
    ]


def group_by_case(rows) -> dict[uuid.UUID, list]:
    grouped: dict[uuid.UUID, list] = {}
    for row in rows:
        grouped.setdefault(row.case_id, []).append(row)
    return grouped


def sanction_out(s: SanctionOutcome) -> SanctionOut:
    return SanctionOut(
        id=s.id,
        track=s.track,
        code=s.code,
        level=s.level,
        catalogue_version=s.catalogue_version,
        legal_basis=s.legal_basis,
        decided_by=s.decided_by,
        decree_number=s.decree_number,
        decree_date=s.decree_date.isoformat(),
        note=s.note,
        recorded_at=s.recorded_at,
    )


def evidence_out(links: list[EvidenceLink], blobs: dict[str, EvidenceBlob]) -> list[EvidenceOut]:
    return [
        EvidenceOut(
            sha256=link.sha256,
            kind=link.kind,
            filename=link.filename,
            size=blobs[link.sha256].size,
            media_type=blobs[link.sha256].media_type,
        )
        for link in links
    ]


def asn_out(r: Report) -> AsnOut:
    return AsnOut(
        name=r.asn_name,
        identifier=r.asn_identifier,
        identifier_kind=r.asn_identifier_kind,
        instansi=r.asn_instansi,
        jabatan=r.asn_jabatan,
        region_code=r.region_code,
    )


def _one(
    r: Report,
    case: CaseFile,
    sanctions: list[SanctionOutcome],
    requests: list[InformationRequest],
    links: list[EvidenceLink],
    blobs: dict[str, EvidenceBlob],
) -> ReportOut:
    return ReportOut(
        id=r.id,
        reference=r.reference,
        content_url=r.content_url,
        platform=r.platform,
        content_kind=r.content_kind,
        captured_at=r.captured_at,
        excerpt=r.excerpt,
        category=r.category,
        engagement_action=r.engagement_action,
        asn=asn_out(r),
        source=r.source,
        has_public_reporter=r.reporter_identity_sealed is not None,
        evidence=evidence_out(links, blobs),
        received_at=r.received_at,
        case=CaseStatusForReporter(
            id=case.id,
            status=case.status,
            joined_existing_case=r.joined_existing_case,
            updated_at=case.updated_at,
            outcome=[sanction_out(s) for s in sanctions],
            open_information_requests=[q.id for q in requests],
        ),
    )
