"""Housekeeping: the tables that only matter for a while are pruned, so they do not grow for ever.

- idempotency records older than ``NETRAL_IDEMPOTENCY_RETENTION_HOURS`` (a later retry with that key is a new
  request; a report's reference still refuses a duplicate);
- revocations whose token would have expired anyway;
- used client assertions (``private_key_jwt`` replay guard) past their expiry.

One process at a time: on PostgreSQL the sweep runs under a transaction-scoped advisory lock that the others
try and skip. Each sweep is counted in the metrics (``netral_housekeeping_*``).
"""

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, select
from sqlmodel import Session, col

from app.auth.models import RevokedToken, UsedAssertion
from app.core import metrics
from app.core.config import Settings
from app.core.idempotency import IdempotencyRecord

HOUSEKEEPING_LOCK = 0x4E4554484B  # "NETHK"


@dataclass
class Pruned:
    ran: bool = False  # False: another process held the lock
    rows: dict[str, int] = field(default_factory=dict)


def sweep(engine: Engine, settings: Settings, *, now: datetime) -> Pruned:
    started = time.perf_counter()
    with Session(engine) as session:
        if (
            engine.dialect.name == "postgresql"
            and not session.execute(select(func.pg_try_advisory_xact_lock(HOUSEKEEPING_LOCK))).scalar_one()
        ):
            return Pruned()
        rows = {
            "idempotency_record": _delete(
                session,
                IdempotencyRecord,
                col(IdempotencyRecord.created_at) < now - timedelta(hours=settings.idempotency_retention_hours),
            ),
            # A revocation's delete bumps the authorisation version (every process drops its cache), so it
            # runs only when something has expired.
            "revoked_token": _delete(session, RevokedToken, col(RevokedToken.expires_at) < now),
            "used_assertion": _delete(session, UsedAssertion, col(UsedAssertion.expires_at) < now),
        }
        session.commit()
    metrics.housekeeping_swept(rows, seconds=time.perf_counter() - started)
    return Pruned(ran=True, rows=rows)


def _delete(session: Session, model: type, condition: object) -> int:
    if session.execute(select(1).where(condition).limit(1)).first() is None:  # type: ignore[arg-type]
        return 0
    return int(session.execute(delete(model).where(condition)).rowcount)  # type: ignore[arg-type, attr-defined]
