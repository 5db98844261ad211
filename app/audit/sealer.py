"""Checkpoints on an interval, idle periods included, from every server process.

Each process wakes a few times per interval; when the newest checkpoint is older than the interval, it takes
the chain's head lock, looks again, and signs. The second look under the lock is what keeps several
processes from signing twice. Nothing here is needed for correctness of the chain; it bounds how much of a
tail could be cut off unnoticed.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import anyio
from sqlmodel import Session

from app.audit import checkpoints
from app.audit.models import AuditCheckpoint
from app.core.runtime import Runtime

log = logging.getLogger("netral.audit")


def checkpoint_if_due(runtime: Runtime) -> AuditCheckpoint | None:
    interval = timedelta(seconds=runtime.settings.audit_checkpoint_interval_seconds)
    key = checkpoints.private_key(runtime.settings)
    now = runtime.clock.now()
    with Session(runtime.engine, expire_on_commit=False) as session:
        last = checkpoints.latest(session)  # unlocked first look: most wake-ups end here
        if last is not None and now - last.time < interval:
            return None
        session.rollback()
        made = checkpoints.make(session, key, now, unless_younger_than=interval)
        session.commit()
    if made is not None:
        log.info("audit checkpoint %s signed: %s rows, head %s", made.id, made.size, made.head_hash[:16])
    return made


async def _loop(runtime: Runtime) -> None:
    period = max(1.0, runtime.settings.audit_checkpoint_interval_seconds / 4)
    while True:
        try:
            await anyio.to_thread.run_sync(checkpoint_if_due, runtime)
        except Exception:  # the database may be briefly away; the next wake-up tries again
            log.exception("audit checkpoint failed")
        await asyncio.sleep(period)


@contextlib.asynccontextmanager
async def interval_checkpoints(runtime: Runtime) -> AsyncIterator[None]:
    settings = runtime.settings
    if settings.audit_checkpoint_interval_seconds == 0:
        yield
        return
    if settings.audit_signing_key is None:
        log.warning("audit checkpoints are off: NETRAL_AUDIT_SIGNING_KEY is not set")
        yield
        return
    task = asyncio.create_task(_loop(runtime))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
