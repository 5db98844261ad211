"""What a case view needs: the case row and its children (reports with reporter agency and evidence,
sanctions, information requests, the custodian's code), for many cases at once.

On PostgreSQL in one statement (JSON aggregation per case), so a case read costs one round trip for its data
and a page of any size two; elsewhere (the embedded SQLite default) in a handful of batched queries. Both
return the same plain structures, which the per-role schemas validate.
"""

import functools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import bindparam, column, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.agencies.models import Agency
from app.cases.models import CaseFile, InformationRequest, SanctionOutcome
from app.core import programs
from app.core.db import in_list
from app.core.programs import Program, Step
from app.core.runtime import Runtime
from app.evidence.models import EvidenceBlob, EvidenceLink
from app.reports.models import Report

# The case row's columns a view shows (besides ``id``), read with the ORM's own types.
CASE_COLUMNS = (
    "status",
    "category",
    "platform",
    "region_code",
    "content_url",
    "asn_identifier",
    "opened_at",
    "updated_at",
    "recommended_at",
    "closed_at",
    "version",
)


@dataclass
class Loaded:
    case: dict[str, Any] = field(default_factory=dict)
    custodian_agency: str = ""
    reports: list[dict[str, Any]] = field(default_factory=list)
    sanctions: list[dict[str, Any]] = field(default_factory=list)
    information_requests: list[dict[str, Any]] = field(default_factory=list)


_PG_CHILDREN = (
    text(  # the column names are this module's constants (CASE_COLUMNS), never input
        "SELECT "  # noqa: S608
        + ", ".join(f"c.{name}" for name in ("id", *CASE_COLUMNS))
        + """,
  (SELECT code FROM agency WHERE agency.id = c.custodian_agency_id) AS custodian_agency,
  COALESCE((
    SELECT json_agg(json_build_object(
      'id', r.id, 'reporter_agency', a.code, 'reference', r.reference, 'content_kind', r.content_kind,
      'captured_at', r.captured_at, 'excerpt', r.excerpt, 'engagement_action', r.engagement_action,
      'source', r.source, 'received_at', r.received_at,
      'has_public_reporter', r.reporter_identity_sealed IS NOT NULL,
      'asn', json_build_object('name', r.asn_name, 'identifier', r.asn_identifier,
        'identifier_kind', r.asn_identifier_kind, 'instansi', r.asn_instansi, 'jabatan', r.asn_jabatan,
        'region_code', r.region_code),
      'evidence', COALESCE((
        SELECT json_agg(json_build_object('sha256', l.sha256, 'kind', l.kind, 'filename', l.filename,
          'size', b.size, 'media_type', b.media_type) ORDER BY l.id)
        FROM evidence_link l JOIN evidence_blob b ON b.sha256 = l.sha256 WHERE l.report_id = r.id), '[]')
    ) ORDER BY r.received_at, r.id)
    FROM report r JOIN agency a ON a.id = r.agency_id WHERE r.case_id = c.id), '[]') AS reports,
  COALESCE((
    SELECT json_agg(json_build_object('id', s.id, 'track', s.track, 'code', s.code, 'level', s.level,
      'catalogue_version', s.catalogue_version, 'legal_basis', s.legal_basis, 'decided_by', s.decided_by,
      'decree_number', s.decree_number, 'decree_date', s.decree_date, 'note', s.note,
      'recorded_at', s.recorded_at) ORDER BY s.recorded_at, s.id)
    FROM sanction_outcome s WHERE s.case_id = c.id), '[]') AS sanctions,
  COALESCE((
    SELECT json_agg(json_build_object('id', q.id, 'report_id', q.report_id, 'question', q.question,
      'requested_at', q.requested_at, 'answered_at', q.answered_at, 'answer_note', q.answer_note)
      ORDER BY q.requested_at, q.id)
    FROM information_request q WHERE q.case_id = c.id), '[]') AS information_requests
FROM case_file c WHERE c.id = ANY(:ids)
"""
    )
    .bindparams(bindparam("ids", type_=ARRAY(UUID(as_uuid=True))))
    .columns(
        *(CaseFile.__table__.c[name] for name in ("id", *CASE_COLUMNS)),  # type: ignore[attr-defined]
        column("custodian_agency"),
        column("reports"),
        column("sanctions"),
        column("information_requests"),
    )
)


def load(session: Session, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, Loaded]:
    return programs.run(session, load_program(session.get_bind().dialect.name, case_ids))


def load_program(dialect: str, case_ids: list[uuid.UUID]) -> Program[dict[uuid.UUID, Loaded]]:
    """``load`` as a program (app/core/programs.py), in the caller's transaction: it sees that transaction's
    own changes (a transition renders the case it just moved)."""
    if not case_ids:
        return {}
    if dialect == "postgresql":
        return _from_rows((yield Step(_PG_CHILDREN, {"ids": case_ids})))
    return (yield from _batched(dialect, case_ids))


