"""Where a request's principal, transaction and outcome meet the audit log.

- A request that succeeds: its row is appended in the request's own transaction, just before commit
  (``app.unit_of_work.get_session``), so the change and its record commit together; after the commit a write
  waits for its row's seal and answers with the receipt (``receipt``).
- A request that is refused or fails: the error handlers append its row in a transaction of its own, after
  the request's work was rolled back; it is sealed like a read's row, without waiting.
Health probes (``/healthz``, ``/readyz``) do not reach the log.
"""

import hashlib
import ipaddress
import logging
from functools import lru_cache
from typing import Any

from fastapi import Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from app.audit import flood, receipts, service
from app.audit.service import AuditEntry
from app.core.adb import AsyncPostgres
from app.core.config import Settings
from app.core.db import autocommit
from app.core.programs import Program
from app.core.text import recordable

log = logging.getLogger("netral.audit")


def entry_for(
    request: Request, *, status: int, outcome: str, now: Any, noted: dict[str, Any] | None = None
) -> AuditEntry:
    principal = getattr(request.state, "principal", None)
    route = request.scope.get("route")
    action = getattr(route, "operation_id", None) or _unrouted_action(request.method, request.url.path)
    body = getattr(request, "_body", None)  # Starlette's cache of a body that was read; None when unread
    objects = {k: recordable(str(v)) for k, v in request.path_params.items()}  # storable, still distinct
    objects.update(noted or {})
    return AuditEntry(
        action=action,
        outcome=outcome,
        status=status,
        at=now,
        request_id=getattr(request.state, "request_id", None),
        agency=getattr(principal, "agency_code", None),
        client_id=getattr(principal, "client_id", None) or getattr(request.state, "client_id", None),
        token_id=getattr(principal, "token_id", None),
        roles=",".join(sorted(principal.roles)) if principal else None,
        object_ids=objects,
        client_ip=client_ip(request),
        body_sha256=hashlib.sha256(body).hexdigest() if body else getattr(request.state, "body_sha256", None),
    )


MAX_ACTION = 200  # the column's length


def _unrouted_action(method: str, path: str) -> str:
    """``METHOD /path`` for a path no route serves; a path too long for the column is cut and named by its
    hash, so the request is still accounted for (and cannot be confused with another)."""
    action = f"{recordable(method[:16])} {recordable(path)}"
    if len(action) <= MAX_ACTION:
        return action
    digest = hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return f"{action[: MAX_ACTION - 20]}…#{digest}"


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _trusted(address: str, networks: tuple[Any, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_ip(request: Request) -> str | None:
    """The peer address; ``X-Forwarded-For`` is believed only when the peer is a configured proxy, and then
    only up to the first hop that is not itself a trusted proxy (read from the right, as proxies append)."""
    peer = request.client.host if request.client else None
    networks = _networks(tuple(request.app.state.runtime.get().settings.trusted_proxies))
    if peer is None or not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for value in request.headers.getlist("x-forwarded-for") for h in value.split(",")]
    address = peer
    for hop in reversed([h for h in hops if h]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break  # garbage from beyond the trusted proxies: keep the last believable address
        address = hop
        if not _trusted(hop, networks):
            break
    return address


def record_success(session: Session, request: Request, now: Any) -> None:
    """In the request's transaction, last: its row, unsealed. ``receipt`` seals it once that committed."""
    service.append(session, success_entry(session.info, request, now))


async def record_read(database: AsyncPostgres, session: Session, request: Request, now: Any) -> None:
    """A read's row, from the event loop: a read on PostgreSQL has no transaction block to share (autocommit),
    so its row goes in one statement of its own on the async driver."""
    await service.append_async(database, success_entry(session.info, request, now))


def record_success_program(dialect: str, info: dict[str, Any], request: Request, now: Any) -> Program[None]:
    """``record_success`` as a program (app/core/programs.py), for a unit of work on the async driver."""
    yield from service.append_program(dialect, success_entry(info, request, now))


def success_entry(info: dict[str, Any], request: Request, now: Any) -> AuditEntry:
    """The row of a request that succeeded, naming what its unit of work noted (``service.note``)."""
    route = request.scope.get("route")
    status = getattr(route, "status_code", None) or 200
    noted = info.get(service.NOTED)
    entry = entry_for(request, status=status, outcome="allowed", now=now, noted=noted)
    request.state.audit_entry = entry
    return entry


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def receipt(request: Request, settings: Settings) -> None:
    """After the commit, before the response: a write answers with a signed promise that its audit row is in
    the log (``Audit-Receipt``, app/audit/receipts.py); the elected sealer chains it within a second. Reads
    carry no receipt. Numbers for this choice are in the README."""
    if request.method in SAFE_METHODS:
        return
    request.state.extra_headers = {
        **getattr(request.state, "extra_headers", {}),
        "Audit-Receipt": receipts.issue(settings, service.row_fields(request.state.audit_entry)),
    }


# Refusals that can come before authentication, counted in summary rows rather than one row each.
FLOOD_REASONS = {401: "unauthenticated", 408: "slow-body", 413: "too-large", 429: "rate-limited"}


async def audit_refusal(request: Request, status: int) -> flood.Hit | None:
    """Every refusal reaches the audit log (health probes excepted): one row of its own (own transaction, on
    a worker thread), or — refused before authentication or beyond a limit — one count in its window's
    summary row (app/audit/flood.py). Returns the count for the latter, so the caller can apply the
    per-source limit."""
    if request.url.path in ("/healthz", "/readyz"):
        return None
    try:
        if status == 429 or (getattr(request.state, "principal", None) is None and status in FLOOD_REASONS):
            return await run_in_threadpool(count_refusal, request, status)
        await run_in_threadpool(record_refusal, request, status)
    except Exception:  # the refusal is still answered; the failure is logged loudly
        log.exception("could not audit a refused request")
    return None


def count_refusal(request: Request, status: int) -> flood.Hit:
    runtime = request.app.state.runtime.get()
    reason = getattr(request.state, "refusal_reason", None) or FLOOD_REASONS[status]
    return flood.count(
        runtime.engine,
        scope=f"{flood.REFUSED}{reason}",
        key=getattr(getattr(request.state, "principal", None), "client_id", None) or client_ip(request) or "unknown",
        status=status,
        now=getattr(request.state, "now", None) or runtime.clock.now(),
        window_seconds=runtime.settings.rate_window_seconds,
    )


def record_refusal(request: Request, status: int) -> None:
    """Own transaction: the request's work was rolled back, its refusal is still recorded. Sealed like a
    read's row: no receipt is owed to a refused request."""
    runtime = request.app.state.runtime.get()
    now = getattr(request.state, "now", None) or runtime.clock.now()
    # On PostgreSQL one statement in autocommit (row and index in one CTE): a refusal costs one round trip.
    with Session(autocommit(runtime.engine)) as session:
        service.append(
            session, entry_for(request, status=status, outcome="refused" if status < 500 else "error", now=now)
        )
        session.commit()
