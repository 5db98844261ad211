"""Admission control: at most N requests are in flight in one process; the rest wait without a thread.

Sync routes and dependencies run on anyio's worker threads, one hop at a time. If every worker thread were
blocked waiting on a database lock held by a request that needs a thread for its next hop (to commit), the
process would starve itself. With in-flight requests capped below the thread limit, a request that needs a
thread always finds one, since each in-flight request occupies at most one thread at a time."""

from collections.abc import Callable

import anyio
import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

HEALTH_PROBES = frozenset({"/healthz", "/readyz"})


class AdmissionMiddleware:
    def __init__(self, app: ASGIApp, limit: Callable[[], int]) -> None:
        """``limit`` is read at the first request, from the settings the running service was built with (the
        module-level app is created before any setting is read)."""
        self.app = app
        self.limit = limit
        self._semaphore: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in HEALTH_PROBES:  # probes never queue behind work
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:
            limiter = anyio.to_thread.current_default_thread_limiter()
            limit = self.limit()
            limiter.total_tokens = max(limiter.total_tokens, limit + 8)
            self._semaphore = anyio.Semaphore(limit)
        async with self._semaphore:
            await self.app(scope, receive, send)
