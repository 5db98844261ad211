"""The auditor's view of the log (``audit:read``), and a reporter's view of who used what it shared."""

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from app.access.policy import Principal
from app.access.roles import AUDIT_READ, REPORTS_READ
from app.audit import checkpoints, service
from app.audit.models import AuditCheckpoint, AuditEvent
from app.auth.deps import requires
from app.core import routes
from app.core.clock import UtcDatetime
from app.core.deps import RuntimeDep
from app.core.errors import NotFound, problem_responses
from app.core.pagination import Cursor, decode_position, encode_cursor
from app.core.runtime import Runtime
from app.core.text import NO_CONTROL_CHARACTERS
from app.reports import service as reports
from app.unit_of_work import SessionDep

router = routes.router(prefix="/api/v1", tags=["audit"])

Auditor = Annotated[Principal, requires(AUDIT_READ)]
AuditLimit = Annotated[int, Query(ge=1, le=1000, description="Page size, at most 1000")]
JSONL = "application/jsonl"


class AuditEventOut(BaseModel):
    seq: int = Field(description="Position in the chain, from 1, without gaps")
    at: str = Field(description="When the request began: ISO 8601 UTC with microseconds, exactly as hashed")
    request_id: str | None
    agency: str | None
    client_id: str | None
    token_id: str | None = Field(description="`jti` of the access token; never the token")
    roles: str | None
    action: str = Field(description="The route's operation id, or `cli:<command>` for operator actions")
    object_ids: dict[str, Any]
    outcome: Literal["allowed", "refused", "error"]
    status: int = Field(description="HTTP status; for operator actions the exit code")
    client_ip: str | None
    body_sha256: str | None
    prev_hash: str
    hash: str


