"""The metrics endpoint (``NETRAL_METRICS_PORT``): every process's counters (app/core/metrics.py), merged, and
facts read from the database at scrape time: audit rows waiting for their seal, seconds since the newest
checkpoint, each agreement's state and days left."""

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from app.agreements import service as agreements
from app.agreements.models import Agreement
from app.audit import checkpoints
from app.audit.models import AuditEvent
from app.core.clock import Clock
from app.core.db import autocommit


class DatabaseFacts:
    """Read at scrape time by the process serving the metrics: the database is the one place all
    processes share, so these are exact rather than one process's view."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine, self.clock = engine, clock

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        now = self.clock.now()
        up = GaugeMetricFamily("netral_database_up", "1 when the database answered this scrape")
        try:
            with Session(autocommit(self.engine)) as session:
                unsealed = session.exec(select(func.count()).where(col(AuditEvent.seq).is_(None))).one()
                last = checkpoints.latest(session)
                held = list(session.exec(select(Agreement)))
                states = {a.id: agreements.state_of(a, now=now) for a in held}
        except Exception:  # noqa: BLE001 - a scrape during an outage reports it, it does not fail
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily("netral_audit_rows_unsealed", "Audit rows waiting for their seal", value=unsealed)
        if last is not None:
            yield GaugeMetricFamily(
                "netral_audit_checkpoint_age_seconds",
                "Seconds since the newest signed checkpoint",
                value=(now - last.time).total_seconds(),
            )
        days = GaugeMetricFamily(
            "netral_agreement_days_left", "Days until the agreement's end (negative: ended)", labels=["agreement"]
        )
        state = GaugeMetricFamily(
            "netral_agreement_state", "1 for the agreement's current state", labels=["agreement", "state"]
        )
        for agreement in held:
            days.add_metric([agreement.code], (agreement.valid_until - now).total_seconds() / 86400)
            state.add_metric([agreement.code, str(states[agreement.id])], 1)
        yield days
        yield state


def serve(host: str, port: int, engine: Engine, clock: Clock) -> None:
    """In the serving process (the supervisor when there are workers): the merged metrics of every process,
    and the database facts, on their own port, in a daemon thread."""
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(DatabaseFacts(engine, clock))
    start_http_server(port, addr=host, registry=registry)
