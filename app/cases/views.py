"""Per-role case views: the property-level rules live here, in which schema a role gets."""

from datetime import datetime

from sqlmodel import Session

from app.access import policy
from app.access.policy import Principal
from app.audit import service as audit
from app.cases import loading, service
from app.cases.models import CaseFile
from app.cases.schemas import CaseForAuthority, CaseForObserver


def render(
    session: Session, principal: Principal, cases: list[CaseFile], *, now: datetime, follow_up_days: int
) -> list[CaseForAuthority] | list[CaseForObserver]:
    """The role's view of each case; its children come in one statement on PostgreSQL (app/cases/loading.py)."""
    children = loading.children_of(session, [c.id for c in cases])
    audit.note(session, "case_ids", [c.id for c in cases])
    audit.note(session, "report_ids", [r["id"] for c in children.values() for r in c.reports])
    view = policy.case_view(principal)
    return [  # type: ignore[return-value]
        view.model_validate(
            {
                "id": case.id,
                "status": case.status,
                "custodian_agency": children[case.id].custodian_agency,
                "category": case.category,
                "platform": case.platform,
                "region_code": case.region_code,
                "content_url": case.content_url,
                "asn_identifier": case.asn_identifier,
                "opened_at": case.opened_at,
                "updated_at": case.updated_at,
                "recommended_at": case.recommended_at,
                "closed_at": case.closed_at,
                "overdue": service.is_overdue(case, now=now, follow_up_days=follow_up_days),
                "version": case.version,
                "sanctions": children[case.id].sanctions,
                "information_requests": children[case.id].information_requests,
                "reports": children[case.id].reports,
            }
        )
        for case in cases
    ]
