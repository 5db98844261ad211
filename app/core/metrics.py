"""Prometheus metrics (``NETRAL_METRICS_PORT``), every worker process counted.

``netral serve`` turns them on: it points prometheus-client's multiprocess mode at a fresh directory
(``PROMETHEUS_MULTIPROC_DIR``) before any worker starts, and serves the merged metrics on their own port, apart
from the API. Without it every function here is a no-op, and prometheus-client is not even imported (its mode
is fixed when it is first imported, so it must be imported after the directory is set).

Counted here, in each process: requests by method, route template and status, their latency, database pool
use, housekeeping. What is read from the database when scraped is in ``app.observability``.
"""

import functools
import os
from typing import Any

from sqlalchemy import Engine

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def enabled() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


@functools.cache
def _instruments() -> dict[str, Any]:
    from prometheus_client import Counter, Gauge, Histogram

    return {
        "requests": Counter(
            "netral_requests_total",
            "Requests answered, by method, route template and status",
            ["method", "route", "status"],
        ),
        "latency": Histogram(
            "netral_request_duration_seconds",
            "Time from the first byte in to the last byte out, by method and route template",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        ),
        "pool": Gauge(
            "netral_db_pool_connections_in_use",
            "Database connections checked out, all processes",
            multiprocess_mode="livesum",
        ),
        "pool_size": Gauge("netral_db_pool_size", "Database pool size, all processes", multiprocess_mode="livesum"),
        "pruned": Counter("netral_housekeeping_pruned_total", "Rows pruned by housekeeping, by table", ["table"]),
        "sweeps": Histogram(
            "netral_housekeeping_sweep_seconds",
            "Duration of a housekeeping sweep",
            buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0),
        ),
    }


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    if not enabled():
        return
    instruments = _instruments()
    instruments["requests"].labels(method, route, str(status)).inc()
    instruments["latency"].labels(method, route).observe(seconds)


def observe_pool(engine: Engine) -> None:
    pool = engine.pool
    if not enabled() or not hasattr(pool, "checkedout"):
        return
    instruments = _instruments()
    instruments["pool"].set(pool.checkedout())
    instruments["pool_size"].set(pool.size())  # type: ignore[attr-defined]


def housekeeping_swept(rows: dict[str, int], *, seconds: float) -> None:
    if not enabled():
        return
    instruments = _instruments()
    for table, count in rows.items():
        instruments["pruned"].labels(table).inc(count)
    instruments["sweeps"].observe(seconds)
