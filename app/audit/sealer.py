"""The background part of the audit log, in every server process: the elected sealer, which chains every
committed row (writes answer with a signed promise, app/audit/receipts.py; reads and refusals do not wait),
and checkpoints on an interval, idle periods included.

Each process wakes once a second, and every 250 ms while rows arrive (a turn's fixed statements are paid
once per batch: every 50 ms cost a push 5 % of its CPU, bench/README.md). When rows wait, the process that takes
the chain lock first seals them all; the others skip their turn rather than queue. When the newest
checkpoint is older than the interval, a process takes the lock, looks again, and signs: the second look
keeps several processes from signing twice.
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import anyio
from sqlmodel import Session

from app import housekeeping
from app.audit import checkpoints, flood
from app.audit.models import AuditCheckpoint
from app.audit.service import sweep
from app.auth import client_limits
from app.core import metrics
from app.core.logging import ThrottledLog
from app.core.runtime import Runtime

log = logging.getLogger("netral.audit")
throttled = ThrottledLog(log)  # an outage: one line a while, not a traceback a second


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


# While rows arrive the sweep comes back quickly; idle, it looks once a second: one indexed, autocommitted
# statement a second is all an idle process sends.
BUSY_SECONDS = 0.25
IDLE_SECONDS = 1.0


class Ticker:
    """One process's background turn: seal what waits; sign a checkpoint when the one it last saw is older
    than the interval (it asks the database only then, so an idle process does not look every turn)."""

    def __init__(self, runtime: Runtime, *, checkpoints_on: bool) -> None:
        self.runtime, self.checkpoints_on = runtime, checkpoints_on
        self.next_checkpoint_look = 0.0
        self.next_flood_close = 0.0
        self.next_housekeeping = time.monotonic() + runtime.settings.housekeeping_interval_seconds

    def tick(self) -> int:
        now = self.runtime.clock.now()
        window = self.runtime.settings.rate_window_seconds
        if time.monotonic() >= self.next_flood_close:  # closed windows become summary rows, then get sealed
            flood.close(self.runtime.engine, before=now - timedelta(seconds=window))
            self.next_flood_close = time.monotonic() + window
        client_limits.limiter(self.runtime).flush(self.runtime.engine, now)  # share this process's counts
        sealed = sweep(self.runtime.engine)
        metrics.observe_pool(self.runtime.engine)
        interval = self.runtime.settings.housekeeping_interval_seconds
        if interval and time.monotonic() >= self.next_housekeeping:
            housekeeping.sweep(self.runtime.engine, self.runtime.settings, now=now)
            self.next_housekeeping = time.monotonic() + interval
        if self.checkpoints_on and time.monotonic() >= self.next_checkpoint_look:
            checkpoint_if_due(self.runtime)
            self.next_checkpoint_look = time.monotonic() + max(
                1.0, self.runtime.settings.audit_checkpoint_interval_seconds / 10
            )
        return sealed


async def _loop(runtime: Runtime, checkpoints_on: bool) -> None:
    ticker = Ticker(runtime, checkpoints_on=checkpoints_on)
    while True:
        sealed = 0
        try:
            sealed = await anyio.to_thread.run_sync(ticker.tick)
        except Exception as exc:  # the database may be briefly away; the next wake-up tries again
            throttled.warning("audit-sweep-failed", f"{type(exc).__name__}: {str(exc).strip()[:200]}")
        await asyncio.sleep(BUSY_SECONDS if sealed else IDLE_SECONDS)


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
