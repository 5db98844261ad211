"""Per-client rate limits, shared through the database without a statement per request.

Each process counts its own requests per (client, window) and decides from the sum of what the database
last said all processes counted and what this process has counted since. The background sweep
(``app.audit.sealer``) adds this process's new counts to ``rate_window`` (scope ``client``) once a turn and
reads back the totals of the clients it saw in the current window (nothing once that window has ended). So
the limit holds across every process within about a second's lag: a client can overrun it by what it sends
in that second, never more.
Past ``NETRAL_REQUESTS_PER_CLIENT`` in a window the answer is 429 with ``Retry-After``.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from threading import Lock

from sqlalchemy import Engine, select

from app.audit.flood import WINDOW, window_of
from app.core.db import insert_for
from app.core.runtime import Runtime


@dataclass
class _Window:
    start: datetime
    synced_total: int = 0  # every process's count, as of the last flush
    unsynced: int = 0  # this process's count since


@dataclass
class ClientLimiter:
    limit: int
    window_seconds: int
    windows: dict[str, _Window] = field(default_factory=dict)
    lock: Lock = field(default_factory=Lock)

    def hit(self, client_id: str, now: datetime) -> int | None:
        """Count this request; ``None`` when within the limit, else seconds until the window ends."""
        start = window_of(now, self.window_seconds)
        with self.lock:
            window = self.windows.get(client_id)
            if window is None or window.start != start:
                window = self.windows[client_id] = _Window(start)
            window.unsynced += 1
            if window.synced_total + window.unsynced <= self.limit:
                return None
        return max(1, int((start + timedelta(seconds=self.window_seconds) - now).total_seconds() + 0.999))

    def flush(self, engine: Engine, now: datetime) -> int:
        """Add this process's new counts to the database, then learn the totals of every client it saw in the
        current window (so a client another process served is refused here too). Windows that have ended are
        dropped: an idle process sends nothing. Returns clients whose totals were read."""
        current = window_of(now, self.window_seconds)
        with self.lock:
            self.windows = {c: w for c, w in self.windows.items() if w.start == current}
            pending = [(c, w.unsynced) for c, w in self.windows.items() if w.unsynced]
            seen = list(self.windows)
        if not seen:
            return 0
        dialect_insert = insert_for(engine.dialect.name)
        with engine.begin() as connection:
            for client_id, added in pending:
                connection.execute(
                    dialect_insert(WINDOW)
                    .values(scope="client", key=client_id, window_start=current, count=added, status=429)
                    .on_conflict_do_update(
                        index_elements=["scope", "key", "window_start"], set_={"count": WINDOW.c["count"] + added}
                    )
                )
            totals: dict[str, int] = dict(
                connection.execute(
                    select(WINDOW.c.key, WINDOW.c["count"]).where(
                        WINDOW.c.scope == "client", WINDOW.c.window_start == current, WINDOW.c.key.in_(seen)
                    )
                ).all()
            )
        with self.lock:
            added_by = dict(pending)
            for client_id, window in self.windows.items():
                if window.start == current and client_id in totals:
                    window.unsynced -= added_by.get(client_id, 0)
                    window.synced_total = int(totals[client_id])
        return len(totals)


def limiter(runtime: Runtime) -> ClientLimiter:
    return runtime.component(_build)


def _build(runtime: Runtime) -> ClientLimiter:
    return ClientLimiter(
        limit=runtime.settings.requests_per_client, window_seconds=runtime.settings.rate_window_seconds
    )