class AuditEventPage(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None


class CheckpointOut(BaseModel):
    id: int
    size: int = Field(description="Rows in the chain when signed")
    head_hash: str = Field(description="`hash` of row `size` (64 zeros when size is 0)")
    time: str = Field(description="As signed: ISO 8601 UTC with microseconds")
    prev_checkpoint_hash: str
    key_id: str
    signature: str = Field(description="Ed25519 over the canonical payload, base64")
    hash: str = Field(description="SHA-256 of the canonical payload")


class CheckpointPage(BaseModel):
    items: list[CheckpointOut]
    next_cursor: str | None


class PublicKeyOut(BaseModel):
    key_id: str
    algorithm: Literal["Ed25519"]
    public_key_pem: str
    jwk: dict[str, str]


class AccessLogEntry(BaseModel):
    seq: int
    at: datetime
    agency: str | None
    client_id: str | None
    action: str
    outcome: str
    status: int


class AccessLogPage(BaseModel):
    items: list[AccessLogEntry]
    next_cursor: str | None


def _next(rows: list[Any], limit: int, key: str) -> str | None:
    return encode_cursor(getattr(rows[-1], key)) if len(rows) == limit else None


def seal_first(runtime: Runtime, session: Session, *, anchor: bool = False) -> None:
    """Before an auditor reads: every committed row joins the chain. With ``anchor`` (an export) the head is
    also signed when it moved since the last checkpoint, so every export ends on a signed head and a later
    cut of the tail, to any point, fails the offline verification of the checkpoints the auditor keeps.

    On PostgreSQL in a transaction of its own, which holds the chain lock (the read itself runs without a
    transaction block); on SQLite in the request's transaction, which already holds the one write lock."""
    if not runtime.settings.is_postgresql:
        service.seal(session)
        if anchor and runtime.settings.audit_signing_key is not None:
            checkpoints.make(session, checkpoints.private_key(runtime.settings), runtime.clock.now(), if_moved=True)
        return
    service.seal_pending(runtime.engine)
    if anchor:
        checkpoints.anchor_head(runtime.engine, runtime.settings, runtime.clock.now())


@router.get(
    "/audit/events",
    operation_id="list_audit_events",
    response_model=AuditEventPage,
    summary="Audit rows in chain order, filtered; every filter given must match",
    responses=problem_responses(401, 403, 422),
)
def list_audit_events(
    principal: Auditor,
    session: SessionDep,
    runtime: RuntimeDep,
    agency: Annotated[str | None, Query(max_length=32, pattern=NO_CONTROL_CHARACTERS)] = None,
    client_id: Annotated[str | None, Query(max_length=64, pattern=NO_CONTROL_CHARACTERS)] = None,
    action: Annotated[
        str | None,
        Query(max_length=200, pattern=NO_CONTROL_CHARACTERS, description="operation id, e.g. `get_case`"),
    ] = None,
    object_id: Annotated[
        str | None, Query(max_length=200, pattern=NO_CONTROL_CHARACTERS, description="any id a row names")
    ] = None,
    outcome: Literal["allowed", "refused", "error"] | None = None,
    since: Annotated[UtcDatetime | None, Query(description="rows timed at or after")] = None,
    until: Annotated[UtcDatetime | None, Query(description="rows timed before")] = None,
    cursor: Cursor = None,
    limit: AuditLimit = 100,
) -> AuditEventPage:
    seal_first(runtime, session)  # rows not yet sealed join the chain first: the auditor sees them all
    filters = service.Filters(
        agency=agency,
        client_id=client_id,
        action=action,
        object_ids=[object_id] if object_id is not None else None,
        outcome=outcome,
        since=since,
        until=until,
    )
    rows = service.search(session, filters, after_seq=decode_position(cursor), limit=limit)
    items = [AuditEventOut.model_validate(service.as_export(r)) for r in rows]
    return AuditEventPage(items=items, next_cursor=_next(rows, limit, "seq"))


@router.get(
    "/audit/events:export",
    operation_id="export_audit_events",
    response_class=StreamingResponse,
    summary="Stream a contiguous range of rows as JSON Lines, for `netral audit verify --export`",
    description="One row per line, in chain order, exactly as hashed (`at` in canonical form). A time range "
    "selects the smallest contiguous run of rows holding every row timed in it, so the export stays verifiable.",
    responses={
        200: {"content": {JSONL: {"schema": {"type": "string", "description": "one AuditEventOut per line"}}}},
        **problem_responses(401, 403, 422),
    },
)
def export_audit_events(
    principal: Auditor,
    session: SessionDep,
    runtime: RuntimeDep,
    from_seq: Annotated[int | None, Query(ge=1)] = None,
    to_seq: Annotated[int | None, Query(ge=1)] = None,
    since: UtcDatetime | None = None,
    until: UtcDatetime | None = None,
) -> StreamingResponse:
    seal_first(runtime, session, anchor=True)
    low, high = from_seq or 1, to_seq
    if since is not None or until is not None:
        span_low, span_high = service.seq_span(session, since, until)
        low, high = max(low, span_low), span_high if high is None else min(high, span_high)
    engine = runtime.engine

    def lines() -> Iterator[str]:  # its own session: the request's transaction has committed by now
        with Session(engine) as reader:
            for event in service.iter_events(reader, from_seq=low, to_seq=high):
                yield service.export_line(event) + "\n"

    return StreamingResponse(lines(), media_type=JSONL)


@router.get(
    "/audit/checkpoints",
    operation_id="list_audit_checkpoints",
    response_model=CheckpointPage,
    summary="Signed checkpoints of the chain, oldest first",
    responses=problem_responses(401, 403, 422),
)
def list_audit_checkpoints(
    principal: Auditor, session: SessionDep, cursor: Cursor = None, limit: AuditLimit = 100
) -> CheckpointPage:
    query = select(AuditCheckpoint).where(col(AuditCheckpoint.id) > decode_position(cursor))
    rows = list(session.exec(query.order_by(col(AuditCheckpoint.id)).limit(limit)))
    items = [CheckpointOut.model_validate(checkpoints.as_document(c)) for c in rows]
    return CheckpointPage(items=items, next_cursor=_next(rows, limit, "id"))


@router.get(
    "/audit/checkpoints:export",
    operation_id="export_audit_checkpoints",
    response_class=StreamingResponse,
    summary="Every checkpoint as JSON Lines, for `netral audit verify --checkpoints`",
    responses={
        200: {"content": {JSONL: {"schema": {"type": "string", "description": "one CheckpointOut per line"}}}},
        **problem_responses(401, 403),
    },
)
def export_audit_checkpoints(principal: Auditor, session: SessionDep) -> StreamingResponse:
    body = "".join(checkpoints.export_line(c) + "\n" for c in checkpoints.all_in_order(session))
    return StreamingResponse(iter([body]), media_type=JSONL)


@router.get(
    "/audit/public-key",
    operation_id="get_audit_public_key",
    response_model=PublicKeyOut,
    summary="The Ed25519 key that verifies the checkpoints (PEM and JWK)",
    responses=problem_responses(401, 403, 404),
)
def get_audit_public_key(principal: Auditor, runtime: RuntimeDep, session: SessionDep) -> PublicKeyOut:
    try:
        key = checkpoints.private_key(runtime.settings)
    except checkpoints.AuditKeyMissing:
        raise NotFound("This service has no audit signing key configured.") from None
    return PublicKeyOut.model_validate(checkpoints.public_key_document(key.public_key()))


@router.get(
    "/reports/{report_id}/access-log",
    operation_id="get_report_access_log",
    tags=["reports"],
    response_model=AccessLogPage,
    summary="Who (agency, client) read or changed one of your reports, or the case holding it, and when",
    responses=problem_responses(401, 403, 404, 422),
)
def get_report_access_log(
    report_id: uuid.UUID,
    principal: Annotated[Principal, requires(REPORTS_READ)],
    session: SessionDep,
    runtime: RuntimeDep,
    cursor: Cursor = None,
    limit: AuditLimit = 100,
) -> AccessLogPage:
    report = reports.get_own(session, principal, report_id)
    seal_first(runtime, session)
    filters = service.Filters(object_ids=[str(report.id), str(report.case_id)])
    rows: list[AuditEvent] = service.search(session, filters, after_seq=decode_position(cursor), limit=limit)
    items = [AccessLogEntry.model_validate(r, from_attributes=True) for r in rows]
    return AccessLogPage(items=items, next_cursor=_next(rows, limit, "seq"))
