"""Per-role case views: the property-level rules live here, in which schema a role gets."""

import uuid
from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.access import policy
from app.access.policy import Principal
from app.audit import service as audit
from app.cases import loading, service
from app.cases.schemas import CaseForAuthority, CaseForObserver


def render(
    session: Session, principal: Principal, case_ids: list[uuid.UUID], *, now: datetime, follow_up_days: int
) -> list[CaseForAuthority] | list[CaseForObserver]:
    """The role's view of each case found, in the order asked: the rows and their children in one statement on
    PostgreSQL (app/cases/loading.py), as the database holds them with this request's changes."""
    session.flush()
    return present(
        session.info, principal, case_ids, loading.load(session, case_ids), now=now, follow_up_days=follow_up_days
    )


def present(
    info: dict[str, Any],
    principal: Principal,
    case_ids: list[uuid.UUID],
    loaded: dict[uuid.UUID, loading.Loaded],
    *,
    now: datetime,
    follow_up_days: int,
) -> list[CaseForAuthority] | list[CaseForObserver]:
    """The role's view of the cases loaded, in the order asked; what was shown is noted for the audit row
    (in the unit of work's ``info``)."""
    found = [(case_id, loaded[case_id]) for case_id in case_ids if case_id in loaded]
    audit.note_in(info, "case_ids", [case_id for case_id, _ in found])
    audit.note_in(info, "report_ids", [r["id"] for _, c in found for r in c.reports])
    view = policy.case_view(principal)
    return [  # type: ignore[return-value]
        view.model_validate(
            {
                **c.case,
                "id": case_id,
                "custodian_agency": c.custodian_agency,
                "overdue": service.is_overdue(
                    c.case["status"], c.case["recommended_at"], now=now, follow_up_days=follow_up_days
                ),
                "sanctions": c.sanctions,
                "information_requests": c.information_requests,
                "reports": c.reports,
            }
        )
        for case_id, c in found
    ]
