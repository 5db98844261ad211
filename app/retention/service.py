"""Retention (UU 27/2022: processing ends with its purpose) and data-subject export.

After the governing agreement's retention period, closed cases are anonymised: ASN names and identifiers
are replaced by a keyed pseudonym (so counts by case stay right), excerpts, free-text reasons, answers and
public-reporter identities are dropped, content URLs are cut to scheme and host, evidence files are deleted
(their hashes stay on record), and stored idempotent responses of those reports are deleted. Running it
again changes nothing."""

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session, col, delete, select

from app.access import policy
from app.access.policy import Action
from app.agreements import service as agreements
from app.cases import service as cases
from app.cases.models import CaseFile, CaseStatusChange, InformationRequest, SanctionOutcome
from app.core.config import Settings
from app.core.crypto import derive_key, keyed_hash
from app.core.idempotency import IdempotencyRecord
from app.events.models import FeedEvent
from app.evidence import service as evidence
from app.evidence.models import EvidenceBlob, EvidenceLink
from app.reports.models import Report

FINAL_STATES = policy.FINAL_STATES
REMOVED = "[dihapus]"
PSEUDONYM_PREFIX = "anon-"


@dataclass
class PurgeReport:
    closed: int = 0  # open cases closed administratively first
    cases: int = 0
    reports: int = 0
    evidence_files: int = 0
    idempotency_records: int = 0
    case_ids: list[str] = field(default_factory=list)


def purgeable_cases(session: Session, *, now: datetime) -> list[CaseFile]:
    found = []
    for case in session.exec(select(CaseFile).where(col(CaseFile.status).in_([s.value for s in FINAL_STATES]))):
        if case.asn_identifier.startswith(PSEUDONYM_PREFIX):
            continue  # done before
        status = agreements.governing(session, agency_id=case.custodian_agency_id, now=now)
        if status.state == agreements.AgreementState.purged:
            found.append(case)
    return found


def abandoned_cases(session: Session, *, now: datetime) -> list[tuple[CaseFile, str]]:
    """Open cases on which the agreement allows no more work (after the wind-down, outside any running
    region extension), with the agreement's code."""
    found = []
    open_cases = select(CaseFile).where(col(CaseFile.status).in_([s.value for s in policy.OPEN_STATES]))
    for case in session.exec(open_cases.order_by(col(CaseFile.id))):
        status = agreements.governing(session, agency_id=case.custodian_agency_id, now=now)
        ended = status.state in (agreements.AgreementState.expired, agreements.AgreementState.purged)
        if ended and not status.allows(Action.work_case, case.region_code):
            found.append((case, status.agreement.code if status.agreement else "?"))
    return found


def close_abandoned(session: Session, *, now: datetime, dry_run: bool) -> int:
    abandoned = abandoned_cases(session, now=now)
    if not dry_run:
        for case, code in abandoned:
            cases.close_administratively(
                session,
                case,
                reason=f"{cases.ADMINISTRATIVE_CLOSURE}: agreement {code} allows no more work on this case "
                f"(wind-down over, no region extension running); closed so its personal data can be purged",
                now=now,
            )
    return len(abandoned)


def purge(session: Session, settings: Settings, *, now: datetime, dry_run: bool) -> PurgeReport:
    """First closes abandoned cases (``close_abandoned``), then anonymises closed cases past retention."""
    report = PurgeReport(closed=close_abandoned(session, now=now, dry_run=dry_run))
    session.flush()
    for case in purgeable_cases(session, now=now):
        report.cases += 1
        report.case_ids.append(str(case.id))
        if not dry_run:
            _anonymise_case(session, settings, case, report, now)
        else:
            report.reports += len(session.exec(select(Report.id).where(Report.case_id == case.id)).all())
    session.flush()
    return report


def subject_pseudonym(settings: Settings, identifier: str) -> str:
    """How audit rows name a data subject: keyed, so it cannot be reversed by enumerating NIPs."""
    return "subject-" + keyed_hash(derive_key(settings.secret_key, "subject-reference"), identifier)[:24]


def _pseudonym(settings: Settings, identifier: str) -> str:
    return PSEUDONYM_PREFIX + keyed_hash(derive_key(settings.secret_key, "retention-pseudonym"), identifier)[:16]