async def load_from_loop(runtime: Runtime, session: Session, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, Loaded]:
    """``load`` for an ``async`` route: on PostgreSQL the one statement on the request path's async driver
    (app/core/adb.py), typed as the ORM types it; elsewhere ``load`` on a worker thread."""
    if runtime.async_db is None:
        return await run_in_threadpool(load, session, case_ids)
    if not case_ids:
        return {}
    return _from_rows(await runtime.async_db.fetch(_PG_CHILDREN, {"ids": case_ids}))


def _from_rows(rows: Iterable[Any]) -> dict[uuid.UUID, Loaded]:
    return {
        row["id"]: Loaded(
            case={name: row[name] for name in CASE_COLUMNS},
            custodian_agency=row["custodian_agency"],
            reports=row["reports"],
            sanctions=row["sanctions"],
            information_requests=row["information_requests"],
        )
        for row in rows
    }


def _batched(dialect: str, case_ids: list[uuid.UUID]) -> Program[dict[uuid.UUID, Loaded]]:
    """The embedded default's way: one query per table, the same plain structures as ``_PG_CHILDREN``."""
    codes = {row["id"]: row["code"] for row in (yield Step(_AGENCY_CODES))}
    ids = {"ids": case_ids}
    found = {
        c["id"]: Loaded(case={name: c[name] for name in CASE_COLUMNS}, custodian_agency=codes[c["custodian_agency_id"]])
        for c in (yield Step(_of_cases(CASES, dialect), ids))
    }
    reports = yield Step(_of_cases(REPORTS, dialect, REPORTS.c.received_at, REPORTS.c.id), ids)
    evidence: dict[uuid.UUID, list[dict[str, Any]]] = {}
    if reports:
        for link in (yield Step(_evidence(dialect), {"report_ids": [r["id"] for r in reports]})):
            evidence.setdefault(link.pop("report_id"), []).append(link)
    for r in reports:
        found[r["case_id"]].reports.append(_report(r, codes[r["agency_id"]], evidence.get(r["id"], [])))
    sanctions = yield Step(_of_cases(SANCTIONS, dialect, SANCTIONS.c.recorded_at, SANCTIONS.c.id), ids)
    for s in sanctions:
        found[s["case_id"]].sanctions.append({**s, "decree_date": s["decree_date"].isoformat()})
    requests = yield Step(_of_cases(REQUESTS, dialect, REQUESTS.c.requested_at, REQUESTS.c.id), ids)
    for q in requests:
        found[q["case_id"]].information_requests.append(q)
    return found


CASES = CaseFile.__table__  # type: ignore[attr-defined]
REPORTS = Report.__table__  # type: ignore[attr-defined]
SANCTIONS = SanctionOutcome.__table__  # type: ignore[attr-defined]
REQUESTS = InformationRequest.__table__  # type: ignore[attr-defined]
LINKS = EvidenceLink.__table__  # type: ignore[attr-defined]
BLOBS = EvidenceBlob.__table__  # type: ignore[attr-defined]
_AGENCY_CODES = sa.select(Agency.__table__.c.id, Agency.__table__.c.code)  # type: ignore[attr-defined]


@functools.cache
def _of_cases(table: Any, dialect: str, *order: Any) -> Any:
    key = table.c.id if table is CASES else table.c.case_id
    return sa.select(table).where(in_list(key, "ids", dialect)).order_by(*order)


@functools.cache
def _evidence(dialect: str) -> Any:
    return (
        sa.select(LINKS.c.report_id, LINKS.c.sha256, LINKS.c.kind, LINKS.c.filename, BLOBS.c.size, BLOBS.c.media_type)
        .join(BLOBS, BLOBS.c.sha256 == LINKS.c.sha256)
        .where(in_list(LINKS.c.report_id, "report_ids", dialect))
        .order_by(LINKS.c.id)
    )


def _report(r: dict[str, Any], agency_code: str, evidence: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": r["id"],
        "reporter_agency": agency_code,
        "reference": r["reference"],
        "content_kind": r["content_kind"],
        "captured_at": r["captured_at"],
        "excerpt": r["excerpt"],
        "engagement_action": r["engagement_action"],
        "source": r["source"],
        "received_at": r["received_at"],
        "has_public_reporter": r["reporter_identity_sealed"] is not None,
        "asn": {
            "name": r["asn_name"],
            "identifier": r["asn_identifier"],
            "identifier_kind": r["asn_identifier_kind"],
            "instansi": r["asn_instansi"],
            "jabatan": r["asn_jabatan"],
            "region_code": r["region_code"],
        },
        "evidence": evidence,
    }
