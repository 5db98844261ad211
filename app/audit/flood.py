"""A flood cannot fill the audit log.

Refusals before authentication (no token, an invalid token, a failed client authentication, a body too
large or too slow) and refusals beyond a rate limit get no audit row each: they are counted per (reason,
source, short window) in ``rate_window``, in the database (so across every server process), one upsert per
request. When a window has closed, the sweeper (app/audit/sealer.py) turns it into one summary row in the
audit chain — action ``refused:<reason>``, the source as ``client_ip``, the count and the window in
``object_ids`` — and deletes the counter. Every request is still counted, and the log grows with time (at
most one row per reason, source and window), not with the flood.

The same counts are the per-source rate limits: past ``limit`` refusals in a window, a source is answered
429 with ``Retry-After`` (the token endpoint counts every request, with a stricter limit).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete
from sqlmodel import Session

from app.audit import service as audit
from app.audit.models import RateWindow
from app.core.db import autocommit, insert_for

WINDOW = RateWindow.__table__  # type: ignore[attr-defined]
REFUSED = "refused:"


@dataclass(frozen=True)
class Hit:
    count: int
    retry_after: int  # seconds until the window closes


def window_of(now: datetime, seconds: int) -> datetime:
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


def count(engine: Engine, *, scope: str, key: str, status: int, now: datetime, window_seconds: int) -> Hit:
    """One statement: this request counted in its window; the count so far is returned."""
    start = window_of(now, window_seconds)
    dialect_insert = insert_for(engine.dialect.name)
    statement = (
        dialect_insert(WINDOW)
        .values(scope=scope, key=key[:100], window_start=start, count=1, status=status)
        .on_conflict_do_update(index_elements=["scope", "key", "window_start"], set_={"count": WINDOW.c["count"] + 1})
        .returning(WINDOW.c["count"])
    )
    with autocommit(engine).begin() as connection:
        counted = int(connection.execute(statement).scalar_one())
    retry_after = max(1, int((start + timedelta(seconds=window_seconds) - now).total_seconds() + 0.999))
    return Hit(count=counted, retry_after=retry_after)


def close(engine: Engine, *, before: datetime) -> int:
    """Windows that started before ``before`` become summary rows (refusals) or vanish (plain counters), in
    one transaction: a window is taken by exactly one closer. Returns summary rows written."""
    written = 0
    with Session(engine) as session:
        closed = (
            session.execute(delete(WINDOW).where(WINDOW.c.window_start < before).returning(*WINDOW.c)).mappings().all()
        )
        for window in sorted(closed, key=lambda w: (w["window_start"], w["scope"], w["key"])):
            if not window["scope"].startswith(REFUSED):
                continue
            audit.append(
                session,
                audit.AuditEntry(
                    action=window["scope"],
                    outcome="refused",
                    status=window["status"],
                    at=window["window_start"],
                    client_ip=window["key"],
                    object_ids={"count": str(window["count"]), "window_start": window["window_start"].isoformat()},
                ),
            )
            written += 1
        session.commit()
    return written