def _anonymise_case(session: Session, settings: Settings, case: CaseFile, report: PurgeReport, now: datetime) -> None:
    pseudonym = _pseudonym(settings, case.asn_identifier)
    host_only = "{0.scheme}://{0.netloc}/".format(urlsplit(case.content_url))
    case.asn_identifier, case.content_url, case.dedupe_key = pseudonym, host_only, keyed_hash(b"purged", str(case.id))
    session.add(case)
    reports = session.exec(select(Report).where(Report.case_id == case.id)).all()
    for r in reports:
        report.reports += 1
        r.asn_name, r.asn_identifier, r.asn_jabatan, r.excerpt = REMOVED, pseudonym, None, None
        r.content_url, r.reporter_identity_sealed, r.reporter_identity_key_id = host_only, None, None
        session.add(r)
        report.idempotency_records += _drop_stored_responses(session, r)
        report.evidence_files += _delete_evidence(session, settings, r, now)
    for change in session.exec(select(CaseStatusChange).where(CaseStatusChange.case_id == case.id)):
        if change.reason.startswith(cases.ADMINISTRATIVE_CLOSURE):
            continue  # the service's own words, no personal data: why the case ended stays on record
        change.reason = REMOVED
        session.add(change)
    for info in session.exec(select(InformationRequest).where(InformationRequest.case_id == case.id)):
        info.question, info.answer_note = REMOVED, (REMOVED if info.answer_note else None)
        session.add(info)
    for outcome in session.exec(select(SanctionOutcome).where(SanctionOutcome.case_id == case.id)):
        outcome.note = None
        session.add(outcome)


def _drop_stored_responses(session: Session, r: Report) -> int:
    stale = [
        rec.id
        for rec in session.exec(select(IdempotencyRecord).where(IdempotencyRecord.client_id == r.client_id))
        if str(r.id) in rec.response_body
    ]
    if stale:
        session.exec(delete(IdempotencyRecord).where(col(IdempotencyRecord.id).in_(stale)))
    return len(stale)


def _delete_evidence(session: Session, settings: Settings, r: Report, now: datetime) -> int:
    """Deletes the files; the blob rows keep their hash (what was held stays provable) and say when."""
    deleted = 0
    for link in session.exec(select(EvidenceLink).where(EvidenceLink.report_id == r.id)):
        path: Path = evidence.path_for(settings, link.sha256)
        if path.exists():
            path.unlink()
            deleted += 1
        blob = session.get(EvidenceBlob, link.sha256)
        if blob is not None and blob.purged_at is None:
            blob.purged_at = now
            session.add(blob)
    return deleted


def subject_export(session: Session, *, identifier: str) -> dict[str, Any]:
    """Everything held about one civil servant (by NIP or NI PPPK), with the trail of what happened to it."""
    reports = session.exec(select(Report).where(Report.asn_identifier == identifier)).all()
    case_ids = sorted({r.case_id for r in reports}, key=str)
    cases = session.exec(select(CaseFile).where(col(CaseFile.id).in_(case_ids))).all()

    def rows(model: Any) -> list[dict[str, Any]]:
        found = session.exec(select(model).where(col(model.case_id).in_(case_ids))).all()
        return [row.model_dump(mode="json") for row in found]

    return {
        "identifier": identifier,
        "reports": [
            r.model_dump(mode="json", exclude={"reporter_identity_sealed", "reporter_identity_key_id"}) for r in reports
        ],
        "cases": [c.model_dump(mode="json", exclude={"dedupe_key"}) for c in cases],
        "status_history": rows(CaseStatusChange),
        "information_requests": rows(InformationRequest),
        "sanctions": rows(SanctionOutcome),
        "events": rows(FeedEvent),
        "access_trail": access_trail(session, [str(r.id) for r in reports] + [str(c) for c in case_ids]),
    }


def access_trail(session: Session, object_ids: list[str]) -> list[dict[str, Any]]:
    """Who read or changed these records, from the audit log (sealed rows; callers seal first)."""
    from app.audit import service as audit

    trail: list[dict[str, Any]] = []
    if not object_ids:
        return trail
    after = 0
    while True:
        page = audit.search(session, audit.Filters(object_ids=object_ids), after_seq=after, limit=1000)
        trail += [
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "agency": e.agency,
                "client_id": e.client_id,
                "action": e.action,
                "outcome": e.outcome,
                "status": e.status,
                "request_id": e.request_id,
            }
            for e in page
        ]
        if len(page) < 1000:
            return trail
        after = page[-1].seq or after
