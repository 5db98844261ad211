"""Per-role case views: the property-level rules live here, in which schema a role gets."""

from datetime import datetime

from sqlmodel import Session, col, select

from app.access import policy
from app.access.policy import Principal
from app.agencies.models import Agency
from app.audit import service as audit
from app.cases import service
from app.cases.models import CaseFile, InformationRequest, SanctionOutcome
from app.cases.schemas import (
    CaseForAuthority,
    CaseForObserver,
    InformationRequestInCase,
)
from app.evidence import service as evidence
from app.reports import service as reports
from app.reports.models import Report


def render(
    session: Session, principal: Principal, cases: list[CaseFile], *, now: datetime, follow_up_days: int
) -> list[CaseForAuthority] | list[CaseForObserver]:
    ids = [c.id for c in cases]
    agency_codes = dict(session.exec(select(Agency.id, Agency.code)).all())
    case_reports = reports.group_by_case(
        session.exec(select(Report).where(col(Report.case_id).in_(ids)).order_by(col(Report.received_at)))
    )
    sanctions = reports.group_by_case(
        session.exec(select(SanctionOutcome).where(col(SanctionOutcome.case_id).in_(ids)))
    )
    requests = reports.group_by_case(
        session.exec(
            select(InformationRequest)
            .where(col(InformationRequest.case_id).in_(ids))
            .order_by(col(InformationRequest.requested_at))
        )
    )
    all_reports = [r for rs in case_reports.values() for r in rs]
    audit.note(session, "case_ids", ids)
    audit.note(session, "report_ids", [r.id for r in all_reports])
    links, blobs = evidence.links_with_blobs(session, [r.id for r in all_reports])
    view = policy.case_view(principal)
    report_view = policy.report_in_case_view(principal)
    out = []
    for case in cases:
        rendered_reports = [
            report_view(
                id=r.id,
                reporter_agency=agency_codes[r.agency_id],
                reference=r.reference,
                content_kind=r.content_kind,
                captured_at=r.captured_at,
                excerpt=r.excerpt,
                engagement_action=r.engagement_action,
                source=r.source,
                received_at=r.received_at,
                asn=reports.asn_out(r),
                evidence=reports.evidence_out(links[r.id], blobs),
                has_public_reporter=r.reporter_identity_sealed is not None,
            )
            for r in case_reports.get(case.id, [])
        ]
        out.append(
            view(
                id=case.id,
                status=case.status,
                custodian_agency=agency_codes[case.custodian_agency_id],
                category=case.category,
                platform=case.platform,
                region_code=case.region_code,
                content_url=case.content_url,
                asn_identifier=case.asn_identifier,
                opened_at=case.opened_at,
                updated_at=case.updated_at,
                recommended_at=case.recommended_at,
                closed_at=case.closed_at,
                overdue=service.is_overdue(case, now=now, follow_up_days=follow_up_days),
                version=case.version,
                sanctions=[reports.sanction_out(s) for s in sanctions.get(case.id, [])],
                information_requests=[
                    InformationRequestInCase.model_validate(q, from_attributes=True) for q in requests.get(case.id, [])
                ],
                reports=rendered_reports,
            )
        )
    return out  # type: ignore[return-value]
