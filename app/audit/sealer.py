"""The background part of the audit log, in every server process: a sweep that seals the rows of reads and
refusals (which do not wait for their seal) and of any process that died between commit and seal, and
checkpoints on an interval, idle periods included.

Each process wakes four times a second; when the newest checkpoint is older than the interval, it takes the
chain's head lock, looks again, and signs. The second look under the lock is what keeps several processes
from signing twice. Requests seal their own rows; nothing here is needed for the chain's correctness.
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
from app.audit.service import seal_pending
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


SWEEP_SECONDS = 0.25


def tick(runtime: Runtime, *, checkpoints_on: bool) -> None:
    seal_pending(runtime.engine)
    if checkpoints_on:
        checkpoint_if_due(runtime)


async def _loop(runtime: Runtime, checkpoints_on: bool) -> None:
    while True:
        try:
            await anyio.to_thread.run_sync(lambda: tick(runtime, checkpoints_on=checkpoints_on))
        except Exception:  # the database may be briefly away; the next wake-up tries again
            log.exception("audit sweep or checkpoint failed")
        await asyncio.sleep(SWEEP_SECONDS)


@contextlib.asynccontextmanager
async def background(runtime: Runtime) -> AsyncIterator[None]:
    settings = runtime.settings
    checkpoints_on = settings.audit_checkpoint_interval_seconds > 0 and settings.audit_signing_key is not None
    if settings.audit_checkpoint_interval_seconds > 0 and settings.audit_signing_key is None:
        log.warning("audit checkpoints are off: NETRAL_AUDIT_SIGNING_KEY is not set")
    task = asyncio.create_task(_loop(runtime, checkpoints_on))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
